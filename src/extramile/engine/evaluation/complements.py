"""Complements on Ta-Feng: find the product hidden from a basket, and mine the same pair rules.

Baskets are one per customer and day. Training baskets are those before the split (default
2001-02-01); test baskets those of the split's month with at least two distinct products.

Hidden product. From each test basket one product, drawn at random (seed SEED), is hidden; the
others are shown and every method ranks the products seen in training, the shown ones left
out. A method lists the products it scores above 0, best first (ties: the more popular first),
then fills up with the most popular products, so every list has ten. recall@10 is the share of
baskets whose hidden product is in the ten (a product never sold in training is a miss for all).

- popularity: the products in the most training baskets.
- mlxtend rules (confidence): the pair rules mlxtend mines from the training baskets
  (fpgrowth, max_len=2, then association_rules on confidence) at RULE_SUPPORT and
  RULE_CONFIDENCE; a product scores the highest confidence of a rule from a shown product to
  it, as rule-based recommenders do.
- extramile: BasketMatrix.scorer on the training baskets with its defaults (pairs seen twice
  with a lift above 1, confidence shrunk by SHRINKAGE baskets, the subclass level weighted
  CATEGORY_WEIGHT); a product scores its best over the shown products. "extramile (products
  only)" leaves the subclass level out, to show what it adds.

The thresholds and weights were chosen on January (train November-December), never on the
month reported as held out.

Same rules. On the training baskets, at RULE_SUPPORT and RULE_CONFIDENCE: the pair rules of
BasketMatrix.pair_rules, of mlxtend and of pyfim (fim.arules, zmax=2, rule support = body and
head), their number, whether each set equals mlxtend's (1 or 0; ours must also match its
support, confidence and lift exactly), and each side's seconds: ours from the order lines,
mlxtend from its sparse one-hot DataFrame, pyfim from its list of transactions.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from extramile.engine.complements import BasketMatrix, PairRules, best_over_anchors, min_count
from extramile.engine.datasets import TaFeng, load_ta_feng
from extramile.engine.evaluation.metrics import Progress, Row, recall_at_k, stopwatch
from extramile.engine.evaluation.tafeng_split import (
    DEFAULT_SPLIT,
    month_end,
    test_mask,
    train_mask,
)

TASK = "complements"
RULE_SUPPORT = 0.00005
RULE_CONFIDENCE = 0.01
K = 10
SEED = 0
CHUNK = 500  # queries scored at once (a dense row of every product each)


@dataclass(frozen=True)
class HiddenItems:
    """Test baskets with one product hidden: the rest shown, as product codes."""

    shown: list[list[int]]
    hidden: np.ndarray


def split_baskets(data: TaFeng, split: dt.date) -> tuple[BasketMatrix, np.ndarray, np.ndarray]:
    """Return the training baskets' matrix, and the test month's basket and product codes."""
    basket = data.baskets()
    train, test = train_mask(data, split), test_mask(data, split)
    matrix = BasketMatrix.from_lines(basket[train], data.product[train])
    return matrix, basket[test], data.product[test]


def hide_one(baskets: np.ndarray, products: np.ndarray, rng: np.random.Generator) -> HiddenItems:
    """Hide one product, drawn at random, of each basket holding at least two distinct ones."""
    pairs = np.unique(np.stack([baskets, products], axis=1), axis=0)
    starts = np.flatnonzero(np.r_[True, pairs[1:, 0] != pairs[:-1, 0]])
    sizes = np.diff(np.r_[starts, len(pairs)])
    shown: list[list[int]] = []
    hidden: list[int] = []
    for start, size in zip(starts[sizes >= 2], sizes[sizes >= 2], strict=True):
        items = pairs[start : start + size, 1]
        pick = int(rng.integers(size))
        hidden.append(int(items[pick]))
        shown.append(np.delete(items, pick).tolist())
    return HiddenItems(shown=shown, hidden=np.asarray(hidden, dtype=np.int64))


def category_levels(data: TaFeng, matrix: BasketMatrix) -> list[np.ndarray]:
    """Return the category levels of the matrix's columns: their subclass codes.

    The class above (the subclass code's first four digits) added 0.0001 on January (recall@10
    0.1105 against 0.1104) at twice the time, so it is left out.
    """
    return [data.product_subclass()[matrix.product_ids]]


def popularity_rank(matrix: BasketMatrix) -> tuple[np.ndarray, np.ndarray]:
    """Return the columns from most to least bought, and each column's place in that order."""
    order = np.lexsort((np.arange(matrix.counts.size), -matrix.counts))
    place = np.empty_like(order)
    place[order] = np.arange(order.size)
    return order, place


def top_with_fill(
    scores: np.ndarray,
    shown: sparse.csr_matrix,
    popular: tuple[np.ndarray, np.ndarray],
    k: int = K,
) -> list[np.ndarray]:
    """Return per query its k columns: scored ones best first, then the most popular others.

    `scores` is dense, a row per query; ties go to the more popular product, and the shown
    products are never listed.
    """
    order, place = popular
    out = []
    for i, row in enumerate(scores):
        skip = shown.indices[shown.indptr[i] : shown.indptr[i + 1]]
        candidates = np.flatnonzero(row > 0)
        candidates = candidates[~np.isin(candidates, skip)]
        values = row[candidates]
        if candidates.size > k:  # keep the k best, and every candidate tied with the k-th
            kth = np.partition(values, candidates.size - k)[candidates.size - k]
            candidates, values = candidates[values >= kth], values[values >= kth]
        chosen = candidates[np.lexsort((place[candidates], -values))[:k]]
        if chosen.size < k:
            head = order[: k + skip.size + chosen.size]
            extra = head[~np.isin(head, np.concatenate([skip, chosen]))]
            chosen = np.concatenate([chosen, extra[: k - chosen.size]])
        out.append(chosen)
    return out


def rule_matrix(rules: PairRules, matrix: BasketMatrix) -> sparse.csr_matrix:
    """Return the rules' confidences as a products x products matrix (antecedent row)."""
    rows = np.array([matrix.column[int(a)] for a in rules.antecedent], dtype=np.int64)
    cols = np.array([matrix.column[int(c)] for c in rules.consequent], dtype=np.int64)
    size = matrix.product_ids.size
    return sparse.csr_matrix((rules.confidence, (rows, cols)), shape=(size, size))


def one_hot_frame(matrix: BasketMatrix) -> Any:
    """Return the baskets as mlxtend wants them: a sparse boolean DataFrame, columns 0, 1, ..."""
    import pandas as pd

    return pd.DataFrame.sparse.from_spmatrix(matrix.rows.astype(bool))


def mlxtend_rules(
    matrix: BasketMatrix,
    min_support: float = RULE_SUPPORT,
    min_confidence: float = RULE_CONFIDENCE,
    onehot: Any = None,
) -> tuple[PairRules, float]:
    """Mine the pair rules with mlxtend; return them and the seconds spent mining.

    Timed: fpgrowth (itemsets of at most two products) and association_rules, from the
    DataFrame `onehot` (built from the matrix when not given).
    """
    from mlxtend.frequent_patterns import association_rules, fpgrowth

    frame = one_hot_frame(matrix) if onehot is None else onehot
    with stopwatch() as elapsed:
        itemsets = fpgrowth(frame, min_support=min_support, max_len=2)
        found = association_rules(
            itemsets, len(frame), metric="confidence", min_threshold=min_confidence
        )
        seconds = elapsed()
    ids = matrix.product_ids
    first = ids[np.array([next(iter(a)) for a in found["antecedents"]], dtype=np.int64)]
    second = ids[np.array([next(iter(c)) for c in found["consequents"]], dtype=np.int64)]
    order = np.lexsort((second, first))
    support = found["support"].to_numpy(dtype=np.float64)[order]
    rules = PairRules(
        antecedent=first[order],
        consequent=second[order],
        together=np.rint(support * matrix.baskets).astype(np.int64),
        support=support,
        confidence=found["confidence"].to_numpy(dtype=np.float64)[order],
        lift=found["lift"].to_numpy(dtype=np.float64)[order],
    )
    return rules, seconds


def transactions(matrix: BasketMatrix) -> list[list[int]]:
    """Return the baskets as pyfim wants them: a list of product-id lists."""
    rows = matrix.rows
    ids = matrix.product_ids.tolist()
    return [
        [ids[j] for j in rows.indices[rows.indptr[i] : rows.indptr[i + 1]].tolist()]
        for i in range(rows.shape[0])
    ]


def pyfim_rules(
    matrix: BasketMatrix,
    min_support: float = RULE_SUPPORT,
    min_confidence: float = RULE_CONFIDENCE,
    baskets: list[list[int]] | None = None,
    algorithm: str = "arules",
) -> tuple[set[tuple[int, int, int]], float]:
    """Mine the pair rules with pyfim; return (antecedent, consequent, together) and seconds.

    Timed: fim.arules (or fim.fpgrowth with target "r") on the transactions `baskets` (built
    from the matrix when not given), with the absolute count mlxtend needs for `min_support`
    and mode "o", so that a rule's support counts the baskets holding both of its products.
    """
    import fim

    data = transactions(matrix) if baskets is None else baskets
    need = min_count(min_support, matrix.baskets)
    options = {
        "supp": -need,
        "conf": min_confidence * 100,
        "zmin": 2,
        "zmax": 2,
        "report": "a",
        "mode": "o",
    }
    with stopwatch() as elapsed:
        if algorithm == "arules":
            found = fim.arules(data, **options)
        else:
            found = fim.fpgrowth(data, target="r", **options)
        seconds = elapsed()
    return {(int(body[0]), int(head), int(count)) for head, body, count in found}, seconds


def rule_triples(rules: PairRules) -> set[tuple[int, int, int]]:
    """Return the rules as a set of (antecedent, consequent, together)."""
    columns = (rules.antecedent.tolist(), rules.consequent.tolist(), rules.together.tolist())
    return set(zip(*columns, strict=True))


def same_rules(ours: PairRules, theirs: PairRules) -> bool:
    """Say whether two rule sets hold the same rules with exactly the same numbers."""
    return all(
        np.array_equal(getattr(ours, name), getattr(theirs, name))
        for name in ("antecedent", "consequent", "together", "support", "confidence", "lift")
    )


@dataclass(frozen=True)
class Test:
    """What every method is evaluated on: the training baskets, the queries, popularity."""

    matrix: BasketMatrix
    items: HiddenItems
    popular: tuple[np.ndarray, np.ndarray]

    def recall(
        self, method: str, scores: Callable[[sparse.csr_matrix], np.ndarray], setup: float
    ) -> Row:
        """Rank the queries chunk by chunk with `scores`; return the method's recall@10 row.

        Its seconds are `setup` (fitting or mining) plus the ranking.
        """
        with stopwatch() as elapsed:
            ranked: list[np.ndarray] = []
            for start in range(0, len(self.items.shown), CHUNK):
                shown = self.matrix.query_matrix(self.items.shown[start : start + CHUNK])
                ranked += top_with_fill(scores(shown), shown, self.popular)
            seconds = elapsed()
        recommended = np.array([self.matrix.product_ids[columns] for columns in ranked])
        relevant = [np.array([h]) for h in self.items.hidden.tolist()]
        value = recall_at_k(recommended, relevant, k=K)
        return Row(TASK, "ta-feng", method, f"recall@{K}", value, round(setup + seconds, 3))


def rule_rows(
    test: Test, lines: tuple[np.ndarray, ...], progress: Progress
) -> tuple[list[Row], PairRules, float]:
    """Return the same-rules rows, and mlxtend's rules and seconds (the baseline reuses them)."""
    progress("pair rules on the training baskets: extramile")
    with stopwatch() as elapsed:
        ours = BasketMatrix.from_lines(*lines).pair_rules(RULE_SUPPORT, RULE_CONFIDENCE)
        our_seconds = elapsed()
    progress(f"pair rules: extramile found {len(ours):,} in {our_seconds:.2f} s; now mlxtend")
    theirs, their_seconds = mlxtend_rules(test.matrix)
    progress(f"pair rules: mlxtend found {len(theirs):,} in {their_seconds:.2f} s; now pyfim")
    fim_found, fim_seconds = pyfim_rules(test.matrix)
    progress(f"pair rules: pyfim found {len(fim_found):,} in {fim_seconds:.2f} s")
    ours_same = float(same_rules(ours, theirs))
    fim_same = float(fim_found == rule_triples(theirs))
    rows = [
        Row(TASK, "ta-feng", "extramile", "pair rules", len(ours), our_seconds),
        Row(TASK, "ta-feng", "mlxtend fpgrowth", "pair rules", len(theirs), their_seconds),
        Row(TASK, "ta-feng", "pyfim", "pair rules", len(fim_found), fim_seconds),
        Row(TASK, "ta-feng", "extramile", "same rules as mlxtend", ours_same, 0.0),
        Row(TASK, "ta-feng", "pyfim", "same rules as mlxtend", fim_same, 0.0),
    ]
    return rows, theirs, their_seconds


def prepare(split: dt.date, progress: Progress) -> tuple[TaFeng, Test, tuple[np.ndarray, ...]]:
    """Load Ta-Feng and cut it at the split; return it, the test and the training lines."""
    progress("loading Ta-Feng")
    data = load_ta_feng()
    train = train_mask(data, split)
    matrix, test_baskets, test_products = split_baskets(data, split)
    items = hide_one(test_baskets, test_products, np.random.default_rng(SEED))
    progress(
        f"{matrix.baskets:,} training baskets before {split}; {len(items.shown):,} test baskets "
        f"of two products or more until {month_end(split)}"
    )
    test = Test(matrix, items, popularity_rank(matrix))
    return data, test, (data.baskets()[train], data.product[train])


def ranking_rows(
    data: TaFeng, test: Test, rules: PairRules, mined: float, progress: Progress
) -> list[Row]:
    """Return every method's recall@10 (mlxtend's from the rules it mined in `mined` s)."""
    hidden = test.items.hidden
    seen = float(np.isin(hidden, test.matrix.product_ids).mean()) if hidden.size else 0.0
    rows = [
        Row(TASK, "ta-feng", "data", "queries", float(hidden.size), 0.0),
        Row(TASK, "ta-feng", "data", "hidden product sold in training", seen, 0.0),
        test.recall("popularity", lambda q: np.zeros(q.shape), 0.0),
    ]
    for method, levels in [
        ("extramile", category_levels(data, test.matrix)),
        ("extramile (products only)", []),
    ]:
        progress(f"{method}: fitting and ranking")
        with stopwatch() as elapsed:
            scorer = test.matrix.scorer(categories=levels)
            fitted = elapsed()
        rows.append(test.recall(method, scorer.score, fitted))
    progress("mlxtend rules: ranking")
    confidences = rule_matrix(rules, test.matrix)
    scores = functools.partial(best_over_anchors, values=confidences)
    rows.append(test.recall("mlxtend rules (confidence)", scores, mined))
    return rows


def run(dataset: str, split: dt.date | None, progress: Progress) -> list[Row]:
    """Evaluate complements on Ta-Feng: hidden-product recall@10, then the same-rules rows."""
    if dataset != "ta-feng":
        raise ValueError(f"complements run on ta-feng only, not {dataset}")
    data, test, lines = prepare(split or DEFAULT_SPLIT, progress)
    same, rules, mined = rule_rows(test, lines, progress)
    return ranking_rows(data, test, rules, mined, progress) + same
