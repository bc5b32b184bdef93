"""The catalog's part of the demo: a sale Uptown announces, opening three days after the demo's day.

Its preview is open on the demo's day, so `extramile engine run` previews it to the Uptown clients
who like or buy tailoring and knitwear (extramile.moments.detectors.sale_preview).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from extramile.accounts.models import Store
from extramile.catalog.models import Sale

STORE_CODE = "uptown"
OPENS_IN_DAYS = 3
RUNS_DAYS = 12


def load(*, now: dt.datetime) -> None:
    """Write Uptown's winter tailoring sale, its preview open today."""
    store = Store.objects.filter(code=STORE_CODE).first()
    if store is None:
        return
    today = now.astimezone(ZoneInfo(store.time_zone or "UTC")).date()
    starts = today + dt.timedelta(days=OPENS_IN_DAYS)
    Sale.objects.create(
        store=store,
        name="Winter Tailoring Sale",
        starts_on=starts,
        ends_on=starts + dt.timedelta(days=RUNS_DAYS - 1),
        preview_days=OPENS_IN_DAYS,
        percent_off=25,
        category_prefixes=["Men/Suits", "Men/Jackets", "Men/Coats", "Men/Knitwear"],
        note="Alterations are free on anything bought in the sale.",
        created_at=now,
    )
