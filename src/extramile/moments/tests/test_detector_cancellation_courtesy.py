"""The cancellation courtesy detector: one call confirming the refund, with nothing to sell."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from extramile.accounts.models import Store, User
from extramile.clients.models import Client
from extramile.moments.detectors import cancellation_courtesy
from extramile.moments.governance import rules_for
from extramile.moments.models import Action, ActionChannel, ActionKind, Event
from extramile.moments.proposals import ProposalResult, propose_actions
from extramile.orders.models import Order
from tests.factories import (
    ClientFactory,
    EventFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    RefundFactory,
    VariantFactory,
)

NOW = dt.datetime(2025, 6, 18, 16, 30, tzinfo=dt.UTC)
CANCELLED = NOW - dt.timedelta(minutes=20)
SALES_WORDS = re.compile(r"\b(sale|sales|offer|offers|discount|discounts|deal|promotion)\b", re.I)

pytestmark = pytest.mark.django_db


@pytest.fixture
def claire(store_a: Store, associate_a: User) -> Client:
    associate_a.first_name = "Sofia"
    associate_a.save()
    return ClientFactory(
        store=store_a, first_name="Claire", last_name="Dubois", primary_associate=associate_a
    )


def coat_order(buyer: Client, **fields: object) -> Order:
    values: dict[str, object] = {
        "store": buyer.store,
        "client": buyer,
        "external_ref": "W-2170",
        "channel": "online",
        "status": "cancelled",
        "placed_at": NOW - dt.timedelta(days=2),
        "cancelled_at": CANCELLED,
        "total": Decimal("560.00"),
    }
    values.update(fields)
    order = OrderFactory(**values)
    coat = ProductFactory(title="Camel Wool Wrap Coat", price=Decimal("560.00"))
    OrderLineFactory(
        order=order, variant=VariantFactory(product=coat), unit_price=Decimal("560.00")
    )
    return order


def event(order: Order, type: str, at: dt.datetime) -> Event:
    return EventFactory(type=type, occurred_at=at, data={"order": {"id": order.external_ref}})


def test_a_cancelled_and_refunded_order_gets_one_courtesy_call_soon(claire):
    # given
    order = coat_order(claire, refunded_amount=Decimal("560.00"))
    RefundFactory(
        order=order, amount=Decimal("560.00"), created_at=CANCELLED + dt.timedelta(minutes=2)
    )
    # when
    [candidate] = cancellation_courtesy.on_event(
        event(order, "order.cancelled", CANCELLED), now=NOW
    )
    # then
    assert candidate.kind == ActionKind.CANCELLATION_COURTESY
    assert candidate.client == claire
    assert candidate.key == f"cancellation_courtesy:{order.pk}"
    assert candidate.due_at == CANCELLED + dt.timedelta(minutes=30)
    assert candidate.expires_at == CANCELLED + dt.timedelta(days=3)
    assert candidate.channel == ActionChannel.PHONE
    assert candidate.score == 0.8
    assert candidate.products == []
    assert candidate.reason == (
        "Claire cancelled order W-2170 (Camel Wool Wrap Coat) at 12:10 on Wednesday 18 June; the "
        "full refund of $560 was recorded at 12:12 that day. A short call only to confirm it "
        "will show within 3 to 5 business days — no selling."
    )
    assert candidate.evidence["refunded"] == "560.00"
    assert candidate.evidence["refunded_at"] == "2025-06-18T16:12:00+00:00"
    assert candidate.evidence["refund_timing"] == "3 to 5 business days"
    assert candidate.refresh is True


def test_the_cancel_and_the_refund_events_share_one_key(claire):
    # given
    order = coat_order(claire, refunded_amount=Decimal("560.00"))
    refunded_at = CANCELLED + dt.timedelta(minutes=2)
    # when
    on_cancel = cancellation_courtesy.on_event(event(order, "order.cancelled", CANCELLED), now=NOW)
    on_refund = cancellation_courtesy.on_event(event(order, "order.refunded", refunded_at), now=NOW)
    # then
    assert [c.key for c in on_cancel + on_refund] == [f"cancellation_courtesy:{order.pk}"] * 2


def test_the_script_confirms_the_refund_and_its_timing_and_sells_nothing(claire):
    # given
    order = coat_order(claire, refunded_amount=Decimal("560.00"))
    # when
    [candidate] = cancellation_courtesy.on_event(
        event(order, "order.cancelled", CANCELLED), now=NOW
    )
    # then
    draft = candidate.draft
    assert "it's Sofia from Uptown. I saw your order was cancelled" in draft
    assert "your refund of $560 has gone through" in draft
    assert "should show within 3 to 5 business days" in draft
    assert "Camel" not in draft
    assert "Coat" not in draft
    assert SALES_WORDS.search(draft) is None


def test_a_cancellation_before_its_refund_says_the_refund_is_on_its_way(claire):
    # given
    order = coat_order(claire)
    # when
    [candidate] = cancellation_courtesy.on_event(
        event(order, "order.cancelled", CANCELLED), now=NOW
    )
    # then
    assert "no refund is recorded yet, so check it has gone through before calling" in (
        candidate.reason
    )
    assert "your refund is being processed" in candidate.draft
    assert SALES_WORDS.search(candidate.draft) is None


def test_a_partial_refund_of_a_kept_order_gets_the_call_too(claire):
    # given: a fulfilled order with part of it refunded
    order = coat_order(
        claire, status="fulfilled", cancelled_at=None, refunded_amount=Decimal("100.00")
    )
    refunded_at = NOW - dt.timedelta(hours=3)
    # when
    [candidate] = cancellation_courtesy.on_event(
        event(order, "order.refunded", refunded_at), now=NOW
    )
    # then
    assert candidate.due_at == refunded_at + dt.timedelta(minutes=30)
    assert candidate.reason.startswith(
        "Claire's order W-2170 (Camel Wool Wrap Coat) was refunded at 09:30 on Wednesday 18 June: "
        "a refund of $100."
    )
    assert "I saw we refunded your order" in candidate.draft


@pytest.mark.parametrize(
    ("fields", "type"),
    [
        ({"client": None}, "order.cancelled"),
        ({"status": "fulfilled", "cancelled_at": None}, "order.refunded"),
        ({"cancelled_at": NOW - dt.timedelta(days=3)}, "order.cancelled"),
    ],
    ids=["walk-in", "nothing refunded", "three days ago"],
)
def test_no_call_without_a_known_client_a_refund_or_a_fresh_moment(claire, fields, type):
    # given
    order = coat_order(claire, **fields)
    # when / then
    assert (
        cancellation_courtesy.on_event(event(order, type, order.cancelled_at or NOW), now=NOW) == []
    )


def test_an_event_for_an_unknown_order_proposes_nothing():
    # given
    unknown = EventFactory(type="order.cancelled", data={"order": {"id": "NOPE"}})
    # when / then
    assert cancellation_courtesy.on_event(unknown, now=NOW) == []


def test_the_refund_timing_is_the_stores_own_rule(claire):
    # given a store whose payment provider takes longer
    rules = rules_for(claire.store)
    rules.refund_timing = "5 to 10 business days"
    rules.save()
    order = coat_order(claire, refunded_amount=Decimal("560.00"))
    # when
    [candidate] = cancellation_courtesy.on_event(
        event(order, "order.cancelled", CANCELLED), now=NOW
    )
    # then the reason, the evidence and the script all say the store's timing
    assert "will show within 5 to 10 business days" in candidate.reason
    assert candidate.evidence["refund_timing"] == "5 to 10 business days"
    assert "should show within 5 to 10 business days" in candidate.draft
    assert "3 to 5" not in candidate.draft


def test_a_refund_after_the_cancellation_updates_the_one_call_with_its_amount_and_timing(claire):
    # given the courtesy call made on the cancellation, before any refund
    claire.phone = "+14155550101"
    claire.save()
    order = coat_order(claire)
    process(event(order, "order.cancelled", CANCELLED))
    [action] = Action.objects.filter(client=claire)
    assert (action.state, action.channel) == ("open", "phone")
    assert "your refund is being processed" in action.draft
    # when the refund is recorded and its event processed
    refunded_at = CANCELLED + dt.timedelta(minutes=2)
    RefundFactory(order=order, amount=Decimal("560.00"), created_at=refunded_at)
    Order.objects.filter(pk=order.pk).update(
        refunded_amount=Decimal("560.00"), refunded_at=refunded_at
    )
    result = process(event(order, "order.refunded", refunded_at))
    # then the same action, still open, confirms the amount and when it will show
    assert result.updated == [action]
    assert result.created == []
    action.refresh_from_db()
    assert Action.objects.filter(client=claire).count() == 1
    assert action.state == "open"
    assert action.reason == (
        "Claire cancelled order W-2170 (Camel Wool Wrap Coat) at 12:10 on Wednesday 18 June; the "
        "full refund of $560 was recorded at 12:12 that day. A short call only to confirm it "
        "will show within 3 to 5 business days — no selling."
    )
    assert "your refund of $560 went through on Wednesday 18 June" in action.draft
    assert "should show within 3 to 5 business days" in action.draft
    assert "being processed" not in action.draft
    assert action.evidence["refunded"] == "560.00"
    assert action.evidence["refunds"][0]["amount"] == "560.00"
    assert SALES_WORDS.search(action.draft) is None


def process(happened: Event) -> ProposalResult:
    return propose_actions(cancellation_courtesy.on_event(happened, now=NOW), now=NOW)
