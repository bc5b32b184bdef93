"""What the calendar detectors share: clients, stock and purchases read in bulk, words, drafts.

Every loader here is a handful of aggregate queries (values_list, grouped counts) whatever the
number of clients, so a sweep over tens of thousands of clients costs seconds, not a query per
client. Lists of ids are sent in chunks that every database accepts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import numpy as np
from django.db.models import Count, F, FloatField, Max, Q, Sum
from django.db.models.functions import Cast
from django.template.loader import get_template
from django.utils import dateformat
from scipy import sparse

from extramile.accounts.models import Store, User, is_working
from extramile.catalog.models import Product, ProductStatus, Stock
from extramile.clients.models import Client, ClientStatus, Preference, Size
from extramile.engine.allocation import Offers, best_variant_per_product, top_per_group
from extramile.engine.occasions import spend_percentile
from extramile.engine.taste import (
    Item,
    Taste,
    TasteModel,
    normalise,
    price_percentiles,
    top_category,
)
from extramile.moments.detectors.service_calls import money
from extramile.orders.models import Order, OrderLine, OrderStatus

# Clients worth a marketing contact: not archived, not merged into another record.
CONTACTABLE = (ClientStatus.ACTIVE, ClientStatus.LAPSED)
# Orders that stand as purchases (a cancelled or fully refunded one does not).
STANDING = (OrderStatus.PLACED, OrderStatus.FULFILLED)
CHUNK = 900  # ids per IN (...) list: below SQLite's oldest limit of 999 variables
SPEND_DAYS = 365
MAX_SHOWN = 3

T = TypeVar("T")


def chunks(values: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """Yield the values in lists of at most `size`."""
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@lru_cache(maxsize=512)
def zone_named(name: str) -> ZoneInfo:
    """Return the time zone of an IANA name (cached: thousands of clients share a few)."""
    return ZoneInfo(name or "UTC")


# -- clients ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientRow:
    """The little the detectors need of a client, read without a model instance."""

    id: int
    store_id: int
    first_name: str
    last_name: str
    zone: ZoneInfo

    @property
    def name(self) -> str:
        """The first name, else the last name, else "Client 42" (as the client book shows it)."""
        return self.first_name or self.last_name or f"Client {self.id}"


def client_rows(stores: Sequence[Store]) -> dict[int, ClientRow]:
    """Return the contactable clients of the stores by id (one query)."""
    store_zone = {s.pk: s.time_zone for s in stores}
    rows = Client.objects.filter(store__in=stores, status__in=CONTACTABLE).values_list(
        "id", "store_id", "first_name", "last_name", "time_zone"
    )
    return {
        pk: ClientRow(
            id=pk,
            store_id=store_id,
            first_name=first,
            last_name=last,
            zone=zone_named(tz or store_zone.get(store_id) or "UTC"),
        )
        for pk, store_id, first, last, tz in rows
    }


def client_instances(ids: Iterable[int]) -> dict[int, Client]:
    """Return the clients (with store and primary associate) for the candidates made."""
    found: dict[int, Client] = {}
    for batch in chunks(sorted(set(ids))):
        found.update(Client.objects.select_related("store", "primary_associate").in_bulk(batch))
    return found


def product_instances(ids: Iterable[int]) -> dict[int, Product]:
    """Return the products shown with the candidates made."""
    found: dict[int, Product] = {}
    for batch in chunks(sorted(set(ids))):
        found.update(Product.objects.in_bulk(batch))
    return found


def spend_ranks(stores: Sequence[Store], *, now: dt.datetime) -> dict[int, float]:
    """Rank each client's net spend of the last year within their store, from 0 to 1.

    One grouped query; clients who bought nothing share the lowest rank.
    """
    since = now - dt.timedelta(days=SPEND_DAYS)
    spent = dict(
        Order.objects.filter(
            store__in=stores,
            client__isnull=False,
            status__in=STANDING,
            placed_at__gte=since,
            placed_at__lte=now,
        )
        .values("client_id")
        .annotate(net=Sum(F("total") - F("refunded_amount")))
        .values_list("client_id", "net")
    )
    by_store: dict[int, list[int]] = defaultdict(list)
    for pk, store_id in Client.objects.filter(store__in=stores, status__in=CONTACTABLE).values_list(
        "id", "store_id"
    ):
        by_store[store_id].append(pk)
    ranks: dict[int, float] = {}
    for ids in by_store.values():
        values = np.array([float(spent.get(pk) or 0) for pk in ids])
        ranks.update(zip(ids, spend_percentile(values).tolist(), strict=True))
    return ranks


def net_spend(client_ids: Iterable[int], *, now: dt.datetime) -> dict[int, float]:
    """Return each client's net spend over the last year."""
    since = now - dt.timedelta(days=SPEND_DAYS)
    spent: dict[int, float] = {}
    for batch in chunks(client_ids):
        rows = (
            Order.objects.filter(
                client_id__in=batch, status__in=STANDING, placed_at__gte=since, placed_at__lte=now
            )
            .values("client_id")
            .annotate(net=Sum(F("total") - F("refunded_amount")))
            .values_list("client_id", "net")
        )
        spent.update((pk, float(net or 0)) for pk, net in rows)
    return spent


def last_purchases(client_ids: Iterable[int], *, now: dt.datetime) -> dict[int, dict[str, Any]]:
    """Return each client's last standing order: date, total and what was in it (3 queries)."""
    ids = sorted(set(client_ids))
    last: dict[int, dt.datetime] = {}
    for batch in chunks(ids):
        last.update(
            Order.objects.filter(client_id__in=batch, status__in=STANDING, placed_at__lte=now)
            .values("client_id")
            .annotate(at=Max("placed_at"))
            .values_list("client_id", "at")
        )
    orders: dict[int, tuple[int, dt.datetime, Any, str]] = {}
    for batch in chunks(list(last)):
        for pk, client_id, placed_at, total, currency in Order.objects.filter(
            client_id__in=batch, status__in=STANDING, placed_at__in=[last[c] for c in batch]
        ).values_list("id", "client_id", "placed_at", "total", "currency"):
            if placed_at == last.get(client_id):
                orders[pk] = (client_id, placed_at, total, currency)
    titles: dict[int, list[str]] = defaultdict(list)
    for batch in chunks(list(orders)):
        for order_id, title in OrderLine.objects.filter(order_id__in=batch).values_list(
            "order_id", "title"
        ):
            titles[order_id].append(title)
    found: dict[int, dict[str, Any]] = {}
    for order_id, (client_id, placed_at, total, currency) in sorted(orders.items()):
        found.setdefault(
            client_id,
            {
                "date": placed_at.date().isoformat(),
                "total": str(total),
                "amount": money(total, currency),
                "items": titles.get(order_id, []),
            },
        )
    return found


# -- what clients like, wear and bought ----------------------------------------------------


ClientFilter = Callable[[str], Q]


def client_filters(
    client_ids: Sequence[int], stores: Sequence[Store] | None = None
) -> Iterator[ClientFilter]:
    """Yield filters that together cover the clients: per chunk of ids, or whole stores at once.

    Each filter takes the path to the client ("client", "order__client"). With `stores`, one
    query reads every client of the stores (the caller keeps those it asked for): the way to
    read tens of thousands of clients without tens of queries.
    """
    if stores is not None:
        store_list = list(stores)
        yield lambda path: Q(**{f"{path}__store__in": store_list})
        return
    for batch in chunks(client_ids):
        yield lambda path, batch=batch: Q(**{f"{path}_id__in": batch})  # type: ignore[misc]


def sizes_of(
    client_ids: Sequence[int], *, stores: Sequence[Store] | None = None
) -> dict[int, dict[str, str]]:
    """Return each client's sizes by category (its top two levels, normalised)."""
    wanted = set(client_ids)
    sizes: dict[int, dict[str, str]] = defaultdict(dict)
    for scope in client_filters(client_ids, stores):
        for client_id, category, size in Size.objects.filter(scope("client")).values_list(
            "client_id", "category", "size"
        ):
            if client_id in wanted and size.strip():
                sizes[client_id][top_category(category)] = size.strip()
    return sizes


def stated_tastes(
    client_ids: Sequence[int], *, stores: Sequence[Store] | None = None
) -> dict[int, Taste]:
    """Return each client's stated likes, dislikes and price band (one query per scope)."""
    tastes: dict[int, Taste] = {pk: Taste() for pk in client_ids}
    for scope in client_filters(client_ids, stores):
        for client_id, dimension, value, likes in Preference.objects.filter(
            scope("client")
        ).values_list("client_id", "dimension", "value", "likes"):
            taste = tastes.get(client_id)
            if taste is None:
                continue
            if dimension == "price_band":
                if likes:
                    taste.price_band = value
            elif likes:
                taste.likes.add((dimension, value))
            else:
                taste.dislikes.add((dimension, value))
    return tastes


def _category_spellings(categories: Iterable[str] | None) -> list[str] | None:
    """Return the catalog's own spellings of these categories' tops, deeper levels included.

    None when there is no narrowing: no categories asked, or past some thousands spellings,
    where the list is no narrowing worth its query parameters.
    """
    if categories is None:
        return None
    wanted = {top_category(c) for c in categories}
    spelled = sorted(
        c
        for c in Product.objects.values_list("category", flat=True).distinct()
        if top_category(c) in wanted
    )
    return spelled if len(spelled) <= 5000 else None


def tastes_of(
    client_ids: Sequence[int],
    *,
    now: dt.datetime,
    since_days: int = 3 * 365,
    categories: Iterable[str] | None = None,
    brands: Iterable[str] | None = None,
    stores: Sequence[Store] | None = None,
) -> dict[int, Taste]:
    """Return each client's stated likes and dislikes and what they bought (3 grouped queries).

    Purchases count over the last `since_days`, in standing orders; the typical price of a
    category is the mean unit price paid in it. `categories` (top-two
    paths) and `brands` narrow the purchases read to what can matter, for speed; `stores`
    reads all their clients at once (see `client_filters`). `add_purchases` does the same
    from order lines already read.
    """
    tastes = stated_tastes(client_ids, stores=stores)
    since = now - dt.timedelta(days=since_days)
    lines = OrderLine.objects.filter(
        order__status__in=STANDING,
        order__placed_at__gte=since,
        order__placed_at__lte=now,
        product__isnull=False,
    )
    spelled = _category_spellings(categories)
    category_filter = Q() if spelled is None else Q(product__category__in=spelled)
    brand_list = None if brands is None else sorted(set(brands) - {""})
    for scope in client_filters(client_ids, stores):
        rows = (
            lines.filter(scope("order__client"), category_filter, unit_price__gt=0)
            .values("order__client_id", "product__category")
            .annotate(n=Count("id"), paid=Sum(Cast("unit_price", FloatField())))
            .values_list("order__client_id", "product__category", "n", "paid")
        )
        _add_categories(tastes, rows)
        if brand_list is not None and not brand_list:
            continue
        by_brand = lines.filter(scope("order__client")).exclude(product__brand="")
        if brand_list is not None:
            by_brand = by_brand.filter(product__brand__in=brand_list)
        _add_brands(
            tastes,
            by_brand.values("order__client_id", "product__brand")
            .annotate(n=Count("id"))
            .values_list("order__client_id", "product__brand", "n"),
        )
    return tastes


def add_purchases(
    tastes: dict[int, Taste],
    lines: Iterable[tuple[int, str, str, Decimal | None]],
    *,
    categories: Iterable[str] | None = None,
    brands: Iterable[str] | None = None,
) -> None:
    """Add to `tastes` what `tastes_of` reads, from order lines already read.

    `lines` are (client id, product category, product brand, unit price) of the standing
    lines of the period, products known; the narrowing by `categories` and `brands` is the
    same as `tastes_of`'s, so the tastes come out the same without a second read.
    """
    spelled = _category_spellings(categories)
    keep = None if spelled is None else set(spelled)
    brand_set = None if brands is None else set(brands) - {""}
    by_category: dict[tuple[int, str], list[float]] = defaultdict(lambda: [0, 0.0])
    by_brand: dict[tuple[int, str], int] = defaultdict(int)
    for client_id, category, brand, price in lines:
        if price is not None and price > 0 and (keep is None or category in keep):
            totals = by_category[(client_id, category)]
            totals[0] += 1
            totals[1] += float(price)
        if brand and (brand_set is None or brand in brand_set):
            by_brand[(client_id, brand)] += 1
    _add_categories(tastes, ((c, k, int(n), paid) for (c, k), (n, paid) in by_category.items()))
    _add_brands(tastes, ((c, b, n) for (c, b), n in by_brand.items()))


def _add_categories(
    tastes: dict[int, Taste], rows: Iterable[tuple[int, str, int, float | None]]
) -> None:
    """Count lines per top category and keep the mean unit price paid in it."""
    typical: dict[tuple[int, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for client_id, category, n, paid in rows:
        taste = tastes.get(client_id)
        if taste is None:
            continue
        key = top_category(category)
        taste.bought_categories[key] = taste.bought_categories.get(key, 0) + n
        totals = typical[(client_id, key)]
        totals[0] += float(paid or 0)
        totals[1] += n
    for (client_id, key), (paid_total, lines) in typical.items():
        tastes[client_id].typical_prices[key] = paid_total / lines


def _add_brands(tastes: dict[int, Taste], rows: Iterable[tuple[int, str, int]]) -> None:
    """Count lines per brand (normalised)."""
    for client_id, brand, n in rows:
        taste = tastes.get(client_id)
        if taste is not None:
            key = normalise(brand)
            taste.bought_brands[key] = taste.bought_brands.get(key, 0) + n


def bought_pairs(
    client_ids: Sequence[int],
    product_ids: Iterable[int],
    *,
    stores: Sequence[Store] | None = None,
) -> set[tuple[int, int]]:
    """Return the (client, product) pairs already bought, in any order that stands."""
    products = sorted(set(product_ids))
    wanted = set(client_ids)
    pairs: set[tuple[int, int]] = set()
    for scope in client_filters(client_ids, stores):
        for product_batch in chunks(products):
            pairs.update(
                pair
                for pair in OrderLine.objects.filter(
                    scope("order__client"),
                    order__status__in=STANDING,
                    product_id__in=product_batch,
                )
                .values_list("order__client_id", "product_id")
                .distinct()
                if pair[0] in wanted
            )
    return pairs


class BoughtIndex:
    """Which clients (rows) already bought which stock rows' products, as block masks."""

    def __init__(
        self, client_ids: Sequence[int], table: StockTable, pairs: set[tuple[int, int]]
    ) -> None:
        products = {pk: i for i, pk in enumerate(sorted(set(table.product.tolist())))}
        rows = {pk: i for i, pk in enumerate(client_ids)}
        hits = [(rows[c], products[p]) for c, p in pairs if c in rows and p in products]
        self.matrix = sparse.csr_matrix(
            (np.ones(len(hits)), ([a for a, _ in hits], [b for _, b in hits])),
            shape=(len(client_ids), max(len(products), 1)),
        )
        self.row_product = np.array([products[p] for p in table.product.tolist()], dtype=np.int64)

    def pairs(self, clients: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """For pairs (client i, stock row i): the client bought that row's product before."""
        if clients.size == 0:
            return np.zeros(0, dtype=bool)
        return np.asarray(self.matrix[clients, self.row_product[rows]]).ravel() > 0


# -- stock --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductRow:
    """The attributes of a product the detectors read, without a model instance."""

    id: int
    title: str
    brand: str
    category: str
    colour: str
    material: str
    styles: tuple[str, ...]
    price: float | None
    currency: str
    arrived_on: dt.date | None


@dataclass
class StockTable:
    """In-stock variants (one row per variant and store) with their product's attributes.

    Row i is item i of the taste model. A row is sized when its variant has a size: a client
    may be offered it only with that size on file for the product's category. A row without a
    size (one size) fits everyone in its store.
    """

    variant: np.ndarray
    product: np.ndarray
    store: np.ndarray
    quantity: np.ndarray
    size: list[str]
    colour: list[str]
    products: dict[int, ProductRow]
    items: list[Item] = field(default_factory=list)
    size_category: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    size_code: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    size_categories: dict[str, int] = field(default_factory=dict)
    size_values: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.variant.size)

    def subset(self, rows: np.ndarray) -> StockTable:
        """Return a table of only these rows (in this order)."""
        picked = rows.tolist()
        kept = {int(p) for p in self.product[rows].tolist()}
        return StockTable(
            variant=self.variant[rows],
            product=self.product[rows],
            store=self.store[rows],
            quantity=self.quantity[rows],
            size=[self.size[i] for i in picked],
            colour=[self.colour[i] for i in picked],
            products={pk: row for pk, row in self.products.items() if pk in kept},
            items=[self.items[i] for i in picked],
            size_category=self.size_category[rows],
            size_code=self.size_code[rows],
            size_categories=self.size_categories,
            size_values=self.size_values,
        )

    def client_sizes(
        self, client_ids: Sequence[int], sizes: dict[int, dict[str, str]]
    ) -> np.ndarray:
        """Return a clients x sized-categories array of size codes (-1: none on file)."""
        codes = np.full((len(client_ids), max(len(self.size_categories), 1)), -1, dtype=np.int64)
        for row, pk in enumerate(client_ids):
            for category, size in sizes.get(pk, {}).items():
                col = self.size_categories.get(category)
                code = self.size_values.get(normalise(size))
                if col is not None and code is not None:
                    codes[row, col] = code
        return codes

    def eligible_pairs(
        self, client_store: np.ndarray, client_size_codes: np.ndarray, rows: np.ndarray
    ) -> np.ndarray:
        """For pairs (client i, stock row i): same store, and the client's size when sized."""
        same_store = client_store == self.store[rows]
        sized = self.size_category[rows] >= 0
        columns = np.where(sized, self.size_category[rows], 0)
        wears = client_size_codes[np.arange(rows.size), columns]
        return same_store & (~sized | (wears == self.size_code[rows]))


def product_rows(ids: Iterable[int]) -> dict[int, ProductRow]:
    """Return the products with these ids (one query per chunk of ids)."""
    found: dict[int, ProductRow] = {}
    for batch in chunks(sorted(set(ids))):
        rows = Product.objects.filter(id__in=batch).values_list(
            "id",
            "title",
            "brand",
            "category",
            "colour",
            "material",
            "style_tags",
            "price",
            "currency",
            "arrived_on",
        )
        for pk, title, brand, category, colour, material, tags, price, currency, arrived in rows:
            found[pk] = ProductRow(
                id=pk,
                title=title,
                brand=brand,
                category=category,
                colour=colour,
                material=material,
                styles=tuple(t for t in (tags or []) if isinstance(t, str)),
                price=float(price) if price is not None else None,
                currency=currency,
                arrived_on=arrived,
            )
    return found


def category_price_ranks(products: dict[int, ProductRow]) -> dict[int, float]:
    """Rank each product's price within its category among all active products (one query)."""
    wanted = {top_category(p.category) for p in products.values()}
    catalog = [
        (pk, category, price)
        for pk, category, price in Product.objects.filter(status=ProductStatus.ACTIVE).values_list(
            "id", "category", "price"
        )
        if top_category(category) in wanted
    ]
    ranks = price_percentiles(
        [float(price) if price is not None else None for _, _, price in catalog],
        [category for _, category, _ in catalog],
    )
    return {
        pk: float(rank)
        for (pk, _, _), rank in zip(catalog, ranks.tolist(), strict=True)
        if pk in products and not np.isnan(rank)
    }


def products_in_categories(categories: Iterable[str]) -> set[int]:
    """Return the ids of the active products whose category's top two levels are one of these.

    Matched in Python on one list of (id, category): a filter with one condition per category
    would grow past what a database parses when there are hundreds of them.
    """
    wanted = {top_category(c) for c in categories}
    return {
        pk
        for pk, category in Product.objects.filter(status=ProductStatus.ACTIVE).values_list(
            "id", "category"
        )
        if top_category(category) in wanted
    }


def stock_table(
    stores: Sequence[Store],
    *,
    product_filter: Q | None = None,
    product_ids: set[int] | None = None,
) -> StockTable:
    """Read the in-stock variants of the stores' active products matching `product_filter`.

    `product_ids`, when given, narrows them further: a few go into the query, many are
    checked on the rows read (a list of thousands of ids is no query for every database).
    """
    products_wanted = Product.objects.filter(
        product_filter if product_filter is not None else Q(), status=ProductStatus.ACTIVE
    )
    if product_ids is not None and len(product_ids) <= CHUNK:
        products_wanted = products_wanted.filter(id__in=sorted(product_ids))
    rows = list(
        Stock.objects.filter(
            store__in=stores, quantity__gt=0, variant__product__in=products_wanted.values("id")
        )
        .values_list(
            "variant_id",
            "variant__product_id",
            "store_id",
            "quantity",
            "variant__size",
            "variant__colour",
            "variant__price",
        )
        .order_by("variant__product_id", "variant_id", "store_id")
    )
    if product_ids is not None:
        rows = [row for row in rows if row[1] in product_ids]
    products = product_rows({row[1] for row in rows})
    ranks = category_price_ranks(products)
    table = StockTable(
        variant=np.array([r[0] for r in rows], dtype=np.int64),
        product=np.array([r[1] for r in rows], dtype=np.int64),
        store=np.array([r[2] for r in rows], dtype=np.int64),
        quantity=np.array([r[3] for r in rows], dtype=np.int64),
        size=[r[4].strip() for r in rows],
        colour=[r[5].strip() or products[r[1]].colour for r in rows],
        products=products,
    )
    size_category = []
    size_code = []
    for (_, product_id, _, _, size, _, own_price), colour in zip(rows, table.colour, strict=True):
        product = products[product_id]
        if size.strip():
            cat = table.size_categories.setdefault(
                top_category(product.category), len(table.size_categories)
            )
            code = table.size_values.setdefault(normalise(size), len(table.size_values))
        else:
            cat, code = -1, -1
        size_category.append(cat)
        size_code.append(code)
        table.items.append(
            Item(
                brand=product.brand,
                colour=colour,
                category=product.category,
                styles=product.styles,
                material=product.material,
                price=float(own_price) if own_price is not None else product.price,
                price_percentile=ranks.get(product_id),
            )
        )
    table.size_category = np.array(size_category, dtype=np.int64)
    table.size_code = np.array(size_code, dtype=np.int64)
    return table


# -- words --------------------------------------------------------------------------------

NUMBER_WORDS = {
    1: "one",
    2: "two",
    3: "three",
    4: "four",
    5: "five",
    6: "six",
    7: "seven",
    8: "eight",
    9: "nine",
    10: "ten",
}
_AUDIENCES = frozenset({"men", "women", "kids", "unisex", "boys", "girls", "ladies", "mens"})
_IRREGULAR = {"scarves": "scarf", "knives": "knife", "shelves": "shelf", "leaves": "leaf"}
_IE_NOUNS = frozenset({"ties", "hoodies", "beanies", "cookies", "onesies", "pies", "goodies"})
_PLURAL_ONLY = frozenset(
    {"trousers", "shoes", "jeans", "shorts", "chinos", "socks", "glasses", "sunglasses", "tights"}
)


def count_word(n: int) -> str:
    """Say a small number in words ("two"), a larger one in figures."""
    return NUMBER_WORDS.get(n, str(n))


def spoken_date(day: dt.date) -> str:
    """Write a date as "Saturday 28 November"."""
    return dateformat.format(day, "l j F")


def _noun_of(category: str) -> str:
    parts = [p.strip() for p in category.split("/") if p.strip()][:2]
    for part in reversed(parts):
        if part.lower() not in _AUDIENCES:
            return part.lower()
    return parts[0].lower() if parts else ""


@dataclass(frozen=True)
class Noun:
    """How to name what a category sells: "a suit", "two suits", "trousers", "knitwear"."""

    singular: str
    plural: str
    countable: bool  # "a suit"; not "trousers" (plural only) nor "knitwear" (uncountable)

    def some(self) -> str:
        """Name one purchase: "a suit", "an overcoat", "trousers", "knitwear"."""
        if not self.countable:
            return self.plural
        article = "an" if self.singular[:1] in "aeiou" else "a"
        return f"{article} {self.singular}"

    def counted(self, n: int, adjective: str = "") -> str:
        """Name n of them: "two new suits", "a new pair of trousers", "three pieces of knitwear"."""
        if n == 1:
            first = f"{adjective} " if adjective else ""
            article = "an" if (adjective or self.singular)[:1] in "aeiou" else "a"
            if self.countable:
                return f"{article} {first}{self.singular}"
            unit = "pair" if self.plural in _PLURAL_ONLY else "piece"
            return f"{article} {first}{unit} of {self.plural}"
        words = " ".join(w for w in (count_word(n), adjective) if w)
        if self.countable:
            return f"{words} {self.plural}"
        unit = "pairs" if self.plural in _PLURAL_ONLY else "pieces"
        return f"{words} {unit} of {self.plural}"


def category_noun(category: str) -> Noun:
    """Name what a category path sells, from its top two levels ("Men/Suits" → suit)."""
    word = _noun_of(category)
    if not re.search(r"[a-z]", word):
        label = "/".join(p.strip() for p in category.split("/") if p.strip())
        return Noun(singular=f"item from {label}", plural=f"items from {label}", countable=True)
    last = word.split()[-1]
    if last in _IRREGULAR:
        return Noun(singular=word[: -len(last)] + _IRREGULAR[last], plural=word, countable=True)
    if word in _PLURAL_ONLY or last in _PLURAL_ONLY:
        return Noun(singular=word, plural=word, countable=False)
    if last.endswith("ies") and last not in _IE_NOUNS:
        return Noun(singular=word[:-3] + "y", plural=word, countable=True)
    if last.endswith(("sses", "shes", "ches", "xes")):
        return Noun(singular=word[:-2], plural=word, countable=True)
    if last.endswith("s") and not last.endswith("ss"):
        return Noun(singular=word[:-1], plural=word, countable=True)
    return Noun(singular=word, plural=word, countable=False)


# -- drafts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sender:
    """Who signs a draft: the client's active primary associate, else the store's team."""

    first_name: str
    store_name: str


def sender_for(client: Client) -> Sender:
    """Return who signs the client's draft (the associate the rules will give it to)."""
    associate: User | None = client.primary_associate
    store_name = client.store.name
    if associate is not None and is_working(associate):
        return Sender(
            first_name=associate.first_name or associate.get_username(), store_name=store_name
        )
    return Sender(first_name=f"The team at {store_name}", store_name=store_name)


def _clean(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    # Template tags on lines of their own leave blank lines behind; keep one at most.
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def render_message(kind: str, context: dict[str, Any]) -> tuple[str, str]:
    """Render the email of a kind: templates/moments/drafts/<kind>_subject.txt and <kind>.txt."""
    subject = _clean(get_template(f"moments/drafts/{kind}_subject.txt").render(context))
    body = _clean(get_template(f"moments/drafts/{kind}.txt").render(context))
    return " ".join(subject.split()), body + "\n"


def arrival_ordinals(table: StockTable) -> np.ndarray:
    """Each row's product arrival day, as a fraction from 0 (oldest) to 1 (newest)."""
    days = np.array(
        [
            (table.products[p].arrived_on or dt.date(1970, 1, 1)).toordinal()
            for p in table.product.tolist()
        ],
        dtype=float,
    )
    if days.size == 0:
        return days
    return (days - days.min()) / max(float(np.ptp(days)), 1.0)


def stock_note(table: StockTable, row: int) -> str:
    """Say what is on the shelf for the associate: "Size 42L: 2 left", "5 in stock"."""
    units = int(table.quantity[row])
    count = f"{units} left" if units <= 2 else f"{units} in stock"
    size = table.size[row]
    return f"Size {size}: {count}" if size else count.capitalize()


def product_context(product: ProductRow, *, size: str = "", colour: str = "") -> dict[str, Any]:
    """What a draft template may say of a product."""
    return {
        "title": product.title,
        "brand": product.brand,
        "size": size,
        "colour": colour or product.colour,
        "price": money(None if product.price is None else cents(product.price), product.currency),
    }


def cents(value: float) -> Decimal:
    """A price read as a float, back to a Decimal to the cent."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


# -- products for a client ------------------------------------------------------------------


@dataclass
class PairView:
    """Clients paired with the in-stock rows that touch their taste, for a detector to choose.

    One entry per pair, as parallel arrays: only rows with one of the client's likes or in a
    category or brand they bought are paired (extramile.engine.taste candidate pairs).
    """

    client_ids: np.ndarray  # the client of each pair
    rows: np.ndarray  # the stock row of each pair
    fit: np.ndarray  # 0 to 1
    stated: np.ndarray  # weighted count of the stated likes the row has
    category_lines: np.ndarray  # lines the client bought in the row's category
    bought: np.ndarray  # the client bought this very product before
    table: StockTable


Chooser = Callable[[PairView], tuple[np.ndarray, np.ndarray]]


def taste_model(
    client_ids: Sequence[int], table: StockTable, tastes: dict[int, Taste]
) -> TasteModel:
    """Return the taste model of these clients (rows, in order) against the stock rows."""
    return TasteModel(table.items, [tastes.get(pk, Taste()) for pk in client_ids])


@dataclass(frozen=True)
class Pick:
    """One product chosen for a client: its best in-stock row and the detector's score."""

    product_id: int
    row: int
    score: float


def best_products(
    client_ids: Sequence[int],
    *,
    clients: dict[int, ClientRow],
    table: StockTable,
    tastes: dict[int, Taste],
    sizes: dict[int, dict[str, str]],
    choose: Chooser,
    limit: int = MAX_SHOWN,
    bought: set[tuple[int, int]] | None = None,
    model: TasteModel | None = None,
) -> dict[int, list[Pick]]:
    """Return, per client, the `limit` best products by the detector's own `choose`.

    `choose(view) -> (mask, score)` says which pairs may be shown and how to rank them; only
    rows in the client's store, in their size and with nothing they dislike are ever shown, and
    each product once, in its best row. `model`, when given, must be
    `taste_model(client_ids, table, tastes)`: built once, it serves several choices.
    """
    ids, offers = _chosen_offers(
        client_ids,
        clients=clients,
        table=table,
        tastes=tastes,
        sizes=sizes,
        choose=choose,
        bought=bought,
        model=model,
    )
    offers = offers.take(top_per_group(offers.client, offers.fit, limit, tie=offers.product))
    found: dict[int, list[Pick]] = {}
    for i in np.lexsort((offers.product, -offers.fit, offers.client)).tolist():
        found.setdefault(int(ids[offers.client[i]]), []).append(_pick(offers, i))
    return found


def best_products_by_category(
    client_ids: Sequence[int],
    *,
    clients: dict[int, ClientRow],
    table: StockTable,
    tastes: dict[int, Taste],
    sizes: dict[int, dict[str, str]],
    choose: Chooser,
    limit: int = MAX_SHOWN,
    bought: set[tuple[int, int]] | None = None,
) -> dict[tuple[int, str], list[Pick]]:
    """Like `best_products`, the `limit` best per client and category (its top two levels)."""
    ids, offers = _chosen_offers(
        client_ids,
        clients=clients,
        table=table,
        tastes=tastes,
        sizes=sizes,
        choose=choose,
        bought=bought,
        model=None,
    )
    names = [top_category(table.products[p].category) for p in offers.product.tolist()]
    _, category = np.unique(np.array(names, dtype=object), return_inverse=True)
    group = offers.client * (int(category.max(initial=0)) + 1) + category
    offers = offers.take(keep := top_per_group(group, offers.fit, limit, tie=offers.product))
    names = [n for n, k in zip(names, keep.tolist(), strict=True) if k]
    found: dict[tuple[int, str], list[Pick]] = {}
    for i in np.lexsort((offers.product, -offers.fit, offers.client)).tolist():
        key = (int(ids[offers.client[i]]), names[i])
        found.setdefault(key, []).append(_pick(offers, i))
    return found


def _pick(offers: Offers, i: int) -> Pick:
    return Pick(
        product_id=int(offers.product[i]), row=int(offers.variant[i]), score=float(offers.fit[i])
    )


def _chosen_offers(
    client_ids: Sequence[int],
    *,
    clients: dict[int, ClientRow],
    table: StockTable,
    tastes: dict[int, Taste],
    sizes: dict[int, dict[str, str]],
    choose: Chooser,
    bought: set[tuple[int, int]] | None,
    model: TasteModel | None,
) -> tuple[np.ndarray, Offers]:
    """The offers `choose` keeps, one row per client and product, scored by it."""
    ids = np.asarray(client_ids, dtype=np.int64)
    if not client_ids or len(table) == 0:
        return ids, Offers.concatenate([])
    model = model or taste_model(client_ids, table, tastes)
    store = np.array([clients[pk].store_id for pk in client_ids], dtype=np.int64)
    size_codes = table.client_sizes(client_ids, sizes)
    bought_index = BoughtIndex(client_ids, table, bought or set())
    pairs = model.candidate_pairs(np.arange(len(ids)))
    who, what = pairs.clients, pairs.items
    offerable = table.eligible_pairs(store[who], size_codes[who], what) & ~pairs.excluded
    view = PairView(
        client_ids=ids[who],
        rows=what,
        fit=pairs.fit,
        stated=pairs.stated,
        category_lines=pairs.in_category,
        bought=bought_index.pairs(who, what),
        table=table,
    )
    mask, score = choose(view)
    keep = mask & offerable
    offers = Offers(
        client=who[keep], variant=what[keep], product=table.product[what[keep]], fit=score[keep]
    )
    return ids, best_variant_per_product(offers)
