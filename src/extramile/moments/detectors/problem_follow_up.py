"""Problem follow-up: a day after a problem is put right, call to make sure the client is happy.

A resolution ends the recovery call if it is still open (the problem is put right), and adds a
follow-up call due the next morning in the store's time zone (FOLLOW_UP_AT, 10:00), at least
a full day after the resolution when that falls later, open for three days. A call, not an
email: this is where one conversation does more than six messages (story S5).

It answers the problem.resolved event at once; the calendar sweep also looks at problems
resolved in the last LOOK_BACK (three days) so that a problem resolved in the app or through
the API gets its follow-up too. The key (problem_follow_up:<problem id>) keeps it to one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from extramile.accounts.models import Store, User, is_working
from extramile.care.models import Problem, ProblemStatus
from extramile.moments.candidates import Candidate
from extramile.moments.detectors.service_calls import (
    associate_first_name,
    clock_time,
    first_name,
    render_draft,
    sentence,
    store_zone,
)
from extramile.moments.models import ActionChannel, ActionKind, Event

EVENT_TYPES = ("problem.resolved",)
WITHDRAWN_BY = ("problem.resolved",)
FOLLOW_UP_AT = dt.time(10, 0)
MIN_WAIT = dt.timedelta(hours=20)
OPEN_FOR = dt.timedelta(days=3)
LOOK_BACK = dt.timedelta(days=3)
SCORE = 0.85


def _resolved_problem(event: Event) -> Problem | None:
    ref = (event.data.get("problem") or {}).get("id")
    if not ref:
        return None
    return (
        Problem.objects.select_related(
            "store", "client", "client__primary_associate", "owner", "resolved_by", "product"
        )
        .filter(external_ref=str(ref))
        .first()
    )


def on_event(event: Event, *, now: dt.datetime) -> list[Candidate]:
    """Propose the follow-up call of the problem the event resolved."""
    problem = _resolved_problem(event)
    return candidates_for(problem, now=now) if problem is not None else []


def withdrawn_by(event: Event) -> list[tuple[str, str]]:
    """End the open recovery call of a problem that has been resolved."""
    problem = _resolved_problem(event)
    if problem is None or problem.status != ProblemStatus.RESOLVED:
        return []
    at = problem.resolved_at or event.occurred_at
    when = clock_time(at, store_zone(problem.store))
    return [(f"service_recovery:{problem.pk}", f"Problem resolved {when}.")]


def detect(*, now: dt.datetime, stores: Iterable[Store]) -> list[Candidate]:
    """Propose follow-ups for problems resolved lately, however they were resolved."""
    problems = Problem.objects.filter(
        store__in=list(stores),
        status=ProblemStatus.RESOLVED,
        resolved_at__gte=now - LOOK_BACK,
        resolved_at__lte=now,
    ).select_related(
        "store", "client", "client__primary_associate", "owner", "resolved_by", "product"
    )
    return [candidate for problem in problems for candidate in candidates_for(problem, now=now)]


def follow_up_due(resolved_at: dt.datetime, store: Store) -> dt.datetime:
    """The next morning (10:00 in the store's zone) at least MIN_WAIT after the resolution."""
    zone = store_zone(store)
    day = resolved_at.astimezone(zone).date() + dt.timedelta(days=1)
    due = dt.datetime.combine(day, FOLLOW_UP_AT, tzinfo=zone)
    while due < resolved_at + MIN_WAIT:
        day += dt.timedelta(days=1)
        due = dt.datetime.combine(day, FOLLOW_UP_AT, tzinfo=zone)
    return due.astimezone(dt.UTC)


def _caller(problem: Problem) -> User | None:
    """The owner, else whoever resolved it, if still active; None: the client's associate."""
    for user in (problem.owner, problem.resolved_by):
        if user is not None and is_working(user):
            return user
    return None


def candidates_for(problem: Problem, *, now: dt.datetime) -> list[Candidate]:
    """Propose one follow-up call for a resolved problem (none for one still open)."""
    if problem.status != ProblemStatus.RESOLVED or problem.resolved_at is None:
        return []
    client = problem.client
    zone = store_zone(problem.store)
    name = first_name(client)
    what = problem.get_kind_display().lower()
    if problem.product is not None:
        what += f" ({problem.product.title})"
    resolution = problem.resolution.strip()
    how = f": {resolution.rstrip('.')}" if resolution else ""
    reason = (
        f"{name}'s problem, a {what} reported {clock_time(problem.reported_at, zone)}, was "
        f"resolved {clock_time(problem.resolved_at, zone)}{how}. Call to make sure {name} is "
        "happy with how it was put right."
    )
    caller = _caller(problem)
    due = follow_up_due(problem.resolved_at, problem.store)
    return [
        Candidate(
            kind=ActionKind.PROBLEM_FOLLOW_UP,
            client=client,
            key=f"problem_follow_up:{problem.pk}",
            reason=sentence(reason),
            due_at=due,
            expires_at=due + OPEN_FOR,
            score=SCORE,
            evidence={
                "problem": {
                    "id": problem.pk,
                    "kind": problem.kind,
                    "ref": problem.external_ref,
                    "reported_at": problem.reported_at.isoformat(),
                    "resolved_at": problem.resolved_at.isoformat(),
                    "resolution": problem.resolution,
                }
            },
            channel=ActionChannel.PHONE,
            draft=render_draft(
                ActionKind.PROBLEM_FOLLOW_UP,
                {
                    "client_first": name,
                    "associate_first": (caller.first_name or caller.get_username())
                    if caller is not None
                    else associate_first_name(client, now=now),
                    "store_name": problem.store.name,
                    "what": what,
                    "resolution": resolution,
                },
            ),
            associate=caller,
            occasion=f"problem_follow_up:{problem.external_ref or problem.pk}",
        )
    ]
