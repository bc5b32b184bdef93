"""What an associate does with an action: complete, skip, snooze, log a call, edit the draft.

Each change is made on the locked row, so two taps or two colleagues cannot close one action
twice, and each decision about the client lands in the audit log with who and when.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from extramile.accounts.models import User
from extramile.moments.models import Action, ActionState
from extramile.moments.proposals import combined_reason, moment_reason_index
from extramile.outreach.audit import record_audit

# An associate can act on an open action, and on a snoozed one before it wakes.
ACTIONABLE_STATES = frozenset({ActionState.OPEN, ActionState.SNOOZED})

SNOOZE_CHOICES = {
    "hour": "1 hour",
    "tomorrow": "Tomorrow morning",
    "week": "Next week",
}
MORNING = dt.time(9, 0)


class ActionNotOpen(ValueError):
    """The action is closed (done, skipped, expired) or was never shown; nothing was changed."""


def _closed_reason(action: Action) -> str:
    if action.state == ActionState.DONE:
        return "This action is already done."
    if action.state == ActionState.SKIPPED:
        return "This action was skipped."
    if action.state == ActionState.EXPIRED:
        return "This moment has passed; the action expired."
    if action.state == ActionState.WITHDRAWN:
        return f"This action was withdrawn: {action.state_reason}"
    return "This action is not open."


def _lock(action: Action) -> Action:
    """Return the action's row locked for this transaction, refusing a closed one."""
    locked = Action.objects.select_for_update().get(pk=action.pk)
    if locked.state not in ACTIONABLE_STATES:
        raise ActionNotOpen(_closed_reason(locked))
    return locked


def _copy_back(source: Action, target: Action) -> None:
    """Let the caller's instance see what was saved."""
    for field in (
        "state",
        "state_reason",
        "snoozed_until",
        "outcome",
        "completed_at",
        "completed_by_id",
        "subject",
        "draft",
        "updated_at",
    ):
        setattr(target, field, getattr(source, field))


def _close(locked: Action, *, state: str, by: User, now: dt.datetime) -> None:
    # completed_at/completed_by record who closed the action and when, whether done or skipped.
    locked.state = state
    locked.snoozed_until = None
    locked.completed_at = now
    locked.completed_by = by


def complete_action(
    action: Action, *, by: User, outcome: str, now: dt.datetime | None = None
) -> Action:
    """Mark the action done, with what came of it."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(action)
        _close(locked, state=ActionState.DONE, by=by, now=now)
        locked.state_reason = ""
        locked.outcome = outcome.strip()
        locked.save()
        record_audit(
            "completed",
            client=locked.client,
            actor=by,
            action=locked,
            detail={"outcome": locked.outcome},
            at=now,
        )
    _copy_back(locked, action)
    return action


def skip_action(action: Action, *, by: User, reason: str, now: dt.datetime | None = None) -> Action:
    """Close the action without contacting the client, saying why."""
    reason = reason.strip()
    if not reason:
        raise ValueError("Say why the action is skipped.")
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(action)
        _close(locked, state=ActionState.SKIPPED, by=by, now=now)
        locked.state_reason = reason[:255]
        locked.save()
        record_audit(
            "skipped",
            client=locked.client,
            actor=by,
            action=locked,
            detail={"reason": reason},
            at=now,
        )
    _copy_back(locked, action)
    return action


def snooze_action(
    action: Action, *, by: User, until: dt.datetime, now: dt.datetime | None = None
) -> Action:
    """Put the action away until a later time; the engine run opens it again then."""
    now = now or timezone.now()
    if until <= now:
        raise ValueError("Snooze until a time that is still ahead.")
    with transaction.atomic():
        locked = _lock(action)
        if locked.expires_at is not None and until >= locked.expires_at:
            raise ValueError("This moment passes before then; snooze it for less time, or skip it.")
        locked.state = ActionState.SNOOZED
        locked.snoozed_until = until
        locked.save()
        record_audit(
            "snoozed",
            client=locked.client,
            actor=by,
            action=locked,
            detail={"until": until.isoformat()},
            at=now,
        )
    _copy_back(locked, action)
    return action


def log_call(
    action: Action,
    *,
    by: User,
    outcome: str,
    reached: bool,
    now: dt.datetime | None = None,
) -> Action:
    """Record a call: reached closes the action with what was said; not reached keeps it open."""
    outcome = outcome.strip()
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(action)
        if reached:
            _close(locked, state=ActionState.DONE, by=by, now=now)
            locked.state_reason = ""
            locked.outcome = outcome
        else:
            # A call that did not reach the client is an attempt: the action stays to be done.
            local = now.astimezone(ZoneInfo(locked.store.time_zone or "UTC"))
            note = f"Called {local:%a %d %b %H:%M}, not reached"
            locked.state = ActionState.OPEN
            locked.snoozed_until = None
            locked.state_reason = (f"{note}: {outcome}" if outcome else f"{note}.")[:255]
        locked.save()
        record_audit(
            "called",
            client=locked.client,
            actor=by,
            action=locked,
            detail={"reached": reached, "outcome": outcome},
            at=now,
        )
    _copy_back(locked, action)
    return action


def edit_draft(action: Action, *, subject: str, draft: str) -> Action:
    """Keep the associate's edits of the message or call script."""
    with transaction.atomic():
        locked = _lock(action)
        locked.subject = subject.strip()[:200]
        locked.draft = draft.strip()
        locked.save(update_fields=["subject", "draft", "updated_at"])
    _copy_back(locked, action)
    return action


def snooze_until(choice: str, *, now: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Turn a snooze choice into a time: an hour on, or 9:00 tomorrow or a week on, locally."""
    if choice == "hour":
        return now + dt.timedelta(hours=1)
    days = {"tomorrow": 1, "week": 7}.get(choice)
    if days is None:
        raise ValueError(f"Unknown snooze choice {choice!r}.")
    day = now.astimezone(zone).date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, MORNING, tzinfo=zone).astimezone(dt.UTC)


def withdraw_moment(key: str, *, reason: str, now: dt.datetime) -> Action | None:
    """Withdraw the open action of a moment that no longer applies; return it, or None.

    An action that holds other reasons too keeps them and stays open without this one.
    """
    with transaction.atomic():
        locked = (
            Action.objects.select_for_update()
            .filter(keys__key=key, state__in=ACTIONABLE_STATES)
            .first()
        )
        if locked is None:
            return None
        mine = moment_reason_index(locked.reasons, key)
        others = [entry for index, entry in enumerate(locked.reasons) if index != mine]
        if others:
            locked.reasons = others
            locked.reason = combined_reason([entry["reason"] for entry in others])
            verb = "reason_withdrawn"
        else:
            locked.state = ActionState.WITHDRAWN
            locked.state_reason = reason[:255]
            locked.snoozed_until = None
            locked.completed_at = now
            verb = "withdrawn"
        locked.save()
        record_audit(
            verb,
            client=locked.client,
            action=locked,
            detail={"key": key, "reason": reason},
            at=now,
        )
    return locked
