"""Yearly dates and good times to call: next occurrences, closeness, client value, mornings."""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
from scipy.stats import rankdata

# A good time to reach a client: their local morning, from MORNING_START to MORNING_END.
MORNING_START = dt.time(10, 0)
MORNING_END = dt.time(12, 0)


def occurrence_in(year: int, month: int, day: int) -> dt.date:
    """Return the yearly date `month`/`day` in `year`, moved to the month's last day if too late.

    A 29 February falls on the 28th in a common year (the usual custom for birthdays), and a
    day the month does not have (31 April) on the month's last day.
    """
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day, last))


def next_occurrence(month: int, day: int, *, today: dt.date) -> dt.date:
    """Return the first occurrence of a yearly date on or after `today` (this year or next)."""
    this_year = occurrence_in(today.year, month, day)
    if this_year >= today:
        return this_year
    return occurrence_in(today.year + 1, month, day)


def closeness(days_ahead: int, *, lead_days: int) -> float:
    """Return 1 for a date today, falling linearly to 1/(lead_days+1) at the edge of the lead."""
    if days_ahead < 0 or days_ahead > lead_days:
        return 0.0
    return 1.0 - days_ahead / (lead_days + 1)


def spend_percentile(spend: np.ndarray) -> np.ndarray:
    """Rank each client's spend among all of them, from just above 0 (least) to 1 (most).

    Ties share their average rank, so a store where most clients spent nothing does not rank
    one of them above the others.
    """
    values = np.asarray(spend, dtype=float)
    if values.size == 0:
        return np.zeros(0)
    return np.asarray(rankdata(values, method="average") / values.size)


def next_morning(now: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Return `now` if it is the client's local morning, else the start of the next one (UTC)."""
    local = now.astimezone(zone)
    if MORNING_START <= local.time() < MORNING_END:
        return now
    day = local.date() if local.time() < MORNING_START else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, MORNING_START, tzinfo=zone).astimezone(dt.UTC)


def local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """Return the start of `day` in `zone`, in UTC."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)


def due_before(now: dt.datetime, zone: ZoneInfo, *, deadline: dt.datetime) -> dt.datetime:
    """Return the next local morning, or `now` when that morning would come after `deadline`."""
    morning = next_morning(now, zone)
    return morning if morning < deadline else now
