"""Care's part of the client's timeline: problems from report to follow-up, and promises."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from django.urls import reverse

from extramile.care.models import Promise, PromiseOutcome
from extramile.clients.models import Client
from extramile.clients.services import TimelineEntry
from extramile.moments.models import Action, ActionKind, ActionState


def _said(moment: dt.datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%H:%M} on {local:%A} {local.day} {local:%B}"


def _name(user: object) -> str:
    return getattr(user, "display_name", "") if user is not None else ""


def problem_entries(client: Client) -> Iterable[TimelineEntry]:
    """Each problem reported, taken on and resolved, and its follow-up call."""
    # The follow-up comes first: entries at the same moment keep their order, newest first.
    follow_ups = Action.objects.filter(
        client=client, kind=ActionKind.PROBLEM_FOLLOW_UP
    ).select_related("associate", "completed_by")
    for action in follow_ups:
        link = reverse("moments:action", args=[action.pk])
        if action.state in (ActionState.HELD_OUT, ActionState.SUPPRESSED):
            continue
        yield TimelineEntry(
            at=action.created_at,
            kind="problem_follow_up",
            title="Follow-up call planned after the problem",
            detail=action.reason,
            actor=_name(action.associate),
            link=link,
        )
        if action.state == ActionState.DONE and action.completed_at is not None:
            yield TimelineEntry(
                at=action.completed_at,
                kind="problem_follow_up_done",
                title="Follow-up call made",
                detail=action.outcome,
                actor=_name(action.completed_by),
                link=link,
            )
    problems = client.problems.select_related(
        "store", "reported_by", "owner", "resolved_by", "product"
    )
    for problem in problems:
        steps: list[TimelineEntry] = []
        zone = ZoneInfo(problem.store.time_zone or "UTC")
        link = reverse("care:problem", args=[problem.pk])
        what = problem.get_kind_display()
        if problem.product is not None:
            what += f": {problem.product.title}"
        facts = [f"{problem.get_urgency_display()} urgency"]
        if problem.owner is not None:
            facts.append(f"owner {problem.owner.display_name}")
        if problem.promised_by is not None:
            facts.append(f"promised by {_said(problem.promised_by, zone)}")
        detail = " · ".join(facts)
        if problem.description:
            detail = f"{problem.description} — {detail}"
        steps.append(
            TimelineEntry(
                at=problem.reported_at,
                kind="problem_reported",
                title=f"Problem reported · {what}",
                detail=detail,
                actor=_name(problem.reported_by),
                link=link,
            )
        )
        if problem.started_at is not None:
            steps.append(
                TimelineEntry(
                    at=problem.started_at,
                    kind="problem_in_progress",
                    title=f"Problem in progress · {what}",
                    actor=_name(problem.owner),
                    link=link,
                )
            )
        if problem.resolved_at is not None:
            steps.append(
                TimelineEntry(
                    at=problem.resolved_at,
                    kind="problem_resolved",
                    title=f"Problem resolved · {what}",
                    detail=problem.resolution,
                    actor=_name(problem.resolved_by),
                    link=link,
                )
            )
        yield from reversed(steps)


OUTCOME_TITLES: dict[str, str] = {
    PromiseOutcome.KEPT_EARLY: "Promise kept early",
    PromiseOutcome.KEPT_ON_TIME: "Promise kept on time",
    PromiseOutcome.KEPT_LATE: "Promise kept late",
    PromiseOutcome.BROKEN: "Promise kept, after it was broken",
}


def promise_entries(client: Client) -> Iterable[TimelineEntry]:
    """Each promise made to the client, and how it ended: kept (early, on time, late) or broken."""
    promises: Iterable[Promise] = client.promises.select_related("store", "made_by", "kept_by")
    for promise in promises:
        steps: list[TimelineEntry] = []
        zone = ZoneInfo(promise.store.time_zone or "UTC")
        text, due = promise.text, _said(promise.due_at, zone)
        steps.append(
            TimelineEntry(
                at=promise.made_at,
                kind="promise_made",
                title=f"Promise made · {promise.text}",
                detail=f"Due {_said(promise.due_at, zone)}",
                actor=_name(promise.made_by),
            )
        )
        if promise.broken_at is not None:
            steps.append(
                TimelineEntry(
                    at=promise.broken_at,
                    kind="promise_broken",
                    title=f"Promise broken · {promise.text}",
                    detail=f"Not kept a full day after it was due ({_said(promise.due_at, zone)})",
                )
            )
        if promise.kept_at is not None:
            steps.append(
                TimelineEntry(
                    at=promise.kept_at,
                    kind=f"promise_{promise.outcome}",
                    title=f"{OUTCOME_TITLES.get(promise.outcome, 'Promise kept')} · {text}",
                    detail=f"Due {due}, kept {_said(promise.kept_at, zone)}",
                    actor=_name(promise.kept_by),
                )
            )
        yield from reversed(steps)
