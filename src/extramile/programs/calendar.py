"""An associate's calendar feed: their clients' important dates and their open actions.

Built with the `icalendar` package, read by any calendar app that subscribes to the feed's URL
(RFC 5545). A date comes as an all-day event on its next occurrence, repeating yearly; an open
action as a quarter of an hour at its due time, with its reason and a link to it.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urljoin

import icalendar
from django.urls import reverse

from extramile.accounts.models import User
from extramile.clients.models import ClientStatus, ImportantDate
from extramile.moments.detectors.service_calls import store_zone
from extramile.moments.models import Action, ActionState

PRODID = "-//extramile//Associate calendar//EN"
ACTION_LENGTH = dt.timedelta(minutes=15)
HORIZON_DAYS = 366
REFRESH = dt.timedelta(hours=1)


def next_occurrence(month: int, day: int, *, today: dt.date) -> dt.date | None:
    """The next day with this month and day, today included, within a year; else None."""
    for year in (today.year, today.year + 1):
        try:
            when = dt.date(year, month, day)
        except ValueError:
            continue  # 29 February outside a leap year
        if today <= when <= today + dt.timedelta(days=HORIZON_DAYS):
            return when
    return None


def build_calendar(user: User, *, now: dt.datetime, base_url: str) -> bytes:
    """Return the user's feed as iCalendar bytes: their clients' dates and open actions."""
    zone = store_zone(user.store) if user.store else dt.UTC
    today = now.astimezone(zone).date()
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"extramile — {user.display_name}")
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    for event in _date_events(user, today=today, now=now, base_url=base_url):
        calendar.add_component(event)
    for event in _action_events(user, now=now, base_url=base_url):
        calendar.add_component(event)
    return calendar.to_ical()


def _date_events(
    user: User, *, today: dt.date, now: dt.datetime, base_url: str
) -> list[icalendar.Event]:
    dates = (
        ImportantDate.objects.filter(
            client__primary_associate=user,
            client__status__in=[ClientStatus.ACTIVE, ClientStatus.LAPSED],
        )
        .select_related("client")
        .order_by("month", "day", "id")
    )
    events = []
    for date in dates:
        when = next_occurrence(date.month, date.day, today=today)
        if when is None:
            continue
        client = date.client
        what = date.label or date.get_kind_display()
        if date.year:
            what += f" ({when.year - date.year})"
        url = urljoin(base_url, reverse("clients:profile", args=[client.pk]))
        event = icalendar.Event()
        event.add("uid", f"important-date-{date.pk}@extramile")
        event.add("dtstamp", now)
        event.add("dtstart", when)
        event.add("dtend", when + dt.timedelta(days=1))
        event.add("rrule", {"freq": "yearly"})
        event.add("summary", f"{client} — {what}")
        event.add("description", f"{client}: {what.lower()}. {url}")
        event.add("url", url)
        event.add("transp", "TRANSPARENT")
        events.append(event)
    return events


def _action_events(user: User, *, now: dt.datetime, base_url: str) -> list[icalendar.Event]:
    actions = (
        Action.objects.filter(associate=user, state=ActionState.OPEN)
        .select_related("client")
        .order_by("due_at", "id")
    )
    events = []
    for action in actions:
        url = urljoin(base_url, reverse("moments:action", args=[action.pk]))
        event = icalendar.Event()
        event.add("uid", f"action-{action.pk}@extramile")
        event.add("dtstamp", now)
        event.add("dtstart", action.due_at.astimezone(dt.UTC))
        event.add("duration", ACTION_LENGTH)
        event.add("summary", f"{action.get_kind_display()}: {action.client}")
        event.add("description", f"{action.reason}\n\n{url}")
        event.add("url", url)
        events.append(event)
    return events
