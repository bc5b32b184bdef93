"""Basket complements on hand-made baskets: root beer goes with vanilla ice cream."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from extramile.engine.complements import BasketMatrix

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
