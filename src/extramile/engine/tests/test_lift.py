import math

import numpy as np
import pytest
from scipy import stats

from extramile.engine.lift import (
    Group,
    incremental_lift,
    mean_difference,
    rate_difference,
    wilson_interval,
)

RUNS = 400
# 400 runs of a 95% interval: coverage has a standard deviation of about 0.011.
COVERAGE_LOW, COVERAGE_HIGH = 0.92, 0.98
SPEND_MU, SPEND_SIGMA = math.log(150.0), 0.6  # what a buyer spends: log-normal, skewed
MEAN_SPEND = math.exp(SPEND_MU + SPEND_SIGMA**2 / 2)


def group(buyers: int, n: int) -> Group:
    return Group.of(
        [True] * buyers + [False] * (n - buyers), [100.0] * buyers + [0.0] * (n - buyers)
    )


def simulate(
    rng: np.random.Generator,
    *,
    treated_rate: float,
    control_rate: float,
    treated_n: int,
    control_n: int,
) -> tuple[Group, Group]:
    """One store's eligible actions: who bought after them, and what they spent."""

    def one(rate: float, n: int) -> Group:
        bought = rng.random(n) < rate
        revenue = np.where(bought, rng.lognormal(SPEND_MU, SPEND_SIGMA, n), 0.0)
        return Group.of(bought, revenue)

    return one(treated_rate, treated_n), one(control_rate, control_n)


def test_the_wilson_interval_matches_newcombes_worked_example():
    # when: 81 of 263 (Newcombe 1998, table I)
    interval = wilson_interval(81, 263)
    # then
    assert (round(interval.low, 4), round(interval.high, 4)) == (0.2553, 0.3662)


def test_the_hybrid_score_interval_matches_newcombes_worked_example():
    # when: 56/70 against 48/80 (Newcombe 1998, method 10)
    interval = rate_difference(group(56, 70), group(48, 80))
    # then
    assert round(interval.estimate, 4) == 0.2
    assert (round(interval.low, 4), round(interval.high, 4)) == (0.0524, 0.3339)


def test_the_welch_interval_matches_scipys():
    # given
    rng = np.random.default_rng(7)
    treated_revenue = rng.lognormal(4, 1, 300)
    control_revenue = rng.lognormal(3.8, 1.4, 60)
    treated = Group.of([True] * 300, treated_revenue)
    control = Group.of([True] * 60, control_revenue)
    # when
    interval = mean_difference(treated, control)
    # then
    expected = stats.ttest_ind(
        treated_revenue, control_revenue, equal_var=False
    ).confidence_interval()
    assert interval is not None
    assert interval.low == pytest.approx(expected.low, rel=1e-9)
    assert interval.high == pytest.approx(expected.high, rel=1e-9)


def test_the_interval_covers_a_real_effect_in_about_95_percent_of_stores_and_excludes_zero():
    # given: 10,000 eligible actions a store, a 10% holdout; the contacted buy 12%, the others 8%
    rng = np.random.default_rng(2026)
    true_conversion = 0.12 - 0.08
    true_revenue = true_conversion * MEAN_SPEND
    covered = revenue_covered = excluded = revenue_excluded = 0
    # when
    for _ in range(RUNS):
        treated, control = simulate(
            rng, treated_rate=0.12, control_rate=0.08, treated_n=9_000, control_n=1_000
        )
        lift = incremental_lift(treated, control)
        assert lift is not None
        assert lift.revenue_per_action is not None
        covered += lift.conversion.low <= true_conversion <= lift.conversion.high
        revenue_covered += (
            lift.revenue_per_action.low <= true_revenue <= lift.revenue_per_action.high
        )
        excluded += lift.conversion.low > 0
        revenue_excluded += lift.revenue_per_action.low > 0
    # then
    assert COVERAGE_LOW <= covered / RUNS <= COVERAGE_HIGH
    assert COVERAGE_LOW <= revenue_covered / RUNS <= COVERAGE_HIGH
    # and the effect is told apart from none in nearly every store (power about 99%)
    assert excluded / RUNS >= 0.95
    assert revenue_excluded / RUNS >= 0.9


def test_without_an_effect_the_interval_includes_zero_in_about_95_percent_of_stores():
    # given: contacted or not, 10% buy
    rng = np.random.default_rng(5)
    includes = revenue_includes = 0
    # when
    for _ in range(RUNS):
        treated, control = simulate(
            rng, treated_rate=0.10, control_rate=0.10, treated_n=9_000, control_n=1_000
        )
        lift = incremental_lift(treated, control)
        assert lift is not None
        assert lift.revenue_per_action is not None
        includes += lift.conversion.low <= 0 <= lift.conversion.high
        revenue_includes += lift.revenue_per_action.low <= 0 <= lift.revenue_per_action.high
    # then
    assert COVERAGE_LOW <= includes / RUNS <= COVERAGE_HIGH
    assert COVERAGE_LOW <= revenue_includes / RUNS <= COVERAGE_HIGH


def test_small_holdouts_with_rare_purchases_keep_their_coverage():
    # given: the case where Wald's interval fails — 300 actions, a 10% holdout, 4% vs 3%
    rng = np.random.default_rng(11)
    true_conversion = 0.04 - 0.03
    covered = 0
    # when
    for _ in range(RUNS):
        treated, control = simulate(
            rng, treated_rate=0.04, control_rate=0.03, treated_n=270, control_n=30
        )
        lift = incremental_lift(treated, control)
        assert lift is not None
        covered += lift.conversion.low <= true_conversion <= lift.conversion.high
        assert -1 <= lift.conversion.low <= lift.conversion.high <= 1
    # then: the hybrid interval errs on the safe side rather than the narrow one
    assert covered / RUNS >= COVERAGE_LOW


def test_relative_lift_incremental_buyers_and_revenue():
    # given: 120 of 1,000 contacted bought $100 each, 8 of 100 held out did
    treated, control = group(120, 1_000), group(8, 100)
    # when
    lift = incremental_lift(treated, control)
    # then
    assert lift is not None
    assert lift.conversion.estimate == pytest.approx(0.04)
    assert lift.relative is not None
    assert lift.relative.estimate == pytest.approx(0.5)
    assert lift.relative.low < 0.5 < lift.relative.high
    assert lift.incremental_buyers.estimate == pytest.approx(40)
    assert lift.revenue_per_action is not None
    assert lift.incremental_revenue is not None
    assert lift.revenue_per_action.estimate == pytest.approx(4.0)
    assert lift.incremental_revenue.estimate == pytest.approx(4_000.0)
    assert lift.incremental_revenue.low == pytest.approx(lift.revenue_per_action.low * 1_000)
    assert lift.verdict == "no clear effect"  # 8 of 100 is too few to tell 12% from 8%


def test_no_buyer_in_a_group_still_gives_an_interval_but_no_ratio():
    # when
    lift = incremental_lift(group(30, 300), group(0, 30))
    # then
    assert lift is not None
    assert lift.conversion.estimate == pytest.approx(0.1)
    assert -1 < lift.conversion.low < 0.1 < lift.conversion.high < 1
    # and, unlike Wald's, the interval still counts the held-out group's uncertainty
    wald_half_width = 1.96 * math.sqrt(0.1 * 0.9 / 300)
    assert lift.conversion.low < 0.1 - wald_half_width
    assert lift.relative is None


def test_an_empty_group_measures_nothing_and_small_groups_are_too_few():
    assert incremental_lift(group(3, 10), Group.of([], [])) is None
    lift = incremental_lift(group(9, 10), group(0, 10))
    assert lift is not None
    assert lift.verdict == "too few"


def test_a_group_needs_an_outcome_and_a_revenue_for_each_action():
    with pytest.raises(ValueError, match="both an outcome and a revenue"):
        Group.of([True, False], [10.0])
