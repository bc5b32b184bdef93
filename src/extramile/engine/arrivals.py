"""Arrival matching: which clients will want each new product, from their purchases alone.

A client's taste is what they bought, each line weighed by its age (half of it every
`half_life_days`), counted over the attributes of the products: every level of the category
path, each tag (brand, colour, a maker's line) and the price. A new product is scored for a
client as the log-probability that it is the new product they buy:

    log P(leaf | client) - log(products in the leaf)           where in the catalog
  + affinity x log(1 + lines of each of its tags)                what they are loyal to
  + popularity x log(1 + everyone's lines of each of its tags)   what sells
  - cheapness x log(1 + price) - price_gap x (log price - the client's usual log price)^2

A new product shares its leaf's clients with every product there, those sold before as well
as the other new ones: on the shelf it competes with all of them.
P(leaf | client) shrinks the client's own share of each category toward its parent's, level by
level (a client with 3 lines of dairy and none of its yoghurts still leans toward yoghurt), so
a few lines never make a certainty and a client without purchases gets the store's mix. That
is the cold start: attributes only, nothing sold yet. In the warm mode the first days of sale
are known; then the client buys the product either because it sells to everyone (its share of
the early buyers, weight `early_share`) or because it suits them (the cold score, as a
probability over the new products), and a client who already bought it early is likely to
buy it again.

Every term is a client feature times a product feature, so a block of clients is scored
against every new product with one float32 matrix product (BLAS), and a caller may append its
own columns (stated likes and dislikes of extramile.engine.taste, say). The weights were chosen
on Ta-Feng's December and January (docs/evaluation-arrivals.md says how), not on its February
test month.

`match_arrivals` turns the scores into offers that respect stock: only variants in stock in a
size the client wears, scarce units to the best-fitting clients (extramile.engine.allocation),
at most a few products per client in one message, and nobody messaged about arrivals this
week. It keeps, block by block, only the clients that can still enter each variant's shortlist,
so a million clients never make a million-row table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy import sparse

from extramile.engine.allocation import (
    PER_UNIT,
    Offers,
    allocate,
    best_variant_per_product,
    top_per_group,
)

PSEUDO_LINES = 1e-3  # credited to every category, so one never sold before stays possible
MIX_BYTES = 512 * 1024  # rows mixed at a time in `mix_early`: half of a 1 MiB L2 cache


@dataclass(frozen=True)
class Catalog:
    """Every product's attributes as integer codes (-1 when unknown), one row per product.

    `category` holds the category path, broadest level first, one column per level; a code
    names a category within its level and each category has one parent. `tags` are flat
    attributes (brand, colour, the maker's line), each its own code space.
    """

    category: np.ndarray  # products x levels
    tags: Mapping[str, np.ndarray] = field(default_factory=dict)
    price: np.ndarray | None = None  # unit price per product (nan when unknown)

    @property
    def products(self) -> int:
        """Return the number of products."""
        return int(self.category.shape[0])

    def leaf(self, products: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return each product's deepest known level and its code there."""
        path = self.category[products]
        known = path >= 0
        level = np.where(known.any(axis=1), known.shape[1] - 1 - np.argmax(known[:, ::-1], 1), -1)
        code = np.where(level >= 0, path[np.arange(len(products)), np.maximum(level, 0)], -1)
        return level.astype(np.int64), code.astype(np.int64)

    def log_price(self) -> np.ndarray:
        """Return log(1 + price) per product, nan when unknown."""
        if self.price is None:
            return np.full(self.products, np.nan)
        price = np.asarray(self.price, dtype=float)
        return np.log1p(np.where(price >= 0, price, np.nan))


@dataclass(frozen=True)
class Purchases:
    """Purchase lines: who bought which product on which day (a date ordinal)."""

    client: np.ndarray
    product: np.ndarray
    day: np.ndarray
    weight: np.ndarray | None = None  # lines by default; units or spend also work

    def recency(self, today: int, half_life_days: float | None) -> np.ndarray:
        """Return each line's weight, halved every `half_life_days` before `today`."""
        base = np.ones(self.client.size) if self.weight is None else np.asarray(self.weight, float)
        if not half_life_days:
            return base
        age = np.maximum(today - np.asarray(self.day, dtype=float), 0)
        return base * 0.5 ** (age / half_life_days)


@dataclass(frozen=True)
class ArrivalWeights:
    """The weights of the score (see the module's docstring), chosen on Ta-Feng's Dec. and Jan."""

    half_life_days: float = 120.0
    smoothing: float = 50.0  # lines borrowed from the parent category at each level
    affinity: float = 0.5  # per tag: log(1 + the client's lines with it)
    popularity: float = 0.1  # per tag: log(1 + everyone's lines with it)
    cheapness: float = 0.5  # log(1 + price)
    price_gap: float = 0.1  # squared gap to the client's usual log price
    early_share: float = 0.9  # warm: weight of the early buyers' share against the cold score
    bought_early: float = 1.0  # warm: the client bought the product in its first days


def _width(codes: np.ndarray) -> int:
    """Return the number of codes a column uses (its largest code + 1)."""
    return int(codes.max()) + 1 if codes.size else 0


def _counts(
    rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, shape: tuple[int, int]
) -> sparse.csr_matrix:
    """Return a clients x codes sparse matrix of summed weights, skipping a code of -1."""
    known = cols >= 0
    return sparse.csr_matrix(
        (weights[known], (rows[known], cols[known])), shape=(shape[0], max(shape[1], 1))
    )


class TasteProfiles:
    """Each client's recency-weighted lines per category (every level), tag and price."""

    def __init__(
        self,
        catalog: Catalog,
        purchases: Purchases,
        *,
        clients: int,
        today: int,
        half_life_days: float | None = 60.0,
    ) -> None:
        self.catalog = catalog
        self.clients = clients
        weight = purchases.recency(today, half_life_days)
        client = np.asarray(purchases.client, dtype=np.int64)
        product = np.asarray(purchases.product, dtype=np.int64)
        path = catalog.category[product]
        self.category = [
            _counts(client, path[:, level], weight, (clients, _width(catalog.category[:, level])))
            for level in range(catalog.category.shape[1])
        ]
        self.tags = {
            name: _counts(client, codes[product], weight, (clients, _width(codes)))
            for name, codes in catalog.tags.items()
        }
        self.lines = np.bincount(client, weights=weight, minlength=clients)
        self.sold = np.unique(product)
        self.assortment = [
            np.bincount(level[level >= 0], minlength=_width(level))
            for level in catalog.category[self.sold].T
        ]
        log_price = catalog.log_price()[product]
        priced = ~np.isnan(log_price)
        self.priced_lines = np.bincount(client[priced], weights=weight[priced], minlength=clients)
        price_sum = np.bincount(
            client[priced], weights=weight[priced] * log_price[priced], minlength=clients
        )
        total = self.priced_lines.sum()
        self.store_log_price = float(price_sum.sum() / total) if total > 0 else 0.0
        self.usual_log_price = np.divide(
            price_sum,
            self.priced_lines,
            out=np.full(clients, self.store_log_price),
            where=self.priced_lines > 0,
        )

    def category_popularity(self, level: int) -> np.ndarray:
        """Return everyone's weighted lines per category code of a level."""
        return np.asarray(self.category[level].sum(axis=0)).ravel()

    def tag_popularity(self, name: str) -> np.ndarray:
        """Return everyone's weighted lines per code of a tag."""
        return np.asarray(self.tags[name].sum(axis=0)).ravel()


@dataclass(frozen=True)
class EarlySales:
    """The warm mode: what the new products sold in their first days.

    `buyers` counts each new product's distinct early buyers; `client` and `product` list who
    bought which (product as an index into the new products).
    """

    buyers: np.ndarray
    client: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    product: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def share(self) -> np.ndarray:
        """Return each new product's share of the early buyers (zeros if nothing sold)."""
        buyers = np.asarray(self.buyers, dtype=float)
        total = buyers.sum()
        return buyers / total if total > 0 else np.zeros_like(buyers)


@dataclass(frozen=True)
class ExtraFeatures:
    """Columns a caller adds to the score: client x columns times new product x columns."""

    name: str
    clients: np.ndarray | sparse.spmatrix  # every client x columns
    products: np.ndarray  # new products x columns, already weighted


@dataclass(frozen=True)
class FeatureGroup:
    """A named run of feature columns; `codes` names the attribute code of each column."""

    name: str
    start: int
    stop: int
    codes: np.ndarray


@dataclass(frozen=True)
class Reason:
    """One thing that drove a match, with its share of the score against a client new to us."""

    feature: str  # "category", a tag name, "price", "early sales", "bought early", an extra name
    code: int  # the attribute's code (the category or tag code), -1 when it has none
    weight: float  # how much it raised the score (log scale)
    level: int = -1  # for a category, the level of the path the code belongs to


@dataclass(frozen=True)
class ClientRows:
    """A block of clients' profiles as dense arrays over the codes the new products use."""

    categories: list[np.ndarray]  # per level: lines per needed category code
    tags: list[np.ndarray]  # per tag: lines per code some new product has
    lines: np.ndarray
    usual_log_price: np.ndarray
    extra: list[np.ndarray]


class ArrivalModel:
    """The fit of every client to every new product, as client features x product features."""

    def __init__(
        self,
        profiles: TasteProfiles,
        new_products: np.ndarray,
        *,
        weights: ArrivalWeights | None = None,
        early: EarlySales | None = None,
        extra: tuple[ExtraFeatures, ...] = (),
    ) -> None:
        self.profiles = profiles
        self.catalog = profiles.catalog
        self.new_products = np.asarray(new_products, dtype=np.int64)
        self.weights = weights or ArrivalWeights()
        self.early = early
        self.extra = extra
        self.leaf_level, self.leaf_code = self.catalog.leaf(self.new_products)
        path = self.catalog.category[self.new_products]
        self._needed = [np.unique(c[c >= 0]) for c in path.T]
        self._up = [np.zeros(0, dtype=np.int64)] + [
            np.searchsorted(self._needed[level - 1], self._parent_of(level, self._needed[level]))
            for level in range(1, len(self._needed))
        ]
        self._shares = [self._conditional_share(level) for level in range(len(self._needed))]
        self._tag_codes = {
            name: np.unique(codes[self.new_products][codes[self.new_products] >= 0])
            for name, codes in self.catalog.tags.items()
        }
        self.groups: list[FeatureGroup] = []
        self.item_features = self._item_features()
        self._early_share = None if early is None else early.share().astype(np.float32)

    # The category hierarchy ------------------------------------------------------------------

    def _parent_of(self, level: int, codes: np.ndarray) -> np.ndarray:
        """Return the parent code (one level up) of each category code of a level."""
        category = self.catalog.category
        parent = np.full(_width(category[:, level]), -1, dtype=np.int64)
        known = category[:, level] >= 0
        parent[category[known, level]] = category[known, level - 1]
        return parent[codes]

    def _conditional_share(self, level: int) -> np.ndarray:
        """Return, for the needed codes of a level, everyone's share of their parent's lines."""
        codes = self._needed[level]
        popular = self.profiles.category_popularity(level) + PSEUDO_LINES
        if level == 0:
            return popular[codes] / popular.sum()
        parents = np.maximum(self._parent_of(level, np.arange(popular.size)), 0)
        by_parent = np.bincount(parents, weights=popular)
        return popular[codes] / by_parent[parents[codes]]

    def category_probability(self, rows: ClientRows) -> list[np.ndarray]:
        """Return, per level, P(category | client) over the needed codes, smoothed top-down.

        P = (own lines + smoothing x P(parent) x the category's share of its parent) / (all
        own lines + smoothing): a client's own mix, pulled toward the store's by a fixed number
        of borrowed lines, so a few purchases move it a little and many move it a lot.
        """
        alpha = self.weights.smoothing
        lines = rows.lines[:, None]
        out: list[np.ndarray] = []
        for level, own in enumerate(rows.categories):
            if level == 0:
                prior = np.broadcast_to(self._shares[0], own.shape)
            else:
                prior = out[level - 1][:, self._up[level]] * self._shares[level]
            out.append((own + alpha * prior) / (lines + alpha))
        return out

    # Features --------------------------------------------------------------------------------

    def _add_group(self, name: str, columns: np.ndarray, codes: np.ndarray) -> np.ndarray:
        start = self.groups[-1].stop if self.groups else 0
        self.groups.append(FeatureGroup(name, start, start + columns.shape[1], codes))
        return columns

    def _one_hot(self, codes: np.ndarray, vocabulary: np.ndarray, value: float) -> np.ndarray:
        """Return new products x vocabulary with `value` at each product's code."""
        out = np.zeros((codes.size, vocabulary.size))
        mine = np.flatnonzero(np.isin(codes, vocabulary))
        out[mine, np.searchsorted(vocabulary, codes[mine])] = value
        return out

    def _item_features(self) -> np.ndarray:
        """Return the new products x features matrix (float32), registering the groups."""
        w = self.weights
        parts = []
        for level, codes in enumerate(self._needed):
            leaf = np.where(self.leaf_level == level, self.leaf_code, -1)
            parts.append(self._add_group(f"category:{level}", self._one_hot(leaf, codes, 1), codes))
        for name, codes in self._tag_codes.items():
            mine = self.catalog.tags[name][self.new_products]
            parts.append(self._add_group(name, self._one_hot(mine, codes, w.affinity), codes))
        log_price = self.catalog.log_price()[self.new_products]
        known = ~np.isnan(log_price)
        # -price_gap x (log price - usual)^2, its square of log price kept in the prior; an
        # unknown price is taken as the client's usual one.
        gap = np.c_[2 * w.price_gap * np.where(known, log_price, 0), -w.price_gap * known]
        parts.append(self._add_group("price", gap, np.full(2, -1)))
        parts.append(self._add_group("prior", self._prior()[:, None], np.full(1, -1)))
        for extra in self.extra:
            columns = np.asarray(extra.products, dtype=float)
            parts.append(self._add_group(extra.name, columns, np.full(columns.shape[1], -1)))
        return np.ascontiguousarray(np.hstack(parts), dtype=np.float32)

    def _prior(self) -> np.ndarray:
        """Return each new product's score for every client alike (the constant column)."""
        w = self.weights
        prior = -np.log(self._products_in_leaf())
        log_price = self.catalog.log_price()[self.new_products]
        prior -= np.nan_to_num(w.cheapness * log_price + w.price_gap * log_price**2)
        for name, codes in self.catalog.tags.items():
            popular = self.profiles.tag_popularity(name)
            mine = codes[self.new_products]
            prior += w.popularity * np.where(mine >= 0, np.log1p(popular[np.maximum(mine, 0)]), 0)
        return prior

    def _products_in_leaf(self) -> np.ndarray:
        """Return, per new product, the products of its leaf: those sold and the new ones."""
        leaves = self.leaf_level * (1 << 40) + self.leaf_code
        _, leaf_index = np.unique(leaves, return_inverse=True)
        unsold = ~np.isin(self.new_products, self.profiles.sold)  # not counted among the sold
        sold = np.zeros(self.new_products.size)
        for level, counts in enumerate(self.profiles.assortment):
            mine = (self.leaf_level == level) & (self.leaf_code < counts.size)
            sold[mine] = counts[self.leaf_code[mine]]
        return sold + np.bincount(leaf_index, weights=unsold)[leaf_index]

    def rows(self, clients: np.ndarray) -> ClientRows:
        """Return the profiles of the clients `clients` over the codes the features use."""
        p = self.profiles
        return ClientRows(
            categories=[
                m[clients][:, c].toarray() for m, c in zip(p.category, self._needed, strict=True)
            ],
            tags=[p.tags[n][clients][:, c].toarray() for n, c in self._tag_codes.items()],
            lines=p.lines[clients],
            usual_log_price=p.usual_log_price[clients],
            extra=[_dense(e.clients[clients]) for e in self.extra],
        )

    def newcomer(self) -> ClientRows:
        """Return the profile of a client without purchases: the store's mix, its prices."""
        return ClientRows(
            categories=[np.zeros((1, c.size)) for c in self._needed],
            tags=[np.zeros((1, c.size)) for c in self._tag_codes.values()],
            lines=np.zeros(1),
            usual_log_price=np.full(1, self.profiles.store_log_price),
            extra=[np.zeros((1, np.shape(e.products)[1])) for e in self.extra],
        )

    def features(self, rows: ClientRows) -> np.ndarray:
        """Return the clients x features matrix (float32) of some client rows."""
        usual = rows.usual_log_price
        parts = [np.log(level) for level in self.category_probability(rows)]
        parts += [np.log1p(lines) for lines in rows.tags]
        parts += [np.c_[usual, usual**2], np.ones((usual.size, 1)), *rows.extra]
        return np.ascontiguousarray(np.hstack(parts), dtype=np.float32)

    def client_features(self, clients: np.ndarray) -> np.ndarray:
        """Return the clients x features matrix (float32) of the client numbers `clients`."""
        return self.features(self.rows(np.asarray(clients, dtype=np.int64)))

    # Scores ----------------------------------------------------------------------------------

    def score(self, clients: np.ndarray) -> np.ndarray:
        """Return the scores (float32, clients x new products) of distinct clients `clients`.

        Cold: the log score of the module's docstring. Warm: log(early_share x the product's
        share of the early buyers + (1 - early_share) x the cold score as a probability over
        the new products), plus `bought_early` where the client bought the product early.
        """
        clients = np.asarray(clients, dtype=np.int64)
        scores = self.client_features(clients) @ self.item_features.T
        if self._early_share is not None and self.early is not None:
            mix_early(scores, self._early_share, self.weights.early_share)
            row, product = _pairs_within(clients, self.early.client, self.early.product)
            scores[row, product] += np.float32(self.weights.bought_early)
        return scores

    def explain(self, client: int, product: int, *, top: int = 3) -> list[Reason]:
        """Return what raised a client's score for a new product (an index into new) most.

        Each feature group's part of the score is set against the same part for a client we
        know nothing of, so a reason says what this client's history added.
        """
        mine = self.client_features(np.array([client]))[0]
        nobody = self.features(self.newcomer())[0]
        item = self.item_features[product]
        reasons = []
        for group in self.groups:
            span = slice(group.start, group.stop)
            lift = float(mine[span] @ item[span] - nobody[span] @ item[span])
            present = np.flatnonzero(item[span])
            code = int(group.codes[present[0]]) if present.size else -1
            name, _, level = group.name.partition(":")
            reasons.append(Reason(name, code, lift, int(level) if level else -1))
        reasons += self._early_reasons(client, product)
        return sorted((r for r in reasons if r.weight > 1e-6), key=lambda r: -r.weight)[:top]

    def _early_reasons(self, client: int, product: int) -> list[Reason]:
        """Return the warm reasons: it sells above the average new product, or they bought it."""
        if self.early is None or self._early_share is None:
            return []
        reasons = []
        times_average = float(self._early_share[product]) * self.new_products.size
        if times_average > 1:
            reasons.append(Reason("early sales", -1, float(np.log(times_average))))
        if np.any((self.early.client == client) & (self.early.product == product)):
            reasons.append(Reason("bought early", -1, self.weights.bought_early))
        return reasons


def stated_taste(
    likes: sparse.spmatrix,
    dislikes: sparse.spmatrix,
    product_tokens: sparse.spmatrix,
    *,
    like: float = 1.0,
    dislike: float = -20.0,
) -> tuple[ExtraFeatures, ExtraFeatures]:
    """Return what clients told us as extra columns: likes raise a product, dislikes bar it.

    The matrices are those of extramile.engine.taste.TasteModel: `likes` and `dislikes` are
    clients x tokens, `product_tokens` the new products x tokens (weighted by dimension: a
    brand 1, a category 0.5, ...), their rows in the same order as the arrival model's.
    """
    tokens = sparse.csr_matrix(product_tokens).toarray()
    return (
        ExtraFeatures("stated likes", sparse.csr_matrix(likes), like * tokens),
        ExtraFeatures("stated dislikes", sparse.csr_matrix(dislikes), dislike * (tokens > 0)),
    )


def _dense(rows: np.ndarray | sparse.spmatrix) -> np.ndarray:
    """Return rows of a dense or a sparse matrix as a dense array."""
    if isinstance(rows, np.ndarray):
        return rows.astype(float, copy=False)
    return np.asarray(sparse.csr_matrix(rows).toarray(), dtype=float)


def _pairs_within(
    clients: np.ndarray, pair_client: np.ndarray, pair_product: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the (row in `clients`, product) of the pairs whose client is in `clients`."""
    if clients.size == 0 or pair_client.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    order = np.argsort(clients, kind="stable")
    ordered = clients[order]
    position = np.minimum(np.searchsorted(ordered, pair_client), clients.size - 1)
    inside = ordered[position] == pair_client
    return order[position[inside]], np.asarray(pair_product)[inside]


def mix_early(scores: np.ndarray, early_share: np.ndarray, weight: float) -> None:
    """Turn cold log scores into warm ones in place: log(w x early + (1 - w) x softmax).

    A few rows at a time, so that the eight passes over them run in the core's cache rather
    than over a whole block in memory (each row's numbers are the same either way).
    """
    rows = max(1, MIX_BYTES // max(1, scores.shape[1] * scores.itemsize))
    for start in range(0, scores.shape[0], rows):
        _mix_rows(scores[start : start + rows], early_share, weight)


def _mix_rows(scores: np.ndarray, early_share: np.ndarray, weight: float) -> None:
    scores -= scores.max(axis=1, keepdims=True)
    # Below e^-40 a product is nothing beside the best; the floor also keeps exp away from
    # subnormal numbers, which are many times slower.
    np.maximum(scores, np.float32(-40), out=scores)
    np.exp(scores, out=scores)
    scores *= ((1 - weight) / scores.sum(axis=1, keepdims=True)).astype(np.float32)
    scores += np.float32(weight) * early_share[None, :]
    with np.errstate(divide="ignore"):  # a product nobody may buy scores -inf
        np.log(scores, out=scores)


def top_products(scores: np.ndarray, k: int) -> np.ndarray:
    """Return each row's k best columns, best first (ties to the lower column)."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    picked = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -picked), axis=1)
    return np.take_along_axis(part, order, axis=1)


# Offers that respect stock ----------------------------------------------------------------


@dataclass(frozen=True)
class Stock:
    """The new products' variants in stock, one row per product and size.

    A product with sizes uses one column of the clients' sizes (`size_system`: tops, shoes,
    ...); a one-size product has -1 there and its variant has size -1. Colours are separate
    products that share a `style`, so a client is offered one colour of a style at most.
    """

    product: np.ndarray  # index into the new products
    size: np.ndarray  # size code, -1 for one size
    units: np.ndarray
    size_system: np.ndarray  # per new product
    style: np.ndarray | None = None  # per new product; each product its own style by default

    @cached_property
    def _variant_table(self) -> np.ndarray:
        """Return products x (size + 1) variant numbers (column 0: one size; -1: none)."""
        table = np.full(
            (self.size_system.size, int(self.size.max(initial=-1)) + 2), -1, dtype=np.int64
        )
        table[self.product, self.size + 1] = np.arange(self.product.size)
        return table

    def variant_of(self, product: np.ndarray, size: np.ndarray) -> np.ndarray:
        """Return the variant of each (product, size) pair, or -1 when there is none."""
        table = self._variant_table
        column = size + 1
        known = (column >= 0) & (column < table.shape[1])
        return np.where(known, table[product, np.where(known, column, 0)], -1)

    def style_of(self, product: np.ndarray) -> np.ndarray:
        """Return the style of each product (the product itself without styles)."""
        return product if self.style is None else self.style[product]


class Shortlists:
    """The best clients met so far for each variant, and the score a newcomer must beat.

    Each variant keeps up to its quota of clients; once full, a client enters only above the
    lowest score kept (ties go to the lower client number, met first), so the bars only rise
    and most of a large block of clients is passed over with one comparison.
    """

    def __init__(self, stock: Stock, quota: np.ndarray, floor: float, products: int) -> None:
        self.stock = stock
        self.quota = quota
        self.bar = np.where(quota > 0, floor, np.inf).astype(np.float32)
        self.products = products
        self.kept = Offers.concatenate([])
        self.pending: list[Offers] = []
        self.pending_rows = 0
        self._mask = np.empty((0, products), dtype=bool)

    def product_bar(self) -> np.ndarray:
        """Return each product's lowest bar over its variants (inf when none is in stock)."""
        bar = np.full(self.products, np.inf, dtype=np.float32)
        np.minimum.at(bar, self.stock.product, self.bar)
        return bar

    def above_bar(self, scores: np.ndarray) -> np.ndarray:
        """Return the flat positions of a block's scores above their product's bar."""
        if self._mask.shape != scores.shape:  # one buffer, reused while the blocks keep a size
            self._mask = np.empty(scores.shape, dtype=bool)
        np.greater(scores, self.product_bar()[None, :], out=self._mask)
        # flatnonzero on the flat mask is several times faster than nonzero on the 2-d one.
        return np.flatnonzero(self._mask)

    def add(self, offers: Offers) -> None:
        """Add candidate offers; shortlist again once enough are waiting."""
        self.pending.append(offers)
        self.pending_rows += len(offers)
        if self.pending_rows > max(int(self.quota.sum()), 1 << 16):
            self.shortlist()

    def shortlist(self) -> Offers:
        """Keep each variant's best clients up to its quota and raise the full ones' bars."""
        every = Offers.concatenate([self.kept, *self.pending])
        self.pending, self.pending_rows = [], 0
        if len(every) == 0:
            return every
        self.kept = every.take(
            top_per_group(every.variant, every.fit, self.quota, tie=every.client)
        )
        count = np.bincount(self.kept.variant, minlength=self.quota.size)
        lowest = np.full(self.quota.size, np.inf, dtype=np.float32)
        np.minimum.at(lowest, self.kept.variant, self.kept.fit.astype(np.float32))
        full = (count >= self.quota) & (self.quota > 0)
        self.bar[full] = np.maximum(self.bar[full], lowest[full])
        return self.kept


def match_arrivals(
    score: Callable[[np.ndarray], np.ndarray],
    clients: np.ndarray,
    *,
    stock: Stock,
    client_sizes: np.ndarray | None = None,
    per_unit: int = PER_UNIT,
    per_client: int | None = 3,
    depth: float = 2.0,
    min_score: float = -np.inf,
    block: int = 4096,
) -> Offers:
    """Offer the new products in stock to the clients who fit them best.

    `score(clients)` returns a clients x new products block (ArrivalModel.score, say); only
    variants in stock in a size the client wears (`client_sizes`: every client x size system,
    -1 unknown) are offered, each to at most `per_unit` x its units clients, a client gets at
    most `per_client` products and one colour of a style, and nobody scores below
    `min_score`. Leave out of `clients` those messaged about arrivals within the week
    (`due_for_message`).

    Each variant shortlists `depth` times its places, so places given up by clients who fit
    other products better go to the next clients on the list. Should a variant run through its
    whole list and still have places, the lists were too short to be sure: the clients are
    scored again with lists twice as deep, so the offers are always those of allocating every
    pair at once.

    Returns the offers: `client` a client number, `variant` a row of the stock, `product` the
    style, `fit` the score.
    """
    clients = np.sort(np.asarray(clients, dtype=np.int64))
    places = np.maximum(stock.units, 0) * per_unit
    depth = max(depth, 1.0)
    while True:
        quota = np.ceil(places * depth).astype(np.int64)
        shortlisted = _shortlist(score, clients, stock, quota, client_sizes, min_score, block)
        offers = best_variant_per_product(shortlisted)
        offers = allocate(offers, stock.units, per_unit=per_unit, per_client=per_client)
        listed = np.bincount(shortlisted.variant, minlength=quota.size)
        given = np.bincount(offers.variant, minlength=quota.size)
        if not np.any((listed >= quota) & (given < places)):
            return offers
        depth *= 2


def _shortlist(
    score: Callable[[np.ndarray], np.ndarray],
    clients: np.ndarray,
    stock: Stock,
    quota: np.ndarray,
    client_sizes: np.ndarray | None,
    min_score: float,
    block: int,
) -> Offers:
    """Score the clients a block at a time; return each variant's best, up to its quota."""
    lists = Shortlists(stock, quota, min_score, stock.size_system.size)
    for rows in client_blocks(clients, block):
        lists.add(_block_offers(score(rows), rows, lists, client_sizes))
    return lists.shortlist()


def client_blocks(clients: np.ndarray, block: int) -> list[np.ndarray]:
    """Cut the clients into blocks, small at first (while the bars are low) then `block`."""
    blocks, start, size = [], 0, min(256, block)
    while start < clients.size:
        blocks.append(clients[start : start + size])
        start += size
        size = min(size * 2, block)
    return blocks


def _block_offers(
    scores: np.ndarray, rows: np.ndarray, lists: Shortlists, client_sizes: np.ndarray | None
) -> Offers:
    """Return the offers of a block of clients that beat their variant's bar."""
    stock = lists.stock
    hits = lists.above_bar(scores)
    hit_row, hit_product = np.divmod(hits, scores.shape[1])
    fit = scores.reshape(-1)[hits]
    client = rows[hit_row]
    system = stock.size_system[hit_product]
    if client_sizes is None:
        size = np.full(client.size, -1, dtype=np.int64)
    else:
        worn = client_sizes[client, np.maximum(system, 0)]
        size = np.where(system < 0, -1, np.where(worn < 0, -2, worn))  # -2: size unknown
    variant = stock.variant_of(hit_product, size)
    ok = variant >= 0
    ok[ok] = fit[ok] > lists.bar[variant[ok]]
    return Offers(
        client=client[ok],
        variant=variant[ok],
        product=stock.style_of(hit_product[ok]),
        fit=fit[ok].astype(float),
    )


def due_for_message(
    last_sent: np.ndarray, today: int | np.ndarray, *, every_days: int | np.ndarray = 7
) -> np.ndarray:
    """Return which clients may hear of arrivals today: none in the last `every_days` days.

    `last_sent` holds each client's last arrival message day (a date ordinal), or a value at
    least `every_days` in the past (or -1) for a client never messaged. `today` and
    `every_days` may be one value for all or one per client (clients in other time zones or
    stores); `every_days` 0 puts no limit.
    """
    last = np.asarray(last_sent, dtype=np.int64)
    return (last < 0) | (today - last >= every_days)
