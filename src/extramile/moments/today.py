"""What the Today pages show: an associate's actions for the day, a store's board, the evidence."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet

from extramile.accounts.access import scope_to_user
from extramile.accounts.models import Absence, Role, Store, User
from extramile.care.models import Promise
from extramile.moments.models import Action, ActionState

# Held-out actions are the control group and suppressed ones were stopped by a rule: recorded,
# never shown to anyone, on any page.
HIDDEN_STATES = (ActionState.HELD_OUT, ActionState.SUPPRESSED)


def visible_actions(user: User) -> QuerySet[Action]:
    """Return the actions this user may see: their store's (admins every store's), none hidden."""
    return scope_to_user(Action.objects.exclude(state__in=HIDDEN_STATES), user)


def store_zone(store: Store | None) -> ZoneInfo:
    """The store's time zone, in which its staff live their day."""
    return ZoneInfo(store.time_zone if store is not None and store.time_zone else "UTC")


def end_of_day(now: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Return midnight at the end of `now`'s day in `zone`."""
    tomorrow = now.astimezone(zone).date() + dt.timedelta(days=1)
    return dt.datetime.combine(tomorrow, dt.time(0, 0), tzinfo=zone)


def start_of_day(now: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Return midnight at the start of `now`'s day in `zone`."""
    return dt.datetime.combine(now.astimezone(zone).date(), dt.time(0, 0), tzinfo=zone)


def open_for_today(
    actions: QuerySet[Action], *, now: dt.datetime, zone: ZoneInfo
) -> QuerySet[Action]:
    """Narrow to the actions to work on by the end of today, best first.

    Open means open, or snoozed with its time come (the engine run wakes it; until then it
    already counts); an action past its expiry has missed its moment and is left out.
    """
    woken = Q(state=ActionState.SNOOZED, snoozed_until__lte=now)
    return (
        actions.filter(Q(state=ActionState.OPEN) | woken)
        .filter(due_at__lt=end_of_day(now, zone))
        .exclude(expires_at__lte=now)
        .select_related("client", "associate")
        .order_by("-priority", "due_at", "id")
    )


@dataclass
class DayList:
    """The actions due by now, those due later today, and how many were closed today.

    `promises` holds the user's own promises due by the end of today (or overdue) and not yet
    kept or broken, soonest first: each has a Kept button on Today.
    """

    now: list[Action] = field(default_factory=list)
    later: list[Action] = field(default_factory=list)
    done_today: int = 0
    promises: list[Promise] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Open actions for today."""
        return len(self.now) + len(self.later)


def _split(actions: QuerySet[Action], *, now: dt.datetime) -> DayList:
    day = DayList()
    for action in actions:
        (day.now if action.due_at <= now else day.later).append(action)
    return day


def _closed_today(actions: QuerySet[Action], *, now: dt.datetime, zone: ZoneInfo) -> QuerySet:
    return actions.filter(
        state=ActionState.DONE, completed_at__gte=start_of_day(now, zone), completed_at__lte=now
    )


def todays_actions(user: User, *, now: dt.datetime) -> DayList:
    """Return the user's own open actions for today, split into now and later, best first."""
    zone = store_zone(user.store)
    mine = visible_actions(user).filter(associate=user)
    day = _split(open_for_today(mine, now=now, zone=zone), now=now)
    day.done_today = _closed_today(mine, now=now, zone=zone).count()
    day.promises = promises_due(user, now=now)
    return day


def promises_due(user: User, *, now: dt.datetime) -> list[Promise]:
    """Return the user's open promises due by the end of today in their store's zone."""
    promises = scope_to_user(Promise.objects.all(), user).filter(
        made_by=user, outcome="", due_at__lt=end_of_day(now, store_zone(user.store))
    )
    return list(promises.select_related("client", "store", "made_by").order_by("due_at", "id"))


@dataclass
class TeamGroup:
    """One associate's day on the store's board; `associate` None holds unassigned actions."""

    associate: User | None
    day: DayList
    away: Absence | None = None  # the absence covering today, with its backup


def team_board(store: Store, *, now: dt.datetime) -> list[TeamGroup]:
    """Return the store's open actions for today grouped by associate, every active one listed."""
    zone = store_zone(store)
    actions = Action.objects.filter(store=store).exclude(state__in=HIDDEN_STATES)
    groups: dict[int | None, TeamGroup] = {}
    staff = User.objects.filter(
        store=store, is_active=True, role__in=(Role.ASSOCIATE, Role.MANAGER)
    ).order_by("first_name", "last_name", "username")
    for member in staff:
        groups[member.pk] = TeamGroup(member, DayList())
    for action in open_for_today(actions, now=now, zone=zone):
        group = groups.get(action.associate_id)
        if group is None:
            group = groups[action.associate_id] = TeamGroup(action.associate, DayList())
        (group.day.now if action.due_at <= now else group.day.later).append(action)
    done = _closed_today(actions, now=now, zone=zone).values_list("associate_id", flat=True)
    for associate_id in done:
        if associate_id in groups:
            groups[associate_id].day.done_today += 1
    today = now.astimezone(zone).date()
    absent = Absence.objects.filter(
        user_id__in=[pk for pk in groups if pk is not None],
        starts_on__lte=today,
        ends_on__gte=today,
    ).select_related("backup")
    for absence in absent.order_by("starts_on", "id"):
        groups[absence.user_id].away = absence
    # Unassigned actions come last, since someone has to pick them up.
    return sorted(groups.values(), key=lambda group: group.associate is None)


EMPTY: tuple[Any, ...] = (None, "", [], {})
NAME_KEYS = ("title", "name")
# Kept for "All the data" but not read out: database ids, links the page already gives, and
# the complements model's statistics (the reason says what they mean in words).
INTERNAL_KEYS = frozenset(
    {"id", "uid", "event", "page", "link", "support", "lift", "confidence", "baskets_with_item"}
)
CODE_WORDS = re.compile(r"^[a-z]+(?:_[a-z]+)+$")  # an enum value such as "left_behind"


def _shown(key: Any, value: Any) -> bool:
    name = str(key)
    return value not in EMPTY and name not in INTERNAL_KEYS and not name.endswith(("_id", "_ids"))


def readable_evidence(evidence: Any, *, zone: ZoneInfo) -> list[tuple[str, str]]:
    """Turn a detector's evidence into label/value lines a person can read, by label.

    A list of records reads one record a line, each named by its title and told by its plain
    fields; deeper nesting is left to the raw data shown beside it. PostgreSQL's jsonb keeps no
    key order, so the lines are sorted to read the same everywhere.
    """
    if not isinstance(evidence, dict):
        return [("Evidence", _readable_value(evidence, zone, depth=0))] if evidence else []
    return sorted(
        (_label(key), _readable_value(value, zone, depth=0))
        for key, value in evidence.items()
        if _shown(key, value)
    )


def _label(key: str) -> str:
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _readable_value(value: Any, zone: ZoneInfo, *, depth: int) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, dict):
        return _readable_record(value, zone, depth=depth)
    if isinstance(value, list | tuple):
        parts = [_readable_value(item, zone, depth=depth + 1) for item in value]
        one_a_line = any(isinstance(item, dict) for item in value)
        return ("\n" if one_a_line else ", ").join(parts)
    if isinstance(value, str):
        if CODE_WORDS.match(value):
            return value.replace("_", " ")
        return _readable_time(value, zone) or value
    return str(value)


def _readable_record(record: dict[str, Any], zone: ZoneInfo, *, depth: int) -> str:
    name = next((str(record[key]) for key in NAME_KEYS if record.get(key)), "")
    parts = [
        f"{_label(key).lower()}: {_readable_value(value, zone, depth=depth + 1)}"
        for key, value in sorted(record.items())
        if key not in NAME_KEYS
        and _shown(key, value)
        # Inside a list, a record shows its plain fields only, so that it stays one line.
        and not (depth > 0 and isinstance(value, dict | list))
    ]
    if name:
        return f"{name} ({'; '.join(parts)})" if parts else name
    return "; ".join(parts)


def _readable_time(text: str, zone: ZoneInfo) -> str | None:
    """Show an ISO date or time the way the store reads it, else None."""
    if len(text) < 10 or not text[:4].isdigit() or text[4] != "-":
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if len(text) == 10:
        return f"{moment:%a} {moment.day} {moment:%b %Y}"
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return f"{moment:%a} {moment.day} {moment:%b %Y, %H:%M}"
