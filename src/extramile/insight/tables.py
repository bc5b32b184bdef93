"""The dashboard's tables as plain rows: the same numbers for the page, the CSV and the API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from extramile.engine.lift import Interval
from extramile.insight.services import CohortRow, Insight

Value = str | int | float | None


@dataclass(frozen=True)
class Table:
    """One table: a file name, a title, its columns and its rows."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Value]]


def share(value: float | None) -> float | None:
    """A share, to four decimals (0.1234 = 12.34%)."""
    return None if value is None else round(value, 4)


def money(value: Decimal | float | None) -> float | None:
    """An amount of money, to the cent."""
    return None if value is None else round(float(value), 2)


def minutes(value: float | None) -> float | None:
    """Minutes, to a tenth."""
    return None if value is None else round(value, 1)


def _bounds(
    interval: Interval | None, rounder: Callable[[float | None], float | None]
) -> list[Value]:
    if interval is None:
        return [None, None, None]
    return [rounder(interval.estimate), rounder(interval.low), rounder(interval.high)]


def kinds(insight: Insight) -> Table:
    """Actions by kind."""
    rows: list[list[Value]] = [
        [
            row.kind,
            row.label,
            row.done,
            row.skipped,
            row.held_out,
            row.responded,
            share(row.response_rate),
            row.purchases,
            money(row.revenue),
        ]
        for row in [*insight.kinds, insight.totals]
    ]
    return Table(
        "kinds",
        "Actions by kind",
        [
            "kind",
            "label",
            "done",
            "skipped",
            "held_out",
            "responded",
            "response_rate",
            "purchases_in_window",
            "revenue_in_window",
        ],
        rows,
    )


def associates(insight: Insight) -> Table:
    """Actions by associate."""
    return Table(
        "associates",
        "By associate",
        [
            "associate",
            "done",
            "skipped",
            "responded",
            "response_rate",
            "purchases_in_window",
            "revenue_in_window",
            "first_contacts",
            "median_minutes_to_first_contact",
        ],
        [
            [
                row.name,
                row.done,
                row.skipped,
                row.responded,
                share(row.response_rate),
                row.purchases,
                money(row.revenue),
                row.first_contacts,
                minutes(row.median_minutes),
            ]
            for row in insight.associates
        ],
    )


def lift(insight: Insight) -> Table:
    """Lift against the holdout by kind of marketing action."""
    rows: list[list[Value]] = []
    for row in insight.lift:
        measured = row.lift
        rows.append(
            [
                row.kind,
                row.label,
                row.treated.n,
                row.treated.buyers,
                share(row.treated.rate),
                row.control.n,
                row.control.buyers,
                share(row.control.rate),
                *_bounds(measured.conversion if measured else None, share),
                *_bounds(measured.relative if measured else None, share),
                *_bounds(measured.revenue_per_action if measured else None, money),
                *_bounds(measured.incremental_revenue if measured else None, money),
                round(measured.incremental_buyers.estimate, 1) if measured else None,
                measured.verdict if measured else "no holdout yet",
            ]
        )
    return Table(
        "lift",
        "Lift against the holdout",
        [
            "kind",
            "label",
            "contacted_actions",
            "contacted_buyers",
            "contacted_rate",
            "held_out_actions",
            "held_out_buyers",
            "held_out_rate",
            "conversion_difference",
            "conversion_low_95",
            "conversion_high_95",
            "relative_lift",
            "relative_low_95",
            "relative_high_95",
            "revenue_per_action_difference",
            "revenue_per_action_low_95",
            "revenue_per_action_high_95",
            "incremental_revenue",
            "incremental_revenue_low_95",
            "incremental_revenue_high_95",
            "incremental_buyers",
            "verdict",
        ],
        rows,
    )


def first_contact(insight: Insight) -> Table:
    """From an online order to the first contact."""
    found = insight.first_contact
    rows: list[list[Value]] = []
    if found is not None:
        rows.append(
            [
                found.orders,
                found.contacted,
                minutes(found.median_minutes),
                minutes(found.p90_minutes),
            ]
        )
    return Table(
        "first_contact",
        "From an online order to the first contact",
        ["online_orders", "contacted", "median_minutes", "p90_minutes"],
        rows,
    )


def cohorts(insight: Insight) -> Table:
    """Repeat purchase and retention by month of first purchase."""
    months = len(insight.cohorts[0].returned) if insight.cohorts else 6
    return Table(
        "cohorts",
        "Cohorts by month of first purchase",
        [
            "first_purchase_month",
            "clients",
            "bought_again_share",
            *[f"month_{n}" for n in range(1, months + 1)],
        ],
        [_cohort_row(row) for row in insight.cohorts],
    )


def _cohort_row(row: CohortRow) -> list[Value]:
    cells: list[Value] = [row.month.strftime("%Y-%m"), row.clients, share(row.repeat_share)]
    cells.extend(share(value) for value in row.shares)
    return cells


def loyalty(insight: Insight) -> Table:
    """Loyalty movement: from the stage at the start of the period to the stage at its end."""
    return Table(
        "loyalty",
        "Loyalty movement",
        ["from_stage", "to_stage", "clients"],
        [[row.from_stage or "", row.to_stage, row.clients] for row in insight.loyalty or []],
    )


def promises(insight: Insight) -> Table:
    """Promises due in the period, by outcome."""
    return Table(
        "promises",
        "Promises kept",
        ["outcome", "promises"],
        [[row.outcome, row.count] for row in insight.promises or []],
    )


TABLES: dict[str, Callable[[Insight], Table]] = {
    "kinds": kinds,
    "associates": associates,
    "lift": lift,
    "first_contact": first_contact,
    "cohorts": cohorts,
    "loyalty": loyalty,
    "promises": promises,
}
