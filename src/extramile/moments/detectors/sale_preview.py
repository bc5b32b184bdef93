"""Sale previews: a few days before a store's sale opens, the clients it suits hear of it first.

A sale (extramile.catalog.models.Sale) is previewed from `preview_days` before it starts until
the day it starts, in the store's time zone. Its products are the ones it lists and the active
products whose category lies under one of its categories. Each contactable client of the store
is matched against those products in stock there with the taste fit of extramile.engine.taste:
a product interests them when it has a brand, colour or category they told us they like, or
lies in a category or brand they bought in the last two years; never something they dislike or
already bought. Only stock in a size they wear (their size on
file for the product's category) is offered; a one-size product fits everyone.

One candidate per client and sale, keyed "sale_preview:<sale id>:<client id>", so a rerun adds
nothing; it shows the three products that fit best, says what drove the match, and drafts a
note with the sale's dates, the prices before and after, and the offer to set their size aside.
Due the client's next local morning; expires when the sale starts. Score: 0.8 x the best fit +
0.2 x the client's value (rank by net spend in the last year, in their store).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from extramile.accounts.models import Store
from extramile.catalog.models import MAX_PREVIEW_DAYS, Product, ProductStatus, Sale
from extramile.engine.occasions import due_before, local_midnight
from extramile.engine.taste import Explanation
from extramile.moments.candidates import Candidate, ShownProduct
from extramile.moments.detectors.calendar_support import (
    ClientRow,
    PairView,
    Pick,
    StockTable,
    best_products,
    bought_pairs,
    category_noun,
    cents,
    client_instances,
    client_rows,
    count_word,
    product_instances,
    render_message,
    sender_for,
    sizes_of,
    spend_ranks,
    spoken_date,
    stock_note,
    stock_table,
    taste_model,
    tastes_of,
    zone_named,
)
from extramile.moments.detectors.service_calls import money
from extramile.moments.models import ActionKind

KEY_PREFIX = "sale_preview"
SHOWN = 3
INTEREST_DAYS = 2 * 365  # purchases that show an interest in the sale's categories and brands
FIT_WEIGHT = 0.8
VALUE_WEIGHT = 0.2
INTEREST_LIKES = frozenset({"brand", "colour", "category"})  # the stated likes that count
LIKES_SAID = 3  # at most this many likes named in the reason


@dataclass(frozen=True)
class Offer:
    """One product of the sale offered to one client: its stock row, fit and why it fits."""

    pick: Pick
    why: Explanation


def detect(*, now: dt.datetime, stores: Iterable[Store]) -> list[Candidate]:
    """Preview each sale about to open to the clients of its store whose interests it matches."""
    stores = list(stores)
    sales = previewed_sales(stores, now=now)
    if not sales:
        return []
    clients = client_rows(stores)
    catalog = _active_categories() if any(s.category_prefixes for s in sales) else {}
    candidates: list[Candidate] = []
    for sale in sales:
        candidates.extend(_sale_candidates(sale, clients=clients, catalog=catalog, now=now))
    return sorted(candidates, key=lambda c: (-c.score, c.key))


def previewed_sales(stores: list[Store], *, now: dt.datetime) -> list[Sale]:
    """Return the stores' sales whose preview is open today in the store's time zone."""
    if not stores:
        return []
    utc_today = now.astimezone(dt.UTC).date()  # no zone is more than a day from it
    soonest = utc_today - dt.timedelta(days=1)
    latest = utc_today + dt.timedelta(days=MAX_PREVIEW_DAYS + 1)
    found = []
    for sale in (
        Sale.objects.filter(store__in=stores, starts_on__gte=soonest, starts_on__lte=latest)
        .select_related("store")
        .prefetch_related("products")
        .order_by("starts_on", "id")
    ):
        today = now.astimezone(zone_named(sale.store.time_zone)).date()
        if sale.preview_opens_on <= today < sale.starts_on:
            found.append(sale)
    return found


def _active_categories() -> dict[int, str]:
    return dict(Product.objects.filter(status=ProductStatus.ACTIVE).values_list("id", "category"))


def sale_product_ids(sale: Sale, catalog: dict[int, str]) -> set[int]:
    """The products in the sale: those it lists, and those of the categories it names."""
    listed = {p.pk for p in sale.products.all()}
    return listed | {pk for pk, category in catalog.items() if sale.covers_category(category)}


def _sale_candidates(
    sale: Sale, *, clients: dict[int, ClientRow], catalog: dict[int, str], now: dt.datetime
) -> list[Candidate]:
    store = sale.store
    theirs = {pk: row for pk, row in clients.items() if row.store_id == store.pk}
    product_ids = sale_product_ids(sale, catalog)
    if not theirs or not product_ids:
        return []
    table = stock_table([store], product_ids=product_ids)
    if len(table) == 0:
        return []
    ids = sorted(theirs)
    in_sale = table.products.values()
    tastes = tastes_of(
        ids,
        now=now,
        since_days=INTEREST_DAYS,
        categories={p.category for p in in_sale},
        brands={p.brand for p in in_sale},
        stores=[store],
    )
    for taste in tastes.values():
        taste.likes = {(d, v) for d, v in taste.likes if d in INTEREST_LIKES}
    model = taste_model(ids, table, tastes)
    picks = best_products(
        ids,
        clients=theirs,
        table=table,
        tastes=tastes,
        sizes=sizes_of(ids, stores=[store]),
        choose=_interested,
        limit=SHOWN,
        bought=bought_pairs(ids, table.products, stores=[store]),
        model=model,
    )
    if not picks:
        return []
    row_of = {pk: i for i, pk in enumerate(ids)}
    pairs = [(pk, pick) for pk, found in sorted(picks.items()) for pick in found]
    explained = model.explain_pairs(
        np.array([row_of[pk] for pk, _ in pairs], dtype=np.int64),
        np.array([pick.row for _, pick in pairs], dtype=np.int64),
    )
    offers: dict[int, list[Offer]] = {}
    for (pk, pick), why in zip(pairs, explained, strict=True):
        offers.setdefault(pk, []).append(Offer(pick, why))
    ranks = spend_ranks([store], now=now)
    instances = client_instances(offers)
    products = product_instances(pick.product_id for _, pick in pairs)
    opens = local_midnight(sale.starts_on, zone_named(store.time_zone))
    candidates = []
    for client_id, shown in sorted(offers.items()):
        client = theirs[client_id]
        score = FIT_WEIGHT * min(1.0, shown[0].pick.score) + VALUE_WEIGHT * ranks.get(
            client_id, 0.0
        )
        subject, draft = _draft(
            sale, client=client, instance=instances[client_id], shown=shown, table=table
        )
        candidates.append(
            Candidate(
                kind=ActionKind.SALE_PREVIEW,
                client=instances[client_id],
                key=f"{KEY_PREFIX}:{sale.pk}:{client_id}",
                occasion=f"sale:{sale.name}:{sale.starts_on.isoformat()}",
                reason=reason_for(client, sale, shown=shown, table=table),
                due_at=due_before(now, client.zone, deadline=opens),
                expires_at=opens,
                score=round(score, 3),
                evidence={
                    "sale_id": sale.pk,
                    "sale": sale.name,
                    "starts_on": sale.starts_on.isoformat(),
                    "ends_on": sale.ends_on.isoformat(),
                    "percent_off": sale.percent_off,
                    "products": [_evidence(offer, sale, table) for offer in shown],
                    "spend_rank_in_store": round(ranks.get(client_id, 0.0), 3),
                },
                subject=subject,
                draft=draft,
                products=[
                    ShownProduct(products[o.pick.product_id], note=stock_note(table, o.pick.row))
                    for o in shown
                ],
            )
        )
    return candidates


def _interested(view: PairView) -> tuple[np.ndarray, np.ndarray]:
    """Every paired row shows an interest (a like, or a purchase in its category or brand).

    Keep those not bought before, best fit first.
    """
    return ~view.bought, view.fit


# -- prices and words -----------------------------------------------------------------------


def price_of(table: StockTable, row: int) -> Decimal | None:
    """The row's price before the sale: the variant's own, else the product's."""
    price = table.items[row].price
    return None if price is None else cents(price)


def _evidence(offer: Offer, sale: Sale, table: StockTable) -> dict[str, Any]:
    row = offer.pick.row
    product = table.products[offer.pick.product_id]
    price = price_of(table, row)
    return {
        "product_id": product.id,
        "title": product.title,
        "size": table.size[row],
        "colour": table.colour[row],
        "units_in_stock": int(table.quantity[row]),
        "price": None if price is None else str(price),
        "sale_price": None if price is None else str(sale.sale_price(price)),
        "fit": round(offer.pick.score, 3),
        "liked": [value for _, value in offer.why.liked],
        "bought_in_category": int(offer.why.bought_in_category),
        "bought_in_brand": int(offer.why.bought_in_brand),
    }


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _times(n: int) -> str:
    return "once" if n == 1 else "twice" if n == 2 else f"{count_word(n)} times"


def _sale_name(sale: Sale) -> str:
    name = sale.name.strip()
    return name[4:] if name.lower().startswith("the ") else name


def drivers(name: str, shown: list[Offer], table: StockTable) -> str:
    """Say what drove the match: "Grace bought Hollis Tailoring twice and likes navy"."""
    parts = []
    said = ""
    by_brand = max(shown, key=lambda o: o.why.bought_in_brand)
    by_category = max(shown, key=lambda o: o.why.bought_in_category)
    if by_brand.why.bought_in_brand >= 1:
        said = table.products[by_brand.pick.product_id].brand
        parts.append(f"bought {said} {_times(int(by_brand.why.bought_in_brand))}")
    elif by_category.why.bought_in_category >= 1:
        noun = category_noun(table.products[by_category.pick.product_id].category)
        parts.append(f"bought {noun.plural} here {_times(int(by_category.why.bought_in_category))}")
    liked: list[str] = []
    for offer in shown:
        liked += [v for _, v in offer.why.liked if v not in liked and v.lower() != said.lower()]
    if liked:
        parts.append(f"told us they like {_and(liked[:LIKES_SAID])}")
    return f"{name} {' and '.join(parts)}" if parts else f"{name} may like what is in it"


def reason_for(client: ClientRow, sale: Sale, *, shown: list[Offer], table: StockTable) -> str:
    """Say why this client hears of this sale, and what of it is there for them, in plain words.

    "Grace bought Hollis Tailoring twice and told us they like navy; the Navy Chalk-Stripe Suit
    in their size, 40R, is 25% off in the Winter Sale from Thursday 3 December, 2 in stock."
    """
    when = f"{sale.percent_off}% off in the {_sale_name(sale)} from {spoken_date(sale.starts_on)}"
    if len(shown) == 1:
        row = shown[0].pick.row
        title = table.products[shown[0].pick.product_id].title
        size = f" in their size, {table.size[row]}," if table.size[row] else ""
        what = f"the {title}{size} is {when}, {int(table.quantity[row])} in stock"
    else:
        listed = []
        for offer in shown:
            row = offer.pick.row
            units = f"{int(table.quantity[row])} in stock"
            detail = f"{table.size[row]}, {units}" if table.size[row] else units
            listed.append(f"the {table.products[offer.pick.product_id].title} ({detail})")
        sized = " in their sizes" if any(table.size[o.pick.row] for o in shown) else ""
        what = f"{count_word(len(shown))} pieces{sized} are {when}: {_and(listed)}"
    return f"{drivers(client.name, shown, table)}; {what}."


def _draft(
    sale: Sale, *, client: ClientRow, instance: Any, shown: list[Offer], table: StockTable
) -> tuple[str, str]:
    sender = sender_for(instance)
    products = []
    for offer in shown:
        row = offer.pick.row
        product = table.products[offer.pick.product_id]
        price = price_of(table, row)
        products.append(
            {
                "title": product.title,
                "brand": product.brand,
                "size": table.size[row],
                "price": money(price, product.currency),
                "sale_price": money(
                    None if price is None else sale.sale_price(price), product.currency
                ),
            }
        )
    context = {
        "first_name": client.name,
        "sale_name": _sale_name(sale),
        "starts": spoken_date(sale.starts_on),
        "ends": spoken_date(sale.ends_on),
        "one_day": sale.starts_on == sale.ends_on,
        "percent": sale.percent_off,
        "products": products,
        "sized": any(p["size"] for p in products),
        "sender": sender.first_name,
        "store_name": sender.store_name,
    }
    return render_message(ActionKind.SALE_PREVIEW.value, context)
