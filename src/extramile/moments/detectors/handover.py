"""Handover: when an associate leaves, each new owner introduces themselves, with a brief.

accounts.services.hand_over_clients gives each of the leaver's clients to a colleague and
records a ClientHandover; the `associate.deactivated` event then asks this detector for one
action per handover, for the new owner (whoever deactivated them: a manager on the Staff page,
the admin, the API or the command line, the path is the same). The action carries the brief the
new owner needs to pick the relationship up: what the client likes and dislikes, their sizes,
open problems and promises, the last three things that happened, and their next important date;
and a drafted warm introduction in the new owner's voice that names the colleague who left.

Its key names the handover itself, so running the event again adds nothing, and a client handed
over twice (their second associate leaves too) gets a second introduction.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.db.models import Count, Min, Sum
from django.template.loader import render_to_string

from extramile.accounts.models import ClientHandover, User
from extramile.care.models import Problem, ProblemStatus
from extramile.clients.models import Channel, Client, ClientStatus, ImportantDate
from extramile.clients.services import TIMELINE_SOURCES, TimelineEntry, current_consents
from extramile.moments.candidates import Candidate
from extramile.moments.detectors.calendar_support import _clean
from extramile.moments.detectors.service_calls import (
    clock_time,
    first_name,
    money,
    sentence,
    store_zone,
)
from extramile.moments.models import ActionChannel, ActionKind, Event
from extramile.orders.models import OrderStatus

logger = logging.getLogger(__name__)

EVENT_TYPES = ("associate.deactivated",)
# The introduction is not urgent, but should come before the client has to ask.
EXPIRES_AFTER = dt.timedelta(days=21)
SCORE = 0.6
LAST_INTERACTIONS = 3
# Timeline entries that are records rather than interactions with the client.
NOT_INTERACTIONS = frozenset({"handover", "consent"})


def on_event(event: Event, *, now: dt.datetime) -> list[Candidate]:
    """Propose a handover action for each client the deactivated associate handed over."""
    username = event.data.get("associate", {}).get("username")
    leaver = User.objects.filter(username=username).first()
    if leaver is None:
        return []
    handovers = (
        ClientHandover.objects.filter(from_associate=leaver, to_associate__isnull=False)
        .exclude(client__status=ClientStatus.MERGED)
        .select_related("client", "client__store", "to_associate", "from_associate", "store")
        .order_by("id")
    )
    return [handover_candidate(handover, now=now) for handover in handovers]


def handover_candidate(handover: ClientHandover, *, now: dt.datetime) -> Candidate:
    """The new owner's introduction to one client, with the brief behind it."""
    client = handover.client
    leaver, owner = handover.from_associate, handover.to_associate
    assert leaver is not None
    assert owner is not None
    zone = store_zone(client.store)
    brief = handover_brief(client, now=now)
    name = client.full_name or str(client)
    served = handover.why == "served them before"
    reason = (
        f"{leaver.display_name} left {client.store.name} "
        f"{clock_time(handover.handed_over_at, zone)}; {name} is now your client"
        + (", and you have served them before" if served else "")
        + f". Introduce yourself before {first_name(client)} has to ask for "
        f"{leaver.first_name or leaver.username}; the handover brief tells you what "
        f"{leaver.first_name or leaver.username} knew."
    )
    channel = _channel(client)
    call = channel == ActionChannel.PHONE
    context = {
        "call": call,
        "client_first": first_name(client),
        "owner_first": owner.first_name or owner.username,
        "previous_first": leaver.first_name or leaver.username,
        "store_name": client.store.name,
        "store_phone": client.store.phone,
        "served": served,
        "problem": brief["open_problems"][0]["what"] if brief["open_problems"] else "",
    }
    subject = "" if call else _render("handover_subject", context)
    return Candidate(
        kind=ActionKind.HANDOVER,
        client=client,
        key=f"handover:{client.pk}:{handover.pk}",
        occasion=f"handover:{leaver.username}:{handover.handed_over_at:%Y%m%d}",
        reason=sentence(reason),
        due_at=handover.handed_over_at,
        expires_at=max(handover.handed_over_at, now) + EXPIRES_AFTER,
        score=SCORE,
        evidence={
            "previous_associate": leaver.display_name,
            "handed_over_at": handover.handed_over_at.isoformat(),
            "why_you": handover.why,
            "brief": brief,
        },
        channel=channel,
        subject=subject,
        draft=_render("handover", context) + "\n",
        associate=owner,
    )


def _render(name: str, context: dict[str, Any]) -> str:
    text = _clean(render_to_string(f"moments/drafts/{name}.txt", context))
    return " ".join(text.split()) if name.endswith("_subject") else text


def _channel(client: Client) -> ActionChannel:
    """A letter when the client agreed to email, else a call (a service call needs no consent)."""
    consent = current_consents(client).get(Channel.EMAIL)
    if client.email and consent is not None and consent.granted:
        return ActionChannel.EMAIL
    return ActionChannel.PHONE


# --- The brief -------------------------------------------------------------------------------


def handover_brief(client: Client, *, now: dt.datetime) -> dict[str, Any]:
    """What a new owner needs to know about a client, each part said in plain words."""
    zone = store_zone(client.store)
    likes: list[str] = []
    dislikes: list[str] = []
    for pref in client.preferences.order_by("dimension", "value"):
        said = f"{pref.get_dimension_display()}: {pref.value}"
        (likes if pref.likes else dislikes).append(said)
    return {
        "client_since": _since(client),
        "purchases": _purchases(client),
        "likes": likes,
        "dislikes": dislikes,
        "sizes": [f"{size.category}: {size.size}" for size in client.sizes.order_by("category")],
        "open_needs": list(
            client.needs.filter(met_at__isnull=True)
            .order_by("stated_at")
            .values_list("text", flat=True)
        ),
        "open_problems": [
            {
                "what": _problem_words(problem),
                "said": f"{problem.get_kind_display()}: {_problem_words(problem)}, reported "
                f"{_when(problem.reported_at, zone, now)}",
            }
            for problem in Problem.objects.filter(client=client, status=ProblemStatus.OPEN)
            .select_related("product", "order")
            .order_by("reported_at")
        ],
        "open_promises": open_promises(client, now=now),
        "last_interactions": [
            f"{_when(entry.at, zone, now)}: {entry.title}"
            + (f" — {_short(entry.detail)}" if entry.detail else "")
            + (f" ({entry.actor})" if entry.actor else "")
            for entry in last_interactions(client)
        ],
        "next_important_date": _next_date(client, today=now.astimezone(zone).date()),
    }


def last_interactions(client: Client) -> list[TimelineEntry]:
    """The latest entries of the client's timeline, leaving out handovers themselves.

    A source that fails is logged and left out: a brief short of one line beats a handover
    that cannot be made.
    """
    entries: list[TimelineEntry] = []
    for source in TIMELINE_SOURCES:
        try:
            # A savepoint, so a failed query leaves the surrounding transaction usable.
            with transaction.atomic():
                entries.extend(e for e in source(client) if e.kind not in NOT_INTERACTIONS)
        except Exception:
            logger.exception("Timeline source %s failed for client %s.", source, client.pk)
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:LAST_INTERACTIONS]


def _since(client: Client) -> str:
    first = client.orders.aggregate(first=Min("placed_at"))["first"]
    since = min(first, client.created_at) if first else client.created_at
    return f"{since.astimezone(store_zone(client.store)):%B %Y}"


def _purchases(client: Client) -> str:
    bought = client.orders.exclude(status=OrderStatus.CANCELLED).aggregate(
        n=Count("id"), total=Sum("total")
    )
    if not bought["n"]:
        return "No purchases yet"
    orders = "1 order" if bought["n"] == 1 else f"{bought['n']} orders"
    return f"{orders}, {money(bought['total'], client.store.currency)} in all"


def _problem_words(problem: Problem) -> str:
    if problem.description:
        return _short(problem.description)
    thing = problem.product.title if problem.product else ""
    if problem.order is not None:
        thing = thing or f"order {problem.order.external_ref}"
    return f"{problem.get_kind_display().lower()}{f' ({thing})' if thing else ''}"


def _short(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _when(at: dt.datetime, zone: dt.tzinfo, now: dt.datetime) -> str:
    """Say when, as "at 14:32 on Saturday 21 November", with the year if not this one."""
    said = clock_time(at, zone)
    if at.astimezone(zone).year != now.astimezone(zone).year:
        said += f" {at.astimezone(zone).year}"
    return said


def _next_date(client: Client, *, today: dt.date) -> str:
    """The client's next important date, said with its weekday: "Birthday: Friday 20 March"."""
    best: tuple[dt.date, ImportantDate] | None = None
    for date in client.important_dates.all():
        day = _next_occurrence(date.month, date.day, today)
        if day is not None and (best is None or day < best[0]):
            best = (day, date)
    if best is None:
        return ""
    day, date = best
    label = date.label or date.get_kind_display()
    year = f" {day.year}" if day.year != today.year else ""
    return f"{label}: {day:%A} {day.day} {day:%B}{year}"


def _next_occurrence(month: int, day: int, today: dt.date) -> dt.date | None:
    for year in (today.year, today.year + 1):
        try:
            found = dt.date(year, month, day)
        except ValueError:  # 29 February in a common year: kept on the 28th
            try:
                found = dt.date(year, month, day - 1)
            except ValueError:
                return None
        if found >= today:
            return found
    return None


def open_promises(client: Client, *, now: dt.datetime) -> list[str]:
    """The client's promises not yet kept or broken: "Call back about the hem, due at 17:00 on…"."""
    from extramile.care import models as care_models

    promise_model: Any = getattr(care_models, "Promise", None)  # promises came after handovers
    if promise_model is None:
        return []
    zone = store_zone(client.store)
    return [
        f"{_short(promise.text)}, due {_when(promise.due_at, zone, now)}"
        for promise in promise_model.objects.filter(client=client, outcome="").order_by("due_at")
    ]
