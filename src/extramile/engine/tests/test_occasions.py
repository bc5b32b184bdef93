import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from extramile.engine.occasions import (
    closeness,
    due_before,
    local_midnight,
    next_morning,
    next_occurrence,
    occurrence_in,
    spend_percentile,
)

D = dt.date
NEW_YORK = ZoneInfo("America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_date_later_this_year_occurs_this_year():
    # when / then
    assert next_occurrence(11, 28, today=D(2026, 11, 21)) == D(2026, 11, 28)


def test_a_date_today_occurs_today():
    # when / then
    assert next_occurrence(11, 21, today=D(2026, 11, 21)) == D(2026, 11, 21)


def test_a_date_in_early_january_seen_in_late_december_occurs_next_year():
    # when / then
    assert next_occurrence(1, 2, today=D(2025, 12, 28)) == D(2026, 1, 2)


def test_29_february_falls_on_the_28th_in_a_common_year_and_on_the_29th_in_a_leap_year():
    # when / then
    assert next_occurrence(2, 29, today=D(2026, 2, 20)) == D(2026, 2, 28)
    assert next_occurrence(2, 29, today=D(2028, 2, 20)) == D(2028, 2, 29)
    assert next_occurrence(2, 29, today=D(2027, 3, 1)) == D(2028, 2, 29)


def test_a_day_the_month_lacks_falls_on_its_last_day():
    # when / then
    assert occurrence_in(2026, 4, 31) == D(2026, 4, 30)


def test_closeness_is_one_today_and_falls_to_the_edge_of_the_lead():
    # when / then
    assert closeness(0, lead_days=7) == 1.0
    assert closeness(7, lead_days=7) == pytest.approx(1 / 8)
    assert closeness(8, lead_days=7) == 0.0
    assert closeness(-1, lead_days=7) == 0.0


def test_spend_percentile_ranks_with_ties_sharing_their_rank():
    # given three clients who spent nothing, one 100 and one 900
    spend = np.array([0.0, 0.0, 0.0, 100.0, 900.0])
    # when
    ranks = spend_percentile(spend)
    # then
    assert ranks.tolist() == [0.4, 0.4, 0.4, 0.8, 1.0]
    assert spend_percentile(np.array([])).tolist() == []


def test_next_morning_is_now_in_the_morning_window():
    # given 10:30 in New York
    now = dt.datetime(2026, 3, 2, 15, 30, tzinfo=dt.UTC)
    # when / then
    assert next_morning(now, NEW_YORK) == now


def test_next_morning_before_ten_is_ten_the_same_day():
    # given 7:00 in New York
    now = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
    # when / then
    assert next_morning(now, NEW_YORK) == dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


def test_next_morning_in_the_afternoon_is_ten_the_next_day_in_the_clients_zone():
    # given 14:00 UTC: 9 am in New York, 10 pm in Shanghai
    now = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)
    # when / then
    assert next_morning(now, NEW_YORK) == dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
    assert next_morning(now, SHANGHAI) == dt.datetime(2026, 3, 3, 2, 0, tzinfo=dt.UTC)


def test_due_before_a_deadline_that_comes_first_is_now():
    # given 4 pm in New York on the day itself, which ends at midnight
    now = dt.datetime(2026, 3, 2, 21, 0, tzinfo=dt.UTC)
    deadline = local_midnight(D(2026, 3, 3), NEW_YORK)
    # when / then
    assert deadline == dt.datetime(2026, 3, 3, 5, 0, tzinfo=dt.UTC)
    assert due_before(now, NEW_YORK, deadline=deadline) == now
    assert due_before(now, NEW_YORK, deadline=deadline + dt.timedelta(days=1)) == dt.datetime(
        2026, 3, 3, 15, 0, tzinfo=dt.UTC
    )
