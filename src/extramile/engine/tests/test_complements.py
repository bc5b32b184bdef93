"""Basket complements on hand-made baskets: root beer goes with vanilla ice cream.

Pair rules are also checked against mlxtend and pyfim on random baskets (skipped without them).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from extramile.engine.complements import (
    CATEGORY_WEIGHT,
    SHRINKAGE,
    BasketMatrix,
    Complement,
    Filters,
    PairRules,
    best_over_anchors,
    category_level,
    dense_codes,
    min_count,
)

ROOT_BEER, ICE_CREAM, MILK, CHIPS, SALSA, CANDLES, STRAWS = 1, 2, 3, 4, 5, 6, 7

# Milk is in every basket; root beer goes with vanilla ice cream (and, less often, with straws);
# chips go with salsa, and with root beer no more than with any basket.
BASKETS = {
    101: [ROOT_BEER, ICE_CREAM, MILK, STRAWS],
    102: [ROOT_BEER, ICE_CREAM, MILK, CHIPS],
    103: [ROOT_BEER, ICE_CREAM, MILK, STRAWS],
    104: [ROOT_BEER, MILK, CHIPS, SALSA],
    105: [CHIPS, SALSA, MILK],
    106: [CHIPS, SALSA, MILK],
    107: [ICE_CREAM, MILK],
    108: [MILK, CANDLES],
}


def lines(baskets: dict[int, list[int]]) -> tuple[list[int], list[int]]:
    orders = [order for order, products in baskets.items() for _ in products]
    products = [product for items in baskets.values() for product in items]
    return orders, products


def test_root_beer_most_often_goes_with_vanilla_ice_cream():
    # given
    matrix = BasketMatrix.from_lines(*lines(BASKETS))
    # when
    found = matrix.complements(ROOT_BEER, min_together=1)
    # then
    assert [c.product_id for c in found] == [ICE_CREAM, STRAWS]
    best, second = found
    assert best.together == 3
    assert best.support == pytest.approx(3 / 8)
    assert best.confidence == pytest.approx(3 / 4)
    assert best.lift == pytest.approx((3 / 4) / (4 / 8))
    # straws have the higher lift, but ice cream is the one most often bought with root beer
    assert (second.together, second.confidence, second.lift) == (2, 0.5, 2.0)


def test_an_item_bought_with_it_no_more_than_with_any_basket_is_left_out():
    # given: chips are in half of all baskets and in half of the root beer baskets (lift 1)
    matrix = BasketMatrix.from_lines(*lines(BASKETS))
    # when
    found = matrix.complements(ROOT_BEER, min_together=1)
    # then
    assert CHIPS not in [c.product_id for c in found]


def test_an_item_in_every_basket_is_no_ones_complement():
    # given: milk is bought with root beer every time, but it is bought with everything
    matrix = BasketMatrix.from_lines(*lines(BASKETS))
    # when
    found = matrix.complements(ROOT_BEER, min_together=1)
    # then
    assert MILK not in [c.product_id for c in found]


def test_pairs_seen_fewer_times_than_the_minimum_are_left_out():
    # given
    matrix = BasketMatrix.from_lines(*lines(BASKETS))
    # when
    found = matrix.complements(ROOT_BEER, min_together=3)
    # then: straws were bought with root beer twice
    assert [(c.product_id, c.together) for c in found] == [(ICE_CREAM, 3)]


def test_excluded_products_and_the_product_itself_are_never_its_complements():
    # given
    matrix = BasketMatrix.from_lines(*lines(BASKETS))
    # when
    found = matrix.complements(ROOT_BEER, min_together=1, exclude=[ICE_CREAM])
    # then
    assert [c.product_id for c in found] == [STRAWS]


def test_a_product_twice_in_one_basket_counts_once():
    # given: order 1 has two lines of root beer
    matrix = BasketMatrix.from_lines([1, 1, 1, 2], [ROOT_BEER, ROOT_BEER, ICE_CREAM, MILK])
    # when
    found = matrix.complements(ROOT_BEER, min_together=1)
    # then
    assert matrix.baskets_with(ROOT_BEER) == 1
    assert [(c.product_id, c.together, c.lift) for c in found] == [(ICE_CREAM, 1, 2.0)]


def test_a_product_never_bought_has_no_complements():
    # given
    matrix = BasketMatrix.from_lines(*lines(BASKETS))
    # when / then
    assert matrix.complements(999) == []
    assert matrix.baskets_with(999) == 0


def test_no_baskets_gives_no_complements():
    # given
    matrix = BasketMatrix.from_lines([], [])
    # when / then
    assert matrix.baskets == 0
    assert matrix.complements(ROOT_BEER) == []


def test_mismatched_inputs_are_refused_with_both_lengths():
    # when / then
    with pytest.raises(ValueError, match="differ in length: 2 vs 1"):
        BasketMatrix.from_lines([1, 2], [ROOT_BEER])


def test_cooccurrence_is_x_transpose_x_with_basket_counts_on_the_diagonal():
    # given
    matrix = BasketMatrix.from_lines(*lines(BASKETS))
    index = matrix.column
    # when
    pairs = matrix.cooccurrence()
    # then
    assert pairs[index[ROOT_BEER], index[ICE_CREAM]] == 3
    assert pairs[index[ICE_CREAM], index[ROOT_BEER]] == 3
    assert pairs[index[MILK], index[MILK]] == 8
    assert pairs[index[ROOT_BEER], index[CANDLES]] == 0
    assert pairs.shape == (7, 7)


def test_one_row_query_agrees_with_the_full_product_on_random_baskets():
    # given: 2,000 random baskets over 300 products
    rng = np.random.default_rng(7)
    orders = rng.integers(0, 2_000, size=12_000)
    products = rng.integers(0, 300, size=12_000)
    matrix = BasketMatrix.from_lines(orders, products)
    full = matrix.cooccurrence()
    # when
    rows = [matrix.together_counts(int(pid)) for pid in matrix.product_ids[:25]]
    # then
    assert all(np.array_equal(row, full[j].toarray().ravel()) for j, row in enumerate(rows))
    assert isinstance(full, sparse.csr_matrix)


# --- pair rules, as mlxtend finds them ----------------------------------------------------------


def rules_by_pair(rules: PairRules) -> dict[tuple[int, int], tuple[int, float, float, float]]:
    return {
        (int(a), int(c)): (int(n), float(s), float(f), float(lift))
        for a, c, n, s, f, lift in zip(
            rules.antecedent,
            rules.consequent,
            rules.together,
            rules.support,
            rules.confidence,
            rules.lift,
            strict=True,
        )
    }


def test_pair_rules_hold_the_hand_counted_support_confidence_and_lift():
    # given: 8 baskets; a pair must be in 2 of them (0.25) and a rule right 90% of the time
    matrix = BasketMatrix.from_lines(*lines(BASKETS))
    # when
    rules = rules_by_pair(matrix.pair_rules(min_support=0.25, min_confidence=0.9))
    # then: milk is in every basket, so every product that is in 2 baskets leads to it
    assert set(rules) == {
        (STRAWS, ROOT_BEER),
        (STRAWS, ICE_CREAM),
        (STRAWS, MILK),
        (ROOT_BEER, MILK),
        (ICE_CREAM, MILK),
        (CHIPS, MILK),
        (SALSA, MILK),
        (SALSA, CHIPS),
    }
    assert rules[(STRAWS, ROOT_BEER)] == (2, 0.25, 1.0, 2.0)
    assert rules[(SALSA, CHIPS)] == (3, 0.375, 1.0, 2.0)
    assert rules[(ROOT_BEER, MILK)] == (4, 0.5, 1.0, 1.0)


def test_a_lower_confidence_lets_both_directions_of_a_pair_in():
    # given
    matrix = BasketMatrix.from_lines(*lines(BASKETS))
    # when
    rules = rules_by_pair(matrix.pair_rules(min_support=0.3, min_confidence=0.7))
    # then: root beer and ice cream share 3 of 8 baskets, each in 4
    assert rules[(ROOT_BEER, ICE_CREAM)] == (3, 0.375, 0.75, 1.5)
    assert rules[(ICE_CREAM, ROOT_BEER)] == (3, 0.375, 0.75, 1.5)
    assert (CHIPS, SALSA) in rules
    assert (ROOT_BEER, STRAWS) not in rules  # only 2 baskets: support 0.25 < 0.3


def test_no_baskets_give_no_rules():
    # given
    matrix = BasketMatrix.from_lines([], [])
    # when / then
    assert len(matrix.pair_rules(min_support=0.1, min_confidence=0.1)) == 0


def test_the_needed_count_is_mlxtends_even_where_floats_round_up():
    # when / then: 0.07 * 100 is 7.000000000000001 in floats, and mlxtend's FP-tree cuts at 8
    assert min_count(0.07, 100) == 8
    assert min_count(0.25, 8) == 2
    assert min_count(0.0002, 119_578) == 24
    with pytest.raises(ValueError, match="min_support"):
        min_count(0.0, 10)


def random_baskets(seed: int) -> BasketMatrix:
    rng = np.random.default_rng(seed)
    baskets = int(rng.integers(30, 200))
    lines = baskets * 4
    orders = rng.integers(0, baskets, size=lines)
    products = 100 + rng.zipf(1.6, size=lines) % int(rng.integers(8, 40))
    return BasketMatrix.from_lines(orders, products)


def mlxtend_pair_rules(matrix: BasketMatrix, min_support: float, min_confidence: float):
    pd = pytest.importorskip("pandas", reason="pandas (the eval extra) is not installed")
    patterns = pytest.importorskip(
        "mlxtend.frequent_patterns", reason="mlxtend (the eval extra) is not installed"
    )
    frame = pd.DataFrame(matrix.rows.toarray().astype(bool), columns=matrix.product_ids.tolist())
    itemsets = patterns.fpgrowth(frame, min_support=min_support, use_colnames=True, max_len=2)
    if itemsets.empty:
        return {}
    found = patterns.association_rules(
        itemsets, len(frame), metric="confidence", min_threshold=min_confidence
    )
    return {
        (next(iter(a)), next(iter(c))): (round(s * matrix.baskets), s, f, lift)
        for a, c, s, f, lift in zip(
            found["antecedents"],
            found["consequents"],
            found["support"],
            found["confidence"],
            found["lift"],
            strict=True,
        )
    }


@pytest.mark.parametrize("seed", range(12))
def test_pair_rules_are_mlxtends_to_the_last_bit_on_random_baskets(seed):
    # given: random baskets, products drawn with a long tail
    matrix = random_baskets(seed)
    for min_support, min_confidence in [(0.02, 0.1), (0.05, 0.3), (0.01, 0.5), (0.1, 0.0)]:
        # when
        ours = rules_by_pair(matrix.pair_rules(min_support, min_confidence))
        theirs = mlxtend_pair_rules(matrix, min_support, min_confidence)
        # then: the same rules with exactly the same numbers
        assert ours == theirs, (min_support, min_confidence)


def test_pair_rules_are_pyfims_on_random_baskets():
    # given
    fim = pytest.importorskip("fim", reason="pyfim (the eval extra) is not installed")
    matrix = random_baskets(3)
    rows, ids = matrix.rows, matrix.product_ids.tolist()
    baskets = [
        [ids[j] for j in rows.indices[rows.indptr[i] : rows.indptr[i + 1]]]
        for i in range(matrix.baskets)
    ]
    # when
    ours = matrix.pair_rules(0.03, 0.2)
    theirs = fim.arules(
        baskets,
        supp=-min_count(0.03, matrix.baskets),
        conf=20,
        zmin=2,
        zmax=2,
        report="a",
        mode="o",
    )
    # then
    assert {(int(b[0]), int(h), int(n)) for h, b, n in theirs} == {
        (a, c, n) for (a, c), (n, *_) in rules_by_pair(ours).items()
    }


def test_a_rule_exactly_on_the_confidence_threshold_is_judged_as_mlxtend_judges_it():
    # given: 49 baskets; A is in 5 of them, once with B (A -> B is right 1 time in 5)
    A, B, C = 1, 2, 3
    baskets = {1: [A, B], 2: [A], 3: [A], 4: [A], 5: [A]}
    baskets.update({order: [C] for order in range(6, 50)})
    matrix = BasketMatrix.from_lines(*lines(baskets))
    # when
    rules = matrix.pair_rules(min_support=0.02, min_confidence=0.2)
    # then: mlxtend reads 1/49*49 / (5/49*49) = 0.19999999999999998 and drops A -> B, as we do
    # (pyfim keeps it: the two libraries disagree on a rule exactly on the threshold)
    assert rules.pairs() == {(B, A)}


def test_frequent_pairs_are_the_upper_triangle_of_the_cooccurrence():
    # given
    matrix = random_baskets(5)
    full = matrix.cooccurrence().toarray()
    # when
    first, second, together = matrix.frequent_pairs(3)
    # then
    expected = {
        (i, j, int(full[i, j]))
        for i in range(full.shape[0])
        for j in range(i + 1, full.shape[0])
        if full[i, j] >= 3
    }
    assert set(zip(first.tolist(), second.tolist(), together.tolist(), strict=True)) == expected


def test_dense_codes_agree_with_numpy_unique_for_small_and_large_ids():
    # given
    small = np.array([7, 3, 7, 0, 12])
    large = np.array([10**12, 5, 10**12, -4])
    for values in (small, large):
        # when
        distinct, codes = dense_codes(values)
        # then
        expected_distinct, expected_codes = np.unique(values, return_inverse=True)
        assert np.array_equal(distinct, expected_distinct)
        assert np.array_equal(codes, expected_codes.ravel())


# --- ranking: shrinkage, baskets, categories, filters -------------------------------------------


def ranked(found: list[Complement]) -> list[int]:
    return [c.product_id for c in found]


def test_one_product_is_ranked_by_confidence_among_partners_with_a_lift_above_one():
    # given
    matrix = BasketMatrix.from_lines(*lines(BASKETS))
    # when
    [found] = matrix.rank_complements([ROOT_BEER], min_together=1)
    # then: the same list as complements(); chips (lift 1) and milk (lift 1) are left out
    assert ranked(found) == [ICE_CREAM, STRAWS]
    assert ranked(found) == ranked(matrix.complements(ROOT_BEER, min_together=1))
    best = found[0]
    assert (best.together, best.confidence, best.lift, best.level) == (3, 0.75, 1.5, 0)
    assert best.score == pytest.approx(3 / (4 + SHRINKAGE))
    assert best.goes_with == ROOT_BEER


def test_a_basket_ranks_each_candidate_by_its_best_asked_product():
    # given
    matrix = BasketMatrix.from_lines(*lines(BASKETS))
    # when
    [found] = matrix.rank_complements([[ROOT_BEER, CHIPS]], min_together=1)
    # then: ice cream (3 of root beer's 4) and salsa (3 of chips' 4) tie, then straws
    assert ranked(found) == [ICE_CREAM, SALSA, STRAWS]
    assert [c.goes_with for c in found] == [ROOT_BEER, CHIPS, ROOT_BEER]


def test_many_products_at_once_give_what_each_gives_alone():
    # given
    matrix = BasketMatrix.from_lines(*lines(BASKETS))
    products = [ROOT_BEER, CHIPS, STRAWS, CANDLES, 999]
    # when
    together = matrix.rank_complements(products, min_together=1)
    # then
    assert together == [matrix.rank_complements([p], min_together=1)[0] for p in products]
    assert together[-1] == []  # never bought


def test_shrinkage_keeps_a_product_seen_twice_from_outranking_a_well_known_pair():
    # given: the rare candle was bought twice, both times with matches; the grill 100 times,
    # 60 of them with charcoal
    CANDLE, MATCHES, GRILL, CHARCOAL, BREAD = 11, 12, 13, 14, 15
    baskets = {1: [CANDLE, MATCHES], 2: [CANDLE, MATCHES]}
    for order in range(100, 200):
        baskets[order] = [GRILL, CHARCOAL] if order < 160 else [GRILL]
    for order in range(200, 500):
        baskets[order] = [BREAD]
    matrix = BasketMatrix.from_lines(*lines(baskets))
    # when
    [shrunk] = matrix.rank_complements([[CANDLE, GRILL]])
    [raw] = matrix.rank_complements([[CANDLE, GRILL]], shrinkage=0.0)
    # then: confidence 0.6 over 100 baskets beats 1.0 over 2 once 10 baskets of doubt are added
    assert ranked(shrunk) == [CHARCOAL, MATCHES]
    assert ranked(raw) == [MATCHES, CHARCOAL]


SODA, COLA, LEMONADE, CRISPS, NAPKINS = 21, 22, 23, 24, 25
# Colas go with crisps; the new lemonade was bought once. Both are sodas.
SODA_BASKETS = {
    1: [COLA, CRISPS],
    2: [COLA, CRISPS],
    3: [COLA, CRISPS, NAPKINS],
    4: [COLA, SODA],
    5: [LEMONADE, NAPKINS],
    6: [NAPKINS],
    7: [CRISPS],
    8: [NAPKINS],
    9: [NAPKINS],
}
SUBCLASS = {SODA: 1, COLA: 1, LEMONADE: 1, CRISPS: 2, NAPKINS: 3}


def sodas() -> tuple[BasketMatrix, np.ndarray]:
    matrix = BasketMatrix.from_lines(*lines(SODA_BASKETS))
    return matrix, np.array([SUBCLASS[int(p)] for p in matrix.product_ids])


def test_a_rare_product_falls_back_to_what_its_category_is_bought_with():
    # given: lemonade was bought once, with napkins (once is below the two baskets a pair needs)
    matrix, subclass = sodas()
    # when
    [alone] = matrix.rank_complements([LEMONADE])
    [with_category] = matrix.rank_complements([LEMONADE], categories=[subclass])
    # then: sodas went with crisps in 3 of their 5 baskets
    assert alone == []
    assert ranked(with_category) == [CRISPS]
    crisps = with_category[0]
    assert (crisps.level, crisps.together, crisps.goes_with) == (1, 3, LEMONADE)
    assert crisps.confidence == pytest.approx(3 / 5)
    assert crisps.score == pytest.approx(CATEGORY_WEIGHT * 3 / (5 + SHRINKAGE))


def test_a_product_is_not_its_own_categorys_complement_for_merely_belonging_to_it():
    # given: cola is in 4 of the 5 soda baskets, but with another soda only once
    matrix, subclass = sodas()
    # when
    level = category_level(matrix, subclass, np.array([1]), min_together=2, shrinkage=SHRINKAGE)
    # then: for a soda, only the baskets where it goes with another soda count
    counts = dict(zip(matrix.product_ids.tolist(), level.counts.toarray()[0], strict=True))
    assert counts == {SODA: 1, COLA: 1, LEMONADE: 0, CRISPS: 3, NAPKINS: 2}
    assert level.anchor.tolist() == [5]


def test_a_products_own_pairs_outrank_its_categorys():
    # given
    matrix, subclass = sodas()
    # when
    [found] = matrix.rank_complements([COLA], categories=[subclass])
    # then: cola's own pair with crisps (3 of 4 baskets) comes first, at level 0
    assert found[0].product_id == CRISPS
    assert found[0].level == 0
    assert found[0].score == pytest.approx(3 / (4 + SHRINKAGE) + CATEGORY_WEIGHT * 3 / 15)


def test_filters_leave_out_the_dear_the_sold_out_and_the_already_bought():
    # given: root beer goes with ice cream, then straws
    matrix = BasketMatrix.from_lines(*lines(BASKETS))
    prices = {ICE_CREAM: 6.0, STRAWS: 1.5}

    def offered(filters: Filters) -> list[int]:
        return ranked(matrix.rank_complements([ROOT_BEER], min_together=1, filters=filters)[0])

    # when / then
    assert offered(Filters()) == [ICE_CREAM, STRAWS]
    assert offered(Filters(max_price=5.0, prices=prices)) == [STRAWS]
    assert offered(Filters(max_price=10.0, prices={STRAWS: 1.5})) == [STRAWS]  # no price: out
    assert offered(Filters(in_stock={STRAWS, MILK})) == [STRAWS]
    assert offered(Filters(bought=[STRAWS])) == [ICE_CREAM]
    assert offered(Filters(max_price=5.0, prices=prices, bought={STRAWS})) == []


def test_excluded_products_are_never_ranked():
    # given
    matrix = BasketMatrix.from_lines(*lines(BASKETS))
    # when
    [found] = matrix.rank_complements([ROOT_BEER], min_together=1, exclude=[ICE_CREAM])
    # then
    assert ranked(found) == [STRAWS]


def test_best_over_anchors_takes_each_querys_largest_value():
    # given: three rows of values; query 0 holds rows 0 and 2, query 1 row 1, query 2 none
    values = sparse.csr_matrix(np.array([[0.5, 0.0, 0.2], [0.0, 0.7, 0.0], [0.1, 0.0, 0.9]]))
    queries = sparse.csr_matrix(np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0]]))
    # when
    best = best_over_anchors(queries, values)
    # then
    assert best.tolist() == [[0.5, 0.0, 0.9], [0.0, 0.7, 0.0], [0.0, 0.0, 0.0]]
