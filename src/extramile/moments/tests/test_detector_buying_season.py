import datetime as dt
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import override_settings

from extramile.accounts.models import Role, Store
from extramile.catalog.models import Product, Variant
from extramile.clients.models import Client
from extramile.demo.assortment import S2_AUTUMN_SUITS
from extramile.demo.generator import DemoData
from extramile.demo.services import load_demo
from extramile.moments.detectors import buying_season
from extramile.moments.governance import rules_for
from extramile.moments.models import ActionKind
from extramile.orders.models import OrderStatus
from tests.factories import (
    ClientFactory,
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

# Thursday 19 November 2026, 10:00 in New York.
NOW = dt.datetime(2026, 11, 19, 15, 0, tzinfo=dt.UTC)
UTC = dt.UTC


@pytest.fixture
def store(db) -> Store:
    return StoreFactory(code="uptown", name="Uptown Boutique", time_zone="America/New_York")


@pytest.fixture
def edmund(store) -> Client:
    walter = UserFactory(username="walter", first_name="Walter", role=Role.ASSOCIATE, store=store)
    return ClientFactory(
        store=store, first_name="Edmund", last_name="Ashcroft", primary_associate=walter
    )


def suit(title: str, *, colour: str = "navy", brand: str = "Ashby & Rowe", **kw) -> Product:
    return ProductFactory(
        title=title, category="Men/Suits", colour=colour, brand=brand, price=Decimal("700"), **kw
    )


def stock(store: Store, product: Product, size: str, quantity: int = 2) -> Variant:
    variant = VariantFactory(product=product, size=size, colour=product.colour)
    StockFactory(variant=variant, store=store, quantity=quantity)
    return variant


def bought(client: Client, variant: Variant, on: dt.date, *, status: str = OrderStatus.FULFILLED):
    """An order of one line, at 3 pm in New York on `on`."""
    at = dt.datetime.combine(on, dt.time(20, 0), tzinfo=UTC)
    order = OrderFactory(store=client.store, client=client, placed_at=at, status=status)
    OrderLineFactory(order=order, variant=variant, unit_price=variant.product.price)


def three_novembers(client: Client, *, category: str = "Men/Suits") -> None:
    """A purchase in the category on 24, 28 and 26 November of 2023, 2024 and 2025."""
    old = ProductFactory(title="Old suit", category=category, price=Decimal("650"), arrived_on=None)
    variant = VariantFactory(product=old, size="42L")
    for day in (dt.date(2023, 11, 24), dt.date(2024, 11, 28), dt.date(2025, 11, 26)):
        bought(client, variant, day)


def detect(*stores: Store, now: dt.datetime = NOW):
    return buying_season.detect(now=now, stores=list(stores))


@pytest.mark.django_db
def test_a_suit_bought_in_the_same_week_of_three_years_with_new_suits_in_his_size(store, edmund):
    # given three Novembers of suits, his size, his likes, and the new suits in stock
    three_novembers(edmund)
    SizeFactory(client=edmund, category="Men/Suits", size="42L")
    PreferenceFactory(client=edmund, dimension="colour", value="charcoal")
    PreferenceFactory(client=edmund, dimension="brand", value="Ashby & Rowe")
    PreferenceFactory(client=edmund, dimension="style", value="slim", likes=False)
    flannel = suit("Charcoal Flannel Suit", colour="charcoal", arrived_on=dt.date(2026, 11, 17))
    stripe = suit("Navy Chalk-Stripe Suit", brand="Hollis", arrived_on=dt.date(2026, 11, 18))
    classic = suit("Navy Worsted Suit", colour="navy", arrived_on=dt.date(2024, 3, 1))
    slim = suit(
        "Slim Charcoal Suit",
        colour="charcoal",
        style_tags=["slim"],
        arrived_on=dt.date(2026, 11, 18),
    )
    small = suit("Grey Suit", colour="grey", arrived_on=dt.date(2026, 11, 18))
    for product in (flannel, stripe, classic, slim):
        stock(store, product, "42L")
    stock(store, small, "38R")
    # when
    candidates = detect(store)
    # then
    assert len(candidates) == 1
    found = candidates[0]
    assert found.kind == ActionKind.BUYING_SEASON
    assert found.client == edmund
    assert found.key == f"buying_season:{edmund.pk}:Men/Suits:2026"
    assert found.reason == (
        "Edmund bought a suit in the same week of each of the last three years (2023, 2024, "
        "2025); that season opens on Thursday 26 November. Two new suits arrived in size 42L."
    )
    # new first (the flannel has two of his likes), then the older one; never the slim cut
    assert [(p.product, p.note) for p in found.products] == [
        (flannel, "Size 42L: 2 left"),
        (stripe, "Size 42L: 2 left"),
        (classic, "Size 42L: 2 left"),
    ]
    assert found.due_at == NOW
    assert found.expires_at == dt.datetime(2026, 12, 11, 5, 0, tzinfo=UTC)
    assert found.evidence == {
        "category": "Men/Suits",
        "season_opens": "2026-11-26",
        "days_ahead": 7,
        "years_seen": [2023, 2024, 2025],
        "purchases": ["2023-11-24", "2024-11-28", "2025-11-26"],
        "spread_days": 4,
        "confidence": found.evidence["confidence"],
        "size": "42L",
        "new_in_size": 2,
        "in_stock_in_size": 3,
        "spend_rank_in_store": 1.0,
        "with": [],
    }
    # known since his first suit: three Novembers seen of three; firsts at -2, +2, 0 days
    assert found.evidence["confidence"] == round(0.875 * (0.5 + 0.5 * (1 - 4 / 3 / 14)), 3)
    assert found.score == round(0.6 * found.evidence["confidence"] + 0.25 * 1.0 + 0.15, 3)
    assert found.subject == "New suits in your size, Edmund"
    assert found.draft == (
        "Dear Edmund,\n\n"
        "It's nearly that time of year again, when you usually come in for a new suit, so I "
        "wanted you to be the first to know: two new suits have just arrived in your size.\n\n"
        "The ones I'd pick for you:\n"
        "- Charcoal Flannel Suit by Ashby & Rowe\n"
        "- Navy Chalk-Stripe Suit by Hollis\n"
        "- Navy Worsted Suit by Ashby & Rowe\n\n"
        "I've put photos below. Shall I set them aside for you to try? Just tell me a day that "
        "suits you.\n\n"
        "Best wishes,\nWalter\n"
    )


@pytest.mark.django_db
def test_a_suit_already_bought_this_season_is_no_moment(store, edmund):
    # given the three Novembers and a suit bought last week
    three_novembers(edmund)
    bought(edmund, stock(store, suit("Navy Suit"), "42L"), dt.date(2026, 11, 12))
    # when / then
    assert detect(store) == []


@pytest.mark.django_db
def test_a_category_bought_every_month_has_no_season(store, edmund):
    # given the usual Novembers and a shirt bought every month for three years
    three_novembers(edmund, category="Men/Shirts")
    shirt = VariantFactory(product=ProductFactory(category="Men/Shirts"), size="16")
    for months in range(1, 36):
        bought(edmund, shirt, dt.date(2026, 11, 1) - dt.timedelta(days=30 * months))
    # when / then
    assert detect(store) == []


@pytest.mark.django_db
def test_a_cancelled_order_does_not_count(store, edmund):
    # given two Novembers, and a third order that was cancelled
    old = VariantFactory(product=ProductFactory(category="Men/Suits"), size="42L")
    bought(edmund, old, dt.date(2024, 11, 28))
    bought(edmund, old, dt.date(2025, 11, 26), status=OrderStatus.CANCELLED)
    # when / then: one year is not a season
    assert detect(store) == []


@pytest.mark.django_db
def test_a_season_beyond_the_lead_waits_until_the_store_says(store, edmund):
    # given suits bought in mid-December (opening in 26 days), lead 14
    old = VariantFactory(product=ProductFactory(category="Men/Suits"), size="42L")
    for day in (dt.date(2024, 12, 15), dt.date(2025, 12, 15)):
        bought(edmund, old, day)
    # when
    early = detect(store)
    rules = rules_for(store)
    rules.season_lead_days = 30
    rules.save()
    later = detect(store)
    # then
    assert early == []
    assert [c.key for c in later] == [f"buying_season:{edmund.pk}:Men/Suits:2026"]
    assert later[0].reason == (
        "Edmund bought a suit in the same week of each of the last two years (2024, 2025); that "
        "season opens on Tuesday 15 December. No suit size on file: ask when you call."
    )


@pytest.mark.django_db
def test_a_season_in_early_january_is_next_years(store, edmund):
    # given suits on 3 January of 2024, 2025 and 2026, seen on Monday 28 December 2026
    old = VariantFactory(product=ProductFactory(category="Men/Suits"), size="42L")
    for year in (2024, 2025, 2026):
        bought(edmund, old, dt.date(year, 1, 3))
    now = dt.datetime(2026, 12, 28, 15, 0, tzinfo=UTC)
    # when
    candidates = detect(store, now=now)
    # then
    assert [c.key for c in candidates] == [f"buying_season:{edmund.pk}:Men/Suits:2027"]
    assert candidates[0].evidence["years_seen"] == [2024, 2025, 2026]
    assert candidates[0].evidence["season_opens"] == "2027-01-03"
    assert "that season opens on Sunday 3 January." in candidates[0].reason


@pytest.mark.django_db
def test_suit_shirt_and_tie_of_one_visit_are_one_contact_about_the_suit(store, edmund):
    # given a suit, a shirt and a tie bought together each November
    suit_variant = VariantFactory(product=suit("Old Suit"), size="42L")
    shirt = ProductFactory(category="Men/Shirts", price=Decimal("125"), colour="white")
    tie = ProductFactory(category="Accessories/Ties", price=Decimal("85"), colour="navy")
    shirt_variant = VariantFactory(product=shirt, size="16.5")
    tie_variant = VariantFactory(product=tie, size="")
    for day in (dt.date(2024, 11, 24), dt.date(2025, 11, 26)):
        for variant in (tie_variant, shirt_variant, suit_variant):
            bought(edmund, variant, day)
    new_tie = ProductFactory(title="Burgundy Tie", category="Accessories/Ties", colour="burgundy")
    stock(store, new_tie, "", quantity=5)
    # when
    candidates = detect(store)
    # then the dearest category leads; the tie in stock fills the products
    assert [c.key for c in candidates] == [f"buying_season:{edmund.pk}:Men/Suits:2026"]
    assert candidates[0].reason.startswith(
        "Edmund bought a suit, a shirt and a tie in the same week of each of the last two years"
    )
    assert [e["category"] for e in candidates[0].evidence["with"]] == [
        "Men/Shirts",
        "Accessories/Ties",
    ]
    assert [p.product for p in candidates[0].products] == [new_tie]


@pytest.mark.django_db
def test_products_come_from_his_store_and_size_and_not_what_he_already_has(store, edmund):
    # given the Novembers, his size, a suit he bought in spring, one in another store
    three_novembers(edmund)
    SizeFactory(client=edmund, category="Men/Suits", size="42L")
    harbour = StoreFactory(code="harbour")
    owned = suit("Owned Suit")
    bought(edmund, stock(store, owned, "42L"), dt.date(2026, 4, 2))
    stock(harbour, suit("Harbour Suit"), "42L")
    grey = suit("Grey Suit", colour="grey")
    stock(store, grey, "42L", quantity=4)
    # when
    [found] = detect(store)
    # then
    assert [(p.product, p.note) for p in found.products] == [(grey, "Size 42L: 4 in stock")]
    assert found.reason.endswith("A suit is in stock in size 42L.")
    assert found.subject == "It's suit season, Edmund"


@pytest.mark.django_db
def test_purchases_are_placed_in_the_clients_own_time_zone(store):
    # given a client in Shanghai whose orders at 20:00 UTC fell on the next local day
    wei = ClientFactory(store=store, first_name="Wei", time_zone="Asia/Shanghai")
    old = VariantFactory(product=ProductFactory(category="Men/Suits"), size="42L")
    for day in (dt.date(2024, 11, 25), dt.date(2025, 11, 25)):
        bought(wei, old, day)
    # when
    [found] = detect(store)
    # then
    assert found.evidence["purchases"] == ["2024-11-26", "2025-11-26"]
    assert found.evidence["season_opens"] == "2026-11-26"


# -- the demo store -----------------------------------------------------------------------

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
def test_on_the_demo_it_finds_edmunds_suit_season_with_the_new_suits_in_his_42l(demo):
    # given
    stores = list(Store.objects.filter(code__in=["uptown", "harbour"]))
    edmund = Client.objects.get(tags__name="story:s2-suit-season")
    # when
    started = time.perf_counter()
    candidates = buying_season.detect(now=DEMO_NOW, stores=stores)
    elapsed = time.perf_counter() - started
    # then
    [found] = [c for c in candidates if c.client == edmund]
    assert found.key == f"buying_season:{edmund.pk}:Men/Suits:2026"
    assert found.reason.startswith(
        "Edmund bought a suit, a shirt and a tie in the same week of each of the last three "
        "years (2023, 2024, 2025); that season opens on Friday 27 November."
    )
    assert found.reason.endswith("Two new suits arrived in size 42L.")
    assert {p.product.title for p in found.products[:2]} == set(S2_AUTUMN_SUITS)
    assert all(p.note.startswith("Size 42L:") for p in found.products)
    assert len({c.key for c in candidates}) == len(candidates)
    print(f"\nbuying_season.detect on the demo: {len(candidates)} candidates in {elapsed:.3f} s")
