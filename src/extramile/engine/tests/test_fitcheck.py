"""The fit check: an ordered item against the client's stated needs and likes, in words."""

from __future__ import annotations

from decimal import Decimal

from extramile.engine.fitcheck import (
    ItemAttributes,
    StatedNeed,
    Taste,
    better_alternatives,
    check_fit,
    item_concepts,
    need_budget,
    pick_need,
    within_price_band,
)

SUMMER_NEED = StatedNeed(
    "A dark suit for a summer wedding abroad — lightweight, under $600", Decimal("600")
)
TWEED = ItemAttributes(
    key=1,
    title="Highland Heavy Tweed Three-Piece Suit",
    category="Men/Suits",
    brand="Ashby & Rowe",
    colour="brown",
    material="heavy wool tweed, 15 oz",
    style_tags=("autumn", "winter", "tweed", "heavy", "country", "check"),
    price=Decimal("580.00"),
)
TROPICAL = ItemAttributes(
    key=2,
    title="Tropical Wool Travel Suit",
    category="Men/Suits",
    brand="Kestrel",
    colour="navy",
    material="tropical wool, 8 oz",
    style_tags=("lightweight", "summer", "travel", "classic", "breathable"),
    price=Decimal("595.00"),
)
LINEN = ItemAttributes(
    key=3,
    title="Sand Linen Suit",
    category="Men/Suits",
    brand="Kestrel",
    colour="sand",
    material="linen",
    style_tags=("summer", "lightweight", "relaxed"),
    price=Decimal("540.00"),
)


def suit(key: int, price: str, **changes: object) -> ItemAttributes:
    fields: dict[str, object] = {
        "key": key,
        "title": f"Navy Summer Suit {key}",
        "category": "Men/Suits",
        "colour": "navy",
        "material": "tropical wool",
        "style_tags": ("summer",),
        "price": Decimal(price),
    }
    fields.update(changes)
    return ItemAttributes(**fields)  # type: ignore[arg-type]


def test_heavy_tweed_fits_a_lightweight_summer_need_poorly_and_says_why():
    # when
    fit = check_fit(TWEED, needs=[SUMMER_NEED])
    # then
    assert fit.poor
    assert fit.score == 0.4
    assert fit.need == SUMMER_NEED
    assert fit.conflicts == (
        "heavy wool tweed, 15 oz vs 'lightweight'",
        "tagged autumn, winter, tweed vs 'summer'",
    )
    assert fit.matches == ("$580, within the $600 budget",)


def test_a_lightweight_navy_suit_fits_the_same_need_well():
    # when
    fit = check_fit(TROPICAL, needs=[SUMMER_NEED], tastes=[Taste("colour", "navy")])
    # then
    assert not fit.poor
    assert fit.score == round(5.5 / 6.5, 4)
    assert fit.conflicts == ()
    assert fit.matches == (
        "tropical wool, 8 oz: 'lightweight', as asked",
        "tagged summer: 'summer', as asked",
        "navy: 'dark', as asked",
        "$595, within the $600 budget",
        "navy: a colour they like",
    )


def test_nothing_known_gives_an_even_score_that_is_not_poor():
    # when
    fit = check_fit(TWEED)
    # then
    assert (fit.score, fit.poor, fit.need, fit.reasons) == (0.5, False, None, ())


def test_over_budget_is_a_conflict_with_both_amounts():
    # when
    fit = check_fit(suit(1, "650"), needs=[StatedNeed("a suit", Decimal("600"))])
    # then
    assert fit.conflicts == ("$650 vs a budget of $600",)


def test_a_budget_written_only_in_the_text_is_read():
    # when / then
    assert need_budget(StatedNeed("A recorder for live music, under $300")) == Decimal("300")
    assert need_budget(StatedNeed("A recorder for live music")) is None


def test_fabric_weight_in_ounces_reads_as_light_or_heavy():
    # when
    light = item_concepts(suit(1, "500", material="wool, 7.5 oz", style_tags=()))
    heavy = item_concepts(suit(2, "500", material="wool, 14 oz", style_tags=()))
    middle = item_concepts(suit(3, "500", material="wool, 11 oz", style_tags=()))
    # then
    assert light["lightweight"] == "wool, 7.5 oz"
    assert heavy["heavy"] == "wool, 14 oz"
    assert "lightweight" not in middle
    assert "heavy" not in middle


def test_a_need_about_another_category_is_not_held_against_the_item():
    # given
    shoes = StatedNeed("Black shoes for the winter, nothing heavy")
    # when
    fit = check_fit(TROPICAL, needs=[shoes], known_categories=["Men/Suits", "Shoes/Men"])
    # then
    assert fit.need is None
    assert fit.score == 0.5


def test_the_need_naming_the_category_wins_over_a_general_one():
    # given
    general = StatedNeed("Something for a winter trip")
    suits = StatedNeed("A lightweight suit")
    # when
    need = pick_need(TWEED, [general, suits], ["Men/Suits", "Shoes/Men"])
    # then
    assert need == suits


def test_stated_dislikes_and_likes_of_brand_style_category_and_material_count():
    # given
    tastes = [
        Taste("brand", "ashby & rowe", likes=False),
        Taste("style", "tweed"),
        Taste("category", "suits"),
        Taste("material", "wool"),
        Taste("price_band", "premium"),
    ]
    # when
    fit = check_fit(TWEED, tastes=tastes)
    # then
    assert fit.conflicts == ("ashby & rowe: a brand they dislike",)
    assert fit.matches == (
        "tweed: a style they like",
        "suits: a category they like",
        "wool: a material they like",
    )
    assert fit.score == round((1.5 + 1) / (1.5 + 1 + 2), 4)


def test_price_band_is_ten_percent_either_way_and_never_more_than_ten_percent_up():
    # when / then
    assert within_price_band(Decimal("660"), Decimal("600"))
    assert within_price_band(Decimal("540"), Decimal("600"))
    assert not within_price_band(Decimal("660.01"), Decimal("600"))
    assert not within_price_band(Decimal("539.99"), Decimal("600"))
    assert not within_price_band(None, Decimal("600"))


def test_the_better_fitting_suit_at_about_the_same_price_is_offered_first():
    # given
    fit = check_fit(TWEED, needs=[SUMMER_NEED], tastes=[Taste("colour", "navy")])
    # when
    found = better_alternatives(
        TWEED, fit, [LINEN, TROPICAL, TWEED], needs=[SUMMER_NEED], tastes=[Taste("colour", "navy")]
    )
    # then: the navy tropical wool fits better than the sand linen, which is not dark
    assert [(a.item.key, a.price_change) for a in found] == [
        (2, Decimal("15.00")),
        (3, Decimal("-40.00")),
    ]


def test_a_pricier_better_item_is_never_suggested():
    # given: a perfect suit at +10.5% and another at +25%
    need = StatedNeed("A navy summer suit")
    ordered = suit(
        1, "600", title="Brown Tweed Suit", colour="brown", material="heavy tweed", style_tags=()
    )
    fit = check_fit(ordered, needs=[need])
    pricier = [suit(2, "663"), suit(3, "750")]
    # when
    found = better_alternatives(ordered, fit, pricier, needs=[need])
    # then
    assert fit.poor
    assert found == []


def test_a_cheaper_item_that_fits_about_as_well_ranks_above_a_pricier_one():
    # given: two equally good suits, one 5% cheaper and one 5% pricier
    need = StatedNeed("A navy summer suit")
    ordered = suit(
        1, "600", title="Brown Tweed Suit", colour="brown", material="heavy tweed", style_tags=()
    )
    fit = check_fit(ordered, needs=[need])
    # when
    found = better_alternatives(ordered, fit, [suit(2, "630"), suit(3, "570")], needs=[need])
    # then
    assert [a.item.key for a in found] == [3, 2]


def test_alternatives_that_fit_no_better_than_the_order_are_dropped():
    # given: the ordered suit already fits
    fit = check_fit(TROPICAL, needs=[SUMMER_NEED])
    # when
    found = better_alternatives(TROPICAL, fit, [LINEN], needs=[SUMMER_NEED])
    # then
    assert found == []
