import datetime as dt

import pytest
from django.test import override_settings

from extramile.accounts.models import Store
from extramile.demo.services import load_demo
from extramile.insight.services import build_insight, default_period
from extramile.orders.models import Order

NOW = dt.datetime(2025, 6, 18, 16, 30, tzinfo=dt.UTC)


@pytest.mark.slow
@pytest.mark.django_db
def test_the_demo_gives_the_dashboard_something_to_show(tmp_path):
    # given
    with override_settings(MEDIA_ROOT=tmp_path):
        load_demo(seed=2026, now=NOW, clients=160)
    store = Store.objects.get(code="uptown")
    # when
    insight = build_insight(store, period=default_period(store, now=NOW), now=NOW)
    # then: contacts, a holdout to measure them against, and first contacts after online orders
    overall = next(row for row in insight.lift if row.kind == "all")
    assert overall.treated.n > 0
    assert overall.control.n > 0
    assert insight.totals.done > 0
    assert insight.first_contact is not None
    assert insight.first_contact.contacted > 0
    assert insight.cohorts
    # and every simulated purchase says it is demo data
    simulated = Order.objects.filter(external_ref__startswith="DEMO-LIFT-")
    assert simulated.exists()
    assert set(simulated.values_list("note", flat=True)) == {
        "demo: a simulated purchase after a contact (insight demo data)"
    }
