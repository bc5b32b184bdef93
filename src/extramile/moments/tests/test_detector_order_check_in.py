"""The order check-in detector: a call minutes after an online order, with a fit check."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from extramile.accounts.models import Store, User
from extramile.catalog.models import Product
from extramile.clients.models import Client
from extramile.moments.detectors import order_check_in
from extramile.moments.events import process_event
from extramile.moments.models import Action, ActionChannel, ActionKind, Event
from extramile.orders.models import Order
from extramile.outreach.models import AuditEntry
from tests.factories import (
    ClientFactory,
    EventFactory,
    NeedFactory,
    OrderFactory,
    OrderLineFactory,
    PreferenceFactory,
    ProductFactory,
    StockFactory,
    VariantFactory,
)

NOW = dt.datetime(2025, 6, 18, 16, 30, tzinfo=dt.UTC)
PLACED = NOW - dt.timedelta(minutes=8)
SUMMER_NEED = "A dark suit for a summer wedding abroad, lightweight, under $600"

pytestmark = pytest.mark.django_db


@pytest.fixture
def daniel(store_a: Store, associate_a: User) -> Client:
    client = ClientFactory(
        store=store_a, first_name="Daniel", last_name="Reyes", primary_associate=associate_a
    )
    NeedFactory(client=client, text=SUMMER_NEED, budget=Decimal("600.00"))
    PreferenceFactory(client=client, dimension="colour", value="navy")
    return client


def suit(title: str, price: str, **attributes: object) -> Product:
    return ProductFactory(
        title=title, category="Men/Suits", brand="Kestrel", price=Decimal(price), **attributes
    )


def tweed() -> Product:
    return suit(
        "Heavy Tweed Suit",
        "580.00",
        colour="brown",
        material="heavy wool tweed, 15 oz",
        style_tags=["autumn", "winter", "tweed"],
    )


def summer_suit(title: str, price: str) -> Product:
    return suit(
        title,
        price,
        colour="navy",
        material="tropical wool, 8 oz",
        style_tags=["lightweight", "summer"],
    )


def stock(product: Product, store: Store, size: str = "40R", quantity: int = 2) -> None:
    StockFactory(variant=VariantFactory(product=product, size=size), store=store, quantity=quantity)


def online_order(buyer: Client, product: Product, **fields: object) -> Order:
    values: dict[str, object] = {
        "store": buyer.store,
        "client": buyer,
        "channel": "online",
        "placed_at": PLACED,
        "total": product.price,
    }
    values.update(fields)
    order = OrderFactory(**values)
    OrderLineFactory(
        order=order, variant=VariantFactory(product=product, size="40R"), unit_price=product.price
    )
    return order


def placed(order: Order) -> Event:
    return EventFactory(
        type="order.placed", occurred_at=order.placed_at, data={"order": {"id": order.external_ref}}
    )


def test_a_poor_fit_gets_a_call_in_ten_minutes_with_the_better_suit_at_about_the_same_price(
    daniel, store_a
):
    # given
    ordered = tweed()
    better = summer_suit("Navy Tropical Suit", "595.00")
    stock(better, store_a)
    order = online_order(daniel, ordered)
    # when
    [candidate] = order_check_in.on_event(placed(order), now=NOW)
    # then
    assert candidate.kind == ActionKind.ORDER_CHECK_IN
    assert candidate.client == daniel
    assert candidate.key == f"order_check_in:{order.pk}"
    assert candidate.due_at == PLACED + dt.timedelta(minutes=10)
    assert candidate.expires_at == PLACED + dt.timedelta(days=2)
    assert candidate.channel == ActionChannel.PHONE
    assert candidate.score == 0.9
    assert candidate.reason == (
        "Daniel ordered the Heavy Tweed Suit online at 12:22 on Wednesday 18 June; Daniel told us "
        f"\u201c{SUMMER_NEED}\u201d, and it fits poorly (heavy wool tweed, 15 oz vs "
        "'lightweight'; tagged autumn, winter, tweed vs 'summer'). "
        "The Navy Tropical Suit at $595 fits better and is in stock."
    )
    assert [(p.product, p.note) for p in candidate.products] == [
        (ordered, "Ordered"),
        (better, "Fits better, $595 ($15 more)"),
    ]
    [item] = candidate.evidence["items"]
    assert (item["fit"], item["poor"], item["need"]) == (0.4, True, SUMMER_NEED)
    assert [(a["title"], a["price"], a["price_change"]) for a in item["alternatives"]] == [
        ("Navy Tropical Suit", "595.00", "15.00")
    ]


def test_the_call_script_thanks_asks_about_use_and_offers_the_swap_without_pressure(
    daniel, store_a, associate_a
):
    # given
    associate_a.first_name = "Priya"
    associate_a.save()
    better = summer_suit("Navy Tropical Suit", "595.00")
    stock(better, store_a)
    order = online_order(daniel, tweed())
    # when
    [candidate] = order_check_in.on_event(placed(order), now=NOW)
    # then
    draft = candidate.draft
    assert draft.startswith(f"Call Daniel about online order {order.external_ref}")
    assert (
        "it's Priya from Uptown. You ordered the Heavy Tweed Suit from us on Wednesday 18 June "
        "— thank you!"
    ) in draft
    assert '"How will you be using it?"' in draft
    assert (
        "the Navy Tropical Suit — navy, tropical wool, 8 oz — might suit you better, and it's "
        "$595. I can swap it for the Heavy Tweed Suit, or leave your order just as it is." in draft
    )
    assert "No pressure" in draft


def test_a_pricier_better_suit_is_never_suggested(daniel, store_a):
    # given: perfect suits at +10.5% and +25% only
    stock(summer_suit("Navy Tropical Suit", "641.00"), store_a)
    stock(summer_suit("Navy Silk Suit", "725.00"), store_a)
    order = online_order(daniel, tweed())
    # when
    [candidate] = order_check_in.on_event(placed(order), now=NOW)
    # then
    assert [p.note for p in candidate.products] == ["Ordered"]
    assert candidate.evidence["items"][0]["alternatives"] == []
    assert candidate.score == 0.8
    assert candidate.reason.endswith(
        "Nothing in stock at about the same price fits better — ask how they will use it."
    )
    assert "Silk" not in candidate.draft
    assert "Tropical" not in candidate.draft


def test_a_cheaper_or_equal_alternative_is_preferred_when_it_fits_as_well(daniel, store_a):
    # given: two equally good suits, 4% pricier and 3% cheaper
    stock(summer_suit("Navy Tropical Suit", "603.00"), store_a)
    stock(summer_suit("Navy Travel Suit", "563.00"), store_a)
    order = online_order(daniel, tweed())
    # when
    [candidate] = order_check_in.on_event(placed(order), now=NOW)
    # then
    assert [p.product.title for p in candidate.products] == [
        "Heavy Tweed Suit",
        "Navy Travel Suit",
        "Navy Tropical Suit",
    ]
    assert "The Navy Travel Suit at $563 fits better" in candidate.reason


def test_alternatives_must_be_in_stock_here_in_the_size_ordered(daniel, store_a, store_b):
    # given
    stock(summer_suit("Wrong Size Suit", "590.00"), store_a, size="44L")
    stock(summer_suit("Sold Out Suit", "590.00"), store_a, quantity=0)
    stock(summer_suit("Other Store Suit", "590.00"), store_b)
    order = online_order(daniel, tweed())
    # when
    [candidate] = order_check_in.on_event(placed(order), now=NOW)
    # then
    assert [p.product.title for p in candidate.products] == ["Heavy Tweed Suit"]


def test_a_good_fit_gets_a_thank_you_call_and_no_other_product(daniel, store_a):
    # given
    stock(summer_suit("Navy Travel Suit", "590.00"), store_a)
    order = online_order(daniel, summer_suit("Navy Tropical Suit", "595.00"))
    # when
    [candidate] = order_check_in.on_event(placed(order), now=NOW)
    # then
    assert candidate.score == 0.8
    assert candidate.reason == (
        "Daniel ordered the Navy Tropical Suit online at 12:22 on Wednesday 18 June; it fits "
        f"what Daniel told us (\u201c{SUMMER_NEED}\u201d): a thank-you call, and ask how they "
        "will use it."
    )
    assert [p.product.title for p in candidate.products] == ["Navy Tropical Suit"]
    assert "Navy Travel Suit" not in candidate.draft
    assert "Nothing to sell." in candidate.draft


def test_a_client_without_needs_or_likes_still_gets_the_thank_you_call(store_a):
    # given
    client = ClientFactory(store=store_a, first_name="Ada")
    order = online_order(client, tweed())
    # when
    [candidate] = order_check_in.on_event(placed(order), now=NOW)
    # then
    assert candidate.reason == (
        "Ada ordered the Heavy Tweed Suit online at 12:22 on Wednesday 18 June: a thank-you "
        "call, and ask how they will use it."
    )
    assert candidate.evidence["items"][0]["fit"] == 0.5


@pytest.mark.parametrize(
    "fields",
    [
        {"channel": "store"},
        {"channel": "phone"},
        {"client": None},
        {"status": "cancelled"},
        {"placed_at": NOW - dt.timedelta(days=2)},
    ],
    ids=["in store", "by phone", "walk-in", "cancelled since", "two days ago"],
)
def test_no_call_for_orders_that_are_not_a_fresh_online_order_by_a_known_client(
    daniel, store_a, fields
):
    # given
    order = online_order(daniel, tweed(), **fields)
    # when / then
    assert order_check_in.on_event(placed(order), now=NOW) == []


def test_an_event_for_an_unknown_order_proposes_nothing():
    # given
    event = EventFactory(type="order.placed", data={"order": {"id": "NOPE"}})
    # when / then
    assert order_check_in.on_event(event, now=NOW) == []


def test_in_a_mixed_order_only_the_item_the_need_is_about_is_checked_against_it(daniel, store_a):
    # given: a tweed suit and a silk tie; the need is about a suit
    stock(summer_suit("Navy Tropical Suit", "595.00"), store_a)
    ordered = tweed()
    order = online_order(daniel, ordered)
    tie = ProductFactory(
        title="Brown Wool Tie",
        category="Accessories/Ties",
        colour="brown",
        material="wool",
        style_tags=["winter"],
        price=Decimal("85.00"),
    )
    OrderLineFactory(order=order, variant=VariantFactory(product=tie, size=""))
    # when
    [candidate] = order_check_in.on_event(placed(order), now=NOW)
    # then
    fits = {i["title"]: (i["fit"], i["need"]) for i in candidate.evidence["items"]}
    assert fits == {"Heavy Tweed Suit": (0.4, SUMMER_NEED), "Brown Wool Tie": (0.5, None)}
    assert candidate.reason.startswith(
        "Daniel ordered the Heavy Tweed Suit and 1 more item online at 12:22 on Wednesday "
        f"18 June; Daniel told us \u201c{SUMMER_NEED}\u201d, and the Heavy Tweed Suit fits poorly ("
    )


def test_an_order_of_items_outside_the_catalog_still_gets_the_thank_you_call(daniel):
    # given
    order = OrderFactory(store=daniel.store, client=daniel, channel="online", placed_at=PLACED)
    OrderLineFactory(order=order, variant=None, product=None, title="Gift Card")
    # when
    [candidate] = order_check_in.on_event(placed(order), now=NOW)
    # then
    assert candidate.reason == (
        "Daniel ordered the Gift Card online at 12:22 on Wednesday 18 June: a thank-you call, "
        "and ask how they will use it."
    )
    assert candidate.products == []


def test_the_same_suit_on_two_lines_is_shown_once(daniel, store_a):
    # given
    stock(summer_suit("Navy Tropical Suit", "595.00"), store_a)
    ordered = tweed()
    order = online_order(daniel, ordered)
    OrderLineFactory(order=order, variant=VariantFactory(product=ordered, size="42R"))
    # when
    [candidate] = order_check_in.on_event(placed(order), now=NOW)
    # then
    assert [p.product.title for p in candidate.products] == [
        "Heavy Tweed Suit",
        "Navy Tropical Suit",
    ]


def test_a_cancellation_withdraws_the_open_check_in_and_the_courtesy_call_takes_its_place(
    daniel: Client,
) -> None:
    # given Daniel's online order, its check-in call open and not made yet
    daniel.phone = "+14155550102"
    daniel.save()
    order = online_order(daniel, tweed())
    process_event(imported(order, "order.placed"), now=NOW)
    check_in = Action.objects.get(client=daniel, kind=ActionKind.ORDER_CHECK_IN)
    assert check_in.state == "open"
    # when he cancels it an hour later
    cancelled_at = NOW + dt.timedelta(hours=1)
    Order.objects.filter(pk=order.pk).update(status="cancelled", cancelled_at=cancelled_at)
    process_event(imported(order, "order.cancelled"), now=cancelled_at)
    # then the check-in is withdrawn, saying why, and not left to expire
    check_in.refresh_from_db()
    assert check_in.state == "withdrawn"
    assert check_in.state_reason == (
        f"Order cancelled: {order.external_ref} was cancelled at 13:30 on Wednesday 18 June."
    )
    assert check_in.completed_at == cancelled_at
    assert AuditEntry.objects.filter(action=check_in, verb="withdrawn").count() == 1
    # and the courtesy call is an action of its own, not merged into the withdrawn one
    courtesy = Action.objects.get(client=daniel, kind=ActionKind.CANCELLATION_COURTESY)
    assert courtesy.state == "open"
    assert courtesy.pk != check_in.pk
    assert [entry["kind"] for entry in courtesy.reasons] == ["cancellation_courtesy"]


def test_a_partial_refund_leaves_the_check_in_open(daniel: Client) -> None:
    # given
    order = online_order(daniel, tweed())
    # when
    Order.objects.filter(pk=order.pk).update(refunded_amount=Decimal("10.00"))
    # then
    assert order_check_in.withdrawn_by(imported(order, "order.refunded")) == []


def imported(order: Order, type: str) -> Event:
    return EventFactory(source="import", type=type, data={"order": {"id": order.external_ref}})
