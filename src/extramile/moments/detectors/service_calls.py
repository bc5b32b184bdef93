"""What the three service detectors share: finding an event's order or problem, words, drafts."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.template.loader import render_to_string
from django.utils import timezone

from extramile.accounts.models import Absence, Store, backup_on, is_working
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


def associate_first_name(client: Client, *, now: dt.datetime | None = None) -> str:
    """The first name of whoever will make the call, else a placeholder.

    That is the client's associate or, while they are away today (in the store's zone), the
    backup who takes their clients' service calls (extramile.moments.proposals routes them so).
    """
    associate = client.primary_associate
    if associate is None or not is_working(associate):
        return YOUR_NAME
    today = (now or timezone.now()).astimezone(ZoneInfo(client.store.time_zone or "UTC")).date()
    away = Absence.objects.filter(user=associate, starts_on__lte=today, ends_on__gte=today)
    caller = backup_on(away.select_related("backup").order_by("starts_on", "id"), today)
    caller = caller or associate
    return caller.first_name or caller.get_username()


def money(amount: Decimal | None, currency: str = "USD") -> str:
    """Say an amount as people do: "$595", "$1,195.50", "120 TWD"."""
    if amount is None:
        return ""
    whole = amount == amount.to_integral_value()
    number = f"{amount:,.0f}" if whole else f"{amount:,.2f}"
    return f"${number}" if currency == "USD" else f"{number} {currency}"


def store_zone(store: Store) -> ZoneInfo:
    """The store's time zone, in which an associate reads the times of a reason."""
    return ZoneInfo(store.time_zone or "UTC")


def spoken_date(then: dt.datetime, zone: dt.tzinfo) -> str:
    """Say the day of `then` in `zone`, to be read any day after: "Saturday 21 November"."""
    day = then.astimezone(zone).date()
    return f"{day:%A} {day.day} {day:%B}"


def clock_time(then: dt.datetime, zone: dt.tzinfo) -> str:
    """Say when `then` was in `zone`, true whenever it is read: "at 14:32 on Saturday 21 November".

    A reason is stored and read later, so it never says "8 minutes ago" or "yesterday".
    """
    return f"at {then.astimezone(zone):%H:%M} on {spoken_date(then, zone)}"


def render_draft(kind: str, context: dict[str, Any]) -> str:
    """Render the call script of a kind from templates/moments/drafts/<kind>.txt."""
    text = render_to_string(f"moments/drafts/{kind}.txt", context)
    lines = [line.rstrip() for line in text.strip().splitlines()]
    # Template tags on lines of their own leave blank lines behind; keep one at most.
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"
