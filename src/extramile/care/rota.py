"""Who answers a problem: whether the store is open at a moment, and who is on call out of hours.

Read-only: the opening hours and on-call shifts are kept by the store's manager in the admin.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from extramile.accounts.models import Role, Store, User, is_working
from extramile.care.models import OnCallShift, OpeningHours, Problem, Urgency


def _zone(store: Store) -> ZoneInfo:
    return ZoneInfo(store.time_zone or "UTC")


def is_open_at(store: Store, moment: dt.datetime) -> bool:
    """Say whether the store is open at `moment`, by its opening hours in its time zone.

    A store that has entered no opening hours is taken as open: nothing is out of hours
    until its manager says when it opens.
    """
    hours = list(OpeningHours.objects.filter(store=store))
    if not hours:
        return True
    local = moment.astimezone(_zone(store))
    clock = local.time()
    return any(
        row.weekday == local.weekday() and row.opens_at <= clock < row.closes_at for row in hours
    )


def on_call_at(store: Store, moment: dt.datetime) -> User | None:
    """Return the active associate whose on-call shift for the store covers `moment`, if any."""
    shift = (
        OnCallShift.objects.filter(
            store=store,
            starts_at__lte=moment,
            ends_at__gt=moment,
            associate__is_active=True,
            associate__deactivated_at__isnull=True,
        )
        .select_related("associate")
        .order_by("starts_at", "id")
        .first()
    )
    return shift.associate if shift is not None else None


def store_manager(store: Store) -> User | None:
    """Return the store's first active manager, who answers when nobody is on call."""
    return (
        User.objects.filter(
            store=store, role=Role.MANAGER, is_active=True, deactivated_at__isnull=True
        )
        .order_by("id")
        .first()
    )


@dataclass(frozen=True)
class Routing:
    """Who should answer a problem, and the words that say why (empty: the usual associate)."""

    associate: User | None
    why: str = ""
    out_of_hours: bool = False
    on_call: bool = False


def route_problem(problem: Problem, *, now: dt.datetime, when: str) -> Routing:
    """Decide who answers a problem: on call out of hours when urgent, else its owner or usual.

    `when` is the reported time in words ("at 22:05 on Saturday 21 November"). An urgent
    problem reported while the store is closed goes to whoever is on call now (or, if the shift
    has just ended, when it was reported); with nobody on call it goes to the store manager.
    In hours, or when not urgent, it goes to the problem's owner if there is one, else the
    client's own associate (None here lets the rules of contact pick them).
    """
    store = problem.store
    if problem.urgency == Urgency.URGENT and not is_open_at(store, problem.reported_at):
        on_call = on_call_at(store, now) or on_call_at(store, problem.reported_at)
        if on_call is not None:
            return Routing(
                on_call,
                f"Reported {when}, after closing; you are on call",
                out_of_hours=True,
                on_call=True,
            )
        manager = store_manager(store)
        return Routing(
            manager,
            f"Reported {when}, after closing, and no one was on call; it comes to you as the "
            "store manager",
            out_of_hours=True,
        )
    owner = problem.owner
    if owner is not None and is_working(owner):
        return Routing(owner)
    return Routing(None)
