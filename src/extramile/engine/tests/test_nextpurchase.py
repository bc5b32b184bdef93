"""Next purchase on a hand-made grocery: milk is bought again, salsa goes with chips."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pytest
from scipy import sparse

from extramile.engine.nextpurchase import (
    SIGNALS,
    NextPurchaseModel,
    NextPurchaseWeights,
    Purchases,
    best_of,
    cosine_neighbours,
    owned_pairs,
)

# Products and their subclasses (dairy 0, snacks 1, noodles 2, kitchen 3).
MILK, YOGHURT, CHIPS, SALSA, RAMEN, UDON, TOASTER, CANDLES = range(8)
SUBCLASS = np.array([0, 0, 1, 1, 2, 2, 3, 3])
TODAY = 100


def purchases(lines: list[tuple[int, int, int]]) -> Purchases:
    """Return purchase lines from (client, product, day) triples."""
    client, product, day = (np.array(column, dtype=np.int64) for column in zip(*lines, strict=True))
    return Purchases(client=client, product=product, day=day)


def model(lines: list[tuple[int, int, int]], clients: int, **weights: Any) -> NextPurchaseModel:
    """Fit the model on hand-made lines, with some weights changed."""
    chosen = dataclasses.replace(NextPurchaseWeights(), **weights)
    return NextPurchaseModel(
        purchases(lines), product_subclass=SUBCLASS, clients=clients, today=TODAY, weights=chosen
    )


def ranking(fitted: NextPurchaseModel, client: int, k: int = 8) -> list[int]:
    """Return the client's k best products, best first."""
    return fitted.recommend(np.array([client]), k).products[0].tolist()


def test_owned_pairs_count_distinct_days_and_keep_the_last():
    # given: client 0 bought milk twice on day 1 (two lines) and once on day 5
    lines = purchases([(0, MILK, 5), (0, MILK, 1), (0, MILK, 1), (1, CHIPS, 3)])
    # when
    pairs = owned_pairs(lines)
    # then
    assert pairs.client.tolist() == [0, 1]
    assert pairs.product.tolist() == [MILK, CHIPS]
    assert pairs.days.tolist() == [2.0, 1.0]
    assert pairs.last_day.tolist() == [5, 3]


def test_a_product_bought_on_more_days_ranks_first():
    # given: client 0 bought milk on three days, chips on one
    lines = [(0, MILK, 10), (0, MILK, 40), (0, MILK, 80), (0, CHIPS, 80)]
    # when
    best = ranking(model(lines, clients=1), 0, k=2)
    # then
    assert best == [MILK, CHIPS]


def test_of_two_products_bought_once_the_one_people_buy_again_ranks_first():
    # given: client 0 bought milk and a toaster once, the same day; clients 1-4 buy milk
    # again and again but never a second toaster
    lines = [(0, MILK, 50), (0, TOASTER, 50)]
    for client in range(1, 5):
        lines += [(client, MILK, 10), (client, MILK, 30), (client, TOASTER, 20)]
    # when
    fitted = model(lines, clients=5)
    # then
    assert fitted.rate[MILK] > fitted.rate[TOASTER]
    assert ranking(fitted, 0, k=2) == [MILK, TOASTER]


def test_a_bought_product_beats_a_new_one_that_is_as_popular():
    # given: client 0 bought ramen once; udon, in the same subclass, is as popular
    lines = [(0, RAMEN, 90), (1, RAMEN, 90), (1, UDON, 90), (2, UDON, 90)]
    # when
    best = ranking(model(lines, clients=3), 0, k=2)
    # then
    assert best == [RAMEN, UDON]


def test_salsa_comes_to_a_client_who_buys_chips_because_others_buy_them_together():
    # given: clients 1-3 buy chips and salsa, client 4 buys candles; client 0 bought chips
    # only; popularity and subclass are switched off to isolate the co-occurrence
    lines = [(0, CHIPS, 90), (4, CANDLES, 90)]
    lines += [(c, p, 90) for c in range(1, 4) for p in (CHIPS, SALSA)]
    fitted = model(lines, clients=5, trend=0.0, popularity=0.0, subclass=0.0)
    # when
    found = fitted.recommend(np.array([0]), 2)
    # then
    assert found.products[0].tolist() == [CHIPS, SALSA]
    assert found.drivers[0].tolist() == ["repurchase", "co-occurrence"]
    assert fitted.because_of(0, SALSA) == CHIPS
    assert fitted.because_of(0, CANDLES) is None


def test_a_noodle_buyer_is_shown_new_noodles_before_an_equally_popular_candle():
    # given: client 0 bought ramen; udon and candles each have one other buyer (not client 0's
    # neighbours), so only the subclass tells them apart
    lines = [(0, RAMEN, 90), (1, UDON, 90), (2, CANDLES, 90)]
    fitted = model(lines, clients=3, cooccurrence=0.0)
    # when
    found = fitted.recommend(np.array([0]), 3)
    # then
    assert found.products[0].tolist() == [RAMEN, UDON, CANDLES]
    assert found.drivers[0].tolist() == ["repurchase", "subclass", "popularity"]


def test_the_favourite_subclasses_come_with_their_lines_most_first():
    # given: client 0 bought noodles on three lines, snacks on two, dairy on two, kitchen on one
    lines = [(0, RAMEN, 1), (0, UDON, 1), (0, RAMEN, 2), (0, CHIPS, 1), (0, SALSA, 2)]
    lines += [(0, MILK, 1), (0, YOGHURT, 3), (0, CANDLES, 4)]
    # when
    favourites = model(lines, clients=1).favourite_subclasses(0, n=3)
    # then: dairy (0) and snacks (1) tie on two lines; the lower code comes first
    assert favourites == [(2, 3), (0, 2), (1, 2)]


def test_a_product_selling_now_ranks_before_one_that_sold_more_long_ago():
    # given: yoghurt had three buyers on day 10, candles two in the last two weeks; client 3
    # bought neither (a toaster); co-occurrence and subclass are switched off
    lines = [(c, YOGHURT, 10) for c in range(3)] + [(c, CANDLES, 95) for c in range(2)]
    lines += [(3, TOASTER, 50)]
    fitted = model(lines, clients=4, cooccurrence=0.0, subclass=0.0)
    # when
    best = ranking(fitted, 3, k=3)
    # then
    assert best == [TOASTER, CANDLES, YOGHURT]


def test_lines_on_or_after_today_are_not_known():
    # given: client 0 bought chips on day 20, and milk on three days from today on
    lines = [(0, CHIPS, 20), (0, MILK, TODAY), (0, MILK, TODAY + 1), (0, MILK, TODAY + 2)]
    # when
    fitted = model(lines, clients=1)
    # then
    assert fitted.days_bought.toarray()[0].tolist() == [0, 0, 1, 0, 0, 0, 0, 0]
    assert ranking(fitted, 0, k=1) == [CHIPS]


def test_a_client_without_history_is_shown_what_sells():
    # given: clients 0-2 bought yoghurt, client 3 nothing yet
    lines = [(c, YOGHURT, 95) for c in range(3)]
    # when
    found = model(lines, clients=4).recommend(np.array([3]), 1)
    # then
    assert found.products[0].tolist() == [YOGHURT]
    assert found.drivers[0].tolist() == ["popularity"]


def test_a_store_without_history_still_ranks_every_product():
    # given: no line before today
    fitted = model([(0, MILK, TODAY)], clients=1)
    # when
    best = ranking(fitted, 0, k=3)
    # then: every score is zero, so the lower codes come first
    assert best == [MILK, YOGHURT, CHIPS]


def test_the_score_is_the_sum_of_the_signals_and_recommend_follows_it():
    # given: 300 clients (two blocks) buying at random
    rng = np.random.default_rng(7)
    lines = list(
        zip(
            rng.integers(0, 300, 2000),
            rng.integers(0, 8, 2000),
            rng.integers(0, 99, 2000),
            strict=True,
        )
    )
    fitted = model(lines, clients=300)
    clients = np.arange(300)
    # when
    signals = fitted.signals(clients)
    found = fitted.recommend(clients, 3)
    # then
    assert signals.shape == (len(SIGNALS), 300, 8)
    scores = fitted.score(clients)
    np.testing.assert_allclose(scores, signals.sum(axis=0))
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :3]
    np.testing.assert_array_equal(found.products, expected)
    np.testing.assert_allclose(found.signals.sum(axis=2), found.scores)


def test_cosine_neighbours_keep_the_best_and_the_lower_code_on_a_tie():
    # given: client 0 buys products 0, 1 and 2, client 1 products 0 and 3, client 2 product 3
    bought = sparse.csr_matrix(np.array([[1, 1, 1, 0], [1, 0, 0, 1], [0, 0, 0, 1]], dtype=float))
    # when
    similar = cosine_neighbours(bought, neighbours=1).toarray()
    # then: 0 is as close to 1 as to 2 and to 3 (1/sqrt(2)) and keeps 1; 1 and 2 have the
    # same buyers (1); 3 is at 1/2 from 0
    assert similar.round(3).tolist() == [
        [0.0, 0.707, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
        [0.0, 1.0, 0.0, 0.0],
        [0.5, 0.0, 0.0, 0.0],
    ]


def test_best_of_keeps_the_first_of_equal_values():
    # given
    values = np.array([0.2, 0.5, 0.2, 0.9, 0.2])
    # when
    kept = best_of(values, 3)
    # then
    assert kept.tolist() == [True, True, False, True, False]


# Real data --------------------------------------------------------------------------------


@pytest.mark.slow
def test_ta_feng_february_reproduces_the_repurchase_and_popularity_anchor():
    from extramile.engine.datasets import load_ta_feng
    from extramile.engine.evaluation.metrics import recall_at_k
    from extramile.engine.evaluation.next_purchase import next_purchase_split, repurchase_top_k

    # given Ta-Feng split at 2001-02-01
    task = next_purchase_split(load_ta_feng(), dt.date(2001, 2, 1))
    # when each client's products are ranked by days bought, then by buyers
    recall = recall_at_k(repurchase_top_k(task), task.relevant)
    # then PRODUCT.md's anchor: 0.107, over the 13,255 clients of February with a history
    assert task.clients.size == 13255
    assert recall == pytest.approx(0.1074, abs=5e-5)


@pytest.mark.slow
def test_ta_feng_december_ours_beats_repurchase_and_popularity():
    from extramile.engine.datasets import load_ta_feng
    from extramile.engine.evaluation.metrics import recall_at_k
    from extramile.engine.evaluation.next_purchase import next_purchase_split, repurchase_top_k

    # given Ta-Feng split at 2000-12-01 (November as the history)
    task = next_purchase_split(load_ta_feng(), dt.date(2000, 12, 1))
    fitted = NextPurchaseModel(
        task.history,
        product_subclass=task.product_subclass,
        clients=task.days_bought.shape[0],
        today=task.split.toordinal(),
    )
    # when
    ours = recall_at_k(fitted.recommend(task.clients, 10).products, task.relevant)
    theirs = recall_at_k(repurchase_top_k(task), task.relevant)
    # then
    assert theirs == pytest.approx(0.0961, abs=5e-5)
    assert ours == pytest.approx(0.1040, abs=5e-5)
