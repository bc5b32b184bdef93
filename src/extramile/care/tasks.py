"""Background work of care: the hourly sweep that marks overdue promises broken."""

from __future__ import annotations

from django.utils import timezone

from extramile.care.services import mark_broken_promises
from extramile.tasks import periodic

SWEEP_SECONDS = 3600


@periodic(seconds=SWEEP_SECONDS)
def mark_broken_promises_task() -> int:
    """Mark broken the promises left unkept a full day past their due time."""
    return mark_broken_promises(now=timezone.now())
