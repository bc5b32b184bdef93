"""What the three service detectors share: finding an event's order or problem, words, drafts."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string

from extramile.care.models import Problem
from extramile.clients.models import Client
from extramile.moments.models import Event
from extramile.orders.models import Order

# Shown in a call script where the associate's name goes when the client has no active associate.
YOUR_NAME = "[your name]"


def order_for_event(event: Event) -> Order | None:
    """Return the order an order event is about (data.order.id, its reference), or None."""
    order = event.data.get("order")
    ref = order.get("id") if isinstance(order, dict) else None
    if not ref:
        return None
    return (
        Order.objects.select_related(
            "store", "client", "client__store", "client__primary_associate"
        )
        .filter(external_ref=str(ref))
        .first()
    )


def problem_for_event(event: Event) -> Problem | None:
    """Return the problem a problem.reported event recorded: its reference is the event's id."""
    return (
        Problem.objects.select_related(
            "store", "client", "client__store", "client__primary_associate", "order", "product"
        )
        .filter(external_ref=event.event_id)
        .first()
    )


def first_name(client: Client) -> str:
    """The client's first name, else their full name, else "the client"."""
    return client.first_name or client.full_name or "the client"


def sentence(text: str) -> str:
    """Start the text with a capital ("the client left…" → "The client left…")."""
    return text[:1].upper() + text[1:]


def associate_first_name(client: Client) -> str:
    """The first name of the client's associate, who will make the call, else a placeholder."""
    associate = client.primary_associate
    if associate is None or not associate.is_active:
        return YOUR_NAME
    return associate.first_name or associate.get_username()


def money(amount: Decimal | None, currency: str = "USD") -> str:
    """Say an amount as people do: "$595", "$1,195.50", "120 TWD"."""
    if amount is None:
        return ""
    whole = amount == amount.to_integral_value()
    number = f"{amount:,.0f}" if whole else f"{amount:,.2f}"
    return f"${number}" if currency == "USD" else f"{number} {currency}"


def ago(then: dt.datetime, now: dt.datetime) -> str:
    """Say how long ago `then` was: "just now", "8 minutes ago", "3 hours ago", "2 days ago"."""
    minutes = int((now - then).total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 90:
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    hours = minutes // 60
    if hours < 36:
        return f"{hours} hours ago"
    return f"{hours // 24} days ago"


def spoken_day(then: dt.datetime, now: dt.datetime, zone: dt.tzinfo) -> str:
    """Say which day `then` was in `zone`: "today", "yesterday", "on Monday 2 June"."""
    day, today = then.astimezone(zone).date(), now.astimezone(zone).date()
    if day == today:
        return "today"
    if day == today - dt.timedelta(days=1):
        return "yesterday"
    return f"on {day:%A} {day.day} {day:%B}"


def render_draft(kind: str, context: dict[str, Any]) -> str:
    """Render the call script of a kind from templates/moments/drafts/<kind>.txt."""
    text = render_to_string(f"moments/drafts/{kind}.txt", context)
    lines = [line.rstrip() for line in text.strip().splitlines()]
    # Template tags on lines of their own leave blank lines behind; keep one at most.
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"
