"""Cancellation courtesy: a short call confirming the refund and when it will show, nothing more.

A cancelled or refunded order of a known client gets one call, due within half an hour of the
event and expiring three days after it. A cancellation and its refund share the key, so the
pair makes one action; when the refund comes after the cancellation, the open action is brought
up to date (Candidate.refresh): its reason, evidence and script then confirm the amount paid
back, when, and how soon it will show, instead of a second action being made. The script sells
nothing: no product, no price, no offer.

How soon a refund shows depends on the store's payment provider, so it is a store rule
(StoreRules.refund_timing, "3 to 5 business days" unless the store says otherwise).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Sum

from extramile.moments.candidates import Candidate
from extramile.moments.detectors.service_calls import (
    associate_first_name,
    clock_time,
    first_name,
    money,
    order_for_event,
    render_draft,
    sentence,
    spoken_date,
    store_zone,
)
from extramile.moments.governance import rules_for
from extramile.moments.models import ActionChannel, ActionKind, Event
from extramile.orders.models import Order, OrderStatus

EVENT_TYPES = ("order.cancelled", "order.refunded")
CALL_WITHIN = dt.timedelta(minutes=30)
EXPIRES_AFTER = dt.timedelta(days=3)
SCORE = 0.8


def on_event(event: Event, *, now: dt.datetime) -> list[Candidate]:
    """Propose a courtesy call confirming the refund of a cancelled or refunded order."""
    order = order_for_event(event)
    if order is None or order.client is None:
        return []
    refunded = _refunded(order)
    cancelled = order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED)
    if not cancelled and refunded == 0:
        return []  # the order stands and nothing was paid back: there is nothing to confirm
    happened = _happened_at(order, event)
    expires_at = happened + EXPIRES_AFTER
    if now >= expires_at:
        return []
    client = order.client
    name = first_name(client)
    zone = store_zone(order.store)
    timing = rules_for(order.store).refund_timing
    refunded_at = _refunded_at(order)
    return [
        Candidate(
            kind=ActionKind.CANCELLATION_COURTESY,
            client=client,
            key=f"cancellation_courtesy:{order.pk}",
            occasion=f"order:{order.external_ref}",
            refresh=True,
            reason=sentence(
                _reason(
                    order,
                    name,
                    refunded,
                    cancelled=cancelled,
                    happened=happened,
                    refunded_at=refunded_at,
                    timing=timing,
                )
            ),
            due_at=happened + CALL_WITHIN,
            expires_at=expires_at,
            score=SCORE,
            evidence=_evidence(order, refunded, event, refunded_at=refunded_at, timing=timing),
            channel=ActionChannel.PHONE,
            draft=render_draft(
                ActionKind.CANCELLATION_COURTESY,
                {
                    "client_first": name,
                    "associate_first": associate_first_name(client, now=now),
                    "store_name": order.store.name,
                    "order_ref": order.external_ref,
                    "what_happened": (
                        "your order was cancelled" if cancelled else "we refunded your order"
                    ),
                    "refund": money(refunded, order.currency) if refunded > 0 else "",
                    "refunded_on": spoken_date(refunded_at, zone) if refunded_at else "",
                    "refund_timing": timing,
                },
            ),
        )
    ]


def _refunded(order: Order) -> Decimal:
    """The money paid back: the refunds recorded, else the order's refunded amount."""
    total = order.refunds.aggregate(total=Sum("amount"))["total"]
    return max(total or Decimal(0), order.refunded_amount).quantize(Decimal("0.01"))


def _refunded_at(order: Order) -> dt.datetime | None:
    """When the money went back: the latest refund recorded, else the order's refund time."""
    latest = order.refunds.order_by("-created_at").values_list("created_at", flat=True).first()
    return latest or order.refunded_at


def _happened_at(order: Order, event: Event) -> dt.datetime:
    if event.type == "order.cancelled" and order.cancelled_at is not None:
        return order.cancelled_at
    if event.type == "order.refunded" and order.refunded_at is not None:
        return order.refunded_at
    return event.occurred_at


def _reason(
    order: Order,
    name: str,
    refunded: Decimal,
    *,
    cancelled: bool,
    happened: dt.datetime,
    refunded_at: dt.datetime | None,
    timing: str,
) -> str:
    """Say what happened and what is recorded, with clock times: the reason is read later."""
    zone = store_zone(order.store)
    titles = [
        line.title or (line.product.title if line.product else "") for line in order.lines.all()
    ]
    titles = [title for title in titles if title]
    what = f"order {order.external_ref}" + (f" ({', '.join(titles)})" if titles else "")
    amount = money(refunded, order.currency)
    full = refunded >= order.total
    if cancelled:
        cancelled_at = order.cancelled_at or happened
        opening = f"{name} cancelled {what} {clock_time(cancelled_at, zone)}"
        if refunded == 0:
            refund = "no refund is recorded yet, so check it has gone through before calling"
        else:
            paid_back = f"the full refund of {amount}" if full else f"a refund of {amount}"
            refund = f"{paid_back} {_recorded(refunded_at, since=cancelled_at, zone=zone)}"
        facts = f"{opening}; {refund}"
    else:
        refunded_when = refunded_at or happened
        paid_back = f"the full refund of {amount}" if full else f"a refund of {amount}"
        facts = f"{name}'s {what} was refunded {clock_time(refunded_when, zone)}: {paid_back}"
    return f"{facts}. A short call only to confirm it will show within {timing} — no selling."


def _recorded(at: dt.datetime | None, *, since: dt.datetime, zone: dt.tzinfo) -> str:
    """Say when a refund was recorded: "was recorded at 12:12 that day", or with its own date."""
    if at is None:
        return "is recorded"
    if at.astimezone(zone).date() == since.astimezone(zone).date():
        return f"was recorded at {at.astimezone(zone):%H:%M} that day"
    return f"was recorded {clock_time(at, zone)}"


def _evidence(
    order: Order,
    refunded: Decimal,
    event: Event,
    *,
    refunded_at: dt.datetime | None,
    timing: str,
) -> dict[str, Any]:
    return {
        "order": {
            "id": order.pk,
            "ref": order.external_ref,
            "channel": order.channel,
            "status": order.status,
            "total": str(order.total),
            "cancelled_at": order.cancelled_at.isoformat() if order.cancelled_at else None,
            "cancel_reason": order.cancel_reason,
        },
        "refunded": str(refunded),
        "refunded_at": refunded_at.isoformat() if refunded_at else None,
        "refunds": [
            {"ref": ref, "amount": str(amount), "at": at.isoformat()}
            for ref, amount, at in order.refunds.order_by("created_at", "id").values_list(
                "external_ref", "amount", "created_at"
            )
        ],
        "refund_timing": timing,
        "event": {"id": event.event_id, "type": event.type},
    }
