"""The demo stories as events: S7's online order, S8's cancellation and refund, S6's lost belt.

They are stored pending (unprocessed), as if they had just come in, so that `extramile engine
run` processes them like any other: the order and refund events find their records already
written and change nothing; S6's problem.reported opens the care problem for Jim's belt.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from extramile.catalog.models import Product
from extramile.clients.models import Client, Note
from extramile.demo import assortment as A
from extramile.moments.events import order_event, store_event
from extramile.moments.models import Event, EventType
from extramile.orders.models import Order, OrderChannel, OrderStatus

SOURCE = "demo"


def _story_client(tag: str) -> Client | None:
    return Client.objects.filter(tags__name=tag).select_related("store").order_by("id").first()


def _orders(client: Client) -> QuerySet[Order]:
    return (
        Order.objects.filter(client=client)
        .select_related("store", "client", "associate")
        .prefetch_related("lines", "refunds")
        .order_by("-placed_at", "-id")
    )


def record_story_events() -> list[Event]:
    """Store the story events of the loaded demo, unprocessed; return the new ones."""
    recorded: list[Event] = []
    for event_id, fields in _story_events():
        event, created = store_event(
            event_id=event_id,
            type=fields["type"],
            occurred_at=fields["occurred_at"],
            data=fields["data"],
            store=fields["store"],
            source=SOURCE,
        )
        if created:
            recorded.append(event)
    return recorded


def _story_events() -> list[tuple[str, dict[str, Any]]]:
    # The ids carry the order's row id: a demo rebuilt with --reset gets new rows, so new ids.
    found: list[tuple[str, dict[str, Any]]] = []
    s7 = _story_client("story:s7-online-fit-check")
    if s7 is not None:
        order = _orders(s7).filter(channel=OrderChannel.ONLINE, status=OrderStatus.PLACED).first()
        if order is not None:
            found.append(
                (f"demo:{order.pk}:order.placed", order_event(order, type=EventType.ORDER_PLACED))
            )
    s8 = _story_client("story:s8-cancellation")
    if s8 is not None:
        order = _orders(s8).filter(status=OrderStatus.CANCELLED).first()
        if order is not None:
            found.append(
                (
                    f"demo:{order.pk}:order.cancelled",
                    order_event(order, type=EventType.ORDER_CANCELLED),
                )
            )
            found.extend(
                (
                    f"demo:{order.pk}:order.refunded:{refund.pk}",
                    order_event(order, type=EventType.ORDER_REFUNDED, refund=refund),
                )
                for refund in order.refunds.all()
            )
    s6 = _story_client("story:s6-left-behind")
    left_behind = _left_behind(s6) if s6 is not None else None
    if left_behind is not None:
        found.append(left_behind)
    return found


def _left_behind(client: Client) -> tuple[str, dict[str, Any]] | None:
    belt = Product.objects.filter(title=A.S6_LEFT_BEHIND).first()
    order = _orders(client).filter(lines__product=belt).first() if belt else None
    if belt is None or order is None:
        return None
    line = next(line for line in order.lines.all() if line.product_id == belt.pk)
    note = (
        Note.objects.filter(client=client, body__icontains="belt")
        .select_related("author")
        .order_by("-created_at")
        .first()
    )
    problem: dict[str, Any] = {
        "kind": "left_behind",
        "client": {"id": client.external_ref},
        "order": {"id": order.external_ref},
        "item": {"sku": line.sku},
        "description": note.body if note else f"{client.first_name} left the {belt.title}.",
    }
    if note is not None and note.author is not None:
        problem["reported_by"] = note.author.username
    return (
        f"demo:{order.pk}:problem.reported:left-behind",
        {
            "type": str(EventType.PROBLEM_REPORTED),
            "occurred_at": note.created_at if note else order.placed_at,
            "data": {"problem": problem},
            "store": order.store,
        },
    )
