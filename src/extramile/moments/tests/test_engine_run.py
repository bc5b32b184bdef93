import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from extramile.care.models import Problem
from extramile.clients.services import record_consent
from extramile.moments import engine_run
from extramile.moments.candidates import Candidate
from extramile.moments.engine_run import run_engine
from extramile.moments.governance import rules_for
from extramile.moments.models import Action, ActionKey, ActionKind, Attribution, Event
from extramile.moments.tasks import sweep_engine
from extramile.tasks import Periodic, periodic_tasks
from tests.factories import ActionFactory, ClientFactory, OrderFactory

NOW = dt.datetime(2026, 2, 10, 15, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)

pytestmark = pytest.mark.django_db


@pytest.fixture
def calendar(monkeypatch, store_a):
    """The calendar sweep proposes the moments a test puts in this list (fresh each run)."""
    rules = rules_for(store_a)
    rules.holdout_share = Decimal("0.000")
    rules.save()
    moments: list[dict] = []

    def detect(*, now, stores):
        return [Candidate(**moment) for moment in moments]

    monkeypatch.setattr(engine_run, "run_calendar_detectors", detect)
    return moments


def test_actions_past_their_expiry_expire_and_snoozed_ones_wake(store_a, calendar):
    # given
    stale = ActionFactory(store=store_a, expires_at=NOW - HOUR)
    stale_snoozed = ActionFactory(
        store=store_a, state="snoozed", snoozed_until=NOW - HOUR, expires_at=NOW
    )
    fresh = ActionFactory(store=store_a, expires_at=NOW + HOUR)
    done = ActionFactory(store=store_a, state="done", expires_at=NOW - HOUR)
    awake = ActionFactory(
        store=store_a, state="snoozed", snoozed_until=NOW - HOUR, due_at=NOW - 5 * HOUR
    )
    still = ActionFactory(store=store_a, state="snoozed", snoozed_until=NOW + HOUR)
    # when
    report = run_engine(now=NOW)
    # then
    assert (report.expired, report.woken) == (2, 1)
    states = dict(Action.objects.values_list("id", "state"))
    assert states == {
        stale.pk: "expired",
        stale_snoozed.pk: "expired",
        fresh.pk: "open",
        done.pk: "done",
        awake.pk: "open",
        still.pk: "snoozed",
    }
    awake.refresh_from_db()
    assert (awake.due_at, awake.snoozed_until) == (NOW - HOUR, None)
    assert Action.objects.get(pk=stale.pk).state_reason == "The moment passed before anyone acted."


def test_a_second_run_at_the_same_time_adds_nothing(store_a, associate_a, calendar):
    # given three calendar moments: two for one client (merged), one for another
    maya = ClientFactory(store=store_a, primary_associate=associate_a, first_name="Maya")
    leo = ClientFactory(store=store_a, primary_associate=associate_a, first_name="Leo")
    for client in (maya, leo):
        record_consent(client, channel="email", granted=True, source="form", at=NOW - 9 * HOUR)
    calendar.extend(
        [
            {
                "kind": ActionKind.IMPORTANT_DATE,
                "client": maya,
                "key": "important_date:maya:birthday:2026",
                "reason": "Maya's birthday is on Friday",
                "due_at": NOW,
                "score": 0.8,
            },
            {
                "kind": ActionKind.BUYING_SEASON,
                "client": maya,
                "key": "buying_season:maya:suits:2026",
                "reason": "Maya buys a suit each February",
                "due_at": NOW,
                "score": 0.6,
            },
            {
                "kind": ActionKind.BUYING_SEASON,
                "client": leo,
                "key": "buying_season:leo:coats:2026",
                "reason": "Leo buys a coat each February",
                "due_at": NOW,
                "score": 0.6,
            },
        ]
    )
    first = run_engine(now=NOW)
    actions_after_first = list(Action.objects.values_list("id", "reason", "priority", "due_at"))
    # when
    second = run_engine(now=NOW)
    # then
    assert first.summary()["created_by_kind"] == {"buying_season": 1, "important_date": 1}
    assert (len(first.proposals.merged), first.proposals.duplicates) == (1, 0)
    assert second.summary() == {
        "now": NOW.isoformat(),
        "expired": 0,
        "woken": 0,
        "events_processed": 0,
        "events_failed": 0,
        "events_waiting": 0,
        "calendar_candidates": 3,
        "created": 0,
        "created_by_kind": {},
        "merged": 0,
        "updated": 0,
        "duplicates": 3,
        "held_out": 0,
        "suppressed": 0,
        "orders_checked": 0,
        "attributed": 0,
    }
    assert list(Action.objects.values_list("id", "reason", "priority", "due_at")) == (
        actions_after_first
    )
    assert ActionKey.objects.count() == 3


def test_the_run_attributes_orders_to_earlier_contacts(store_a, calendar):
    # given
    client = ClientFactory(store=store_a)
    action = ActionFactory(store=store_a, client=client, state="done", completed_at=NOW - 48 * HOUR)
    order = OrderFactory(store=store_a, client=client, placed_at=NOW - 24 * HOUR)
    # when
    first = run_engine(now=NOW)
    second = run_engine(now=NOW)
    # then the second run looks at no order again
    assert (first.orders_checked, first.attributed) == (1, 1)
    assert (second.orders_checked, second.attributed) == (0, 0)
    assert list(Attribution.objects.values_list("action", "order")) == [(action.pk, order.pk)]


def test_pending_events_wait_when_no_event_processing_is_installed(store_a, calendar, monkeypatch):
    # given
    monkeypatch.setattr(engine_run, "EVENTS_MODULE", "extramile.moments.no_such_module")
    Event.objects.create(
        event_id="e-1", type="problem.reported", occurred_at=NOW, source="api", store=store_a
    )
    # when
    report = run_engine(now=NOW)
    # then
    assert (report.events_waiting, report.events_processed) == (1, 0)
    assert Event.objects.get().processed_at is None


def test_pending_events_are_processed_once(store_a, associate_a, calendar):
    # given a problem reported for a known client, not yet processed
    client = ClientFactory(store=store_a, primary_associate=associate_a, phone="+12125550100")
    Event.objects.create(
        event_id="problem-77",
        type="problem.reported",
        occurred_at=NOW - HOUR,
        source="api",
        store=store_a,
        data={"problem": {"kind": "defect", "client": {"email": client.email}}},
    )
    # when
    first = run_engine(now=NOW)
    actions_after_first = Action.objects.count()
    second = run_engine(now=NOW)
    # then
    assert (first.events_processed, first.events_failed) == (1, 0)
    assert (second.events_processed, second.events_failed) == (0, 0)
    assert Event.objects.get().processed_at is not None
    assert Problem.objects.get().external_ref == "problem-77"
    assert Action.objects.count() == actions_after_first


def test_the_sweep_runs_every_five_minutes_and_runs_the_engine_now(store_a, calendar):
    # given
    stale = ActionFactory(store=store_a, expires_at=timezone.now() - HOUR)
    # when
    sweep_engine()
    # then
    assert Periodic(name="extramile.moments.tasks.sweep_engine", seconds=300) in periodic_tasks()
    stale.refresh_from_db()
    assert stale.state == "expired"
