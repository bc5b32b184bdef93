"""One run of the engine: expire, wake, process pending events, sweep the calendar, attribute.

`extramile engine run` and the periodic sweep call `run_engine`. Every step is idempotent, so a
second run at the same time adds nothing: expired and woken actions are already so, processed
events are marked, each moment's key is recorded once, and each order is looked at for
attribution once.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from dataclasses import dataclass, field
from types import ModuleType

from django.db import transaction
from django.db.models import F

from extramile.accounts.models import Store
from extramile.moments.attribution import attribute_orders
from extramile.moments.detectors import run_calendar_detectors
from extramile.moments.models import Action, ActionState, Event
from extramile.moments.proposals import ProposalResult, propose_actions

logger = logging.getLogger(__name__)

EVENTS_MODULE = "extramile.moments.events"


@dataclass
class EngineReport:
    """What one run did."""

    now: dt.datetime
    expired: int = 0
    woken: int = 0
    events_processed: int = 0
    events_failed: int = 0
    events_waiting: int = 0  # pending events left because no event processing is installed
    candidates: int = 0  # from the calendar sweep
    proposals: ProposalResult = field(default_factory=ProposalResult)
    orders_checked: int = 0  # orders the attribution sweep looked at for the first time
    attributed: int = 0

    def summary(self) -> dict[str, object]:
        """Return the counts as one JSON-ready object."""
        p = self.proposals
        return {
            "now": self.now.isoformat(),
            "expired": self.expired,
            "woken": self.woken,
            "events_processed": self.events_processed,
            "events_failed": self.events_failed,
            "events_waiting": self.events_waiting,
            "calendar_candidates": self.candidates,
            "created": len(p.created),
            "created_by_kind": dict(sorted(p.created_by_kind().items())),
            "merged": len(p.merged),
            "updated": len(p.updated),
            "duplicates": p.duplicates,
            "held_out": len(p.held_out),
            "suppressed": len(p.suppressed),
            "orders_checked": self.orders_checked,
            "attributed": self.attributed,
        }


def run_engine(*, now: dt.datetime) -> EngineReport:
    """Run every step of the engine once at `now` and report what changed."""
    report = EngineReport(now=now)
    report.expired = expire_actions(now=now)
    report.woken = wake_snoozed_actions(now=now)
    _process_pending_events(report, now=now)
    candidates = run_calendar_detectors(now=now, stores=Store.objects.order_by("id"))
    report.candidates = len(candidates)
    report.proposals.add(propose_actions(candidates, now=now))
    attribution = attribute_orders(now=now)
    report.orders_checked = attribution.checked
    report.attributed = attribution.linked
    return report


def expire_actions(*, now: dt.datetime) -> int:
    """Close the open and snoozed actions whose moment has passed; return how many."""
    return Action.objects.filter(
        state__in=[ActionState.OPEN, ActionState.SNOOZED], expires_at__lte=now
    ).update(state=ActionState.EXPIRED, state_reason="The moment passed before anyone acted.")


def wake_snoozed_actions(*, now: dt.datetime) -> int:
    """Open again the snoozed actions whose snooze is over; return how many."""
    with transaction.atomic():
        due = Action.objects.select_for_update().filter(
            state=ActionState.SNOOZED, snoozed_until__lte=now
        )
        ids = list(due.values_list("id", flat=True))
        # A snoozed action is not due before it wakes.
        Action.objects.filter(id__in=ids, due_at__lt=F("snoozed_until")).update(
            due_at=F("snoozed_until")
        )
        return Action.objects.filter(id__in=ids).update(state=ActionState.OPEN, snoozed_until=None)


def _events_module() -> ModuleType | None:
    try:
        return importlib.import_module(EVENTS_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != EVENTS_MODULE:
            raise
        return None


def _process_pending_events(report: EngineReport, *, now: dt.datetime) -> None:
    pending = Event.objects.filter(processed_at__isnull=True).order_by("occurred_at", "id")
    events = _events_module()
    if events is None or not hasattr(events, "process_event"):
        report.events_waiting = pending.count()
        return
    for event in list(pending):
        try:
            result = events.process_event(event, now=now)
        except Exception:
            # One bad event must not stop the sweep; it stays pending with its error recorded.
            logger.exception("Processing event %s failed.", event.event_id)
            report.events_failed += 1
            continue
        report.events_processed += 1
        if result is not None:
            report.proposals.add(result)
