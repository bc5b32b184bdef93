import datetime as dt
import random

import numpy as np
import pytest

from extramile.engine import seasons
from extramile.engine.seasons import (
    circular_offset,
    day_from_index,
    day_index,
    find_client_seasons,
    find_seasons,
    find_seasons_batch,
)

D = dt.date


def test_a_suit_in_the_same_week_of_three_years_is_a_season_opening_next_week():
    # given a suit bought in late November of 2022, 2023 and 2024
    suits = [D(2022, 11, 28), D(2023, 11, 30), D(2024, 11, 26)]
    # when
    seasons = find_seasons(suits, today=D(2025, 11, 19))
    # then the season opens on the median first day, 28 November
    assert len(seasons) == 1
    season = seasons[0]
    assert season.next_start == D(2025, 11, 28)
    assert season.typical_month_day == (11, 28)
    assert season.years_seen == (2022, 2023, 2024)
    assert season.spread_days == 4
    assert season.bought_this_season is False
    assert season.purchases == tuple(suits)
    # coverage 3/3 x sample 0.875 x tightness (0.5 + 0.5 x (1 - (0 + 2 + 2) / 3 / 14))
    assert season.confidence == pytest.approx(0.875 * (0.5 + 0.5 * (1 - 4 / 3 / 14)), abs=1e-3)


def test_a_season_across_the_new_year_is_one_season():
    # given purchases on 30 December 2022, 2 January 2024 and 28 December 2024
    dates = [D(2022, 12, 30), D(2024, 1, 2), D(2024, 12, 28)]
    # when
    seasons = find_seasons(dates, today=D(2025, 12, 20))
    # then 2 January 2024 belongs to the occurrence of 30 December 2023
    assert [(s.next_start, s.years_seen) for s in seasons] == [
        (D(2025, 12, 30), (2022, 2023, 2024))
    ]


def test_the_next_start_wraps_into_next_year():
    # given a season in the first days of January
    dates = [D(2023, 1, 3), D(2024, 1, 5), D(2025, 1, 4)]
    # when it is 28 December 2025
    seasons = find_seasons(dates, today=D(2025, 12, 28))
    # then it opens on 4 January 2026 and all three earlier years count
    assert [(s.next_start, s.years_seen) for s in seasons] == [(D(2026, 1, 4), (2023, 2024, 2025))]


def test_a_purchase_already_made_this_season_is_noticed():
    # given the usual November suits and one bought three days ago
    dates = [D(2022, 11, 28), D(2023, 11, 30), D(2024, 11, 26), D(2025, 11, 16)]
    # when
    seasons = find_seasons(dates, today=D(2025, 11, 19))
    # then
    assert len(seasons) == 1
    assert seasons[0].bought_this_season is True
    assert seasons[0].years_seen == (2022, 2023, 2024)


def test_one_year_is_not_a_season():
    # given two purchases in the same November
    dates = [D(2024, 11, 20), D(2024, 11, 28)]
    # when
    seasons = find_seasons(dates, today=D(2025, 11, 1))
    # then
    assert seasons == []


def test_purchases_in_different_months_are_not_a_season():
    # given purchases that are never within two weeks of each other's day of the year
    dates = [D(2022, 3, 1), D(2023, 6, 10), D(2024, 9, 20)]
    # when
    seasons = find_seasons(dates, today=D(2025, 1, 1))
    # then
    assert seasons == []


def test_two_seasons_in_one_category_are_both_found_soonest_first():
    # given spring (2022, 2023) and autumn (2022, 2023, 2024) purchases, known since 2020
    dates = [D(2022, 4, 1), D(2023, 4, 10), D(2022, 10, 1), D(2023, 10, 5), D(2024, 10, 3)]
    # when
    seasons = find_seasons(dates, today=D(2025, 3, 1), observed_since=D(2020, 1, 1))
    # then
    assert [(s.next_start, s.years_seen) for s in seasons] == [
        (D(2025, 4, 5), (2022, 2023)),
        (D(2025, 10, 3), (2022, 2023, 2024)),
    ]
    # five springs could have been seen (2020-2024) and two were: coverage 0.4
    assert seasons[0].confidence == pytest.approx(0.4 * 0.75 * (0.5 + 0.5 * (1 - 4.5 / 14)), 1e-2)


def test_a_season_seen_in_fewer_of_the_years_we_watched_is_less_sure():
    # given the same three Novembers, once for a client known since the first and once since
    # six years before
    dates = [D(2022, 11, 28), D(2023, 11, 30), D(2024, 11, 26)]
    # when
    recent = find_seasons(dates, today=D(2025, 11, 19))[0]
    old = find_seasons(dates, today=D(2025, 11, 19), observed_since=D(2018, 1, 1))[0]
    # then seven Novembers (2018-2024) could have been seen
    assert old.confidence == pytest.approx(recent.confidence * 3 / 7, abs=1e-3)


def test_the_window_sets_what_counts_as_the_same_weeks():
    # given purchases 20 days apart in two years
    dates = [D(2023, 5, 1), D(2024, 5, 21)]
    # when
    narrow = find_seasons(dates, today=D(2025, 4, 1), window_days=7)
    wide = find_seasons(dates, today=D(2025, 4, 1), window_days=14)
    # then
    assert narrow == []
    assert [s.years_seen for s in wide] == [(2023, 2024)]


def test_future_dates_are_ignored():
    # given
    dates = [D(2023, 5, 1), D(2026, 5, 1)]
    # when
    seasons = find_seasons(dates, today=D(2025, 4, 1))
    # then
    assert seasons == []


def test_29_february_counts_as_the_28th():
    # when / then
    assert day_index(D(2024, 2, 29)) == day_index(D(2023, 2, 28)) == 58
    assert day_index(D(2024, 3, 1)) == day_index(D(2023, 3, 1)) == 59
    assert day_from_index(58) == D(2001, 2, 28)


def test_circular_offsets_run_across_the_year_end():
    # when
    offsets = circular_offset(np.array([2, 360, 180]), 363)
    # then
    assert offsets.tolist() == [4, -3, 182]


def test_many_series_are_keyed_as_given():
    # given two clients' suit purchases; only the first has a season
    purchases = {
        (1, "Men/Suits"): [D(2023, 9, 1), D(2024, 9, 4)],
        (2, "Men/Suits"): [D(2024, 9, 4)],
    }
    # when
    found = find_client_seasons(purchases, today=D(2025, 8, 25))
    # then
    assert list(found) == [(1, "Men/Suits")]
    assert found[(1, "Men/Suits")][0].next_start == D(2025, 9, 2)


def test_many_series_in_small_blocks_find_what_each_finds_alone(monkeypatch):
    # given 60 random series of purchases around a few days of the year, over five years
    rng = random.Random(11)
    purchases = {}
    for number in range(60):
        base = D(2001, 1, 1) + dt.timedelta(days=rng.randrange(365))
        purchases[number] = [
            base.replace(year=rng.choice([2020, 2021, 2022, 2023, 2024]))
            + dt.timedelta(days=rng.randint(-25, 25))
            for _ in range(rng.randint(1, 7))
        ]
    today = D(2025, 3, 10)
    alone = {k: find_seasons(v, today=today) for k, v in purchases.items()}
    # when the batch works three series at a time
    monkeypatch.setattr(seasons, "SERIES_PER_BLOCK", 3)
    together = find_client_seasons(purchases, today=today)
    # then
    assert together == {k: v for k, v in alone.items() if v}
    assert len(together) >= 20


def test_seasons_opening_after_the_latest_start_are_left_out():
    # given one series with a spring and an autumn season
    dates = [D(2022, 4, 1), D(2023, 4, 10), D(2022, 10, 1), D(2023, 10, 5), D(2024, 10, 3)]
    today = D(2025, 3, 1)
    # when only seasons opening by the end of April are wanted
    found = find_seasons_batch(
        np.zeros(len(dates), dtype=np.int64),
        np.array([d.toordinal() for d in dates]),
        today=np.array([today.toordinal()]),
        latest_start=np.array([D(2025, 4, 30).toordinal()]),
    )
    # then
    assert [s.next_start for s in found[0]] == [D(2025, 4, 5)]
