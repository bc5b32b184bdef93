"""The dashboard's charts as geometry for inline SVG: bars, error bars and a heat scale.

The template draws what these functions measure out; no JavaScript and no build step. Each
mark carries its value in words too (a <title> and a visible label), so the chart reads without
the picture.
"""

from __future__ import annotations

from dataclasses import dataclass

from extramile.insight.services import CohortRow, KindRow, LiftRow

WIDTH = 360.0
LABEL_HEIGHT = 16.0
BAR_HEIGHT = 14.0
ROW_HEIGHT = 44.0
PAD = 12.0


@dataclass(frozen=True)
class LiftBar:
    """One kind's bar: the difference in points from zero, and its 95% interval as a whisker."""

    label: str
    text: str  # the difference, its interval and the group sizes: the bar's title
    short: str  # the difference alone: the visible label, which must fit beside the bar
    y: float
    bar_x: float
    bar_width: float
    low_x: float
    high_x: float
    positive: bool
    clear: bool  # the interval lies on one side of zero


@dataclass(frozen=True)
class LiftChart:
    """Every kind's bar on one scale, with the zero line."""

    bars: list[LiftBar]
    zero_x: float
    height: float
    low_label: str
    high_label: str


def _points(value: float) -> str:
    return f"{value * 100:+.1f} pts"


def lift_chart(rows: list[LiftRow]) -> LiftChart | None:
    """Lay out the conversion lift of each kind (and all) with its interval; None without data."""
    measured = [row for row in rows if row.lift is not None]
    if not measured:
        return None
    lows = [row.lift.conversion.low for row in measured if row.lift]
    highs = [row.lift.conversion.high for row in measured if row.lift]
    low, high = min(0.0, *lows), max(0.0, *highs)
    span = (high - low) or 0.01
    low, high = low - span * 0.05, high + span * 0.05
    inner = WIDTH - 2 * PAD

    def x(value: float) -> float:
        return round(PAD + (value - low) / (high - low) * inner, 1)

    zero = x(0.0)
    bars = []
    for index, row in enumerate(measured):
        assert row.lift is not None
        conversion = row.lift.conversion
        top = index * ROW_HEIGHT + LABEL_HEIGHT + 2
        end = x(conversion.estimate)
        bars.append(
            LiftBar(
                label=row.label,
                text=(
                    f"{_points(conversion.estimate)} (95% CI {_points(conversion.low)} to "
                    f"{_points(conversion.high)}; {row.treated.n} contacted, "
                    f"{row.control.n} held out)"
                ),
                short=_points(conversion.estimate),
                y=top,
                bar_x=min(zero, end),
                bar_width=max(1.0, abs(end - zero)),
                low_x=x(conversion.low),
                high_x=x(conversion.high),
                positive=conversion.estimate >= 0,
                clear=conversion.excludes_zero,
            )
        )
    return LiftChart(
        bars=bars,
        zero_x=zero,
        height=len(bars) * ROW_HEIGHT + 18,
        low_label=_points(low),
        high_label=_points(high),
    )


@dataclass(frozen=True)
class ActivityBar:
    """One kind's done and skipped actions as a stacked bar."""

    label: str
    text: str
    y: float
    done_width: float
    skipped_width: float


@dataclass(frozen=True)
class ActivityChart:
    """Done and skipped by kind, on one scale."""

    bars: list[ActivityBar]
    height: float


def activity_chart(rows: list[KindRow]) -> ActivityChart | None:
    """Lay out done and skipped actions by kind; None when nothing was done or skipped."""
    shown = [row for row in rows if row.done or row.skipped]
    if not shown:
        return None
    most = max(row.done + row.skipped for row in shown)
    inner = WIDTH - 2 * PAD - 40
    bars = []
    for index, row in enumerate(shown):
        bars.append(
            ActivityBar(
                label=row.label,
                text=f"{row.done} done, {row.skipped} skipped",
                y=index * ROW_HEIGHT + LABEL_HEIGHT + 2,
                done_width=round(row.done / most * inner, 1),
                skipped_width=round(row.skipped / most * inner, 1),
            )
        )
    return ActivityChart(bars=bars, height=len(bars) * ROW_HEIGHT + 4)


@dataclass(frozen=True)
class HeatCell:
    """One cohort month: the share as text and the shade behind it."""

    text: str
    alpha: float | None  # None: the month has not ended yet


def heat_rows(rows: list[CohortRow]) -> list[tuple[CohortRow, list[HeatCell]]]:
    """Shade each cohort's monthly shares on one scale (the highest share darkest)."""
    values = [value for row in rows for value in row.shares if value is not None]
    top = max(values, default=0.0) or 1.0
    return [
        (
            row,
            [
                HeatCell("—", None)
                if value is None
                else HeatCell(f"{value:.0%}", round(0.08 + 0.8 * value / top, 2))
                for value in row.shares
            ],
        )
        for row in rows
    ]
