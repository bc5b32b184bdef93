import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import override_settings

from extramile.accounts.models import Role, Store
from extramile.catalog.models import Product, Sale
from extramile.clients.models import Channel, Client
from extramile.clients.services import record_consent
from extramile.demo.assortment import S2_AUTUMN_SUITS
from extramile.demo.generator import DemoData
from extramile.demo.services import load_demo
from extramile.moments.detectors import sale_preview
from extramile.moments.governance import rules_for
from extramile.moments.models import ActionKey, ActionKind, ActionState
from extramile.moments.proposals import propose_actions
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

# Thursday 19 November 2026, 10:00 in New York; the sale opens on Sunday the 22nd.
NOW = dt.datetime(2026, 11, 19, 15, 0, tzinfo=dt.UTC)
SUNDAY = dt.date(2026, 11, 22)
SALE_OPENS = dt.datetime(2026, 11, 22, 5, 0, tzinfo=dt.UTC)  # midnight in New York
UTC = dt.UTC


@pytest.fixture
def store(db) -> Store:
    store = StoreFactory(code="uptown", name="Uptown Boutique", time_zone="America/New_York")
    rules = rules_for(store)
    rules.holdout_share = Decimal("0.000")  # only the holdout test turns it on
    rules.save()
    return store


@pytest.fixture
def sale(store) -> Sale:
    return Sale.objects.create(
        store=store,
        name="Winter Tailoring Sale",
        starts_on=SUNDAY,
        ends_on=dt.date(2026, 11, 29),
        percent_off=25,
        category_prefixes=["Men/Suits"],
    )


@pytest.fixture
def grace(store) -> Client:
    """Grace wears a 40R, told us she likes navy, and bought Hollis Tailoring twice last year."""
    walter = UserFactory(username="walter", first_name="Walter", role=Role.ASSOCIATE, store=store)
    grace = ClientFactory(store=store, first_name="Grace", primary_associate=walter)
    SizeFactory(client=grace, category="Men/Suits", size="40R")
    PreferenceFactory(client=grace, dimension="colour", value="navy")
    old = ProductFactory(title="Grey Suit", category="Men/Suits", brand="Hollis Tailoring")
    for days in (300, 200):
        bought(grace, VariantFactory(product=old, size="40R"), days_ago=days)
    return grace


def bought(client: Client, variant, *, days_ago: int) -> None:
    order = OrderFactory(
        store=client.store, client=client, placed_at=NOW - dt.timedelta(days=days_ago)
    )
    OrderLineFactory(order=order, variant=variant, unit_price=variant.product.price)


def suit(store: Store, title: str, *, sizes: dict[str, int], **kw) -> Product:
    """A suit with `units` in stock per size in `store`."""
    kw.setdefault("category", "Men/Suits")
    kw.setdefault("brand", "Hollis Tailoring")
    kw.setdefault("colour", "navy")
    kw.setdefault("price", Decimal("850"))
    product = ProductFactory(title=title, **kw)
    for size, units in sizes.items():
        variant = VariantFactory(product=product, size=size, colour=product.colour)
        StockFactory(variant=variant, store=store, quantity=units)
    return product


def detect(*stores: Store, now: dt.datetime = NOW):
    return sale_preview.detect(now=now, stores=list(stores))


def reachable(client: Client) -> Client:
    record_consent(client, channel=Channel.EMAIL, granted=True, source="form", at=NOW)
    return client


@pytest.mark.django_db
def test_a_client_whose_interests_match_hears_of_the_suits_in_her_size(store, sale, grace):
    # given the navy suit in her 40R, one in another size, and one sold out in her size
    stripe = suit(store, "Navy Chalk-Stripe Suit", sizes={"40R": 2, "42L": 1})
    suit(store, "Navy Travel Suit", sizes={"44R": 3})
    suit(store, "Navy Worsted Suit", sizes={"40R": 0, "38R": 2})
    # when
    candidates = detect(store)
    # then exactly one candidate, for her, with the suit in her size
    assert len(candidates) == 1
    found = candidates[0]
    assert found.kind == ActionKind.SALE_PREVIEW
    assert found.client == grace
    assert found.key == f"sale_preview:{sale.pk}:{grace.pk}"
    assert found.occasion == "sale:Winter Tailoring Sale:2026-11-22"
    assert found.reason == (
        "Grace bought Hollis Tailoring twice and told us they like navy; the Navy Chalk-Stripe "
        "Suit in their size, 40R, is 25% off in the Winter Tailoring Sale from Sunday "
        "22 November, 2 in stock."
    )
    assert [(p.product, p.note) for p in found.products] == [(stripe, "Size 40R: 2 left")]
    assert found.due_at == NOW  # 10:00 in New York: her morning
    assert found.expires_at == SALE_OPENS
    assert found.evidence["products"] == [
        {
            "product_id": stripe.pk,
            "title": "Navy Chalk-Stripe Suit",
            "size": "40R",
            "colour": "navy",
            "units_in_stock": 2,
            "price": "850.00",
            "sale_price": "637.50",
            "fit": found.evidence["products"][0]["fit"],
            "liked": ["navy"],
            "bought_in_category": 2,
            "bought_in_brand": 2,
        }
    ]
    assert found.subject == "A first look at our Winter Tailoring Sale, Grace"
    assert found.draft == (
        "Dear Grace,\n\n"
        "Before we tell everyone else: our Winter Tailoring Sale runs from Sunday 22 November "
        "to Sunday 29 November, with 25% off, and a piece I picked for you is in it, in your "
        "size:\n\n"
        "- Navy Chalk-Stripe Suit by Hollis Tailoring, size 40R: $850, $637.50 in the sale\n\n"
        "Shall I set it aside in your size, ready for you when the sale opens on Sunday "
        "22 November? Just reply and I'll keep it for you.\n\n"
        "Warmly,\nWalter\n"
    )


@pytest.mark.django_db
def test_up_to_three_products_best_match_first_listed_ones_and_one_size_included(
    store, sale, grace
):
    # given four suits in her size (one with her brand and colour), and a one-size tie the
    # sale lists by name although its category is not in the sale
    best = suit(store, "Navy Chalk-Stripe Suit", sizes={"40R": 2})
    others = [
        suit(store, title, sizes={"40R": 1}, colour="grey")
        for title in ("Grey Flannel Suit", "Grey Birdseye Suit", "Grey Sharkskin Suit")
    ]
    tie = suit(
        store,
        "Navy Grenadine Tie",
        sizes={"": 5},
        category="Men/Accessories",
        brand="Ludlow Silk",
        price=Decimal("95"),
    )
    sale.products.add(tie)
    # when
    [found] = detect(store)
    # then her brand and colour first, then the tie in her colour, then one grey suit
    shown = [p.product for p in found.products]
    assert len(shown) == 3
    assert shown[:2] == [best, tie]
    assert shown[2] in others
    assert [p.note for p in found.products][:2] == ["Size 40R: 2 left", "5 in stock"]


@pytest.mark.django_db
def test_a_client_without_interest_or_who_dislikes_it_hears_nothing(store, sale):
    # given clients in a 40R: one with no likes and no purchases, one who likes red, one who
    # likes navy but dislikes Hollis Tailoring, and one who bought it three years ago
    SizeFactory(
        client=ClientFactory(store=store, first_name="Ann"), category="Men/Suits", size="40R"
    )
    red = ClientFactory(store=store, first_name="Bea")
    SizeFactory(client=red, category="Men/Suits", size="40R")
    PreferenceFactory(client=red, dimension="colour", value="red")
    no = ClientFactory(store=store, first_name="Cat")
    SizeFactory(client=no, category="Men/Suits", size="40R")
    PreferenceFactory(client=no, dimension="colour", value="navy")
    PreferenceFactory(client=no, dimension="brand", value="Hollis Tailoring", likes=False)
    long_ago = ClientFactory(store=store, first_name="Dee")
    SizeFactory(client=long_ago, category="Men/Suits", size="40R")
    old = VariantFactory(product=ProductFactory(category="Men/Suits"), size="40R")
    bought(long_ago, old, days_ago=3 * 365)
    suit(store, "Navy Chalk-Stripe Suit", sizes={"40R": 2})
    # when / then
    assert detect(store) == []


@pytest.mark.django_db
def test_nothing_in_stock_in_her_size_nor_in_her_store_is_no_preview(store, sale, grace):
    # given the suit sold out in her size here, in stock in her size at another store, and
    # a suit in her size whose category is not in the sale
    harbour = StoreFactory(code="harbour")
    stripe = suit(store, "Navy Chalk-Stripe Suit", sizes={"40R": 0, "42R": 3})
    StockFactory(variant=VariantFactory(product=stripe, size="40R"), store=harbour, quantity=4)
    suit(store, "Navy Blazer", sizes={"40R": 2}, category="Men/Jackets")
    SizeFactory(client=grace, category="Men/Jackets", size="40R")
    # when / then
    assert detect(store, harbour) == []


@pytest.mark.django_db
def test_only_within_the_preview_days_before_the_sale_opens(store, sale, grace):
    # given the suit in her size
    suit(store, "Navy Chalk-Stripe Suit", sizes={"40R": 2})
    # when
    too_early = detect(store, now=dt.datetime(2026, 11, 18, 23, 0, tzinfo=UTC))  # Wed 18:00 NY
    first_day = detect(store, now=dt.datetime(2026, 11, 19, 5, 0, tzinfo=UTC))  # Thu 00:00 NY
    last_evening = detect(store, now=dt.datetime(2026, 11, 22, 4, 0, tzinfo=UTC))  # Sat 23:00
    opened = detect(store, now=SALE_OPENS)
    # then
    assert too_early == []
    assert [c.client for c in first_day] == [grace]
    assert first_day[0].due_at == dt.datetime(2026, 11, 19, 15, 0, tzinfo=UTC)  # Thu 10:00
    # Saturday evening: no morning is left before it opens, so due at once
    assert [c.due_at for c in last_evening] == [dt.datetime(2026, 11, 22, 4, 0, tzinfo=UTC)]
    assert opened == []


@pytest.mark.django_db
def test_a_rerun_adds_nothing(store, sale, grace):
    # given her preview proposed once
    reachable(grace)
    suit(store, "Navy Chalk-Stripe Suit", sizes={"40R": 2})
    first = propose_actions(detect(store), now=NOW)
    # when the sweep runs again an hour later
    again = propose_actions(detect(store, now=NOW + dt.timedelta(hours=1)), now=NOW)
    # then
    [action] = first.created
    assert (action.kind, action.state, action.purpose) == (
        ActionKind.SALE_PREVIEW,
        ActionState.OPEN,
        "marketing",
    )
    assert action.expires_at == SALE_OPENS
    assert again.duplicates == 1
    assert (again.created, again.merged, again.held_out, again.suppressed) == ([], [], [], [])
    assert list(ActionKey.objects.values_list("key", flat=True)) == [
        f"sale_preview:{sale.pk}:{grace.pk}"
    ]


@pytest.mark.django_db
def test_without_marketing_consent_it_is_suppressed(store, sale, grace):
    # given no consent on file
    suit(store, "Navy Chalk-Stripe Suit", sizes={"40R": 2})
    # when
    result = propose_actions(detect(store), now=NOW)
    # then
    [action] = result.suppressed
    assert action.state == ActionState.SUPPRESSED
    assert action.state_reason == (
        "Grace has not agreed to marketing by email, SMS or phone (or we lack the address)."
    )


@pytest.mark.django_db
def test_it_is_held_out_like_any_marketing_moment(store, sale, grace):
    # given a store that holds out every marketing moment
    rules = rules_for(store)
    rules.holdout_share = Decimal("1.000")
    rules.save()
    reachable(grace)
    suit(store, "Navy Chalk-Stripe Suit", sizes={"40R": 2})
    # when
    result = propose_actions(detect(store), now=NOW)
    # then
    [held] = result.held_out
    assert (held.kind, held.state, held.client) == (
        ActionKind.SALE_PREVIEW,
        ActionState.HELD_OUT,
        grace,
    )
    assert result.created == []


# -- the demo store -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[DemoData]:
    media = tmp_path_factory.mktemp("media")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media), transaction.atomic():
        data = load_demo(seed=2026, now=NOW)
        yield data
        transaction.set_rollback(True)


@pytest.mark.slow
@pytest.mark.django_db
def test_on_the_demo_uptown_previews_its_sale_to_edmund_with_his_autumn_suits(demo):
    # given the demo's Winter Tailoring Sale, opening on Sunday at Uptown
    uptown = Store.objects.get(code="uptown")
    [winter] = Sale.objects.filter(store=uptown)
    # when
    candidates = detect(*Store.objects.order_by("code"))
    # then every preview is for an Uptown client, once each, and Edmund sees his suits
    assert winter.starts_on == SUNDAY
    assert len(candidates) > 20
    assert {c.client.store for c in candidates} == {uptown}
    assert len({c.key for c in candidates}) == len(candidates)
    [edmund] = [c for c in candidates if c.client.first_name == "Edmund"]
    assert edmund.key == f"sale_preview:{winter.pk}:{edmund.client.pk}"
    assert {p.product.title for p in edmund.products} >= set(S2_AUTUMN_SUITS)
    assert all(p.note.startswith("Size 42L") for p in edmund.products)
