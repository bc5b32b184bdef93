"""REST routes of insight, under /api/v1: the dashboard's numbers, the same as the page's.

`GET /api/v1/insights?store=CODE&from=YYYY-MM-DD&to=YYYY-MM-DD&associate=USERNAME` answers
every table of the dashboard (the columns of its CSV files, one object per row), built by the
same service and the same table functions. The scoping rule is the page's
(extramile.insight.filters): another store, or another associate for an associate, is a 404.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from extramile.api_support import ErrorOut, api_user
from extramile.insight import tables
from extramile.insight.filters import BadPeriod, NotVisible, resolve_filters
from extramile.insight.services import build_insight

router = Router(tags=["insight"])

Cell = str | int | float | None


class InsightQuery(Schema):
    """Which numbers: a store (default: yours, or the first for an admin), days, an associate."""

    store: str | None = Field(None, description="Store code.")
    from_: dt.date | None = Field(
        None, alias="from", description="First day (default: 89 days ago)."
    )
    to: dt.date | None = Field(None, description="Last day, inclusive (default: today).")
    associate: str | None = Field(None, description="Username of one associate.")


class InsightOut(Schema):
    """Every table of the dashboard: tables[name] is a list of rows, each {column: value}."""

    store: str
    associate: str | None
    first_day: dt.date
    last_day: dt.date
    attribution_days: int
    tables: dict[str, list[dict[str, Cell]]]


@router.get(
    "",
    response={200: InsightOut, 404: ErrorOut, 422: ErrorOut},
    summary="The insight dashboard's numbers",
)
def read_insight(request: HttpRequest, query: Query[InsightQuery]) -> InsightOut:
    """Return done and skipped actions, responses, lift with 95% intervals, cohorts and more."""
    user = api_user(request)
    now = timezone.now()
    try:
        filters = resolve_filters(
            user,
            store=query.store,
            associate=query.associate,
            date_from=query.from_.isoformat() if query.from_ else None,
            date_to=query.to.isoformat() if query.to else None,
            now=now,
        )
    except NotVisible:
        raise HttpError(404, "No such store or associate.") from None
    except BadPeriod as exc:
        raise HttpError(422, str(exc)) from None
    insight = build_insight(
        filters.store, period=filters.period, associate=filters.associate, now=now
    )
    built = {name: build(insight) for name, build in tables.TABLES.items()}
    return InsightOut(
        store=filters.store.code,
        associate=filters.associate.username if filters.associate else None,
        first_day=filters.period.first_day,
        last_day=filters.period.last_day,
        attribution_days=insight.attribution_days,
        tables={
            name: [dict(zip(table.columns, row, strict=True)) for row in table.rows]
            for name, table in built.items()
        },
    )
