"""How well an item fits a client's taste: stated likes and dislikes, purchases, price band.

The fit of a client to an item, from 0 to 1, puts what the client told us first:

- **stated** — the weighted count of the client's stated likes that the item has: its brand
  (1), its colour (1), each of its style tags (0.75), its category at any level (0.5), a word
  of its material (0.5); at most 4;
- **observed** — what the client bought: 0.6 x (1 - e^(-c/2)) + 0.4 x (1 - e^(-b/2)), where c
  is the number of lines they bought in the item's category (its top two levels) and b in
  its brand;
- **price** — how the item's price sits with what the client usually pays in that category:
  exp(-(ln(price / typical))^2 / (2 x 0.5^2)), 1 at their typical price and 0.61 at 1.65 times
  it; without purchases there, their stated price band ("value", "mid-range", "premium")
  against the item's price rank in its category; 0.5 when we know neither.

fit = (stated + 0.9 x (0.75 x observed + 0.25 x price)) / 5. The purchases and the price add
less than one like, so a client who said they like more of the piece always fits it better
(brand and colour beat the brand alone, whatever was bought), as an associate who knows their
clients would judge; purchases and price then order the clients who said the same. A client
who said nothing is ranked by purchases and price alone.

A stated dislike of any of the item's attributes excludes it. An item *matches* (may be
offered) with stated likes worth at least 1, or a lesser like with a purchase in its category
or brand, or, with no like at all, observed of at least 0.35 (about two lines in its category).

Scoring is vectorised: likes, dislikes and items are sparse matrices over one vocabulary of
attribute tokens ("brand:oxley", "colour:navy"), purchases are client x category and client x
brand matrices, and `TasteModel.block` scores a block of clients against every item at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import sparse

DIMENSIONS = ("brand", "colour", "style", "category", "material")
PRICE_BANDS = {"value": 1 / 6, "mid-range": 0.5, "premium": 5 / 6}
_MATERIAL_FILLER = frozenset({"and", "with", "blend", "the", "of"})
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=65536)
def normalise(value: str) -> str:
    """Lower-case, trim and collapse spaces, so "Navy " and "navy" are one value."""
    return _SPACES.sub(" ", value.strip().lower())


@lru_cache(maxsize=65536)
def top_category(category: str, levels: int = 2) -> str:
    """Return the first `levels` levels of a category path, normalised ("men/suits")."""
    parts = [normalise(p) for p in category.split("/") if p.strip()]
    return "/".join(parts[:levels])


@dataclass(frozen=True)
class Item:
    """One thing that could be offered: a product, or one colour and size of it."""

    brand: str = ""
    colour: str = ""
    category: str = ""
    styles: tuple[str, ...] = ()
    material: str = ""
    price: float | None = None
    price_percentile: float | None = None  # within its category: 0 cheapest, 1 dearest


@dataclass
class Taste:
    """What we know of one client's taste."""

    likes: set[tuple[str, str]] = field(default_factory=set)  # stated (dimension, value)
    dislikes: set[tuple[str, str]] = field(default_factory=set)
    bought_categories: dict[str, float] = field(default_factory=dict)  # category -> lines
    bought_brands: dict[str, float] = field(default_factory=dict)  # brand -> lines
    typical_prices: dict[str, float] = field(default_factory=dict)  # category -> unit price
    price_band: str | None = None


DIMENSION_WEIGHTS = {"brand": 1.0, "colour": 1.0, "style": 0.75, "category": 0.5, "material": 0.5}


@dataclass(frozen=True)
class TasteWeights:
    """The weights and scales of the fit (see the module's docstring)."""

    max_stated: float = 4.0
    rest: float = 0.9  # what purchases and price can add, below one like
    observed_share: float = 0.75  # of the rest; the price has the remainder
    observed_scale: float = 2.0  # lines bought that give 1 - 1/e of the observed part
    price_sigma: float = 0.5  # in natural-log units of price / typical price
    min_observed: float = 0.35  # to match on purchases alone

    def fit(self, stated: np.ndarray, observed: np.ndarray, price: np.ndarray) -> np.ndarray:
        """Combine the three parts into the fit, from 0 to 1."""
        rest = self.observed_share * observed + (1 - self.observed_share) * price
        return (np.minimum(stated, self.max_stated) + self.rest * rest) / (self.max_stated + 1)

    def matches(self, stated: np.ndarray, observed: np.ndarray, excluded: np.ndarray) -> np.ndarray:
        """Where the item may be offered (see the module's docstring)."""
        enough = (stated >= 1) | ((stated > 0) & (observed > 0)) | (observed >= self.min_observed)
        return enough & ~excluded


@dataclass
class FitBlock:
    """The fit of a block of clients (rows) to every item (columns)."""

    fit: np.ndarray  # float, 0 to 1
    stated: np.ndarray  # weighted count of the stated likes the item has
    observed: np.ndarray  # the observed part, 0 to 1
    excluded: np.ndarray  # the item has something the client dislikes
    matches: np.ndarray  # the item may be offered to the client


@dataclass(frozen=True)
class Explanation:
    """Why one item fits one client, for the reason a person reads."""

    fit: float
    liked: tuple[tuple[str, str], ...]  # (dimension, the item's value) the client likes
    disliked: tuple[tuple[str, str], ...]
    bought_in_category: float
    bought_in_brand: float
    price_fit: float


@lru_cache(maxsize=65536)
def item_tokens(item: Item) -> tuple[tuple[str, str, str], ...]:
    """Return the item's (token, dimension, value as shown) triples."""
    tokens: list[tuple[str, str, str]] = []
    if item.brand.strip():
        tokens.append((f"brand:{normalise(item.brand)}", "brand", item.brand.strip()))
    if item.colour.strip():
        tokens.append((f"colour:{normalise(item.colour)}", "colour", item.colour.strip()))
    for style in item.styles:
        if style.strip():
            tokens.append((f"style:{normalise(style)}", "style", style.strip()))
    parts = [p.strip() for p in item.category.split("/") if p.strip()]
    for depth in range(1, len(parts) + 1):
        path = "/".join(normalise(p) for p in parts[:depth])
        tokens.append((f"category:{path}", "category", "/".join(parts[:depth])))
    for part in parts:
        tokens.append((f"category:{normalise(part)}", "category", part))
    if item.material.strip():
        tokens.append((f"material:{normalise(item.material)}", "material", item.material.strip()))
        for word in re.findall(r"[a-z]+", normalise(item.material)):
            if len(word) > 2 and word not in _MATERIAL_FILLER:
                tokens.append((f"material:{word}", "material", word))
    seen: set[str] = set()
    unique = []
    for token in tokens:
        if token[0] not in seen:
            seen.add(token[0])
            unique.append(token)
    return tuple(unique)


def taste_token(dimension: str, value: str) -> str | None:
    """Return the token of a stated like or dislike, or None for a dimension not matched."""
    if dimension not in DIMENSIONS or not value.strip():
        return None
    if dimension == "category":
        return "category:" + "/".join(normalise(p) for p in value.split("/") if p.strip())
    return f"{dimension}:{normalise(value)}"


def price_percentiles(prices: Sequence[float | None], groups: Sequence[str]) -> np.ndarray:
    """Rank each price within its group, from 0 (cheapest) to 1 (dearest); unknown is nan.

    Ties share their average rank; a group of one sits at 0.5. Vectorised: one sort for all
    groups, so a catalog of tens of thousands of products in thousands of categories is quick.
    """
    values = np.array([np.nan if p is None else float(p) for p in prices], dtype=float)
    result = np.full(values.shape, np.nan)
    known = np.flatnonzero(~np.isnan(values))
    if known.size == 0:
        return result
    _, group = np.unique([top_category(g) for g in groups], return_inverse=True)
    group, price = group[known], values[known]
    order = np.lexsort((price, group))
    sorted_group, sorted_price = group[order], price[order]
    first_of_group = np.r_[True, sorted_group[1:] != sorted_group[:-1]]
    group_start = np.maximum.accumulate(np.where(first_of_group, np.arange(order.size), 0))
    group_size = np.bincount(sorted_group)[sorted_group]
    position = np.arange(order.size) - group_start
    first_of_tie = first_of_group | np.r_[True, sorted_price[1:] != sorted_price[:-1]]
    tie = np.cumsum(first_of_tie) - 1
    mean_position = (np.bincount(tie, weights=position) / np.bincount(tie))[tie]
    ranked = np.where(group_size > 1, mean_position / np.maximum(group_size - 1, 1), 0.5)
    result[known[order]] = ranked
    return result


def _csr(
    rows: list[int], cols: list[int], values: list[float], shape: tuple[int, int]
) -> sparse.csr_matrix:
    return sparse.csr_matrix(
        (np.asarray(values, dtype=np.float64), (np.asarray(rows), np.asarray(cols))), shape=shape
    )


@dataclass
class PairScores:
    """Scores of (client, item) pairs, as parallel arrays."""

    clients: np.ndarray  # client row numbers
    items: np.ndarray  # item numbers
    fit: np.ndarray
    stated: np.ndarray
    observed: np.ndarray
    price: np.ndarray
    in_category: np.ndarray  # lines the client bought in the item's category
    in_brand: np.ndarray  # lines the client bought of the item's brand
    excluded: np.ndarray  # the client dislikes something the item has

    def matches(self, weights: TasteWeights) -> np.ndarray:
        """Where the item may be offered to the client."""
        return weights.matches(self.stated, self.observed, self.excluded)


def _one_hot(codes: np.ndarray, width: int) -> sparse.csr_matrix:
    """An items x width matrix with a 1 at each item's code (no 1 for a code of -1)."""
    rows = np.flatnonzero(codes >= 0)
    return sparse.csr_matrix(
        (np.ones(rows.size), (rows, codes[rows])), shape=(codes.size, max(width, 1))
    )


class TasteModel:
    """The fit of many clients to many items, scored a block of clients at a time."""

    def __init__(
        self,
        items: Sequence[Item],
        tastes: Sequence[Taste],
        *,
        weights: TasteWeights | None = None,
    ) -> None:
        self.items = list(items)
        self.tastes = list(tastes)
        self.weights = weights or TasteWeights()
        n_items, n_clients = len(self.items), len(self.tastes)
        self.vocabulary: dict[str, int] = {}
        self.item_shown: list[dict[int, tuple[str, str]]] = []
        rows: list[int] = []
        cols: list[int] = []
        token_weights: list[float] = []
        for index, item in enumerate(self.items):
            shown: dict[int, tuple[str, str]] = {}
            for token, dimension, value in item_tokens(item):
                col = self.vocabulary.setdefault(token, len(self.vocabulary))
                shown[col] = (dimension, value)
                rows.append(index)
                cols.append(col)
                token_weights.append(DIMENSION_WEIGHTS[dimension])
            self.item_shown.append(shown)
        width = max(len(self.vocabulary), 1)
        self.item_matrix = _csr(rows, cols, token_weights, (n_items, width))
        self.likes = self._taste_matrix([t.likes for t in self.tastes], width)
        self.dislikes = self._taste_matrix([t.dislikes for t in self.tastes], width)

        categories = [top_category(item.category) for item in self.items]
        brands = [normalise(item.brand) for item in self.items]
        self.category_index = {c: i for i, c in enumerate(sorted(set(categories)))}
        self.brand_index = {b: i for i, b in enumerate(sorted(set(brands) - {""}))}
        self.item_category = np.array([self.category_index[c] for c in categories], dtype=np.int64)
        self.item_brand = np.array([self.brand_index.get(b, -1) for b in brands], dtype=np.int64)
        self.bought_categories = self._count_matrix(
            [t.bought_categories for t in self.tastes], self.category_index, top_category
        )
        self.bought_brands = self._count_matrix(
            [t.bought_brands for t in self.tastes], self.brand_index, normalise
        )
        log_prices = [
            {c: float(np.log(p)) for c, p in t.typical_prices.items() if p and p > 0}
            for t in self.tastes
        ]
        self.typical_log_price = self._count_matrix(log_prices, self.category_index, top_category)
        self.has_typical_price = self._count_matrix(
            [dict.fromkeys(lp, 1.0) for lp in log_prices], self.category_index, top_category
        )
        self.band_target = np.array(
            [PRICE_BANDS.get(normalise(t.price_band or ""), np.nan) for t in self.tastes]
        )
        self.item_log_price = np.array(
            [np.log(i.price) if i.price and i.price > 0 else np.nan for i in self.items]
        )
        self.item_percentile = np.array(
            [np.nan if i.price_percentile is None else i.price_percentile for i in self.items]
        )
        self.n_clients = n_clients
        self._items_by_token = self.item_matrix.T.tocsc()
        self._category_of_item = _one_hot(self.item_category, len(self.category_index)).T
        self._brand_of_item = _one_hot(self.item_brand, len(self.brand_index)).T

    def _taste_matrix(self, values: list[set[tuple[str, str]]], width: int) -> sparse.csr_matrix:
        rows, cols = [], []
        for row, pairs in enumerate(values):
            for dimension, value in pairs:
                token = taste_token(dimension, value)
                col = self.vocabulary.get(token) if token else None
                if col is not None:
                    rows.append(row)
                    cols.append(col)
        matrix = _csr(rows, cols, [1.0] * len(rows), (len(values), width))
        matrix.data[:] = 1.0  # the same like stated twice counts once
        return matrix

    def _count_matrix(
        self,
        values: Sequence[Mapping[str, float]],
        index: Mapping[str, int],
        key: Callable[[str], str],
    ) -> sparse.csr_matrix:
        entries = [
            (row, col, float(count))
            for row, counts in enumerate(values)
            for name, count in counts.items()
            if (col := index.get(key(name))) is not None
        ]
        # A coo matrix sums the entries that land on one cell (two spellings of a category).
        matrix = sparse.coo_matrix(
            (
                np.array([e[2] for e in entries], dtype=float),
                (
                    np.array([e[0] for e in entries], dtype=np.int64),
                    np.array([e[1] for e in entries], dtype=np.int64),
                ),
            ),
            shape=(len(values), max(len(index), 1)),
        )
        return matrix.tocsr()

    def block(
        self,
        clients: slice | np.ndarray | Iterable[int],
        items: np.ndarray | None = None,
    ) -> FitBlock:
        """Score the clients `clients` (row numbers) against every item, or only `items`."""
        if not isinstance(clients, slice | np.ndarray):
            clients = np.fromiter(clients, dtype=np.int64)
        columns = np.arange(len(self.items)) if items is None else np.asarray(items)
        w = self.weights
        items_t = self._items_by_token[:, columns] if items is not None else self._items_by_token
        stated = np.asarray((self.likes[clients] @ items_t).todense(), dtype=float)
        disliked = np.asarray((self.dislikes[clients] @ items_t).todense()) > 0
        category_lines = self._gather(self.bought_categories[clients], self.item_category[columns])
        brand_lines = self._gather(self.bought_brands[clients], self.item_brand[columns])
        observed = self._observed(category_lines, brand_lines)
        price = self._price_fit(clients, columns)
        return FitBlock(
            fit=w.fit(stated, observed, price),
            stated=stated,
            observed=observed,
            excluded=disliked,
            matches=w.matches(stated, observed, disliked),
        )

    def _observed(self, category_lines: np.ndarray, brand_lines: np.ndarray) -> np.ndarray:
        scale = self.weights.observed_scale
        return 0.6 * (1 - np.exp(-category_lines / scale)) + 0.4 * (
            1 - np.exp(-brand_lines / scale)
        )

    @staticmethod
    def _gather(matrix: sparse.csr_matrix, columns: np.ndarray) -> np.ndarray:
        dense = np.asarray(matrix.todense(), dtype=float)
        out = np.zeros((dense.shape[0], columns.size))
        known = columns >= 0
        out[:, known] = dense[:, columns[known]]
        return out

    def _price_fit(self, clients: slice | np.ndarray, columns: np.ndarray) -> np.ndarray:
        categories = self.item_category[columns]
        sums = self._gather(self.typical_log_price[clients], categories)
        counts = self._gather(self.has_typical_price[clients], categories)
        known = counts > 0
        typical = np.divide(sums, counts, out=np.zeros_like(sums), where=known)
        item_log = self.item_log_price[columns][None, :]
        percentile = self.item_percentile[columns][None, :]
        gap = item_log - typical
        by_paid = np.exp(-(gap**2) / (2 * self.weights.price_sigma**2))
        target = self.band_target[clients][:, None]
        by_band = np.clip(1 - 1.5 * np.abs(percentile - target), 0, 1)
        price = np.full(sums.shape, 0.5)
        band_known = ~np.isnan(target) & ~np.isnan(percentile)
        price = np.where(band_known, by_band, price)
        paid_known = known & ~np.isnan(item_log)
        return np.where(paid_known, by_paid, price)

    def explain(self, client: int, item: int) -> Explanation:
        """Say which of the client's likes the item has, and the parts of its fit."""
        return self.explain_pairs(np.array([client]), np.array([item]))[0]

    def candidate_pairs(self, clients: np.ndarray) -> PairScores:
        """Score only the (client, item) pairs with some signal, for clients `clients` (rows).

        Sparse: a client is paired with the items that have one of their likes or lie in a
        category or brand they bought, never with every item, so tens of thousands of clients
        against thousands of items stay cheap.
        """
        clients = np.asarray(clients, dtype=np.int64)
        liked = self.likes[clients] @ self._items_by_token
        by_category = self.bought_categories[clients] @ self._category_of_item
        by_brand = self.bought_brands[clients] @ self._brand_of_item
        pattern = (liked != 0).astype(np.int8) + (by_category != 0) + (by_brand != 0)
        rows, items = pattern.nonzero()
        return self.score_pairs(clients[rows], items)

    def score_pairs(self, clients: np.ndarray, items: np.ndarray) -> PairScores:
        """Score many (client, item) pairs element-wise, with the parts of each fit."""
        clients = np.asarray(clients, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        w = self.weights
        if clients.size == 0:
            empty = np.zeros(0)
            return PairScores(clients, items, empty, empty, empty, empty, empty, empty, empty)
        categories = self.item_category[items]
        brands = self.item_brand[items]
        tokens = self.item_matrix[items]
        stated = np.asarray(self.likes[clients].multiply(tokens).sum(axis=1)).ravel()
        disliked = np.asarray(self.dislikes[clients].multiply(tokens).sum(axis=1)).ravel() > 0
        in_category = self._pairs(self.bought_categories, clients, categories)
        in_brand = np.where(
            brands >= 0, self._pairs(self.bought_brands, clients, np.maximum(brands, 0)), 0.0
        )
        sums = self._pairs(self.typical_log_price, clients, categories)
        counts = self._pairs(self.has_typical_price, clients, categories)
        item_log = self.item_log_price[items]
        percentile = self.item_percentile[items]
        target = self.band_target[clients]
        price = np.full(clients.size, 0.5)
        band_known = ~np.isnan(target) & ~np.isnan(percentile)
        price = np.where(band_known, np.clip(1 - 1.5 * np.abs(percentile - target), 0, 1), price)
        paid_known = (counts > 0) & ~np.isnan(item_log)
        typical = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
        by_paid = np.exp(-((item_log - typical) ** 2) / (2 * w.price_sigma**2))
        price = np.where(paid_known, by_paid, price)
        observed = self._observed(in_category, in_brand)
        return PairScores(
            clients=clients,
            items=items,
            fit=w.fit(stated, observed, price),
            stated=stated,
            observed=observed,
            price=price,
            in_category=in_category,
            in_brand=in_brand,
            excluded=disliked,
        )

    def explain_pairs(self, clients: np.ndarray, items: np.ndarray) -> list[Explanation]:
        """Explain many (client, item) pairs: their scores and the likes each item has."""
        scores = self.score_pairs(clients, items)
        likes, dislikes = self.likes, self.dislikes
        found = []
        pairs = zip(scores.clients.tolist(), scores.items.tolist(), strict=True)
        for k, (client, item) in enumerate(pairs):
            liked_cols = set(likes.indices[likes.indptr[client] : likes.indptr[client + 1]])
            disliked_cols = set(
                dislikes.indices[dislikes.indptr[client] : dislikes.indptr[client + 1]]
            )
            shown = self.item_shown[item]
            found.append(
                Explanation(
                    fit=float(scores.fit[k]),
                    liked=tuple(shown[c] for c in shown if c in liked_cols),
                    disliked=tuple(shown[c] for c in shown if c in disliked_cols),
                    bought_in_category=float(scores.in_category[k]),
                    bought_in_brand=float(scores.in_brand[k]),
                    price_fit=float(scores.price[k]),
                )
            )
        return found

    @staticmethod
    def _pairs(matrix: sparse.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return np.asarray(matrix[rows, cols], dtype=float).ravel()
