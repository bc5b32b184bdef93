"""Cancellation courtesy: a short call confirming the refund and when it will show, nothing more.

A cancelled or refunded order of a known client gets one call (a cancellation followed by its
refund share the key, so the pair makes one action), due within half an hour of the event and
expiring three days after it. The script confirms the refund and its timing and sells nothing:
no product, no price, no offer.

The timing told to the client is REFUND_TIMING, the same for every store: card refunds usually
show within three to five business days. A store whose payment provider is faster or slower
needs a per-store rule (a StoreRules field), which this first version does not have.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Sum

from extramile.moments.candidates import Candidate
from extramile.moments.detectors.service_calls import (
    ago,
    associate_first_name,
    first_name,
    money,
    order_for_event,
    render_draft,
    sentence,
)
from extramile.moments.models import ActionChannel, ActionKind, Event
from extramile.orders.models import Order, OrderStatus

EVENT_TYPES = ("order.cancelled", "order.refunded")
REFUND_TIMING = "3 to 5 business days"
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
    return [
        Candidate(
            kind=ActionKind.CANCELLATION_COURTESY,
            client=client,
            key=f"cancellation_courtesy:{order.pk}",
            reason=sentence(
                _reason(order, name, refunded, cancelled=cancelled, happened=happened, now=now)
            ),
            due_at=happened + CALL_WITHIN,
            expires_at=expires_at,
            score=SCORE,
            evidence=_evidence(order, refunded, event),
            channel=ActionChannel.PHONE,
            draft=render_draft(
                ActionKind.CANCELLATION_COURTESY,
                {
                    "client_first": name,
                    "associate_first": associate_first_name(client),
                    "store_name": order.store.name,
                    "order_ref": order.external_ref,
                    "what_happened": (
                        "your order was cancelled" if cancelled else "we refunded your order"
                    ),
                    "refunded": refunded > 0,
                    "refund_timing": REFUND_TIMING,
                },
            ),
        )
    ]


def _refunded(order: Order) -> Decimal:
    """The money paid back: the refunds recorded, else the order's refunded amount."""
    total = order.refunds.aggregate(total=Sum("amount"))["total"]
    return max(total or Decimal(0), order.refunded_amount).quantize(Decimal("0.01"))


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
    now: dt.datetime,
) -> str:
    titles = [
        line.title or (line.product.title if line.product else "") for line in order.lines.all()
    ]
    titles = [title for title in titles if title]
    what = f"order {order.external_ref}" + (f" ({', '.join(titles)})" if titles else "")
    if cancelled:
        opening = f"{name} cancelled {what} {ago(happened, now)}"
    else:
        opening = f"{name}'s {what} was refunded {ago(happened, now)}"
    if refunded == 0:
        refund = "no refund is recorded yet, so check it has gone through before calling"
    elif refunded >= order.total:
        refund = f"the full refund of {money(refunded, order.currency)} is recorded"
    else:
        refund = f"a refund of {money(refunded, order.currency)} is recorded"
    return (
        f"{opening}; {refund}. A short call only to confirm it will show within "
        f"{REFUND_TIMING} — no selling."
    )


def _evidence(order: Order, refunded: Decimal, event: Event) -> dict[str, Any]:
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
        "refund_timing": REFUND_TIMING,
        "event": {"id": event.event_id, "type": event.type},
    }
