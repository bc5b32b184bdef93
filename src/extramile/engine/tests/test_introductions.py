"""The offer-need matcher: stems, synonyms, occasions that are no reason, best first."""

import pytest

from extramile.engine.introductions import Text, concepts, match, match_offers_to_needs, stem


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("catering", "cater"),
        ("weddings", "wedd"),
        ("parties", "party"),
        ("dresses", "dress"),
        ("glass", "glass"),
    ],
)
def test_stem_strips_one_common_suffix(word, expected):
    assert stem(word) == expected


def test_a_caterer_and_catering_are_one_concept_and_stop_words_go():
    assert concepts("Caterer") == {"cater"}
    assert concepts("needs a caterer for a summer party") == {"cater", "summer", "party"}
    assert concepts("Catering for 40 people") == {"cater", "40", "people"}


def test_a_caterer_answers_a_need_for_a_caterer_in_full():
    # given
    offer = Text(id=1, client_id=10, text="caterer")
    need = Text(id=7, client_id=20, text="Needs a caterer for a summer party")
    # when
    found = match(offer, need)
    # then
    assert found is not None
    assert (found.offer_id, found.need_id, found.offer_client_id, found.need_client_id) == (
        1,
        7,
        10,
        20,
    )
    assert found.score == 1.0
    assert found.shared == ("cater",)


def test_synonyms_match_a_chef_to_catering_and_a_florist_to_flowers():
    assert match(Text(1, 10, "private chef"), Text(2, 20, "someone to do the catering")) is not None
    assert match(Text(1, 10, "florist"), Text(2, 20, "flowers for the wedding")) is not None


def test_a_shared_occasion_alone_is_no_reason_to_introduce():
    # given a lawyer for families and a dress for a family dinner
    offer = Text(id=1, client_id=10, text="family lawyer")
    need = Text(id=2, client_id=20, text="A dress for a family dinner")
    # then
    assert match(offer, need) is None


def test_a_client_is_never_introduced_to_themselves():
    assert match(Text(1, 10, "caterer"), Text(2, 10, "needs a caterer")) is None


def test_a_partial_offer_scores_the_share_of_its_words_the_need_mentions():
    # given
    offer = Text(id=1, client_id=10, text="wedding photographer")
    need = Text(id=2, client_id=20, text="a photographer for the party")
    # when
    found = match(offer, need)
    # then half the offer ("photo", not "wedding") is asked for
    assert found is not None
    assert found.score == 0.5
    assert found.shared == ("photo",)


def test_an_offer_of_three_words_sharing_one_scores_below_the_bar():
    offer = Text(id=1, client_id=10, text="vintage car restoration")
    need = Text(id=2, client_id=20, text="restoration of an old chair")
    assert match(offer, need) is None


def test_all_matches_come_best_first_then_by_ids():
    # given
    offers = [
        Text(1, 10, "wedding photographer"),
        Text(2, 11, "caterer"),
        Text(3, 12, "accountant"),
    ]
    needs = [
        Text(5, 20, "a photographer and a caterer for the wedding"),
        Text(6, 21, "catering for a birthday"),
        Text(7, 22, "shoes for the office"),
    ]
    # when
    found = match_offers_to_needs(offers, needs)
    # then
    assert [(m.offer_id, m.need_id, m.score) for m in found] == [
        (1, 5, 1.0),
        (2, 5, 1.0),
        (2, 6, 1.0),
    ]
