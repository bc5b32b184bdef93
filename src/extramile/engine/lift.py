"""Incremental lift: how much more the contacted bought than the held-out, with 95% intervals.

The treated group is the eligible marketing actions that were shown (not held out), the control
group the eligible ones held out by the draw; each action's outcome is whether the client bought
within the attribution window, and how much. Because the draw decides who is held out, the
difference between the groups is the effect of being contacted (intention to treat: an action
shown but skipped still counts as treated, so the estimate is what proposing the contact earns).

Two differences, each with an interval:

- **Conversion**, the share who bought: Newcombe's hybrid score interval (his method 10, from the
  two Wilson score intervals). It is chosen over the Wald interval because a control group is
  small (a 10% holdout) and its rate low: Wald's interval is too narrow there, collapses to a
  point when a group has no buyers, and can leave [-1, 1]; the hybrid keeps close to its nominal
  coverage for small groups and rare outcomes and never leaves the possible range.
- **Revenue per action**: Welch's t interval for a difference of means with unequal variances
  and the Welch-Satterthwaite degrees of freedom. Revenue is skewed (most clients buy nothing),
  but each group's mean is a mean over many actions, so it is close to normal; Welch needs no
  random draws (unlike a bootstrap), so the page, the CSV and the API always agree.

The relative lift is the ratio of the rates less one, with the Katz log interval of the ratio;
incremental buyers and revenue are the differences times the treated count. Observations are
taken as independent: a client with several actions counts once per action.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
# Below this many actions in either group the page says there are too few to tell.
MIN_GROUP = 20


@dataclass(frozen=True)
class Group:
    """What one group's actions led to: how many, how many bought, and the revenue."""

    n: int
    buyers: int
    revenue: float
    revenue_squares: float

    @classmethod
    def of(cls, bought: Iterable[bool], revenue: Iterable[float]) -> Group:
        """Sum up one group from each action's outcome: bought or not, and its revenue."""
        bought_array = np.asarray(list(bought), dtype=bool)
        revenue_array = np.asarray(list(revenue), dtype=np.float64)
        if bought_array.shape != revenue_array.shape:
            raise ValueError("Each action needs both an outcome and a revenue.")
        return cls(
            n=int(bought_array.size),
            buyers=int(bought_array.sum()),
            revenue=float(revenue_array.sum()),
            revenue_squares=float(np.square(revenue_array).sum()),
        )

    @property
    def rate(self) -> float | None:
        """The share of actions followed by a purchase."""
        return self.buyers / self.n if self.n else None

    @property
    def revenue_per_action(self) -> float | None:
        """The mean revenue an action was followed by, buyers or not."""
        return self.revenue / self.n if self.n else None

    @property
    def revenue_variance(self) -> float:
        """The sample variance of the revenue per action (0 for fewer than two actions)."""
        if self.n < 2:
            return 0.0
        mean = self.revenue / self.n
        return max(0.0, (self.revenue_squares - self.n * mean * mean) / (self.n - 1))


@dataclass(frozen=True)
class Interval:
    """An estimate with its confidence interval."""

    estimate: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        """Say whether the whole interval lies on one side of zero."""
        return self.low > 0 or self.high < 0

    def times(self, factor: float) -> Interval:
        """The same interval scaled by a positive factor."""
        return Interval(self.estimate * factor, self.low * factor, self.high * factor)


@dataclass(frozen=True)
class Lift:
    """The difference the contact made, treated minus control, with its intervals."""

    treated: Group
    control: Group
    conversion: Interval  # difference of rates, in shares (0.04 = four points)
    relative: Interval | None  # treated rate / control rate - 1; None without buyers in both
    revenue_per_action: Interval | None  # None when a group has fewer than two actions
    incremental_buyers: Interval
    incremental_revenue: Interval | None
    confidence: float

    @property
    def enough(self) -> bool:
        """Say whether both groups hold enough actions for the interval to mean something."""
        return min(self.treated.n, self.control.n) >= MIN_GROUP

    @property
    def verdict(self) -> str:
        """In a word: the contacts earn purchases, cost them, show no clear effect, or too few."""
        if not self.enough:
            return "too few"
        if self.conversion.low > 0:
            return "lift"
        if self.conversion.high < 0:
            return "loss"
        return "no clear effect"


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"A confidence level is between 0 and 1, not {confidence}.")
    return float(stats.norm.ppf(0.5 + confidence / 2))


def wilson_interval(successes: int, n: int, *, confidence: float = CONFIDENCE) -> Interval:
    """Return the Wilson score interval of a proportion."""
    if n <= 0:
        raise ValueError("A proportion needs at least one trial.")
    if not 0 <= successes <= n:
        raise ValueError(f"{successes} successes out of {n} trials is impossible.")
    z = _z(confidence)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # Rounding can push a bound a hair past the observed share at 0 or 1.
    return Interval(p, max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half)))


def rate_difference(treated: Group, control: Group, *, confidence: float = CONFIDENCE) -> Interval:
    """Return the difference of the two rates with Newcombe's hybrid score interval."""
    first = wilson_interval(treated.buyers, treated.n, confidence=confidence)
    second = wilson_interval(control.buyers, control.n, confidence=confidence)
    p1, p2 = first.estimate, second.estimate
    difference = p1 - p2
    low = difference - math.hypot(p1 - first.low, second.high - p2)
    high = difference + math.hypot(first.high - p1, p2 - second.low)
    return Interval(difference, low, high)


def rate_ratio(
    treated: Group, control: Group, *, confidence: float = CONFIDENCE
) -> Interval | None:
    """Return the relative lift (ratio of rates less one) with the Katz log interval."""
    if treated.buyers == 0 or control.buyers == 0:
        return None
    ratio = (treated.buyers / treated.n) / (control.buyers / control.n)
    spread = math.sqrt(1 / treated.buyers - 1 / treated.n + 1 / control.buyers - 1 / control.n)
    z = _z(confidence)
    return Interval(ratio - 1, ratio * math.exp(-z * spread) - 1, ratio * math.exp(z * spread) - 1)


def mean_difference(
    treated: Group, control: Group, *, confidence: float = CONFIDENCE
) -> Interval | None:
    """Return the difference of revenue per action with Welch's t interval."""
    if treated.n < 2 or control.n < 2:
        return None
    assert treated.revenue_per_action is not None
    assert control.revenue_per_action is not None
    difference = treated.revenue_per_action - control.revenue_per_action
    first = treated.revenue_variance / treated.n
    second = control.revenue_variance / control.n
    error = math.sqrt(first + second)
    if error == 0:
        return Interval(difference, difference, difference)
    freedom = (first + second) ** 2 / (
        first * first / (treated.n - 1) + second * second / (control.n - 1)
    )
    t = float(stats.t.ppf(0.5 + confidence / 2, freedom))
    return Interval(difference, difference - t * error, difference + t * error)


def incremental_lift(
    treated: Group, control: Group, *, confidence: float = CONFIDENCE
) -> Lift | None:
    """Measure the contacts against the holdout; None when either group is empty."""
    if treated.n == 0 or control.n == 0:
        return None
    conversion = rate_difference(treated, control, confidence=confidence)
    revenue = mean_difference(treated, control, confidence=confidence)
    return Lift(
        treated=treated,
        control=control,
        conversion=conversion,
        relative=rate_ratio(treated, control, confidence=confidence),
        revenue_per_action=revenue,
        incremental_buyers=conversion.times(treated.n),
        incremental_revenue=revenue.times(treated.n) if revenue is not None else None,
        confidence=confidence,
    )
