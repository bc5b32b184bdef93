"""Use cases of care: report, take on and resolve problems; make, keep and break promises.

The only place that writes problems and promises (the event appliers in
extramile.moments.event_apply write those that come in as events). Reporting a problem proposes
its recovery call at once, and resolving one its follow-up, through the same detectors the
events go through, so the app, the API and the events lead to the same actions.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from extramile.accounts.models import Store, User
from extramile.care.models import (
    Problem,
    ProblemKind,
    ProblemStatus,
    Promise,
    PromiseOutcome,
    Urgency,
)
from extramile.catalog.models import Product
from extramile.clients.models import Client
from extramile.moments.models import Action
from extramile.orders.models import Order

# A promise not kept within a full day after it was due is broken.
BROKEN_AFTER = dt.timedelta(days=1)


def store_zone(store: Store) -> ZoneInfo:
    """The store's time zone, in which promises are judged and times are said."""
    return ZoneInfo(store.time_zone or "UTC")


def _check_staff(user: User | None, store: Store, *, field: str) -> None:
    if user is None:
        return
    if not user.is_active or user.deactivated_at is not None:
        raise ValidationError({field: f"{user.display_name} is deactivated."})
    if user.store_id != store.pk and not user.is_admin:
        raise ValidationError({field: f"{user.display_name} does not work at {store.name}."})


# --- Problems --------------------------------------------------------------------------------


def report_problem(
    *,
    client: Client,
    kind: str,
    by: User | None,
    now: dt.datetime,
    description: str = "",
    urgency: str = Urgency.NORMAL,
    owner: User | None = None,
    promised_by: dt.datetime | None = None,
    order: Order | None = None,
    product: Product | None = None,
) -> Problem:
    """Record a problem a client met and propose its recovery call; return the problem."""
    store = client.store
    if kind not in ProblemKind.values:
        raise ValidationError({"kind": f"{kind!r} is not a kind of problem."})
    if urgency not in Urgency.values:
        raise ValidationError({"urgency": f"{urgency!r} is not an urgency (low, normal, urgent)."})
    _check_staff(owner, store, field="owner")
    if order is not None and (order.store_id != store.pk or order.client_id != client.pk):
        raise ValidationError({"order": "That order is not this client's."})
    if promised_by is not None and promised_by <= now:
        raise ValidationError({"promised_by": "The promised time must be still to come."})
    with transaction.atomic():
        problem = Problem.objects.create(
            store=store,
            client=client,
            kind=kind,
            description=description.strip(),
            urgency=urgency,
            owner=owner,
            promised_by=promised_by,
            order=order,
            product=product,
            reported_at=now,
            reported_by=by,
        )
        _propose_recovery(problem, now=now)
    return problem


def _propose_recovery(problem: Problem, *, now: dt.datetime) -> None:
    from extramile.moments.detectors import service_recovery
    from extramile.moments.proposals import propose_actions

    propose_actions(service_recovery.candidates_for(problem, now=now), now=now)


def update_problem(
    problem: Problem,
    *,
    urgency: str,
    owner: User | None,
    promised_by: dt.datetime | None,
) -> Problem:
    """Change a problem's urgency, owner and promised resolution time."""
    if urgency not in Urgency.values:
        raise ValidationError({"urgency": f"{urgency!r} is not an urgency (low, normal, urgent)."})
    _check_staff(owner, problem.store, field="owner")
    problem.urgency, problem.owner, problem.promised_by = urgency, owner, promised_by
    problem.save(update_fields=["urgency", "owner", "promised_by"])
    return problem


def start_problem(problem: Problem, *, by: User, now: dt.datetime) -> Problem:
    """Mark a problem in progress; whoever takes it on owns it if nobody did."""
    if problem.status == ProblemStatus.RESOLVED:
        raise ValidationError("This problem is already resolved.")
    if problem.status == ProblemStatus.IN_PROGRESS:
        return problem
    problem.status = ProblemStatus.IN_PROGRESS
    problem.started_at = now
    if problem.owner is None:
        problem.owner = by
    problem.save(update_fields=["status", "started_at", "owner"])
    return problem


def resolve_problem(problem: Problem, *, resolution: str, by: User, now: dt.datetime) -> Problem:
    """Mark a problem resolved, end its recovery call and propose the follow-up call."""
    from extramile.moments.detectors import problem_follow_up
    from extramile.moments.lifecycle import withdraw_moment
    from extramile.moments.proposals import propose_actions

    if problem.status == ProblemStatus.RESOLVED:
        raise ValidationError("This problem is already resolved.")
    if not resolution.strip():
        raise ValidationError({"resolution": "Say how it was put right."})
    with transaction.atomic():
        problem.status = ProblemStatus.RESOLVED
        problem.resolved_at = now
        problem.resolved_by = by
        problem.resolution = resolution.strip()
        if problem.owner is None:
            problem.owner = by
        problem.save(update_fields=["status", "resolved_at", "resolved_by", "resolution", "owner"])
        local = now.astimezone(store_zone(problem.store))
        withdraw_moment(
            f"service_recovery:{problem.pk}",
            reason=f"Problem resolved at {local:%H:%M} on {local:%A} {local.day} {local:%B}.",
            now=now,
        )
        propose_actions(problem_follow_up.candidates_for(problem, now=now), now=now)
    return problem


# --- Promises --------------------------------------------------------------------------------


def promise_outcome(*, due_at: dt.datetime, kept_at: dt.datetime, zone: dt.tzinfo) -> str:
    """Judge a kept promise: early, on time, late, or broken (see care.models.Promise)."""
    if kept_at >= due_at + BROKEN_AFTER:
        return PromiseOutcome.BROKEN
    if kept_at > due_at:
        return PromiseOutcome.KEPT_LATE
    if kept_at.astimezone(zone).date() < due_at.astimezone(zone).date():
        return PromiseOutcome.KEPT_EARLY
    return PromiseOutcome.KEPT_ON_TIME


def due_moment(day: dt.date, time: dt.time | None, *, store: Store) -> dt.datetime:
    """The moment a promise is due: the day at the time given, else at the end of that day."""
    clock = time if time is not None else dt.time(23, 59)
    return dt.datetime.combine(day, clock, tzinfo=store_zone(store)).astimezone(dt.UTC)


def make_promise(
    *,
    client: Client,
    text: str,
    due_at: dt.datetime,
    by: User | None,
    now: dt.datetime,
    action: Action | None = None,
    problem: Problem | None = None,
    external_ref: str | None = None,
) -> Promise:
    """Record a promise made to a client, on an action or a problem or on its own."""
    text = text.strip()
    if not text:
        raise ValidationError({"text": "Say what was promised."})
    if due_at <= now:
        raise ValidationError({"due_at": "A promise is due after it is made."})
    for record, name in ((action, "action"), (problem, "problem")):
        if record is not None and record.client_id != client.pk:
            raise ValidationError({name: f"That {name} is about another client."})
    _check_staff(by, client.store, field="made_by")
    return Promise.objects.create(
        store=client.store,
        client=client,
        action=action,
        problem=problem,
        text=text,
        due_at=due_at,
        made_by=by,
        made_at=now,
        external_ref=external_ref,
    )


class PromiseClosed(ValidationError):
    """A promise already kept."""


def keep_promise(promise: Promise, *, by: User, now: dt.datetime) -> Promise:
    """Record that a promise was kept at `now`, and judge how (a broken one stays broken)."""
    with transaction.atomic():
        locked = Promise.objects.select_for_update().get(pk=promise.pk)
        if locked.kept_at is not None:
            raise PromiseClosed("This promise is already kept.")
        locked.kept_at = now
        locked.kept_by = by
        if locked.outcome != PromiseOutcome.BROKEN:
            locked.outcome = promise_outcome(
                due_at=locked.due_at, kept_at=now, zone=store_zone(promise.store)
            )
            if locked.outcome == PromiseOutcome.BROKEN:
                locked.broken_at = locked.due_at + BROKEN_AFTER
        locked.save(update_fields=["kept_at", "kept_by", "outcome", "broken_at"])
    promise.kept_at, promise.kept_by = locked.kept_at, locked.kept_by
    promise.outcome, promise.broken_at = locked.outcome, locked.broken_at
    return promise


def mark_broken_promises(*, now: dt.datetime) -> int:
    """Mark broken every promise still unkept a full day after it was due; return how many."""
    overdue = Promise.objects.filter(
        outcome="", kept_at__isnull=True, due_at__lte=now - BROKEN_AFTER
    )
    return overdue.update(outcome=PromiseOutcome.BROKEN, broken_at=F("due_at") + BROKEN_AFTER)
