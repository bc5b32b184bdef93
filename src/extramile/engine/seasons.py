"""A client's own buying seasons: purchases in one category in the same weeks of several years.

Input: the dates a client bought in one category (any number of years) and the client's local
`today`. Days are placed on a 365-day circle (29 February counts as the 28th), so a season that
straddles the new year (late December to early January) is one season. Purchases are grouped
greedily: the day of the year whose ±`window_days` neighbourhood holds purchases in the most
distinct years anchors a season; its typical start day is the median, across those years, of
each year's first purchase in the window; the window is then centred on that day and the
grouping repeated until it settles. The purchases taken are removed and the next season sought.
All of it runs on numpy arrays over every series at once (`find_seasons_batch`): a few hundred
thousand series of a large store take seconds, where a loop over them would take minutes.

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
from functools import lru_cache
from typing import TypeVar

import numpy as np

YEAR_DAYS = 365
_COMMON_YEAR = 2001  # any common year: day-of-year numbers are read in it
MAX_REFINEMENTS = 4
SERIES_PER_BLOCK = 4000

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


@lru_cache(maxsize=YEAR_DAYS)
def _day_from_index(index: int) -> dt.date:
    return dt.date(_COMMON_YEAR, 1, 1) + dt.timedelta(days=index)


def day_from_index(index: int) -> dt.date:
    """Return the date of a day-of-year index in a common year."""
    return _day_from_index(int(index) % YEAR_DAYS)


def circular_offset(days: np.ndarray, centre: int | np.ndarray) -> np.ndarray:
    """Signed days from `centre` to each day on the year circle, from -182 to +182."""
    return (np.asarray(days) - centre + YEAR_DAYS // 2) % YEAR_DAYS - YEAR_DAYS // 2


@lru_cache(maxsize=65536)
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


def _day_indices(ordinals: np.ndarray) -> np.ndarray:
    """`day_index` of many proleptic ordinals at once."""
    days = (ordinals - _EPOCH_ORDINAL).astype("datetime64[D]")
    years = days.astype("datetime64[Y]")
    index = (days - years.astype("datetime64[D]")).astype(np.int64)
    year = years.astype(np.int64) + 1970
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    # In a leap year 29 February (index 59) falls on the 28th and later days move back one.
    return np.where(leap & (index >= 59), index - 1, index)


@dataclass
class _Groups:
    """For each searched series, its purchases within the window of one centre."""

    centre: np.ndarray  # per series number (-1 where not searched)
    distinct: np.ndarray  # per series number: distinct occurrence years in the window
    members: np.ndarray  # purchase numbers, by series then date
    member_series: np.ndarray
    offsets: np.ndarray  # per member, days from the centre
    years: np.ndarray  # per member, the year of the occurrence it belongs to
    median_first: np.ndarray  # per series number: median offset of each year's first purchase


def _group_at(
    centre: np.ndarray,
    *,
    series: np.ndarray,
    ordinals: np.ndarray,
    days: np.ndarray,
    available: np.ndarray,
    window: int,
) -> _Groups:
    """Group each series' available purchases around its centre (series without one: none)."""
    centre_of = centre[series]
    offsets = circular_offset(days, np.maximum(centre_of, 0))
    member = available & (centre_of >= 0) & (np.abs(offsets) <= window)
    members = np.flatnonzero(member)
    member_series, offsets = series[members], offsets[members]
    # The occurrence a purchase belongs to is the typical day nearest to it.
    years = _years_of(ordinals[members] - offsets)
    # Members run by series, then date: the first of each (series, year) run is that year's
    # first purchase.
    first = np.r_[True, (member_series[1:] != member_series[:-1]) | (years[1:] != years[:-1])]
    distinct = np.bincount(member_series[first], minlength=centre.size)
    first_series, first_offsets = member_series[first], offsets[first]
    order = np.lexsort((first_offsets, first_series))
    first_series, first_offsets = first_series[order], first_offsets[order]
    starts = np.searchsorted(first_series, np.arange(centre.size))
    counts = distinct
    low = np.clip(starts + (counts - 1) // 2, 0, max(first_offsets.size - 1, 0))
    high = np.clip(starts + counts // 2, 0, max(first_offsets.size - 1, 0))
    median = np.zeros(centre.size)
    if first_offsets.size:
        median = np.where(counts > 0, (first_offsets[low] + first_offsets[high]) / 2, 0)
    return _Groups(
        centre=centre,
        distinct=distinct,
        members=members,
        member_series=member_series,
        offsets=offsets,
        years=years,
        median_first=median,
    )


def _best_centres(
    searched: np.ndarray,
    *,
    series: np.ndarray,
    ordinals: np.ndarray,
    days: np.ndarray,
    available: np.ndarray,
    window: int,
    n_series: int,
) -> np.ndarray:
    """For each searched series, the day whose window holds purchases in the most years.

    Each purchase lies in the window of the 2 x window + 1 days around it, so the candidate
    days are found from (purchase, offset) rows without trying all 365 days for every series:
    ties go to the day whose purchases lie closest to it in total, then to the earliest day.
    """
    best = np.full(n_series, -1, dtype=np.int64)
    purchases = np.flatnonzero(available & searched[series])
    if purchases.size == 0:
        return best
    shifts = np.arange(-window, window + 1)
    # Whole series at a time, a few thousand of them: the (series x day x year) tables below
    # stay within some tens of megabytes.
    rows_per_block = max(1, 1_000_000 // shifts.size)
    runs = series[purchases]
    bounds = np.r_[np.flatnonzero(np.r_[True, runs[1:] != runs[:-1]]), purchases.size]
    at = 0
    while at < bounds.size - 1:
        by_rows = int(np.searchsorted(bounds, bounds[at] + rows_per_block, side="right")) - 1
        upto = max(at + 1, min(at + SERIES_PER_BLOCK, by_rows))
        chunk = purchases[bounds[at] : bounds[upto]]
        at = upto
        which = np.repeat(chunk, shifts.size)
        shift = np.tile(shifts, chunk.size)
        first_series = int(series[chunk[0]])
        width = int(series[chunk[-1]]) - first_series + 1
        cell = (series[which] - first_series) * YEAR_DAYS + (days[which] - shift) % YEAR_DAYS
        year = _years_of(ordinals[which] - shift)
        low_year = int(year.min())
        years = int(year.max()) - low_year + 1
        spread = np.bincount(cell, weights=np.abs(shift), minlength=width * YEAR_DAYS)
        seen = np.zeros(width * YEAR_DAYS * years, dtype=bool)
        seen[cell * years + (year - low_year)] = True
        distinct = seen.reshape(width * YEAR_DAYS, years).sum(axis=1)
        # Most years first, then the tightest, then the earliest day (argmax takes the first).
        ranking = (distinct * (spread.max() + 1) - spread).reshape(width, YEAR_DAYS)
        chosen = np.argmax(ranking, axis=1)
        in_chunk = np.unique(series[chunk]) - first_series
        best[first_series + in_chunk] = chosen[in_chunk]
    return best


def _settle(
    centre: np.ndarray,
    *,
    series: np.ndarray,
    ordinals: np.ndarray,
    days: np.ndarray,
    available: np.ndarray,
    window: int,
) -> _Groups:
    """Move each centre to the median first purchase of its years until it stays put."""
    group = _group_at(
        centre, series=series, ordinals=ordinals, days=days, available=available, window=window
    )
    for _ in range(MAX_REFINEMENTS):
        moved_centre = np.where(
            centre >= 0, (centre + np.floor(group.median_first).astype(np.int64)) % YEAR_DAYS, -1
        )
        moving = (moved_centre != centre) & (centre >= 0)
        if not moving.any():
            break
        trial = np.where(moving, moved_centre, -1)
        moved = _group_at(
            trial, series=series, ordinals=ordinals, days=days, available=available, window=window
        )
        # Moving must not lose a year: keep the grouping that holds more.
        accept = moving & (moved.distinct >= group.distinct)
        if not accept.any():
            break
        centre = np.where(accept, moved_centre, centre)
        group = _group_at(
            centre, series=series, ordinals=ordinals, days=days, available=available, window=window
        )
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


def find_seasons_batch(
    series: np.ndarray,
    ordinals: np.ndarray,
    *,
    today: np.ndarray,
    window_days: int = 14,
    min_years: int = 2,
    observed_since: np.ndarray | None = None,
    latest_start: np.ndarray | None = None,
) -> dict[int, list[Season]]:
    """Find the seasons of many series at once: vectorised over all their purchases.

    `series` and `ordinals` give each purchase's series number (0 to n - 1) and day (a
    proleptic ordinal, `date.toordinal()`); `today`, `observed_since` and `latest_start` are
    per series (ordinals). A season opening after `latest_start` is not reported (its
    purchases are still set aside), which spares building what the caller would drop. Returns
    the seasons by series number, soonest first; series without a season are left out.
    """
    today = np.asarray(today, dtype=np.int64)
    n_series = today.size
    series = np.asarray(series, dtype=np.int64)
    ordinals = np.asarray(ordinals, dtype=np.int64)
    keep = ordinals <= today[series] if series.size else np.zeros(0, dtype=bool)
    if not keep.any():
        return {}
    unique = np.unique(np.stack([series[keep], ordinals[keep]], axis=1), axis=0)
    series, ordinals = unique[:, 0], unique[:, 1]
    days = _day_indices(ordinals)
    first_purchase = np.full(n_series, np.iinfo(np.int64).max)
    np.minimum.at(first_purchase, series, ordinals)
    since = first_purchase
    if observed_since is not None:
        since = np.minimum(np.asarray(observed_since, dtype=np.int64), first_purchase)
    available = np.ones(series.size, dtype=bool)
    found: dict[int, list[Season]] = {}
    searched = np.bincount(series, minlength=n_series) >= min_years
    while searched.any():
        centre = _best_centres(
            searched,
            series=series,
            ordinals=ordinals,
            days=days,
            available=available,
            window=window_days,
            n_series=n_series,
        )
        group = _settle(
            centre,
            series=series,
            ordinals=ordinals,
            days=days,
            available=available,
            window=window_days,
        )
        enough = group.distinct >= min_years
        taken = enough[group.member_series]
        available[group.members[taken]] = False
        _collect(
            found,
            group,
            taken,
            ordinals=ordinals,
            today=today,
            since=since,
            latest_start=latest_start,
            window=window_days,
            min_years=min_years,
        )
        left = np.bincount(series[available], minlength=n_series)
        searched = searched & enough & (left >= min_years)
    return {
        key: sorted(seasons, key=lambda s: (s.next_start, -s.confidence))
        for key, seasons in found.items()
    }


def _collect(
    found: dict[int, list[Season]],
    group: _Groups,
    taken: np.ndarray,
    *,
    ordinals: np.ndarray,
    today: np.ndarray,
    since: np.ndarray,
    latest_start: np.ndarray | None,
    window: int,
    min_years: int,
) -> None:
    """Turn each series' taken group into a Season (when it has enough earlier years)."""
    members = group.members[taken]
    if members.size == 0:
        return
    member_series = group.member_series[taken]
    offsets, years = group.offsets[taken], group.years[taken]
    bounds = np.flatnonzero(np.r_[True, member_series[1:] != member_series[:-1], True])
    for start, stop in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        number = int(member_series[start])
        centre = int(group.centre[number])
        local_today = dt.date.fromordinal(int(today[number]))
        next_start = next_start_of(centre, local_today)
        if latest_start is not None and next_start.toordinal() > latest_start[number]:
            continue
        season = _season_from(
            centre,
            member_ordinals=ordinals[members[start:stop]],
            offsets=offsets[start:stop],
            years=years[start:stop],
            today=local_today,
            next_start=next_start,
            since=dt.date.fromordinal(int(since[number])),
            window=window,
        )
        if season is not None and len(season.years_seen) >= min_years:
            found.setdefault(number, []).append(season)


def _season_from(
    centre: int,
    *,
    member_ordinals: np.ndarray,
    offsets: np.ndarray,
    years: np.ndarray,
    today: dt.date,
    next_start: dt.date,
    since: dt.date,
    window: int,
) -> Season | None:
    # A season has a handful of purchases: plain Python lists beat numpy calls here.
    ordinal_list, offset_list, year_list = (
        member_ordinals.tolist(),
        offsets.tolist(),
        years.tolist(),
    )
    current_year = next_start.year
    # Members run by date, so the first of each year comes first: its offset from the typical
    # day is that year's first purchase.
    first_offset: dict[int, int] = {}
    for offset, year in zip(offset_list, year_list, strict=True):
        if year < current_year and year not in first_offset:
            first_offset[year] = offset
    if not first_offset:
        return None
    earlier = sorted(first_offset)
    firsts = [first_offset[year] for year in earlier]
    opens_window = (next_start - dt.timedelta(days=window)).toordinal()
    today_ordinal = today.toordinal()
    bought_now = any(opens_window <= o <= today_ordinal for o in ordinal_list)
    observable = _observable_occurrences(centre, since=since, before=next_start, window=window)
    coverage = len(earlier) / max(len(observable), len(earlier))
    sample = 1.0 - 0.5 ** len(earlier)
    tightness = 1.0 - sum(abs(f) for f in firsts) / len(firsts) / max(window, 1)
    confidence = coverage * sample * (0.5 + 0.5 * max(0.0, tightness))
    return Season(
        typical_day=centre,
        next_start=next_start,
        years_seen=tuple(earlier),
        spread_days=max(firsts) - min(firsts),
        confidence=round(confidence, 3),
        bought_this_season=bought_now,
        purchases=tuple(dt.date.fromordinal(o) for o in ordinal_list),
    )


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
    ordinals = np.array([d.toordinal() for d in purchases], dtype=np.int64)
    found = find_seasons_batch(
        np.zeros(ordinals.size, dtype=np.int64),
        ordinals,
        today=np.array([today.toordinal()]),
        window_days=window_days,
        min_years=min_years,
        observed_since=None if observed_since is None else np.array([observed_since.toordinal()]),
    )
    return found.get(0, [])


def find_client_seasons(
    purchases: Mapping[K, Sequence[dt.date]],
    *,
    today: Mapping[K, dt.date] | dt.date,
    window_days: int = 14,
    min_years: int = 2,
    observed_since: Mapping[K, dt.date] | None = None,
) -> dict[K, list[Season]]:
    """Find the seasons of many series at once (per client and category), keyed as given."""
    keys = list(purchases)
    series = np.concatenate(
        [np.full(len(purchases[k]), i, dtype=np.int64) for i, k in enumerate(keys)]
        or [np.zeros(0, dtype=np.int64)]
    )
    ordinals = np.array([d.toordinal() for k in keys for d in purchases[k]], dtype=np.int64)
    todays = np.array(
        [(today[k] if isinstance(today, Mapping) else today).toordinal() for k in keys],
        dtype=np.int64,
    )
    since = None
    if observed_since is not None:
        far = np.iinfo(np.int64).max
        since = np.array(
            [observed_since[k].toordinal() if k in observed_since else far for k in keys],
            dtype=np.int64,
        )
    found = find_seasons_batch(
        series,
        ordinals,
        today=todays,
        window_days=window_days,
        min_years=min_years,
        observed_since=since,
    )
    return {keys[i]: seasons for i, seasons in found.items()}
