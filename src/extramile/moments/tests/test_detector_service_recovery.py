"""The service recovery detector: an urgent call, with a cheap surprise learnt from baskets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from extramile.accounts.models import Store, User
from extramile.care.models import Problem
from extramile.catalog.models import Product
from extramile.clients.models import Client
from extramile.moments.detectors import service_recovery
from extramile.moments.governance import rules_for
from extramile.moments.models import ActionChannel, ActionKind, Event
from extramile.orders.models import Order
from tests.factories import (
    ClientFactory,
    EventFactory,
    OrderFactory,
    OrderLineFactory,
    ProblemFactory,
    ProductFactory,
    StockFactory,
    VariantFactory,
)

# 16:30 UTC is 12:30 in New York, the store's time zone.
NOW = dt.datetime(2025, 6, 18, 16, 30, tzinfo=dt.UTC)
YESTERDAY = dt.datetime(2025, 6, 17, 21, 40, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def jim(store_a: Store, associate_a: User) -> Client:
    associate_a.first_name = "Lucas"
    associate_a.save()
    return ClientFactory(
        store=store_a, first_name="Jim", last_name="Calloway", primary_associate=associate_a
    )


def product(title: str, price: str) -> Product:
    return ProductFactory(title=title, category="Accessories", price=Decimal(price))


def stock(item: Product, store: Store, quantity: int = 6) -> None:
    StockFactory(variant=VariantFactory(product=item, size=""), store=store, quantity=quantity)


def basket(store: Store, *items: Product, at: dt.datetime = NOW - dt.timedelta(days=30)) -> Order:
    order = OrderFactory(store=store, client=None, placed_at=at)
    for item in items:
        OrderLineFactory(order=order, variant=VariantFactory(product=item), unit_price=item.price)
    return order


def other_baskets(store: Store, count: int = 10) -> None:
    """Baskets of something else, as most of a store's baskets are."""
    shirt = product("Shirt", "90.00")
    for _ in range(count):
        basket(store, shirt)


def jims_order(jim: Client, *items: Product) -> Order:
    return basket(jim.store, *items, at=YESTERDAY)


def reported(problem: Problem) -> Event:
    return EventFactory(
        event_id=problem.external_ref, type="problem.reported", data={"problem": {}}
    )


def test_a_left_belt_gets_an_urgent_call_with_the_cheap_thing_most_often_bought_with_belts(
    jim, store_a
):
    # given: belts go with the care kit three times, with socks twice
    belt, kit, socks = (
        product("Cognac Belt", "120.00"),
        product("Care Kit", "45.00"),
        product("Socks", "20.00"),
    )
    for _ in range(3):
        basket(store_a, belt, kit)
    for _ in range(2):
        basket(store_a, belt, socks)
    basket(store_a, socks)
    stock(kit, store_a)
    stock(socks, store_a)
    order = jims_order(jim, belt)
    problem = ProblemFactory(store=store_a, client=jim, order=order, product=belt)
    # when
    [candidate] = service_recovery.on_event(reported(problem), now=NOW)
    # then
    assert candidate.kind == ActionKind.SERVICE_RECOVERY
    assert candidate.client == jim
    assert candidate.key == f"service_recovery:{problem.pk}"
    assert candidate.due_at == NOW
    assert candidate.expires_at == NOW + dt.timedelta(days=2)
    assert candidate.score == 1.0
    assert candidate.channel == ActionChannel.PHONE
    assert candidate.surprise == kit
    assert candidate.reason == (
        "Jim left the Cognac Belt at the store on Tuesday 17 June. Get it back to Jim as soon as "
        "you can — clients who buy the Cognac Belt most often also take the Care Kit ($45, in "
        "stock): add one as a thank-you."
    )
    assert candidate.surprise_note == (
        "Bought with the Cognac Belt in 3 of 6 baskets (lift 1.2); $45, 6 in stock"
    )
    assert [(p.product, p.note) for p in candidate.products] == [(belt, "The item involved")]
    surprise = candidate.evidence["surprise"]
    assert (surprise["title"], surprise["together"], surprise["baskets_with_item"]) == (
        "Care Kit",
        3,
        6,
    )
    assert surprise["confidence"] == 0.5
    assert surprise["lift"] == round((3 / 6) / (3 / 7), 3)


def test_the_script_arranges_the_delivery_and_keeps_the_surprise_a_surprise(jim, store_a):
    # given
    belt, kit = product("Cognac Belt", "120.00"), product("Care Kit", "45.00")
    basket(store_a, belt, kit)
    basket(store_a, belt, kit)
    basket(store_a, kit)
    other_baskets(store_a)
    stock(kit, store_a)
    problem = ProblemFactory(store=store_a, client=jim, order=jims_order(jim, belt), product=belt)
    # when
    [candidate] = service_recovery.on_event(reported(problem), now=NOW)
    # then
    assert candidate.draft == (
        "Call Jim now — the Cognac Belt was left at the store on Tuesday 17 June\n"
        "\n"
        "1. \"Hello Jim, it's Lucas from Uptown. You left your Cognac Belt with us on Tuesday 17 "
        "June — "
        "it's safe here, and I'd love to bring it to you today. When and where suits you?\"\n"
        "2. Agree on a delivery time today (or hold it at the till if they would rather collect "
        "it).\n"
        "3. Confirm the time and how to reach them, and thank them for their patience.\n"
        "4. When it goes out, add the Care Kit as a thank-you. Keep it a surprise: don't mention "
        "it on the call.\n"
    )


def a_belt_that_sells_with_a_briefcase_more_than_a_kit(jim: Client, store: Store) -> Problem:
    """Belts went with the $550 briefcase four times, with the $45 kit twice; both in stock.

    Return the problem of Jim's belt.
    """
    belt, case, kit = (
        product("Cognac Belt", "120.00"),
        product("Briefcase", "550.00"),
        product("Care Kit", "45.00"),
    )
    for _ in range(4):
        basket(store, belt, case)
    for _ in range(2):
        basket(store, belt, kit)
    basket(store, case)
    basket(store, kit)
    other_baskets(store)
    stock(case, store)
    stock(kit, store)
    return ProblemFactory(store=store, client=jim, product=belt)


def test_a_pricier_complement_is_passed_over_for_a_cheap_one(jim, store_a):
    # given: the briefcase goes with belts more often, but costs far more than a small gift
    problem = a_belt_that_sells_with_a_briefcase_more_than_a_kit(jim, store_a)
    # when
    [candidate] = service_recovery.on_event(reported(problem), now=NOW)
    # then
    assert candidate.surprise == Product.objects.get(title="Care Kit")


def test_the_cap_is_a_fifth_of_the_items_price_or_the_store_limit_whichever_is_more():
    # given
    limit = Decimal("50.00")
    # when / then
    assert service_recovery.surprise_cap(Decimal("120.00"), limit=limit) == Decimal("50.00")
    assert service_recovery.surprise_cap(Decimal("400.00"), limit=limit) == Decimal("80.0000")
    assert service_recovery.surprise_cap(None, limit=limit) == Decimal("50.00")


def test_the_surprise_limit_is_the_stores_own_rule(jim, store_a):
    # given: the briefcase goes with belts most often, and this store's limit allows it
    rules = rules_for(store_a)
    assert rules.surprise_limit == Decimal("50.00")  # the default, as the limit was before
    rules.surprise_limit = Decimal("600.00")
    rules.save()
    problem = a_belt_that_sells_with_a_briefcase_more_than_a_kit(jim, store_a)
    # when
    [candidate] = service_recovery.on_event(reported(problem), now=NOW)
    # then
    assert candidate.surprise == Product.objects.get(title="Briefcase")


def test_a_complement_out_of_stock_here_is_passed_over(jim, store_a, store_b):
    # given: the kit is sold out here and stocked only in the other store
    belt, kit, polish = (
        product("Cognac Belt", "120.00"),
        product("Care Kit", "45.00"),
        product("Polish", "15.00"),
    )
    for _ in range(3):
        basket(store_a, belt, kit)
    for _ in range(2):
        basket(store_a, belt, polish)
    basket(store_a, polish)
    basket(store_a, kit)
    other_baskets(store_a)
    stock(kit, store_a, quantity=0)
    stock(kit, store_b)
    stock(polish, store_a, quantity=2)
    problem = ProblemFactory(store=store_a, client=jim, product=belt)
    # when
    [candidate] = service_recovery.on_event(reported(problem), now=NOW)
    # then
    assert candidate.surprise == polish
    assert candidate.surprise_note.endswith("$15, 2 in stock")


def test_only_this_stores_baskets_of_the_last_two_years_count(jim, store_a, store_b):
    # given: belts went with the kit long ago and in the other store; lately, with polish here
    belt, kit, polish = (
        product("Cognac Belt", "120.00"),
        product("Care Kit", "45.00"),
        product("Polish", "15.00"),
    )
    for _ in range(5):
        basket(store_a, belt, kit, at=NOW - dt.timedelta(days=800))
        basket(store_b, belt, kit)
    for _ in range(2):
        basket(store_a, belt, polish)
    basket(store_a, kit)
    basket(store_a, polish)
    stock(kit, store_a)
    stock(polish, store_a)
    problem = ProblemFactory(store=store_a, client=jim, product=belt)
    # when
    [candidate] = service_recovery.on_event(reported(problem), now=NOW)
    # then
    assert candidate.surprise == polish


def test_without_a_cheap_complement_of_the_item_the_rest_of_the_order_is_asked(jim, store_a):
    # given: nothing goes with the belt, but shoes go with the kit
    belt, shoes, kit = (
        product("Cognac Belt", "120.00"),
        product("Cap-Toe Oxford", "345.00"),
        product("Care Kit", "45.00"),
    )
    for _ in range(3):
        basket(store_a, shoes, kit)
    basket(store_a, kit)
    basket(store_a, belt)
    stock(kit, store_a)
    problem = ProblemFactory(
        store=store_a, client=jim, order=jims_order(jim, shoes, belt), product=belt
    )
    # when
    [candidate] = service_recovery.on_event(reported(problem), now=NOW)
    # then
    assert candidate.surprise == kit
    assert candidate.reason.endswith(
        "clients who buy the Cap-Toe Oxford (from the same order) most often also take the Care "
        "Kit ($45, in stock): add one as a thank-you."
    )


def test_nothing_bought_together_twice_means_no_surprise_and_no_surprise_step(jim, store_a):
    # given: the belt went with the kit only once
    belt, kit = product("Cognac Belt", "120.00"), product("Care Kit", "45.00")
    basket(store_a, belt, kit)
    stock(kit, store_a)
    problem = ProblemFactory(
        store=store_a,
        client=jim,
        product=belt,
        kind="defect",
        reported_at=NOW - dt.timedelta(hours=1),
        description="The buckle came off",
    )
    # when
    [candidate] = service_recovery.on_event(reported(problem), now=NOW)
    # then
    assert candidate.surprise is None
    assert candidate.surprise_note == ""
    assert candidate.evidence["surprise"] is None
    assert candidate.reason == (
        "Jim reported a defect in the Cognac Belt at 11:30 on Wednesday 18 June: The buckle came "
        "off. Call now and put it right."
    )
    assert "4." not in candidate.draft


def test_a_late_delivery_names_the_order(jim, store_a):
    # given
    order = jims_order(jim, product("Cognac Belt", "120.00"))
    problem = ProblemFactory(
        store=store_a, client=jim, order=order, kind="late_delivery", reported_at=NOW
    )
    # when
    [candidate] = service_recovery.on_event(reported(problem), now=NOW)
    # then
    assert candidate.reason == (
        f"Jim's order {order.external_ref} was reported late at 12:30 on Wednesday 18 June. "
        "Call now with where it stands and a date you can keep."
    )


def test_new_baskets_are_seen_at_once(jim, store_a):
    # given: a first problem computes the store's baskets
    belt, kit = product("Cognac Belt", "120.00"), product("Care Kit", "45.00")
    basket(store_a, kit)
    other_baskets(store_a)
    stock(kit, store_a)
    first = ProblemFactory(store=store_a, client=jim, product=belt)
    [before] = service_recovery.on_event(reported(first), now=NOW)
    basket(store_a, belt, kit)
    basket(store_a, belt, kit)
    second = ProblemFactory(store=store_a, client=jim, product=belt)
    # when
    [after] = service_recovery.on_event(reported(second), now=NOW)
    # then
    assert (before.surprise, after.surprise) == (None, kit)


def test_a_problem_already_resolved_or_unknown_proposes_nothing(jim, store_a):
    # given
    resolved = ProblemFactory(store=store_a, client=jim, status="resolved")
    unknown = EventFactory(type="problem.reported", data={"problem": {}})
    # when / then
    assert service_recovery.on_event(reported(resolved), now=NOW) == []
    assert service_recovery.on_event(unknown, now=NOW) == []
