"""The complements evaluation's own pieces: hiding a product, ranking with a popularity fill."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from extramile.engine.complements import BasketMatrix
from extramile.engine.evaluation.complements import (
    hide_one,
    mlxtend_rules,
    popularity_rank,
    pyfim_rules,
    rule_triples,
    same_rules,
    top_with_fill,
)


def test_one_product_is_hidden_from_each_basket_of_two_or_more():
    # given: basket 1 holds products 5, 6, 7 (7 twice), basket 2 only 8
    baskets = np.array([1, 1, 1, 1, 2])
    products = np.array([5, 6, 7, 7, 8])
    # when
    items = hide_one(baskets, products, np.random.default_rng(0))
    # then
    assert len(items.shown) == 1
    assert sorted([*items.shown[0], int(items.hidden[0])]) == [5, 6, 7]


def test_scored_products_come_first_then_the_most_popular_never_the_shown():
    # given: column 2 is the most popular, then 0, 1, 3
    popular = (np.array([2, 0, 1, 3]), np.array([1, 2, 0, 3]))
    scores = np.array([[0.0, 0.0, 0.0, 0.4], [0.3, 0.3, 0.0, 0.0]])
    shown = sparse.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 1]]))
    # when
    first, second = top_with_fill(scores, shown, popular, k=3)
    # then: ties go to the more popular; the shown column 0 (query 0) is never listed
    assert first.tolist() == [3, 2, 1]
    assert second.tolist() == [0, 1, 2]


def test_mlxtend_and_pyfim_helpers_mine_our_rules():
    # given
    pytest.importorskip("mlxtend", reason="mlxtend (the eval extra) is not installed")
    pytest.importorskip("fim", reason="pyfim (the eval extra) is not installed")
    rng = np.random.default_rng(11)
    matrix = BasketMatrix.from_lines(rng.integers(0, 80, 400), rng.integers(0, 15, 400))
    # when
    # (a confidence of 0.23 that no rule here sits on: on the threshold the two libraries differ)
    ours = matrix.pair_rules(0.05, 0.23)
    theirs, _ = mlxtend_rules(matrix, 0.05, 0.23)
    found, _ = pyfim_rules(matrix, 0.05, 0.23)
    # then
    assert len(ours) > 0
    assert same_rules(ours, theirs)
    assert found == rule_triples(theirs)


def test_popularity_puts_the_most_bought_first():
    # given: product 9 in three baskets, 4 in two, 7 in one
    matrix = BasketMatrix.from_lines([1, 2, 3, 1, 2, 3], [9, 9, 9, 4, 4, 7])
    # when
    order, place = popularity_rank(matrix)
    # then
    assert matrix.product_ids[order].tolist() == [9, 4, 7]
    assert place[order].tolist() == [0, 1, 2]
