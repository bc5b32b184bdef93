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


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("categories", "brands"),
    [(None, None), ({"Men/Suits"}, {"Ashby & Rowe"}), ({"Women/Dresses"}, set())],
)
def test_tastes_from_lines_already_read_equal_those_read_by_tastes_of(categories, brands):
    # given two clients' lines over categories, brands, a free line, a brandless one, an old one
    from decimal import Decimal

    from django.utils import timezone

    from extramile.moments.detectors.arrival_fit import history_lines
    from extramile.moments.detectors.calendar_support import (
        add_purchases,
        stated_tastes,
        tastes_of,
    )
    from tests.factories import (
        ClientFactory,
        OrderFactory,
        OrderLineFactory,
        PreferenceFactory,
        ProductFactory,
        StoreFactory,
        VariantFactory,
    )

    now = timezone.now()
    store = StoreFactory()
    alice, bob = ClientFactory(store=store), ClientFactory(store=store)
    PreferenceFactory(client=alice, dimension="colour", value="green")
    products = [
        ProductFactory(category="Men/Suits/Three-piece", brand="Ashby & Rowe"),
        ProductFactory(category="Men/Suits", brand="Tailor & Co"),
        ProductFactory(category="Women/Dresses", brand=""),
        ProductFactory(category="Accessories/Ties", brand="Ashby & Rowe"),
    ]
    bought = [
        (alice, 0, "450.00", 2),
        (alice, 1, "300.00", 30),
        (alice, 3, "0.00", 40),
        (bob, 2, "120.00", 5),
        (bob, 0, "410.00", 4000),  # older than three years: neither counts it
        (bob, 3, "60.00", 10),
    ]
    for client, index, price, days_ago in bought:
        order = OrderFactory(
            store=store, client=client, placed_at=now - dt.timedelta(days=days_ago)
        )
        OrderLineFactory(
            order=order, variant=VariantFactory(product=products[index]), unit_price=Decimal(price)
        )
    ids = [alice.pk, bob.pk]
    # when
    read = tastes_of(ids, now=now, categories=categories, brands=brands, stores=[store])
    tastes = stated_tastes(ids, stores=[store])
    lines = history_lines([store], now=now, client_ids=ids)
    add_purchases(
        tastes,
        ((line[0], line[3], line[4], line[6]) for line in lines),
        categories=categories,
        brands=brands,
    )
    # then
    assert tastes == read
    assert read[alice.pk].likes == {("colour", "green")}
    assert any(taste.bought_categories for taste in read.values())  # not an empty comparison
