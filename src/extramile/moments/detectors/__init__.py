"""The detectors, one module per action kind, and the registry the engine runs them from.

A calendar detector exposes `detect(*, now, stores) -> list[Candidate]`, run by the periodic
sweep (`extramile engine run`). An event-driven detector exposes
`on_event(event, *, now) -> list[Candidate]` and `EVENT_TYPES`, the event types it answers;
it runs within seconds of the event. A module may be both. A module may also name, with
`WITHDRAWN_BY` and `withdrawn_by(event) -> [(key, reason)]`, the moments an event ends (an
order's cancellation ends its check-in): their open actions are withdrawn before the event's
detectors run, so a new moment never merges into one that no longer applies.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Iterable
from types import ModuleType

from extramile.accounts.models import Store
from extramile.moments.candidates import Candidate
from extramile.moments.models import ActionKind, Event

DETECTOR_MODULES = {
    ActionKind.NEW_ARRIVAL_MATCH: "extramile.moments.detectors.new_arrival_match",
    ActionKind.IMPORTANT_DATE: "extramile.moments.detectors.important_date",
    ActionKind.BUYING_SEASON: "extramile.moments.detectors.buying_season",
    ActionKind.ORDER_CHECK_IN: "extramile.moments.detectors.order_check_in",
    ActionKind.CANCELLATION_COURTESY: "extramile.moments.detectors.cancellation_courtesy",
    ActionKind.SERVICE_RECOVERY: "extramile.moments.detectors.service_recovery",
    ActionKind.AT_RISK: "extramile.moments.detectors.at_risk",
    ActionKind.HANDOVER: "extramile.moments.detectors.handover",
    ActionKind.PROBLEM_FOLLOW_UP: "extramile.moments.detectors.problem_follow_up",
    ActionKind.DETRACTOR_RECOVERY: "extramile.moments.detectors.detractor_recovery",
    ActionKind.REFERRAL_THANKS: "extramile.moments.detectors.referral_thanks",
    ActionKind.INTRODUCTION: "extramile.moments.detectors.introduction",
    ActionKind.REFERRAL_ASK: "extramile.moments.detectors.referral_ask",
    ActionKind.GESTURE: "extramile.moments.detectors.gesture",
    ActionKind.SALE_PREVIEW: "extramile.moments.detectors.sale_preview",
}


def detector_modules() -> list[ModuleType]:
    """Import and return every detector module that exists."""
    found = []
    for path in DETECTOR_MODULES.values():
        try:
            found.append(importlib.import_module(path))
        except ModuleNotFoundError as exc:
            if exc.name != path:
                raise
    return found


def run_calendar_detectors(*, now: dt.datetime, stores: Iterable[Store]) -> list[Candidate]:
    """Ask every calendar detector for its candidates at `now`."""
    stores = list(stores)
    candidates: list[Candidate] = []
    for module in detector_modules():
        if hasattr(module, "detect"):
            candidates.extend(module.detect(now=now, stores=stores))
    return candidates


def run_event_detectors(event: Event, *, now: dt.datetime) -> list[Candidate]:
    """Ask every detector that answers this event's type for its candidates."""
    candidates: list[Candidate] = []
    for module in detector_modules():
        if event.type in getattr(module, "EVENT_TYPES", ()):
            candidates.extend(module.on_event(event, now=now))
    return candidates


def run_event_withdrawals(event: Event) -> list[tuple[str, str]]:
    """Ask every detector which of its moments this event ends: (key, reason) pairs."""
    ended: list[tuple[str, str]] = []
    for module in detector_modules():
        if event.type in getattr(module, "WITHDRAWN_BY", ()):
            ended.extend(module.withdrawn_by(event))
    return ended
