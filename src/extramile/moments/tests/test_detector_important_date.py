import datetime as dt
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import override_settings

from extramile.accounts.models import Role, Store
from extramile.clients.models import Client, ClientStatus
from extramile.demo.generator import DemoData
from extramile.demo.services import load_demo, upcoming_birthdays
from extramile.moments.detectors import important_date
from extramile.moments.governance import rules_for
from extramile.moments.models import ActionKind
from tests.factories import (
    ClientFactory,
    ImportantDateFactory,
    OrderFactory,
    OrderLineFactory,
    PreferenceFactory,
    ProductFactory,
    SizeFactory,
    StockFactory,
    StoreFactory,
    UserFactory,
    VariantFactory,
)

# Monday 23 November 2026, 10:00 in New York: the morning, so a candidate is due at once.
NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
UTC = dt.UTC


def in_stock(store: Store, *, title: str, category: str, colour: str, size: str = "", **kw):
    """A product with one variant in `size` and stock in `store`."""
    product = ProductFactory(title=title, category=category, colour=colour, **kw)
    variant = VariantFactory(product=product, size=size, colour=colour)
    StockFactory(variant=variant, store=store, quantity=kw.pop("quantity", 2))
    return product


@pytest.fixture
def store(db) -> Store:
    return StoreFactory(code="uptown", name="Uptown Boutique", time_zone="America/New_York")


@pytest.fixture
def ana(store):
    return UserFactory(username="ana", first_name="Ana", role=Role.ASSOCIATE, store=store)


@pytest.fixture
def maya(store, ana) -> Client:
    return ClientFactory(
        store=store, first_name="Maya", last_name="Lind", primary_associate=ana, time_zone=""
    )


def detect(*stores: Store, now: dt.datetime = NOW):
    return important_date.detect(now=now, stores=list(stores))


@pytest.mark.django_db
def test_a_birthday_five_days_ahead_is_proposed_with_reason_times_and_draft(store, maya):
    # given Maya's birthday on Saturday 28 November
    ImportantDateFactory(client=maya, month=11, day=28)
    # when
    candidates = detect(store)
    # then
    assert len(candidates) == 1
    found = candidates[0]
    assert found.kind == ActionKind.IMPORTANT_DATE
    assert found.client == maya
    assert found.key == f"important_date:{maya.pk}:birthday:2026"
    assert found.reason == "Maya's birthday is on Saturday 28 November."
    assert found.due_at == NOW  # 10:00 in New York is a good morning hour
    assert found.expires_at == dt.datetime(2026, 11, 29, 5, 0, tzinfo=UTC)
    assert found.evidence == {
        "date": "2026-11-28",
        "kind": "birthday",
        "label": "Birthday",
        "days_ahead": 5,
        "years": None,
        "spend_last_year": 0.0,
        "spend_rank_in_store": 1.0,
        "last_purchase": None,
    }
    # closeness 1 - 5/8, and the only client of the store ranks first by spend
    assert found.score == round(0.55 * (1 - 5 / 8) + 0.45 * 1.0, 3)
    assert found.subject == "An early happy birthday, Maya"
    assert found.draft == (
        "Dear Maya,\n\n"
        "I know your birthday is on Saturday, so let me be one of the first to wish you a very "
        "happy one.\n\n"
        "Warm wishes,\nAna\n"
    )
    assert found.products == []
    assert found.surprise is None


@pytest.mark.django_db
def test_dates_outside_the_lead_and_clients_not_contactable_are_left_out(store, maya):
    # given a birthday eight days ahead (lead 7), an archived client and a merged one
    ImportantDateFactory(client=maya, month=12, day=1)
    archived = ClientFactory(store=store, first_name="Ada", status=ClientStatus.ARCHIVED)
    merged = ClientFactory(store=store, first_name="Bo", status=ClientStatus.MERGED)
    ImportantDateFactory(client=archived, month=11, day=25)
    ImportantDateFactory(client=merged, month=11, day=25)
    # when
    candidates = detect(store)
    # then
    assert candidates == []


@pytest.mark.django_db
def test_the_lead_is_the_stores_own(store, maya):
    # given a store that acts two weeks ahead, and a date ten days ahead
    rules = rules_for(store)
    rules.date_lead_days = 14
    rules.save()
    ImportantDateFactory(client=maya, month=12, day=3)
    # when
    candidates = detect(store)
    # then
    assert [c.key for c in candidates] == [f"important_date:{maya.pk}:birthday:2026"]
    assert candidates[0].evidence["days_ahead"] == 10


@pytest.mark.django_db
def test_a_date_in_early_january_is_next_years_occurrence(store, maya):
    # given 28 December and a birthday on 2 January
    ImportantDateFactory(client=maya, month=1, day=2)
    now = dt.datetime(2026, 12, 28, 15, 0, tzinfo=UTC)
    # when
    candidates = detect(store, now=now)
    # then
    assert [c.key for c in candidates] == [f"important_date:{maya.pk}:birthday:2027"]
    assert candidates[0].reason == "Maya's birthday is on Saturday 2 January."
    assert candidates[0].expires_at == dt.datetime(2027, 1, 3, 5, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_a_29_february_birthday_falls_on_the_28th_in_a_common_year(store, maya):
    # given a leap-day birthday seen on Wednesday 24 February 2027
    ImportantDateFactory(client=maya, month=2, day=29)
    now = dt.datetime(2027, 2, 24, 15, 0, tzinfo=UTC)
    # when
    candidates = detect(store, now=now)
    # then
    assert [c.reason for c in candidates] == ["Maya's birthday is on Sunday 28 February."]
    assert candidates[0].key == f"important_date:{maya.pk}:birthday:2027"


@pytest.mark.django_db
def test_days_ahead_are_counted_in_the_clients_own_time_zone(store):
    # given 20:00 UTC on 23 November: still the 23rd in New York, already the 24th in Shanghai
    now = dt.datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    in_new_york = ClientFactory(store=store, first_name="Nia", time_zone="America/New_York")
    in_shanghai = ClientFactory(store=store, first_name="Wei", time_zone="Asia/Shanghai")
    for client in (in_new_york, in_shanghai):
        ImportantDateFactory(client=client, month=12, day=1)
    # when
    candidates = detect(store, now=now)
    # then only Wei's 1 December is within seven days of her today
    assert [c.client for c in candidates] == [in_shanghai]
    assert candidates[0].evidence["days_ahead"] == 7
    # it is 4 am in Shanghai: due at 10:00 there, expiring when 2 December begins there
    assert candidates[0].due_at == dt.datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    assert candidates[0].expires_at == dt.datetime(2026, 12, 1, 16, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_a_date_today_after_the_morning_is_due_now(store, maya):
    # given 4 pm in New York on Maya's birthday
    now = dt.datetime(2026, 11, 28, 21, 0, tzinfo=UTC)
    ImportantDateFactory(client=maya, month=11, day=28)
    # when
    candidates = detect(store, now=now)
    # then
    assert candidates[0].reason == "Maya's birthday is on Saturday 28 November."
    assert candidates[0].due_at == now
    assert candidates[0].subject == "Happy birthday, Maya!"


@pytest.mark.django_db
def test_an_anniversary_with_its_year_says_which_one(store, maya):
    # given a wedding anniversary tomorrow, married in 2016
    ImportantDateFactory(
        client=maya, kind="anniversary", label="Wedding anniversary", month=11, day=24, year=2016
    )
    # when
    candidates = detect(store)
    # then
    assert candidates[0].reason == "Maya's 10th wedding anniversary is on Tuesday 24 November."
    assert candidates[0].key == f"important_date:{maya.pk}:anniversary:2026"
    assert candidates[0].evidence["years"] == 10
    assert candidates[0].subject == "Happy anniversary, Maya"
    assert "Your wedding anniversary is tomorrow" in candidates[0].draft


@pytest.mark.django_db
def test_a_milestone_birthday_is_named_and_others_are_not(store, maya):
    # given Maya turning 40 and Tom turning 41, both on Saturday
    tom = ClientFactory(store=store, first_name="Tom", time_zone="")
    ImportantDateFactory(client=maya, month=11, day=28, year=1986)
    ImportantDateFactory(client=tom, month=11, day=28, year=1985)
    # when
    candidates = detect(store)
    # then
    assert sorted(c.reason for c in candidates) == [
        "Maya's 40th birthday is on Saturday 28 November.",
        "Tom's birthday is on Saturday 28 November.",
    ]


@pytest.mark.django_db
def test_two_other_dates_of_one_client_make_one_moment(store, maya):
    # given two "other" dates this week
    ImportantDateFactory(client=maya, kind="other", label="Daughter's graduation", month=11, day=27)
    ImportantDateFactory(client=maya, kind="other", label="Company founding day", month=11, day=25)
    # when
    candidates = detect(store)
    # then the sooner one
    assert [c.reason for c in candidates] == [
        "Maya's company founding day is on Wednesday 25 November."
    ]
    assert candidates[0].subject == "Thinking of you, Maya"


@pytest.mark.django_db
def test_closer_dates_and_bigger_spenders_score_higher(store, maya):
    # given Tom (spent 900 this year) and Maya (nothing), both on Saturday, and Lea tomorrow
    tom = ClientFactory(store=store, first_name="Tom", time_zone="")
    lea = ClientFactory(store=store, first_name="Lea", time_zone="")
    OrderFactory(
        store=store, client=tom, total=Decimal("900.00"), placed_at=NOW - dt.timedelta(days=40)
    )
    for client, day in ((maya, 28), (tom, 28), (lea, 24)):
        ImportantDateFactory(client=client, month=11, day=day)
    # when
    scores = {c.client.first_name: c.score for c in detect(store)}
    # then ranks by spend: Tom 1.0; Maya and Lea share (1/3 + 2/3) / 2 = 0.5
    assert scores == {
        "Lea": round(0.55 * (1 - 1 / 8) + 0.45 * 0.5, 3),
        "Tom": round(0.55 * (1 - 5 / 8) + 0.45 * 1.0, 3),
        "Maya": round(0.55 * (1 - 5 / 8) + 0.45 * 0.5, 3),
    }


@pytest.mark.django_db
def test_products_in_her_size_with_her_likes_and_a_small_surprise(store, maya):
    # given Maya wears dresses in 8, likes navy, dislikes florals, and has bought socks
    other_store = StoreFactory(code="harbour")
    SizeFactory(client=maya, category="Women/Dresses", size="8")
    PreferenceFactory(client=maya, dimension="colour", value="navy")
    PreferenceFactory(client=maya, dimension="style", value="floral", likes=False)
    dress = in_stock(
        store, title="Navy Crepe Dress", category="Women/Dresses", colour="navy", size="8",
        price=Decimal("300"), arrived_on=dt.date(2026, 10, 1),
    )  # fmt: skip
    scarf = in_stock(
        store, title="Navy Silk Scarf", category="Accessories/Scarves", colour="navy",
        price=Decimal("145"), arrived_on=dt.date(2026, 11, 1),
    )  # fmt: skip
    in_stock(
        store, title="Navy Floral Dress", category="Women/Dresses", colour="navy", size="8",
        style_tags=["floral"], price=Decimal("280"),
    )  # fmt: skip
    in_stock(store, title="Navy Wrap Dress", category="Women/Dresses", colour="navy", size="10")
    in_stock(
        other_store, title="Navy Shirt Dress", category="Women/Dresses", colour="navy", size="8"
    )
    in_stock(store, title="Black Dress", category="Women/Dresses", colour="black", size="8")
    in_stock(
        store, title="Lint Roller", category="Care/Garment Care", colour="grey", price=Decimal("12")
    )
    socks = in_stock(
        store,
        title="Cashmere Socks",
        category="Accessories/Socks",
        colour="grey",
        price=Decimal("20"),
    )
    grey_socks = VariantFactory(
        product=ProductFactory(title="Grey Socks", category="Accessories/Socks")
    )
    order = OrderFactory(
        store=store, client=maya, total=Decimal("20.00"), placed_at=NOW - dt.timedelta(days=30)
    )
    OrderLineFactory(order=order, variant=grey_socks, unit_price=Decimal("20.00"))
    ImportantDateFactory(client=maya, month=11, day=28)
    # when
    [found] = detect(store)
    # then the scarf (newer) and the dress: navy, in her size or one size, in her store
    assert [(p.product, p.note) for p in found.products] == [
        (scarf, "2 left"),
        (dress, "Size 8: 2 left"),
    ]
    # the cheapest tenth of the stock, in a category she buys
    assert found.surprise == socks
    assert found.surprise_note == (
        "A small birthday gift on the house ($20): Maya has bought from Accessories/Socks before."
    )
    assert found.evidence["last_purchase"] == {
        "date": "2026-10-24",
        "total": "20.00",
        "amount": "$20",
        "items": ["Grey Socks"],
    }
    assert found.evidence["spend_last_year"] == 20.0
    assert found.draft == (
        "Dear Maya,\n\n"
        "I know your birthday is on Saturday, so let me be one of the first to wish you a very "
        "happy one.\n\n"
        "I've set a little something aside for you at the store, with our compliments. Do stop "
        "by whenever you're passing.\n\n"
        "And if you feel like a treat, the pieces below made me think of you.\n\n"
        "Warm wishes,\nAna\n"
    )


@pytest.mark.django_db
def test_only_the_stores_asked_for_are_swept(store, maya):
    # given a client of another store with a birthday on Saturday
    harbour = StoreFactory(code="harbour")
    ImportantDateFactory(client=ClientFactory(store=harbour, first_name="Ivo"), month=11, day=28)
    ImportantDateFactory(client=maya, month=11, day=28)
    # when
    candidates = detect(store)
    # then
    assert [c.client for c in candidates] == [maya]


@pytest.mark.django_db
def test_a_client_without_an_active_associate_hears_from_the_store_team(store, maya, ana):
    # given Maya's associate has left
    ana.is_active = False
    ana.save()
    ImportantDateFactory(client=maya, month=11, day=28)
    # when
    [found] = detect(store)
    # then
    assert found.draft.endswith("Warm wishes,\nThe team at Uptown Boutique\n")


# -- the demo store -----------------------------------------------------------------------

# Thursday 19 November 2026, 15:00 UTC: 10:00 in New York and the same date in every client's
# time zone (Los Angeles 7:00, Shanghai 23:00).
DEMO_NOW = dt.datetime(2026, 11, 19, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[DemoData]:
    media = tmp_path_factory.mktemp("media")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media), transaction.atomic():
        data = load_demo(seed=2026, now=DEMO_NOW)
        yield data
        transaction.set_rollback(True)


@pytest.mark.slow
@pytest.mark.django_db
def test_on_the_demo_it_finds_the_birthdays_of_the_coming_week(demo):
    # given
    stores = list(Store.objects.filter(code__in=["uptown", "harbour"]))
    today = DEMO_NOW.date()
    expected = {c.pk for c in upcoming_birthdays(today=today, days=7)}
    # when
    started = time.perf_counter()
    candidates = important_date.detect(now=DEMO_NOW, stores=stores)
    elapsed = time.perf_counter() - started
    # then every birthday of the next seven days is there, and nothing further than seven days
    birthdays = {c.client.pk for c in candidates if c.evidence["kind"] == "birthday"}
    assert len(expected) >= 5  # the demo puts five birthdays in the coming week
    assert expected <= birthdays
    assert all(0 <= c.evidence["days_ahead"] <= 7 for c in candidates)
    assert birthdays - expected == {
        c.client.pk
        for c in candidates
        if c.evidence["kind"] == "birthday" and c.evidence["days_ahead"] == 0
    }
    # Edmund's birthday is in 12 days: not yet
    assert not any(c.client.tags.filter(name="story:s2-suit-season").exists() for c in candidates)
    assert len({c.key for c in candidates}) == len(candidates)
    assert all(c.reason.endswith(".") and c.draft and c.subject for c in candidates)
    print(f"\nimportant_date.detect on the demo: {len(candidates)} candidates in {elapsed:.3f} s")


@pytest.mark.parametrize(
    ("kind", "label", "said"),
    [
        ("birthday", "", "birthday"),
        ("birthday", "Birthday", "birthday"),
        ("anniversary", "Wedding anniversary ", "wedding anniversary"),
        ("other", "", "special date"),
        ("other", "MBA graduation", "MBA graduation"),
    ],
)
def test_a_date_is_named_in_lower_case_inside_a_sentence(kind, label, said):
    from extramile.moments.detectors.important_date import occasion_word

    assert occasion_word(kind, label) == said
