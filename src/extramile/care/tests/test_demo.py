"""Care's part of the demo: opening hours, an on-call rota covering every night, open promises."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings

from extramile.accounts.models import Store
from extramile.care.models import OpeningHours, Promise
from extramile.care.rota import is_open_at, on_call_at
from extramile.demo.services import load_demo
from extramile.moments.today import promises_due

# Wednesday 18 June 2025, 12:30 in New York.
NOW = dt.datetime(2025, 6, 18, 16, 30, tzinfo=dt.UTC)
NY = ZoneInfo("America/New_York")


@pytest.mark.django_db
def test_the_demo_stores_have_hours_someone_on_call_every_night_and_a_promise_due_today(tmp_path):
    # given
    with override_settings(MEDIA_ROOT=tmp_path):
        load_demo(seed=2026, now=NOW, clients=120)
    uptown = Store.objects.get(code="uptown")
    # then: open on Wednesday at noon, closed at night with an associate on call
    assert OpeningHours.objects.filter(store=uptown).count() == 6
    assert is_open_at(uptown, NOW)
    for night in range(7):
        late = dt.datetime(2025, 6, 18, 23, 0, tzinfo=NY) + dt.timedelta(days=night)
        assert not is_open_at(uptown, late)
        assert on_call_at(uptown, late) is not None, late
    sofia_promises = Promise.objects.filter(made_by__username="sofia", outcome="")
    assert sofia_promises.count() == 1
    assert [p.pk for p in promises_due(sofia_promises.get().made_by, now=NOW)] == [
        sofia_promises.get().pk
    ]
    assert Promise.objects.filter(made_by__username="priya", outcome="").count() == 1
