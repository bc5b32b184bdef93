"""Background work of loyalty: due surveys, stage snapshots, the weekly plans."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from extramile.accounts.models import Store
from extramile.loyalty.plans import build_plans
from extramile.loyalty.services import refresh_stage_snapshots, send_due_surveys
from extramile.tasks import periodic


@periodic(seconds=3600)
def send_due_surveys_task() -> int:
    """Ask after recent purchases and resolved problems (throttled per client); return sent."""
    return send_due_surveys(now=timezone.now()).sent


@periodic(seconds=6 * 3600)
def refresh_stage_snapshots_task() -> int:
    """Write every client's loyalty stage for the current month (updated in place)."""
    return refresh_stage_snapshots(now=timezone.now())


@periodic(seconds=3600)
def build_weekly_plans_task(*, now: dt.datetime | None = None) -> int:
    """Build this week's plan of every associate who has none yet; return the items made."""
    now = now or timezone.now()
    return sum(len(build_plans(store=store, now=now).items) for store in Store.objects.all())
