"""Background work of the moments engine: processing events and the periodic engine sweep."""

from __future__ import annotations

import logging

from django.utils import timezone

from extramile.moments.engine_run import run_engine
from extramile.tasks import periodic, task

logger = logging.getLogger(__name__)


@periodic(seconds=300)
def sweep_engine() -> None:
    """Run the engine once: expire, wake, pending events, calendar detectors, attribution."""
    run_engine(now=timezone.now())


@task
def process_event_task(*, event_id: int) -> None:
    """Process one recorded event, unless it is gone or already processed."""
    from extramile.moments.event_apply import EventApplyError
    from extramile.moments.events import process_event
    from extramile.moments.models import Event

    event = Event.objects.filter(pk=event_id, processed_at__isnull=True).first()
    if event is None:
        return
    try:
        process_event(event)
    except EventApplyError as exc:
        # Expected, not a crash: the error is on the event and the engine sweep tries again.
        logger.warning("Event %s was not applied: %s", event.event_id, exc)


@task
def process_events_task(*, event_ids: list[int]) -> None:
    """Process recorded events in order; one that fails keeps its error and the rest go on."""
    for event_id in event_ids:
        try:
            process_event_task(event_id=event_id)
        except Exception:
            logger.exception("Processing event %s failed.", event_id)
