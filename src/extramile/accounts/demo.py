"""The demo's part of continuity: James is away this week, and Sofia covers for him."""

from __future__ import annotations

import datetime as dt

from extramile.accounts.models import Absence, User
from extramile.accounts.services import store_today

AWAY, BACKUP = "james", "sofia"


def load(*, now: dt.datetime) -> None:
    """Record James's absence around `now` (from the day before to three days after)."""
    away = User.objects.select_related("store").filter(username=AWAY).first()
    backup = User.objects.filter(username=BACKUP).first()
    if away is None or backup is None:
        return
    today = store_today(away.store, now)
    Absence.objects.get_or_create(
        user=away,
        starts_on=today - dt.timedelta(days=1),
        defaults={
            "ends_on": today + dt.timedelta(days=3),
            "backup": backup,
            "note": "Trade fair in Milan; Sofia takes his clients' service calls.",
        },
    )
