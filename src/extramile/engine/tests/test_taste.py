import math

import numpy as np
import pytest

from extramile.engine.taste import (
    Item,
    Taste,
    TasteModel,
    item_tokens,
    price_percentiles,
    top_category,
)

NAVY_SUIT = Item(
    brand="Ashby & Rowe",
    colour="navy",
    category="Men/Suits",
    styles=("classic", "business"),
    material="worsted wool",
    price=700.0,
)
SLIM_SUIT = Item(
    brand="Kestrel", colour="charcoal", category="Men/Suits", styles=("slim",), price=495.0
)
RED_DRESS = Item(brand="Juniper Row", colour="red", category="Women/Dresses", price=260.0)


def expected_fit(stated: float, observed: float, price: float) -> float:
    return (min(stated, 4) + 0.9 * (0.75 * observed + 0.25 * price)) / 5


def test_two_stated_likes_count_two():
    # given a client who likes the brand and the colour, with no purchases and no band
    taste = Taste(likes={("brand", "Ashby & Rowe"), ("colour", "Navy ")})
    # when
    block = TasteModel([NAVY_SUIT], [taste]).block(np.array([0]))
    # then price unknown to us: 0.5
    assert block.stated.tolist() == [[2.0]]
    assert block.fit[0, 0] == pytest.approx(expected_fit(2, 0, 0.5))
    assert block.matches.tolist() == [[True]]


def test_likes_of_styles_categories_and_material_words_weigh_less():
    # given likes of a style (0.75), a category by its last level (0.5) and a material word (0.5)
    taste = Taste(likes={("style", "classic"), ("category", "suits"), ("material", "wool")})
    # when
    block = TasteModel([NAVY_SUIT, RED_DRESS], [taste]).block(np.array([0]))
    # then
    assert block.stated.tolist() == [[1.75, 0.0]]
    assert block.matches.tolist() == [[True, False]]


def test_a_lesser_like_matches_only_with_a_purchase_behind_it():
    # given two clients who like suits as a category; only the second bought one
    tastes = [
        Taste(likes={("category", "Men/Suits")}),
        Taste(likes={("category", "Men/Suits")}, bought_categories={"Men/Suits": 1}),
    ]
    # when
    block = TasteModel([NAVY_SUIT], tastes).block(slice(0, 2))
    # then
    assert block.matches.tolist() == [[False], [True]]


def test_a_dislike_excludes_the_item_whatever_else_fits():
    # given a client who likes charcoal suits but dislikes slim cuts
    taste = Taste(
        likes={("colour", "charcoal"), ("category", "Men/Suits")}, dislikes={("style", "slim")}
    )
    # when
    block = TasteModel([SLIM_SUIT, NAVY_SUIT], [taste]).block(np.array([0]))
    # then
    assert block.excluded.tolist() == [[True, False]]
    assert block.matches.tolist() == [[False, False]]  # the navy suit has only a lesser like


def test_purchases_in_the_category_and_brand_make_the_observed_part():
    # given two suit lines and two Ashby & Rowe lines, bought at the item's price
    taste = Taste(
        bought_categories={"Men/Suits": 2},
        bought_brands={"ashby & rowe": 2},
        typical_prices={"men/suits": 700.0},
    )
    # when
    block = TasteModel([NAVY_SUIT, RED_DRESS], [taste]).block(np.array([0]))
    # then observed 0.6 (1 - 1/e) + 0.4 (1 - 1/e); the dress has no signal and price 0.5
    observed = 1 - math.exp(-1)
    assert block.observed[0].tolist() == pytest.approx([observed, 0.0])
    assert block.fit[0].tolist() == pytest.approx(
        [expected_fit(0, observed, 1.0), expected_fit(0, 0, 0.5)]
    )
    assert block.matches.tolist() == [[True, False]]


def test_one_purchase_alone_is_not_enough_to_match():
    # given one suit line bought
    taste = Taste(bought_categories={"Men/Suits": 1})
    # when
    block = TasteModel([NAVY_SUIT], [taste]).block(np.array([0]))
    # then 0.6 (1 - e^-0.5) = 0.24 < 0.35
    assert block.matches.tolist() == [[False]]


def test_what_the_client_said_comes_before_what_they_bought():
    # given Eve, who said brand and colour and bought nothing, and Al, who said the brand
    # and bought six suits of it at its price
    eve = Taste(likes={("brand", "Ashby & Rowe"), ("colour", "navy")})
    al = Taste(
        likes={("brand", "Ashby & Rowe")},
        bought_categories={"Men/Suits": 6},
        bought_brands={"Ashby & Rowe": 6},
        typical_prices={"Men/Suits": 700.0},
    )
    # when
    fit = TasteModel([NAVY_SUIT], [eve, al]).block(slice(0, 2)).fit[:, 0]
    # then
    assert fit[0] > fit[1]


def test_price_far_from_what_the_client_pays_fits_less():
    # given a client who usually pays 300 for a suit
    taste = Taste(bought_categories={"Men/Suits": 1}, typical_prices={"Men/Suits": 300.0})
    cheap = Item(category="Men/Suits", price=300.0)
    dear = Item(category="Men/Suits", price=900.0)
    model = TasteModel([cheap, dear], [taste])
    # when
    prices = [model.explain(0, 0).price_fit, model.explain(0, 1).price_fit]
    # then 1 at their price, exp(-ln(3)^2 / 0.5) at three times it
    assert prices == pytest.approx([1.0, math.exp(-(math.log(3) ** 2) / 0.5)])


def test_a_stated_price_band_is_used_where_they_have_not_bought():
    # given a premium client and the dearest and cheapest suits of the category
    taste = Taste(likes={("category", "Men/Suits")}, price_band="premium")
    dearest = Item(category="Men/Suits", price=900.0, price_percentile=1.0)
    cheapest = Item(category="Men/Suits", price=300.0, price_percentile=0.0)
    model = TasteModel([dearest, cheapest], [taste])
    # when
    prices = [model.explain(0, 0).price_fit, model.explain(0, 1).price_fit]
    # then 1 - 1.5 x |p - 5/6|, at least 0
    assert prices == pytest.approx([0.75, 0.0])


def test_many_clients_are_scored_in_one_block():
    # given three clients
    tastes = [
        Taste(likes={("brand", "Kestrel")}),
        Taste(likes={("colour", "red")}),
        Taste(),
    ]
    # when
    block = TasteModel([SLIM_SUIT, RED_DRESS], tastes).block(slice(0, 3))
    # then
    assert block.matches.tolist() == [[True, False], [False, True], [False, False]]


def test_explain_names_the_likes_the_item_has_in_its_own_words():
    # given
    taste = Taste(
        likes={("brand", "ashby & rowe"), ("colour", "navy"), ("style", "Classic")},
        bought_categories={"Men/Suits": 3},
    )
    model = TasteModel([NAVY_SUIT], [taste])
    # when
    why = model.explain(0, 0)
    # then
    assert why.liked == (("brand", "Ashby & Rowe"), ("colour", "navy"), ("style", "classic"))
    assert why.disliked == ()
    assert why.bought_in_category == 3.0
    assert why.bought_in_brand == 0.0
    assert why.fit == pytest.approx(float(model.block(np.array([0])).fit[0, 0]))
    assert why.fit == pytest.approx(expected_fit(2.75, 0.6 * (1 - math.exp(-1.5)), 0.5))


def test_item_tokens_cover_every_level_of_the_category():
    # when
    tokens = [token for token, _, _ in item_tokens(Item(category="Men/Suits/Two-piece"))]
    # then
    assert tokens == [
        "category:men",
        "category:men/suits",
        "category:men/suits/two-piece",
        "category:suits",
        "category:two-piece",
    ]
    assert top_category("Men / Suits/Two-piece") == "men/suits"


def test_price_percentiles_rank_within_each_category():
    # when
    ranks = price_percentiles(
        [100.0, 300.0, 200.0, 50.0, None], ["Men/Suits", "Men/Suits", "Men/Suits", "Gifts", "Gifts"]
    )
    # then
    assert ranks[:4].tolist() == [0.0, 1.0, 0.5, 0.5]
    assert np.isnan(ranks[4])


def test_tied_prices_share_their_rank():
    # when
    ranks = price_percentiles([10.0, 20.0, 20.0, 30.0], ["Gifts"] * 4)
    # then
    assert ranks.tolist() == [0.0, 0.5, 0.5, 1.0]


def test_the_sparse_pairs_score_as_the_dense_block():
    # given clients with likes, dislikes, purchases and bands, and items of every kind
    items = [NAVY_SUIT, SLIM_SUIT, RED_DRESS, Item(category="Men/Suits", brand="Kestrel")]
    tastes = [
        Taste(likes={("brand", "Kestrel")}, dislikes={("style", "slim")}),
        Taste(likes={("colour", "red")}, price_band="value"),
        Taste(bought_categories={"Men/Suits": 3}, typical_prices={"Men/Suits": 600.0}),
        Taste(bought_brands={"Juniper Row": 1}),
        Taste(),
    ]
    model = TasteModel(items, tastes)
    block = model.block(slice(0, len(tastes)))
    # when
    pairs = model.candidate_pairs(np.arange(len(tastes)))
    # then every pair with some signal is there, scored the same
    dense = {
        (c, i): (round(float(block.fit[c, i]), 9), bool(block.matches[c, i]))
        for c, i in zip(*np.nonzero((block.stated > 0) | (block.observed > 0)), strict=True)
    }
    sparse_ = {
        (int(c), int(i)): (round(float(f), 9), bool(m))
        for c, i, f, m in zip(
            pairs.clients, pairs.items, pairs.fit, pairs.matches(model.weights), strict=True
        )
    }
    assert sparse_ == dense
    assert len(dense) == 7
