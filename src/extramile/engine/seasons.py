"""A client's own buying seasons: purchases in one category in the same weeks of several years.

Input: the dates a client bought in one category (any number of years) and the client's local
`today`. Days are placed on a 365-day circle (29 February counts as the 28th), so a season that
straddles the new year (late December to early January) is one season. Purchases are grouped
greedily: the day of the year whose ±`window_days` neighbourhood holds purchases in the most
distinct years anchors a season; its typical start day is the median, across those years, of
each year's first purchase in the window; the window is then centred on that day and the
grouping repeated until it settles. The purchases taken are removed and the next season sought.

A season is reported when purchases fall in it in at least `min_years` occurrences before its
next opening. Its confidence multiplies three things, each from 0 to 1: coverage (the share of
the occurrences we could have seen, since `observed_since`, that hold a purchase), sample size
(1 - 0.5^years: two years give 0.75, three 0.875) and tightness (how close each year's first
purchase lies to the typical day, 1 when all on it, 0.5 when they sit at the window's edge).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

YEAR_DAYS = 365
_COMMON_YEAR = 2001  # any common year: day-of-year numbers are read in it
MAX_REFINEMENTS = 4

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Season:
    """A time of year a client buys in a category, and where it stands today."""

    typical_day: int  # day of the year the season opens, 0 = 1 January (in a common year)
    next_start: dt.date  # its next opening on or after today
    years_seen: tuple[int, ...]  # years of the earlier occurrences with a purchase
    spread_days: int  # days between the earliest and latest first purchase of those years
    confidence: float
    bought_this_season: bool  # a purchase already lies in the occurrence that opens next
    purchases: tuple[dt.date, ...]  # the purchases in the season, oldest first

    @property
    def typical_month_day(self) -> tuple[int, int]:
        """Month and day of the typical start."""
        day = day_from_index(self.typical_day)
        return day.month, day.day


def day_index(day: dt.date) -> int:
    """Return the day of the year on a 365-day circle, 0 = 1 January; 29 February → 28th."""
    if day.month == 2 and day.day == 29:
        day = day.replace(day=28)
    return (dt.date(_COMMON_YEAR, day.month, day.day) - dt.date(_COMMON_YEAR, 1, 1)).days


def day_from_index(index: int) -> dt.date:
    """Return the date of a day-of-year index in a common year."""
    return dt.date(_COMMON_YEAR, 1, 1) + dt.timedelta(days=int(index) % YEAR_DAYS)


def circular_offset(days: np.ndarray, centre: int | np.ndarray) -> np.ndarray:
    """Signed days from `centre` to each day on the year circle, from -182 to +182."""
    return (np.asarray(days) - centre + YEAR_DAYS // 2) % YEAR_DAYS - YEAR_DAYS // 2


def occurrence_of(centre: int, year: int) -> dt.date:
    """Return the date of the season's typical day in a given year."""
    start = day_from_index(centre)
    return dt.date(year, start.month, start.day)


def next_start_of(centre: int, today: dt.date) -> dt.date:
    """Return the first date on or after `today` that falls on the season's typical day."""
    this_year = occurrence_of(centre, today.year)
    return this_year if this_year >= today else occurrence_of(centre, today.year + 1)


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def _years_of(ordinals: np.ndarray) -> np.ndarray:
    """The calendar year of each proleptic Gregorian ordinal, computed with numpy."""
    as_days = (np.asarray(ordinals, dtype=np.int64) - _EPOCH_ORDINAL).astype("datetime64[D]")
    return as_days.astype("datetime64[Y]").astype(np.int64) + 1970


@dataclass
class _Group:
    centre: int
    members: np.ndarray  # indices into the purchase arrays
    occurrence_years: np.ndarray  # per member, the year of the occurrence it belongs to
    first_offsets: np.ndarray  # per distinct occurrence, the offset of its first purchase


def _group_around(
    centre: int, ordinals: np.ndarray, days: np.ndarray, available: np.ndarray, window: int
) -> _Group:
    offsets = circular_offset(days, centre)
    members = np.flatnonzero(available & (np.abs(offsets) <= window))
    # The occurrence a purchase belongs to is the typical day nearest to it.
    occurrence_ordinals = ordinals[members] - offsets[members]
    years = _years_of(occurrence_ordinals)
    firsts = [offsets[members][years == year].min() for year in np.unique(years)]
    return _Group(
        centre=centre,
        members=members,
        occurrence_years=years,
        first_offsets=np.asarray(firsts, dtype=np.int64),
    )


def _best_anchor(days: np.ndarray, ordinals: np.ndarray, available: np.ndarray, window: int) -> int:
    """The day of the year whose window holds purchases in the most distinct years.

    Every day of the circle is tried at once (a 365 x purchases array): ties go to the day
    whose purchases lie closest to it in total, then to the earliest day.
    """
    centres = np.arange(YEAR_DAYS)
    offsets = circular_offset(days[None, :], centres[:, None])
    member = available[None, :] & (np.abs(offsets) <= window)
    years = np.where(member, _years_of(ordinals[None, :] - offsets), -1)
    years.sort(axis=1)
    starts_new = np.ones_like(years, dtype=bool)
    starts_new[:, 1:] = years[:, 1:] != years[:, :-1]
    distinct = (starts_new & (years != -1)).sum(axis=1)
    spread = np.where(member, np.abs(offsets), 0).sum(axis=1)
    best = np.lexsort((centres, spread, -distinct))[0]
    return int(centres[best])


def _settle(
    anchor: int, ordinals: np.ndarray, days: np.ndarray, available: np.ndarray, window: int
) -> _Group:
    group = _group_around(anchor, ordinals, days, available, window)
    for _ in range(MAX_REFINEMENTS):
        centre = int((group.centre + int(np.floor(np.median(group.first_offsets)))) % YEAR_DAYS)
        if centre == group.centre:
            break
        moved = _group_around(centre, ordinals, days, available, window)
        if len(np.unique(moved.occurrence_years)) < len(np.unique(group.occurrence_years)):
            break  # moving would lose a year: keep the grouping that holds more
        group = moved
    return group


def _observable_occurrences(
    centre: int, *, since: dt.date, before: dt.date, window: int
) -> list[int]:
    years = []
    for year in range(since.year - 1, before.year + 1):
        occurrence = occurrence_of(centre, year)
        if occurrence < before and occurrence + dt.timedelta(days=window) >= since:
            years.append(year)
    return years


def find_seasons(
    purchases: Iterable[dt.date],
    *,
    today: dt.date,
    window_days: int = 14,
    min_years: int = 2,
    observed_since: dt.date | None = None,
) -> list[Season]:
    """Return the buying seasons in one client's purchases of one category, soonest first.

    `today` is the client's local date; `observed_since` the first day we know the client from
    (their first order), by default their first purchase here.
    """
    dates = sorted({d for d in purchases if d <= today})
    if len(dates) < min_years:
        return []
    ordinals = np.array([d.toordinal() for d in dates], dtype=np.int64)
    days = np.array([day_index(d) for d in dates], dtype=np.int64)
    available = np.ones(len(dates), dtype=bool)
    since = min(observed_since or dates[0], dates[0])
    seasons: list[Season] = []
    while available.sum() >= min_years:
        anchor = _best_anchor(days, ordinals, available, window_days)
        group = _settle(anchor, ordinals, days, available, window_days)
        distinct = np.unique(group.occurrence_years)
        if len(distinct) < min_years:
            break
        available[group.members] = False
        season = _season_from(group, dates, today=today, since=since, window=window_days)
        if season is not None and len(season.years_seen) >= min_years:
            seasons.append(season)
    return sorted(seasons, key=lambda s: (s.next_start, -s.confidence))


def _season_from(
    group: _Group, dates: Sequence[dt.date], *, today: dt.date, since: dt.date, window: int
) -> Season | None:
    centre = group.centre
    next_start = next_start_of(centre, today)
    current_year = next_start.year
    member_dates = [dates[i] for i in group.members]
    earlier = sorted({int(y) for y in group.occurrence_years if y < current_year})
    opens_window = next_start - dt.timedelta(days=window)
    bought_now = any(opens_window <= d <= today for d in member_dates)
    if not earlier:
        return None
    # Each earlier year's first purchase, as an offset from the typical day.
    firsts = []
    for year in earlier:
        in_year = [
            d for d, y in zip(member_dates, group.occurrence_years, strict=True) if int(y) == year
        ]
        first = min(in_year)
        firsts.append(int(circular_offset(np.array([day_index(first)]), centre)[0]))
    observable = _observable_occurrences(centre, since=since, before=next_start, window=window)
    coverage = len(earlier) / max(len(observable), len(earlier))
    sample = 1.0 - 0.5 ** len(earlier)
    tightness = 1.0 - float(np.mean(np.abs(firsts))) / max(window, 1)
    confidence = coverage * sample * (0.5 + 0.5 * max(0.0, tightness))
    return Season(
        typical_day=centre,
        next_start=next_start,
        years_seen=tuple(earlier),
        spread_days=int(max(firsts) - min(firsts)),
        confidence=round(confidence, 3),
        bought_this_season=bought_now,
        purchases=tuple(sorted(member_dates)),
    )


def find_client_seasons(
    purchases: Mapping[K, Sequence[dt.date]],
    *,
    today: Mapping[K, dt.date] | dt.date,
    window_days: int = 14,
    min_years: int = 2,
    observed_since: Mapping[K, dt.date] | None = None,
) -> dict[K, list[Season]]:
    """Find the seasons of many series at once (per client and category), keyed as given."""
    found: dict[K, list[Season]] = {}
    for key, dates in purchases.items():
        local_today = today[key] if isinstance(today, Mapping) else today
        since = observed_since.get(key) if observed_since is not None else None
        seasons = find_seasons(
            dates,
            today=local_today,
            window_days=window_days,
            min_years=min_years,
            observed_since=since,
        )
        if seasons:
            found[key] = seasons
    return found
