"""How well each client's purchase history fits each new arrival (extramile.engine.arrivals).

The adapter between the store's database and the arrival model proven on Ta-Feng
(docs/evaluation.md): the catalog as codes (the category path level by level, brand and colour
as tags, the price), and every standing order line of the last three years of the stores'
clients, weighed by age (half every 180 days). The model's score for a client and a new product
is a log-probability; `PurchaseFit.pairs` turns it into "how many times likelier than an
average new arrival", t, and then into t / (1 + t): 0.5 for an average arrival, towards 1 for
the arrivals their history points to. new_arrival_match blends it with the stated taste.

`drivers` names what raised the score for one client and product, in words a reason can use
("the suits they buy", "Ashby & Rowe, a brand they come back to").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from scipy.special import logsumexp

from extramile.accounts.models import Store
from extramile.engine.arrivals import (
    ArrivalModel,
    ArrivalWeights,
    Catalog,
    Purchases,
    Reason,
    TasteProfiles,
)
from extramile.moments.detectors.calendar_support import STANDING, client_filters
from extramile.orders.models import OrderLine

HISTORY_DAYS = 3 * 365
LEVELS = 3  # category path levels the model reads ("Men/Suits/Three-piece")
BLOCK = 20_000  # clients scored at once
# Ta-Feng's weights, but with 5 lines borrowed from the parent category instead of 50 and a
# half-life of six months instead of two: a grocery client has hundreds of lines a season, a
# boutique's client a handful a year, and 50 borrowed lines would drown what they bought.
STORE_WEIGHTS = ArrivalWeights(smoothing=5.0, half_life_days=180.0)
DRIVER_LIFT = 0.3  # the least lift (log scale, about +35%) a reason names


@dataclass(frozen=True)
class CatalogCodes:
    """The catalog as the model's codes, and the words back for each code."""

    catalog: Catalog
    product_index: dict[int, int]  # product id -> row of the catalog
    category_names: list[list[str]]  # per level, code -> the path's last part
    brand_names: list[str]
    colour_names: list[str]


def _code(values: dict[str, int], names: list[str], value: str) -> int:
    if not value:
        return -1
    if value not in values:
        values[value] = len(names)
        names.append(value)
    return values[value]


def catalog_codes(products: Sequence[tuple[int, str, str, str, float | None]]) -> CatalogCodes:
    """Code products given as (id, category path, brand, colour, price)."""
    paths: list[dict[str, int]] = [{} for _ in range(LEVELS)]
    category_names: list[list[str]] = [[] for _ in range(LEVELS)]
    brands: dict[str, int] = {}
    brand_names: list[str] = []
    colours: dict[str, int] = {}
    colour_names: list[str] = []
    category = np.full((len(products), LEVELS), -1, dtype=np.int64)
    brand = np.full(len(products), -1, dtype=np.int64)
    colour = np.full(len(products), -1, dtype=np.int64)
    price = np.full(len(products), np.nan)
    index: dict[int, int] = {}
    for row, (pk, path, brand_name, colour_name, amount) in enumerate(products):
        index[pk] = row
        parts = [p.strip().lower() for p in path.split("/") if p.strip()][:LEVELS]
        for level in range(len(parts)):
            prefix = "/".join(parts[: level + 1])
            category[row, level] = _code(paths[level], category_names[level], prefix)
        brand[row] = _code(brands, brand_names, brand_name.strip().lower())
        colour[row] = _code(colours, colour_names, colour_name.strip().lower())
        if amount is not None:
            price[row] = amount
    # The model reads only the levels some product has.
    depth = max(1, int((category >= 0).any(axis=0).sum()))
    category = category[:, :depth]
    return CatalogCodes(
        catalog=Catalog(category=category, tags={"brand": brand, "colour": colour}, price=price),
        product_index=index,
        category_names=category_names,
        brand_names=brand_names,
        colour_names=colour_names,
    )


@dataclass
class PurchaseFit:
    """The arrival model over the stores' clients (rows of `client_ids`) and the new products."""

    model: ArrivalModel
    codes: CatalogCodes
    new_index: dict[int, int]  # product id -> column of the new products

    def pairs(self, clients: np.ndarray, product_ids: np.ndarray) -> np.ndarray:
        """Return t / (1 + t) for (client row, product id) pairs; 0.5 where a product is unknown."""
        fit = np.full(clients.size, 0.5)
        columns = np.array([self.new_index.get(int(p), -1) for p in product_ids.tolist()])
        known = columns >= 0
        if not known.any():
            return fit
        rows, inverse = np.unique(clients[known], return_inverse=True)
        for start in range(0, rows.size, BLOCK):
            block = rows[start : start + BLOCK]
            scores = self.model.score(block).astype(np.float64)
            # how many times likelier than an average new arrival, per client
            times = np.exp(scores - logsumexp(scores, axis=1, keepdims=True)) * scores.shape[1]
            picked = (inverse >= start) & (inverse < start + block.size)
            where = np.flatnonzero(known)[picked]
            value = times[inverse[picked] - start, columns[known][picked]]
            fit[where] = value / (1 + value)
        return fit

    def drivers(self, client: int, product_id: int) -> list[str]:
        """Say what in the client's history raised their fit to a product, strongest first."""
        column = self.new_index.get(product_id)
        if column is None:
            return []
        return [
            words
            for reason in self.model.explain(client, column, top=2)
            if reason.weight >= DRIVER_LIFT and (words := self._words(reason))
        ]

    def _words(self, reason: Reason) -> str:
        codes = self.codes
        if reason.feature == "category" and reason.level >= 0 and reason.code >= 0:
            return f"the {codes.category_names[reason.level][reason.code].split('/')[-1]} they buy"
        if reason.feature == "brand" and reason.code >= 0:
            return f"{codes.brand_names[reason.code].title()}, a brand they come back to"
        if reason.feature == "colour" and reason.code >= 0:
            return f"the {codes.colour_names[reason.code]} they often choose"
        return ""


# One standing order line: client id, product id, placed at, category, brand, colour, unit price.
HistoryLine = tuple[int, int, dt.datetime, str, str, str, Decimal | None]


def history_lines(
    stores: Sequence[Store], *, now: dt.datetime, client_ids: Sequence[int]
) -> list[HistoryLine]:
    """Read the standing order lines of the last three years of these clients, products known.

    new_arrival_match reads them once and feeds both the arrival model (`purchase_fit`) and
    the stated-and-observed taste (calendar_support.add_purchases).
    """
    since = now - dt.timedelta(days=HISTORY_DAYS)
    lines: list[HistoryLine] = []
    for scope in client_filters(client_ids, stores):
        lines += list(
            OrderLine.objects.filter(
                scope("order__client"),
                order__status__in=STANDING,
                order__placed_at__gte=since,
                order__placed_at__lte=now,
                product__isnull=False,
            ).values_list(
                "order__client_id",
                "product_id",
                "order__placed_at",
                "product__category",
                "product__brand",
                "product__colour",
                "unit_price",
            )
        )
    return lines


def purchase_fit(
    stores: Sequence[Store],
    *,
    now: dt.datetime,
    client_ids: Sequence[int],
    arrivals: Sequence[tuple[int, str, str, str, float | None]],
    lines: Sequence[HistoryLine] | None = None,
) -> PurchaseFit:
    """Build the arrival model from the stores' order lines for these clients and arrivals.

    `lines` are `history_lines(stores, now=now, client_ids=client_ids)` when already read.
    """
    row_of = {pk: i for i, pk in enumerate(client_ids)}
    if lines is None:
        lines = history_lines(stores, now=now, client_ids=client_ids)
    seen: dict[int, tuple[int, str, str, str, float | None]] = {a[0]: a for a in arrivals}
    for _, pk, _, category, brand, colour, price in lines:
        seen.setdefault(pk, (pk, category, brand, colour, float(price) if price else None))
    codes = catalog_codes(list(seen.values()))
    kept = [line for line in lines if line[0] in row_of]
    purchases = Purchases(
        client=np.array([row_of[line[0]] for line in kept], dtype=np.int64),
        product=np.array([codes.product_index[line[1]] for line in kept], dtype=np.int64),
        day=np.array([line[2].date().toordinal() for line in kept], dtype=np.int64),
    )
    profiles = TasteProfiles(
        codes.catalog,
        purchases,
        clients=len(client_ids),
        today=now.date().toordinal(),
        half_life_days=STORE_WEIGHTS.half_life_days,
    )
    new_ids = [a[0] for a in arrivals]
    model = ArrivalModel(
        profiles,
        np.array([codes.product_index[pk] for pk in new_ids]),
        weights=STORE_WEIGHTS,
    )
    return PurchaseFit(model=model, codes=codes, new_index={pk: i for i, pk in enumerate(new_ids)})
