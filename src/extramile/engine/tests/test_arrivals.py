import datetime as dt
import math

import numpy as np
import pytest
from scipy import sparse

from extramile.engine.allocation import Offers, allocate, best_variant_per_product
from extramile.engine.arrivals import (
    ArrivalModel,
    ArrivalWeights,
    Catalog,
    EarlySales,
    Purchases,
    Stock,
    TasteProfiles,
    due_for_message,
    match_arrivals,
    mix_early,
    stated_taste,
    top_products,
)

BREAD, CHEESE, TEA = 0, 1, 2  # leaf codes; food is 0 and drink 1 at the top level
MAKER_A, MAKER_B, MAKER_C = 0, 1, 2

# Products 0-2 have sold before; 3-6 are new.
CATALOG = Catalog(
    category=np.array(
        [[0, BREAD], [0, CHEESE], [1, TEA], [0, BREAD], [0, BREAD], [1, TEA], [0, BREAD]]
    ),
    tags={"maker": np.array([MAKER_A, MAKER_B, MAKER_A, MAKER_A, MAKER_C, MAKER_B, MAKER_A])},
    price=np.array([10.0, 30.0, 20.0, 10.0, 10.0, 20.0, 40.0]),
)
NEW = np.array([3, 4, 5, 6])
TODAY = 1000


def purchases(rows: list[tuple[int, int, int]]) -> Purchases:
    """Purchases from (client, product, days ago) rows."""
    client, product, ago = (np.array(c) for c in zip(*rows, strict=True))
    return Purchases(client=client, product=product, day=TODAY - ago)


def profiles(rows: list[tuple[int, int, int]], *, clients: int = 3, half_life=None):
    return TasteProfiles(
        CATALOG, purchases(rows), clients=clients, today=TODAY, half_life_days=half_life
    )


# Client 0 bought maker A's bread twice; client 1 tea twice; client 2 nothing.
HISTORY = [(0, 0, 0), (0, 0, 0), (1, 2, 0), (1, 2, 0)]
PLAIN = ArrivalWeights(popularity=0.0, price_gap=0.0, smoothing=2.0)


def test_a_line_counts_half_after_one_half_life():
    # given a line today and one 60 days ago
    lines = purchases([(0, 0, 0), (0, 0, 60)])
    # when
    weights = lines.recency(TODAY, half_life_days=60)
    # then
    assert weights.tolist() == [1.0, 0.5]


def test_profiles_count_lines_per_category_level_tag_and_price():
    # given
    taste = profiles([(0, 0, 0), (0, 1, 60), (1, 2, 0)], half_life=60)
    # when
    food = taste.category[0].toarray()[0]
    makers = taste.tags["maker"].toarray()[0]
    # then client 0: bread now (1), cheese half a line; maker A 1, maker B 0.5
    assert food.tolist() == [1.5, 0.0]
    assert makers.tolist() == [1.0, 0.5, 0.0]
    expected = (math.log1p(10) + 0.5 * math.log1p(30)) / 1.5
    assert taste.usual_log_price[0] == pytest.approx(expected)


def test_category_probability_pulls_a_client_toward_the_store_mix():
    # given smoothing of two lines and a store that sold as much food as drink
    model = ArrivalModel(profiles(HISTORY), NEW, weights=PLAIN)
    # when
    top, leaf = model.category_probability(model.rows(np.array([0, 2])))
    # then client 0 (two lines of bread): food (2 + 2 x 0.5) / 4, bread (2 + 2 x 0.75) / 4
    assert top[0].tolist() == pytest.approx([0.75, 0.25], rel=1e-3)
    assert leaf[0].tolist() == pytest.approx([0.875, 0.125], rel=1e-3)  # bread, tea
    # and a client without purchases gets the store's mix
    assert leaf[1].tolist() == pytest.approx([0.5, 0.5], rel=1e-3)


def test_a_client_prefers_the_maker_they_buy():
    # given two new breads at one price, from maker A (bought twice by client 0) and maker C
    model = ArrivalModel(profiles(HISTORY), NEW, weights=PLAIN)
    # when
    scores = model.score(np.array([0]))[0]
    # then the difference is the affinity term alone: 0.5 x log(1 + 2)
    assert scores[0] - scores[1] == pytest.approx(0.5 * math.log(3), rel=1e-5)


def test_the_cheaper_of_two_like_products_comes_first():
    # given maker A's breads at 10 (new product 3) and at 40 (new product 6)
    model = ArrivalModel(profiles(HISTORY), NEW, weights=PLAIN)
    # when
    scores = model.score(np.array([0, 2]))
    # then by cheapness x log((1 + 40) / (1 + 10)) for every client
    gap = PLAIN.cheapness * math.log(41 / 11)
    assert (scores[:, 0] - scores[:, 3]).tolist() == pytest.approx([gap, gap], rel=1e-5)


def test_the_leaf_shares_its_clients_among_all_its_products():
    # given the bread leaf: one product sold before and three new ones; tea: one and one
    model = ArrivalModel(profiles(HISTORY), NEW, weights=PLAIN)
    # when
    bread, tea = model._products_in_leaf()[[0, 2]]
    # then
    assert (bread, tea) == (4, 2)


def test_cold_ranking_follows_the_category_the_client_buys():
    # given
    model = ArrivalModel(profiles(HISTORY), NEW, weights=PLAIN)
    # when
    ranked = top_products(model.score(np.array([0, 1])), 1)
    # then the bread buyer gets maker A's cheap bread, the tea buyer the tea
    assert ranked.ravel().tolist() == [0, 2]


def test_warm_scores_mix_the_early_share_with_the_cold_probability():
    # given early buyers 6, 2, 0, 2 of the new products
    early = EarlySales(buyers=np.array([6.0, 2.0, 0.0, 2.0]))
    cold = ArrivalModel(profiles(HISTORY), NEW, weights=PLAIN).score(np.array([1]))[0]
    # when
    warm = ArrivalModel(profiles(HISTORY), NEW, weights=PLAIN, early=early).score(np.array([1]))
    # then
    softmax = np.exp(cold - cold.max()) / np.exp(cold - cold.max()).sum()
    expected = np.log(0.9 * np.array([0.6, 0.2, 0.0, 0.2]) + 0.1 * softmax)
    assert warm[0].tolist() == pytest.approx(expected.tolist(), rel=1e-4)


def test_warm_a_client_who_knows_nothing_gets_the_early_best_seller():
    # given
    early = EarlySales(buyers=np.array([1.0, 9.0, 0.0, 0.0]))
    model = ArrivalModel(profiles(HISTORY), NEW, weights=PLAIN, early=early)
    # when
    ranked = top_products(model.score(np.array([2])), 1)
    # then
    assert ranked.tolist() == [[1]]


def test_a_product_bought_early_gains_the_bought_early_weight():
    # given client 1 bought new product 2 early
    plain = EarlySales(buyers=np.array([1.0, 1.0, 1.0, 0.0]))
    bought = EarlySales(
        buyers=np.array([1.0, 1.0, 1.0, 0.0]), client=np.array([1]), product=np.array([2])
    )
    # when
    before = ArrivalModel(profiles(HISTORY), NEW, weights=PLAIN, early=plain).score(np.array([1]))
    after = ArrivalModel(profiles(HISTORY), NEW, weights=PLAIN, early=bought).score(
        np.array([2, 1])
    )
    # then only that pair moves, by 1
    assert after[1] - before[0] == pytest.approx([0, 0, 1.0, 0], abs=1e-5)


def test_an_explanation_names_the_maker_and_the_category():
    # given
    model = ArrivalModel(profiles(HISTORY), NEW, weights=PLAIN)
    # when maker A's cheap bread is explained for the client who bought it twice
    reasons = model.explain(0, 0)
    # then the category lifts log(0.875 / 0.5) over a newcomer, the maker 0.5 x log 3
    assert [(r.feature, r.code, r.level) for r in reasons] == [
        ("category", BREAD, 1),
        ("maker", MAKER_A, -1),
    ]
    assert reasons[0].weight == pytest.approx(math.log(0.875 / 0.5), rel=1e-3)
    assert reasons[1].weight == pytest.approx(0.5 * math.log(3), rel=1e-5)


def test_an_explanation_in_the_warm_mode_says_it_sells():
    # given
    early = EarlySales(buyers=np.array([0.0, 0.0, 4.0, 0.0]))
    model = ArrivalModel(profiles(HISTORY), NEW, weights=PLAIN, early=early)
    # when the tea is explained for a client we know nothing of
    reasons = model.explain(2, 2)
    # then it sells four times the average new product
    assert [(r.feature, round(r.weight, 4)) for r in reasons] == [
        ("early sales", round(math.log(4), 4))
    ]


def test_stated_likes_and_dislikes_join_as_extra_columns():
    # given client 2 likes token 0 (maker C's bread has it) and dislikes token 1 (the tea)
    likes = sparse.csr_matrix(np.array([[0, 0], [0, 0], [1, 0]]))
    dislikes = sparse.csr_matrix(np.array([[0, 0], [0, 0], [0, 1]]))
    tokens = sparse.csr_matrix(np.array([[0, 0], [1.0, 0], [0, 0.5], [0, 0]]))
    extra = stated_taste(likes, dislikes, tokens)
    plain = ArrivalModel(profiles(HISTORY), NEW, weights=PLAIN).score(np.array([2]))[0]
    # when
    model = ArrivalModel(profiles(HISTORY), NEW, weights=PLAIN, extra=extra)
    scores = model.score(np.array([2]))[0]
    # then
    assert (scores - plain).tolist() == pytest.approx([0, 1.0, -20.0, 0], abs=1e-5)
    assert model.explain(2, 1)[0].feature == "stated likes"


# Stock and allocation ------------------------------------------------------------------------


def scorer(scores: np.ndarray):
    return lambda rows: np.asarray(scores, dtype=np.float32)[rows]


def one_size(units: list[int]) -> Stock:
    n = len(units)
    return Stock(
        product=np.arange(n),
        size=np.full(n, -1),
        units=np.array(units),
        size_system=np.full(n, -1),
    )


def pairs(offers: Offers) -> set[tuple[int, int]]:
    return set(zip(offers.client.tolist(), offers.variant.tolist(), strict=True))


def test_one_unit_is_offered_to_the_two_best_fitting_clients():
    # given five clients and one unit of a one-size product
    scores = np.array([[0.4], [0.9], [0.5], [0.8], [0.3]])
    # when
    offers = match_arrivals(scorer(scores), np.arange(5), stock=one_size([1]))
    # then
    assert pairs(offers) == {(1, 0), (3, 0)}


def test_only_a_size_in_stock_that_the_client_wears_is_offered():
    # given a product in size 1 (one unit) and size 2 (none in stock)
    stock = Stock(
        product=np.array([0, 0]),
        size=np.array([1, 2]),
        units=np.array([1, 0]),
        size_system=np.array([0]),
    )
    sizes = np.array([[1], [2], [1], [-1]])  # client 3's size is unknown
    scores = np.array([[0.5], [0.9], [0.4], [0.95]])
    # when
    offers = match_arrivals(scorer(scores), np.arange(4), stock=stock, client_sizes=sizes)
    # then the clients in size 1, best first
    assert pairs(offers) == {(0, 0), (2, 0)}


def test_a_client_over_their_limit_gives_their_place_to_the_next_client():
    # given client 0 fits both products best; one place each
    scores = np.array([[0.9, 0.8], [0.5, 0.1], [0.1, 0.6]])
    # when
    offers = match_arrivals(
        scorer(scores), np.arange(3), stock=one_size([1, 1]), per_unit=1, per_client=1
    )
    # then client 0 keeps product 0 and product 1 goes to client 2
    assert pairs(offers) == {(0, 0), (2, 1)}


def test_a_client_is_offered_one_colour_of_a_style():
    # given two colours of one style in plenty
    stock = Stock(
        product=np.array([0, 1]),
        size=np.array([-1, -1]),
        units=np.array([10, 10]),
        size_system=np.array([-1, -1]),
        style=np.array([7, 7]),
    )
    scores = np.array([[0.3, 0.6], [0.7, 0.2]])
    # when
    offers = match_arrivals(scorer(scores), np.arange(2), stock=stock)
    # then each client gets the colour they fit best
    assert pairs(offers) == {(0, 1), (1, 0)}


def test_nobody_below_the_minimum_score_is_offered_anything():
    # given
    scores = np.array([[0.2], [0.7]])
    # when
    offers = match_arrivals(scorer(scores), np.arange(2), stock=one_size([5]), min_score=0.5)
    # then
    assert pairs(offers) == {(1, 0)}


@pytest.mark.parametrize(("depth", "per_client"), [(2.0, 3), (1.0, 1)])
def test_blocks_and_shortlists_give_the_same_offers_as_every_pair_at_once(depth, per_client):
    # given 600 clients, 12 products in sizes of two systems, scarce stock
    rng = np.random.default_rng(7)
    scores = rng.standard_normal((600, 12)).astype(np.float32)
    scores[:20] += 3  # twenty clients fit everything best, and take few
    system = np.array([-1, 0, 1] * 4)
    product, size = [], []
    for p, s in enumerate(system):
        for z in [-1] if s < 0 else rng.choice(4, 2, replace=False):
            product.append(p)
            size.append(int(z))
    stock = Stock(
        product=np.array(product),
        size=np.array(size),
        units=rng.integers(0, 4, len(product)),
        size_system=system,
    )
    sizes = rng.integers(-1, 4, (600, 2))
    # when scored 16 clients at a time
    streamed = match_arrivals(
        scorer(scores),
        np.arange(600),
        stock=stock,
        client_sizes=sizes,
        block=16,
        depth=depth,
        per_client=per_client,
    )
    # then the same as allocating every eligible pair at once
    every = all_pairs(scores, stock, sizes)
    expected = allocate(best_variant_per_product(every), stock.units, per_client=per_client)
    assert pairs(streamed) == pairs(expected)


def all_pairs(scores: np.ndarray, stock: Stock, sizes: np.ndarray) -> Offers:
    rows = []
    for client in range(scores.shape[0]):
        for variant, (product, size) in enumerate(zip(stock.product, stock.size, strict=True)):
            system = stock.size_system[product]
            worn = -1 if system < 0 else sizes[client, system]
            if (system < 0 or (worn >= 0 and worn == size)) and stock.units[variant] > 0:
                rows.append((client, variant, product, float(scores[client, product])))
    client, variant, product, fit = (np.array(c) for c in zip(*rows, strict=True))
    return Offers(client=client, variant=variant, product=product, fit=fit)


def test_allocation_with_a_client_limit_is_the_greedy_one():
    # given random offers of 40 clients for 15 variants, about two places per client
    rng = np.random.default_rng(3)
    client = rng.integers(0, 40, 400)
    variant = rng.integers(0, 15, 400)
    keep = np.unique(client * 100 + variant, return_index=True)[1]
    offers = Offers(
        client=client[keep], variant=variant[keep], product=variant[keep], fit=rng.random(keep.size)
    )
    units = rng.integers(0, 6, 15)
    # when
    kept = allocate(offers, units, per_client=2)
    # then the same as taking offers best first while both sides have room
    assert pairs(kept) == greedy(offers, units * 2, per_client=2)


def greedy(offers: Offers, capacity: np.ndarray, *, per_client: int) -> set[tuple[int, int]]:
    left = capacity.copy()
    taken: dict[int, int] = {}
    out = set()
    for i in np.lexsort((offers.variant, offers.client, -offers.fit)):
        c, v = int(offers.client[i]), int(offers.variant[i])
        if left[v] > 0 and taken.get(c, 0) < per_client:
            left[v] -= 1
            taken[c] = taken.get(c, 0) + 1
            out.add((c, v))
    return out


def test_a_client_messaged_this_week_waits_for_the_next():
    # given last arrival messages 3 and 7 days ago, and never
    last = np.array([997, 993, -1])
    # when
    due = due_for_message(last, TODAY)
    # then
    assert due.tolist() == [False, True, True]


# Real data --------------------------------------------------------------------------------


def test_ta_feng_february_reproduces_the_first_week_popularity_anchor():
    from extramile.engine.datasets import load_ta_feng
    from extramile.engine.evaluation.metrics import recall_at_k, top_k
    from extramile.engine.evaluation.tafeng_split import arrival_split

    # given Ta-Feng split at 2001-02-01
    data = load_ta_feng()
    task = arrival_split(data, dt.date(2001, 2, 1))
    # when the new products are ranked by their lines in the first week
    first_week = np.bincount(data.product[task.early], minlength=data.product_ids.size)
    ranked = top_k(first_week[task.new][None, :].astype(float), 10)
    recall = recall_at_k(np.repeat(ranked, task.clients.size, axis=0), task.relevant)
    # then PRODUCT.md's protocol: 1,270 new products, 0.307
    assert task.new.size == 1270
    assert task.clients.size == 2450
    assert recall == pytest.approx(0.3068, abs=5e-5)


def test_mix_early_gives_each_row_a_mixture_in_log_space_whatever_the_block_size():
    rng = np.random.default_rng(7)
    cold = (rng.normal(size=(1500, 300)) * 4).astype(np.float32)  # more rows than one pass takes
    early = rng.random(300).astype(np.float32)
    early /= early.sum()
    block = cold.copy()
    mix_early(block, early, 0.25)
    softmax = np.exp(cold.astype(np.float64) - cold.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    expected = np.log(0.25 * early + 0.75 * softmax)
    np.testing.assert_allclose(block, expected, rtol=1e-5, atol=1e-5)
    one_row = cold[1234:1235].copy()
    mix_early(one_row, early, 0.25)
    np.testing.assert_array_equal(one_row[0], block[1234])
