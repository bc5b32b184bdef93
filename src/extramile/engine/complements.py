"""Basket complements: what is most often bought together with a product, from the store's baskets.

The baskets become one sparse basket x product incidence matrix X (1 when the basket holds the
product, however many units); X^T X then holds, for every pair of products, the number of
baskets holding both, and its diagonal the number holding each. From those counts, for a pair
(a, b) in N baskets:

- support    = together / N — how common the pair is;
- confidence = together / baskets with a — how often a buyer of a also takes b;
- lift       = confidence / (baskets with b / N) — above 1 when b goes with a more than with
  any basket, so an item in every basket (the milk) is never anyone's complement.

Three ways to read them:

- `complements(a)`: the products most often bought with a (by confidence), among partners
  with a lift above 1 seen together at least twice — the "clients who buy a also take b" of a
  service-recovery surprise.
- `pair_rules(min_support, min_confidence)`: every rule a -> b between two single products,
  the very rules mlxtend's fpgrowth + association_rules find on the same thresholds (itemsets
  of two), counted the way mlxtend counts and compared the way it compares.
- `rank_complements(queries)`: one product, many products, or a whole basket at once. A pair
  counts when seen together at least `min_together` times with a lift above 1; it scores its
  confidence shrunk toward 0 by SHRINKAGE baskets, together / (baskets with a + k), so a product
  bought twice, both times with b, does not outrank one bought a thousand times, 400 of them
  with b. For one product this is the ranking of `complements`; for several, a candidate takes
  its best score over them. Each category level given (subclass, then top category...) adds the
  same score of the asked products' categories, weighted CATEGORY_WEIGHT times the level below:
  a rare product, with few pairs of its own, is ranked by what its category is bought with.
  Filters (price limit, in stock, not already bought) are plain arguments (`Filters`).

Everything is computed from X with sparse products; a query only computes the rows it needs.
SHRINKAGE and CATEGORY_WEIGHT were chosen on Ta-Feng's January (docs/evaluation.md).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt
from scipy import sparse

SHRINKAGE = 10.0  # baskets added to the asked product's own before its confidence is read
CATEGORY_WEIGHT = 0.1  # a category level's score counts this much of the level below it
MIN_TOGETHER = 2  # baskets a pair must share to count

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Complement:
    """A product bought together with another (or with its category), and how strongly.

    `level` 0 means the numbers are those of the pair itself; 1, 2... those of the asked
    product's category at that level (its subclass, its top category...) with this product.
    `score` is what the list was ranked by (confidence for `complements`, the shrunk confidence
    for `rank_complements`); `goes_with` is the asked product the numbers belong to.
    """

    product_id: int
    together: int
    support: float
    confidence: float
    lift: float
    level: int = 0
    score: float = 0.0
    goes_with: int | None = None


@dataclass(frozen=True)
class PairRules:
    """Association rules antecedent -> consequent between single products, as parallel arrays."""

    antecedent: IntArray
    consequent: IntArray
    together: IntArray
    support: FloatArray
    confidence: FloatArray
    lift: FloatArray

    def __len__(self) -> int:
        """Return the number of rules."""
        return int(self.antecedent.size)

    def pairs(self) -> set[tuple[int, int]]:
        """Return the rules as a set of (antecedent, consequent) product ids."""
        return set(zip(self.antecedent.tolist(), self.consequent.tolist(), strict=True))


@dataclass(frozen=True)
class Filters:
    """Which products may be offered: cheap enough, in stock, not already bought by the client.

    A price limit needs `prices` (product id -> price): a product without a price fails it.
    `in_stock` None means stock is not checked; otherwise only the ids in it pass.
    """

    max_price: float | None = None
    prices: Mapping[int, float] = field(default_factory=dict)
    in_stock: Collection[int] | None = None
    bought: Collection[int] = ()

    def allowed(self, product_ids: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Return, for each product id, whether it passes every filter."""
        ids = np.asarray(product_ids, dtype=np.int64)
        ok = np.ones(ids.size, dtype=bool)
        if self.max_price is not None:
            ok &= lookup(self.prices, ids, missing=math.inf) <= self.max_price
        if self.in_stock is not None:
            ok &= np.isin(ids, _ids(self.in_stock))
        if len(self.bought):
            ok &= ~np.isin(ids, _ids(self.bought))
        return ok


def _ids(values: Iterable[int]) -> IntArray:
    return np.fromiter((int(v) for v in values), dtype=np.int64)


def lookup(values: Mapping[int, float], ids: IntArray, *, missing: float) -> FloatArray:
    """Return values[id] for each id, `missing` where the mapping has none."""
    out = np.full(ids.size, missing, dtype=np.float64)
    if not values:
        return out
    keys = _ids(values.keys())
    found = np.fromiter((float(v) for v in values.values()), dtype=np.float64, count=keys.size)
    order = np.argsort(keys)
    keys, found = keys[order], found[order]
    at = np.minimum(np.searchsorted(keys, ids), keys.size - 1)
    hit = keys[at] == ids
    out[hit] = found[at[hit]]
    return out


def dense_codes(values: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    """Return the distinct values (sorted) and each value's index among them.

    Small non-negative integers (as database ids and data-set codes are) go through a lookup
    table, in linear time; anything else through np.unique.
    """
    array = np.asarray(values, dtype=np.int64)
    if array.size == 0:
        return array.copy(), array.copy()
    low, high = int(array.min()), int(array.max())
    if low < 0 or high > 4 * array.size + 1024:
        distinct, codes = np.unique(array, return_inverse=True)
        return distinct, codes.astype(np.int64).ravel()
    present = np.zeros(high + 1, dtype=bool)
    present[array] = True
    code_of = np.cumsum(present, dtype=np.int64) - 1
    return np.flatnonzero(present).astype(np.int64), code_of[array]


def min_count(min_support: float, baskets: int) -> int:
    """Return the fewest baskets a pair needs to reach `min_support`, as mlxtend decides it.

    mlxtend keeps an itemset when its count is at least ceil(min_support * N) (the FP-tree's
    cut) and its support count / N is at least min_support (the final filter); both in floats.
    """
    if not 0.0 < min_support <= 1.0:
        raise ValueError(f"min_support must be in (0, 1], not {min_support}")
    need = max(math.ceil(min_support * baskets), 1)
    while need / float(baskets) < min_support:
        need += 1
    return need


def rule_confidence(together: IntArray, anchor: IntArray, baskets: int) -> FloatArray:
    """Return the confidence of rules as mlxtend computes it, so a rule on the threshold agrees.

    mlxtend divides supports and multiplies each by the basket count it is given:
    (together / N * N) / (anchor / N * N), which can differ from together / anchor in the last
    bit.
    """
    n = float(baskets)
    return (together / n * n) / (anchor / n * n)


def complement_score(
    together: FloatArray, anchor: FloatArray, partner: FloatArray, baskets: int, shrinkage: float
) -> FloatArray:
    """Return together / (anchor + shrinkage) where the lift is above 1, else 0."""
    expected = anchor * partner / baskets
    return np.where(together > expected, together / (anchor + shrinkage), 0.0)


def best_over_anchors(queries: sparse.csr_matrix, values: sparse.csr_matrix) -> FloatArray:
    """Return, per query and column, the largest value of a row of `values` the query holds.

    `queries` (queries x rows) marks which rows of `values` (rows x columns) each query holds;
    the result is dense, 0 where no held row has a value.
    """
    held = queries.tocoo()
    starts = values.indptr[held.col]
    lengths = values.indptr[held.col + 1] - starts
    best = np.zeros((queries.shape[0], values.shape[1]), dtype=np.float64)
    total = int(lengths.sum())
    if total:
        position = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(total)
        cell = np.repeat(held.row.astype(np.int64), lengths) * best.shape[1]
        cell += values.indices[position]
        np.maximum.at(best.reshape(-1), cell, values.data[position])  # flat: much faster
    return best


class BasketMatrix:
    """A store's baskets as a sparse basket x product matrix, ready for complement queries."""

    def __init__(self, rows: sparse.csr_matrix, product_ids: IntArray) -> None:
        """Wrap a binary CSR matrix whose column j is the product `product_ids[j]`."""
        self.rows = rows
        self.product_ids = product_ids
        self.column = {int(pid): j for j, pid in enumerate(product_ids.tolist())}
        self.baskets = int(rows.shape[0])
        self.counts = np.bincount(rows.indices, minlength=product_ids.size).astype(np.int64)

    @classmethod
    def from_lines(cls, order_ids: npt.ArrayLike, product_ids: npt.ArrayLike) -> BasketMatrix:
        """Build the matrix from parallel order ids and product ids, one pair per order line."""
        orders = np.asarray(order_ids, dtype=np.int64)
        products = np.asarray(product_ids, dtype=np.int64)
        if orders.shape != products.shape:
            raise ValueError(
                f"order_ids and product_ids differ in length: {orders.size} vs {products.size}"
            )
        _, rows = dense_codes(orders)
        columns_ids, columns = dense_codes(products)
        shape = (int(rows.max()) + 1 if rows.size else 0, columns_ids.size)
        data = np.ones(rows.size, dtype=np.int32)
        matrix = sparse.csr_matrix((data, (rows, columns)), shape=shape)  # sums duplicates
        matrix.data[:] = 1  # a product twice in one basket is still one basket
        return cls(matrix, columns_ids)

    @cached_property
    def columns(self) -> sparse.csc_matrix:
        """Return the same matrix in CSC form, for reading the baskets of one product."""
        return self.rows.tocsc()

    def baskets_with(self, product_id: int) -> int:
        """Return how many baskets hold the product (0 when it was never bought)."""
        j = self.column.get(product_id)
        return 0 if j is None else int(self.counts[j])

    def together_counts(self, product_id: int) -> IntArray:
        """Return, for every product, the number of baskets it shares with `product_id`."""
        j = self.column.get(product_id)
        if j is None:
            return np.zeros(self.product_ids.size, dtype=np.int64)
        start, end = self.columns.indptr[j], self.columns.indptr[j + 1]
        holding = self.columns.indices[start:end]
        return np.asarray(self.rows[holding].sum(axis=0)).ravel().astype(np.int64)

    def cooccurrence(self) -> sparse.csr_matrix:
        """Return X^T X: baskets holding each pair of products, each product on the diagonal."""
        x = self.rows
        return (x.T.tocsr() @ x).tocsr()

    def complements(
        self,
        product_id: int,
        *,
        top: int = 10,
        min_together: int = MIN_TOGETHER,
        min_lift: float = 1.0,
        exclude: Iterable[int] = (),
    ) -> list[Complement]:
        """Return the products most often bought with `product_id`, best first.

        Kept: seen together at least `min_together` times with a lift above `min_lift`;
        ranked by confidence, then lift, then product id (so ties are stable).
        """
        anchor = self.baskets_with(product_id)
        if anchor == 0 or self.baskets == 0:
            return []
        together = self.together_counts(product_id)
        together[self.column[product_id]] = 0
        for other in exclude:
            j = self.column.get(other)
            if j is not None:
                together[j] = 0
        candidates = np.flatnonzero(together >= max(min_together, 1))
        pairs = together[candidates].astype(np.float64)
        confidence = pairs / anchor
        lift = confidence / (self.counts[candidates] / self.baskets)
        keep = lift > min_lift
        candidates, pairs, confidence, lift = (
            candidates[keep],
            pairs[keep],
            confidence[keep],
            lift[keep],
        )
        order = np.lexsort((self.product_ids[candidates], -lift, -confidence))[:top]
        return [
            Complement(
                product_id=int(self.product_ids[candidates[i]]),
                together=int(pairs[i]),
                support=float(pairs[i] / self.baskets),
                confidence=float(confidence[i]),
                lift=float(lift[i]),
                score=float(confidence[i]),
                goes_with=product_id,
            )
            for i in order
        ]

    # --- pair rules, as mlxtend finds them ------------------------------------------------------

    def frequent_pairs(self, need: int) -> tuple[IntArray, IntArray, IntArray]:
        """Return the column pairs (i < j) held together by at least `need` baskets, and counts.

        Only products in at least `need` baskets can be in such a pair, so X is cut to their
        columns before X^T X; only the upper triangle of the product is read.
        """
        frequent = self.counts >= need
        if self.baskets == 0 or int(frequent.sum()) < 2:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        cut = keep_columns(self.rows, frequent)
        together = (cut.T.tocsr() @ cut).tocsr()
        hits = np.flatnonzero(together.data >= need)
        first = np.searchsorted(together.indptr, hits, side="right") - 1
        second = together.indices[hits]
        upper = second > first
        kept = np.flatnonzero(frequent)
        return (
            kept[first[upper]],
            kept[second[upper]],
            together.data[hits[upper]].astype(np.int64),
        )

    def pair_rules(self, min_support: float, min_confidence: float) -> PairRules:
        """Return every rule a -> b between two products at these thresholds, as mlxtend would.

        The same rules, supports, confidences and lifts as mlxtend's fpgrowth(min_support,
        max_len=2) + association_rules(num_itemsets=N, metric="confidence",
        min_threshold=min_confidence), whose rules all have one product on each side.
        """
        need = min_count(min_support, self.baskets) if self.baskets else 1
        first, second, together = self.frequent_pairs(need)
        antecedent = np.concatenate([first, second])
        consequent = np.concatenate([second, first])
        together = np.concatenate([together, together])
        n = float(self.baskets)
        confidence = rule_confidence(together, self.counts[antecedent], self.baskets)
        keep = confidence >= min_confidence
        antecedent, consequent, together = antecedent[keep], consequent[keep], together[keep]
        order = np.lexsort((consequent, antecedent))
        antecedent, consequent, together = antecedent[order], consequent[order], together[order]
        confidence = confidence[keep][order]
        return PairRules(
            antecedent=self.product_ids[antecedent],
            consequent=self.product_ids[consequent],
            together=together,
            support=together / n,
            confidence=confidence,
            lift=confidence / (self.counts[consequent] / n),
        )

    # --- ranking with shrinkage and category levels ---------------------------------------------

    def query_matrix(self, queries: Sequence[int | Sequence[int]]) -> sparse.csr_matrix:
        """Return one row per query over the products: 1 for each product the query asks about.

        A query is one product id or several (a basket); ids never seen in a basket are ignored.
        """
        rows: list[int] = []
        cols: list[int] = []
        for i, query in enumerate(queries):
            for pid in [query] if isinstance(query, int | np.integer) else query:
                j = self.column.get(int(pid))
                if j is not None:
                    rows.append(i)
                    cols.append(j)
        shape = (len(queries), self.product_ids.size)
        matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)
        matrix.data[:] = 1.0
        return matrix

    def scorer(
        self,
        anchors: npt.ArrayLike | None = None,
        *,
        min_together: int = MIN_TOGETHER,
        shrinkage: float = SHRINKAGE,
        categories: Sequence[npt.ArrayLike] = (),
        category_weight: float = CATEGORY_WEIGHT,
    ) -> ComplementScorer:
        """Return the scorer of queries about the anchor columns (None: every product).

        `categories` give each column's category code (aligned with `product_ids`, negative for
        none), finest level first; each level's pairs are counted for the anchors' categories.
        """
        columns = (
            np.arange(self.product_ids.size)
            if anchors is None
            else np.unique(np.asarray(anchors, dtype=np.int64))
        )
        levels = [product_level(self, columns, min_together=min_together, shrinkage=shrinkage)]
        for codes in categories:
            category = np.asarray(codes, dtype=np.int64)
            wanted = np.unique(category[columns])
            levels.append(
                category_level(
                    self,
                    category,
                    wanted[wanted >= 0],
                    min_together=min_together,
                    shrinkage=shrinkage,
                )
            )
        return ComplementScorer(levels, category_weight)

    def rank_complements(
        self,
        queries: Sequence[int | Sequence[int]],
        *,
        top: int = 10,
        min_together: int = MIN_TOGETHER,
        shrinkage: float = SHRINKAGE,
        categories: Sequence[npt.ArrayLike] = (),
        category_weight: float = CATEGORY_WEIGHT,
        filters: Filters | None = None,
        exclude: Iterable[int] = (),
    ) -> list[list[Complement]]:
        """Return, per query (one product id or a basket of them), its best complements.

        Ranked by score (ComplementScorer.score), then product id; listed only when the score is
        positive, the product passes `filters` and is neither asked nor in `exclude`. Each
        complement carries the numbers of the lowest level where an asked product (or its
        category) was bought with it at least `min_together` times.
        """
        asked = self.query_matrix(queries)
        scorer = self.scorer(
            asked.indices,
            min_together=min_together,
            shrinkage=shrinkage,
            categories=categories,
            category_weight=category_weight,
        )
        scores = scorer.score(asked)
        allowed = (filters or Filters()).allowed(self.product_ids)
        allowed &= ~np.isin(self.product_ids, _ids(exclude))
        found: list[list[Complement]] = []
        for i in range(asked.shape[0]):
            candidates = np.flatnonzero((scores[i] > 0) & allowed)
            values = scores[i, candidates]
            order = np.lexsort((self.product_ids[candidates], -values))[:top]
            mine = asked.indices[asked.indptr[i] : asked.indptr[i + 1]]
            found.append(
                [
                    self._describe(int(candidates[k]), float(values[k]), mine, scorer, min_together)
                    for k in order
                ]
            )
        return found

    def _describe(
        self,
        column: int,
        score: float,
        asked: IntArray,
        scorer: ComplementScorer,
        min_together: int,
    ) -> Complement:
        """Return the complement with the numbers of its strongest asked product, lowest level."""
        depth, together, anchor, goes_with = 0, 0, 1, int(asked[0])
        for level_depth, level in enumerate(scorer.levels):
            seen = []
            for a in asked.tolist():
                row = level.row_of(a)
                if row is not None:
                    seen.append((int(level.counts[row, column]), int(level.anchor[row]), a))
            strongest = max(seen, default=(0, 1, goes_with))
            if strongest[0] >= min_together:
                depth = level_depth
                together, anchor, goes_with = strongest
                break
        n = max(self.baskets, 1)
        confidence = together / max(anchor, 1)
        partner = self.counts[column] / n
        return Complement(
            product_id=int(self.product_ids[column]),
            together=together,
            support=together / n,
            confidence=confidence,
            lift=float(confidence / partner) if partner else 0.0,
            level=depth,
            score=score,
            goes_with=int(self.product_ids[goes_with]),
        )


@dataclass(frozen=True)
class Level:
    """One level of evidence: its anchors (products, or categories) with every product.

    `member` maps products to anchors (a product to itself, or to its category); `counts` hold
    the baskets shared by each anchor and each product; `anchor` the baskets holding each
    anchor; `scores` the complement score of the pairs seen at least `min_together` times.
    """

    member: sparse.csr_matrix  # products x anchors
    counts: sparse.csr_matrix  # anchors x products
    anchor: IntArray
    scores: sparse.csr_matrix  # anchors x products

    def row_of(self, column: int) -> int | None:
        """Return the anchor row of a product column at this level (None when it has none)."""
        start, end = self.member.indptr[column], self.member.indptr[column + 1]
        return int(self.member.indices[start]) if end > start else None


@dataclass(frozen=True)
class ComplementScorer:
    """Scores queries against every product from the levels of evidence, finest first."""

    levels: list[Level]
    category_weight: float

    def score(self, queries: sparse.csr_matrix) -> FloatArray:
        """Return each query's score for every product, a dense row per query.

        The best pair score over the query's products, plus `category_weight` times the best
        over their categories at the first category level, its square at the second... The
        products a query asks about score 0.
        """
        total = np.zeros(queries.shape, dtype=np.float64)
        for depth, level in enumerate(self.levels):
            best = best_over_anchors((queries @ level.member).tocsr(), level.scores)
            total += self.category_weight**depth * best
        asked = queries.tocoo()
        total[asked.row, asked.col] = 0.0
        return total


def product_level(
    matrix: BasketMatrix, anchors: IntArray, *, min_together: int, shrinkage: float
) -> Level:
    """Return the pair counts and scores of the anchor columns with every product."""
    counts = (matrix.columns[:, anchors].T.tocsr() @ matrix.rows).tocsr()
    member = _selection(anchors, matrix.product_ids.size)
    return _scored(matrix, member, counts, matrix.counts[anchors], min_together, shrinkage)


def category_level(
    matrix: BasketMatrix,
    category: IntArray,
    wanted: IntArray,
    *,
    min_together: int,
    shrinkage: float,
) -> Level:
    """Return the counts and scores of the wanted categories with every product.

    A category's baskets are those holding any of its products. For a product of the category
    itself, only baskets where it goes with another product of the category count, so that a
    category is not its own members' complement merely because it holds them.
    """
    per_basket = (matrix.rows @ _one_hot(category)).tocsc()  # members in each basket
    holds = per_basket[:, wanted]
    holds.data[:] = 1.0
    counts = (holds.T.tocsr() @ matrix.rows).tocsr()
    row = np.repeat(np.arange(wanted.size), np.diff(counts.indptr))
    same = category[counts.indices] == wanted[row]
    if same.any():
        with_another = _with_another_member(matrix.rows, category, per_basket)
        counts.data[same] = with_another[counts.indices[same]]
    member = _one_hot(category)[:, wanted].tocsr()
    anchor = np.diff(holds.indptr).astype(np.int64)
    return _scored(matrix, member, counts, anchor, min_together, shrinkage)


def _with_another_member(
    rows: sparse.csr_matrix, category: IntArray, per_basket: sparse.csc_matrix
) -> IntArray:
    """Return, per product, the baskets holding it and another product of its category."""
    coo = rows.tocoo()
    has = category[coo.col] >= 0
    basket, column = coo.row[has], coo.col[has]
    members = np.asarray(per_basket.tocsr()[basket, category[column]]).ravel()
    return np.bincount(column[members >= 2], minlength=category.size).astype(np.int64)


def _scored(
    matrix: BasketMatrix,
    member: sparse.csr_matrix,
    counts: sparse.csr_matrix,
    anchor: IntArray,
    min_together: int,
    shrinkage: float,
) -> Level:
    """Return the level with the score of every pair seen `min_together` times (else 0)."""
    counts.eliminate_zeros()
    row = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    together = counts.data.astype(np.float64)
    value = complement_score(
        together,
        anchor[row].astype(np.float64),
        matrix.counts[counts.indices].astype(np.float64),
        max(matrix.baskets, 1),
        shrinkage,
    )
    value[together < min_together] = 0.0
    scores = sparse.csr_matrix(
        (value, counts.indices.copy(), counts.indptr.copy()), shape=counts.shape
    )
    scores.eliminate_zeros()  # in place: hence the copies, so `counts` keeps its own arrays
    return Level(member=member, counts=counts, anchor=anchor, scores=scores)


def _selection(columns: IntArray, size: int) -> sparse.csr_matrix:
    """Return the size x len(columns) matrix with a 1 at (columns[k], k)."""
    ones = np.ones(columns.size)
    return sparse.csr_matrix((ones, (columns, np.arange(columns.size))), shape=(size, columns.size))


def keep_columns(rows: sparse.csr_matrix, keep: npt.NDArray[np.bool_]) -> sparse.csr_matrix:
    """Return the CSR matrix with only the kept columns, renumbered in order."""
    new_index = np.cumsum(keep, dtype=np.int64) - 1
    mask = keep[rows.indices]
    row_of = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
    indptr = np.zeros(rows.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_of[mask], minlength=rows.shape[0]), out=indptr[1:])
    return sparse.csr_matrix(
        (rows.data[mask], new_index[rows.indices[mask]], indptr),
        shape=(rows.shape[0], int(keep.sum())),
    )


def _one_hot(category: IntArray) -> sparse.csr_matrix:
    """Return the products x categories matrix with a 1 at each product's category."""
    member = np.flatnonzero(category >= 0)
    size = int(category.max()) + 1 if member.size else 0
    return sparse.csr_matrix(
        (np.ones(member.size), (member, category[member])), shape=(category.size, size)
    )
