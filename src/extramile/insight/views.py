"""The insight dashboard and its CSV files: parse the filters, call the service, shape the page."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode

from extramile.accounts.access import signed_in_staff
from extramile.accounts.models import Role, User
from extramile.insight import charts, tables
from extramile.insight.filters import (
    BadPeriod,
    Filters,
    NotVisible,
    associates_of,
    resolve_filters,
    visible_stores,
)
from extramile.insight.services import Insight, build_insight


def _insight(request: HttpRequest) -> tuple[User, Filters, Insight]:
    user = signed_in_staff(request)
    now = timezone.now()
    try:
        filters = resolve_filters(
            user,
            store=request.GET.get("store"),
            associate=request.GET.get("associate"),
            date_from=request.GET.get("from"),
            date_to=request.GET.get("to"),
            now=now,
        )
    except NotVisible:
        raise Http404("No such store or associate.") from None
    insight = build_insight(
        filters.store, period=filters.period, associate=filters.associate, now=now
    )
    return user, filters, insight


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Show whether going the extra mile pays, for a store (or one associate) over a period."""
    try:
        user, filters, insight = _insight(request)
    except BadPeriod as exc:
        user = signed_in_staff(request)
        return render(
            request, "insight/dashboard.html", {"error": str(exc), "user": user}, status=400
        )
    query = urlencode(filters.query())
    context = {
        "filters": filters,
        "insight": insight,
        "stores": visible_stores(user) if user.role == Role.ADMIN else [],
        "associates": associates_of(filters.store) if user.role != Role.ASSOCIATE else [],
        "query": query,
        "tables": {name: build(insight) for name, build in tables.TABLES.items()},
        "lift_chart": charts.lift_chart(insight.lift),
        "activity_chart": charts.activity_chart(insight.kinds),
        "cohort_rows": charts.heat_rows(insight.cohorts),
        "chart_width": charts.WIDTH,
    }
    with timezone.override(filters.period.zone):
        return render(request, "insight/dashboard.html", context)


@login_required
def export_csv(request: HttpRequest, table: str) -> HttpResponse:
    """Download one of the dashboard's tables as CSV, with the page's filters."""
    build = tables.TABLES.get(table)
    if build is None:
        raise Http404("No such table.")
    try:
        _, filters, insight = _insight(request)
    except BadPeriod as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    found = build(insight)
    period = filters.period
    name = f"{filters.store.code}-{found.name}-{period.first_day}-{period.last_day}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(found.columns)
    for row in found.rows:
        writer.writerow(["" if value is None else value for value in row])
    return response
