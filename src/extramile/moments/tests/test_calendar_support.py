import datetime as dt

import pytest

from extramile.moments.detectors.calendar_support import (
    category_noun,
    count_word,
    spoken_date,
)


@pytest.mark.parametrize(
    ("category", "some", "two_new", "one_new"),
    [
        ("Men/Suits", "a suit", "two new suits", "a new suit"),
        ("Women/Dresses", "a dress", "two new dresses", "a new dress"),
        ("Accessories/Ties", "a tie", "two new ties", "a new tie"),
        ("Accessories/Scarves", "a scarf", "two new scarves", "a new scarf"),
        ("Men/Trousers", "trousers", "two new pairs of trousers", "a new pair of trousers"),
        ("Shoes/Men", "shoes", "two new pairs of shoes", "a new pair of shoes"),
        ("Women/Knitwear", "knitwear", "two new pieces of knitwear", "a new piece of knitwear"),
        ("Accessories", "an accessory", "two new accessories", "a new accessory"),
        ("Men/Overcoats/Wool", "an overcoat", "two new overcoats", "a new overcoat"),
        ("Ta-Feng/100205", "an item from Ta-Feng/100205", "two new items from Ta-Feng/100205",
         "a new item from Ta-Feng/100205"),
    ],
)  # fmt: skip
def test_category_nouns_read_as_people_say_them(category, some, two_new, one_new):
    # when
    noun = category_noun(category)
    # then
    assert noun.some() == some
    assert noun.counted(2, "new") == two_new
    assert noun.counted(1, "new") == one_new


def test_days_are_said_as_dates():
    # when / then
    assert spoken_date(dt.date(2026, 11, 28)) == "Saturday 28 November"
    assert spoken_date(dt.date(2027, 2, 28)) == "Sunday 28 February"


def test_small_numbers_are_words():
    # when / then
    assert [count_word(n) for n in (1, 3, 10, 11)] == ["one", "three", "ten", "11"]
