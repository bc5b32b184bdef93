"""The care stories end to end: S4 (on call on a Saturday night), S5 (resolve and follow up), S10.

Events come in through POST /api/v1/events, the engine runs at a clock passed in, and what an
associate sees (Today, the problem page, the client's timeline) is read back.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from extramile.accounts.models import Role, Store, User
from extramile.care import services
from extramile.care.models import OnCallShift, OpeningHours, Problem, Promise, PromiseOutcome
from extramile.clients.models import Client
from extramile.clients.services import client_timeline
from extramile.moments.engine_run import run_engine
from extramile.moments.lifecycle import log_call
from extramile.moments.models import Action, ActionKind, ActionState
from tests.e2e.test_stories import customer, event, post_events
from tests.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
# Saturday 21 November 2026: the dealer closed at 17:00; the call comes at 22:00.
SATURDAY_22 = dt.datetime(2026, 11, 21, 22, 0, tzinfo=NY)
MONDAY_11 = dt.datetime(2026, 11, 23, 11, 0, tzinfo=NY)


@pytest.fixture
def store() -> Store:
    store = StoreFactory(code="motors", name="Riverside Motors", time_zone="America/New_York")
    for weekday in range(6):  # Monday to Saturday, 9:00 to 17:00; closed on Sunday
        OpeningHours.objects.create(
            store=store, weekday=weekday, opens_at=dt.time(9), closes_at=dt.time(17)
        )
    return store


@pytest.fixture
def sofia(store: Store) -> User:
    return UserFactory(username="sofia", first_name="Sofia", store=store)


@pytest.fixture
def marco(store: Store) -> User:
    """On call this weekend."""
    marco = UserFactory(username="marco", first_name="Marco", store=store)
    OnCallShift.objects.create(
        store=store,
        associate=marco,
        starts_at=dt.datetime(2026, 11, 21, 17, 0, tzinfo=NY),
        ends_at=dt.datetime(2026, 11, 23, 9, 0, tzinfo=NY),
    )
    return marco


@pytest.fixture
def dan(store: Store, sofia: User) -> Client:
    return customer(store, sofia, "Dan Reyes", "C-DAN", "+14155550142")


def breakdown(event_id: str, at: dt.datetime, *, urgency: str = "urgent") -> dict:
    return event(
        event_id,
        "problem.reported",
        at,
        {
            "problem": {
                "kind": "other",
                "client": {"id": "C-DAN"},
                "description": "Car broke down on the way to the game",
                "urgency": urgency,
                "promised_by": (at + dt.timedelta(hours=1)).isoformat(),
            }
        },
    )


def test_s4_a_problem_at_ten_on_saturday_night_reaches_the_associate_on_call(
    store, sofia, marco, dan
):
    # given: the store closed at 17:00; Marco is on call, Sofia is Dan's associate
    # when: Dan's urgent problem comes in through the events API at 22:00
    post_events(sofia, breakdown("evt-breakdown", SATURDAY_22))
    run_engine(now=SATURDAY_22 + dt.timedelta(minutes=1))
    # then: Marco, not Sofia, has the call, and the reason says why
    problem = Problem.objects.get(external_ref="evt-breakdown")
    assert (problem.urgency, problem.status) == ("urgent", "open")
    assert problem.promised_by == SATURDAY_22 + dt.timedelta(hours=1)
    action = Action.objects.get(client=dan, kind=ActionKind.SERVICE_RECOVERY)
    assert action.associate == marco
    assert action.reason.startswith(
        "Reported at 22:00 on Saturday 21 November, after closing; you are on call."
    )
    assert "Car broke down on the way to the game" in action.reason
    assert action.channel == "phone"
    assert "it's Marco from Riverside Motors" in action.draft
    assert not Action.objects.filter(associate=sofia).exists()
    # and: it is due now, inside Dan's quiet hours (20:00 to 09:00): he is waiting by the road
    assert action.due_at == SATURDAY_22 + dt.timedelta(minutes=1)


def test_s4_in_hours_the_same_problem_goes_to_the_clients_own_associate(store, sofia, marco, dan):
    # when: the same urgent problem, on Monday at 11:00, while the store is open
    post_events(sofia, breakdown("evt-monday", MONDAY_11))
    run_engine(now=MONDAY_11 + dt.timedelta(minutes=1))
    # then
    action = Action.objects.get(client=dan, kind=ActionKind.SERVICE_RECOVERY)
    assert action.associate == sofia
    assert "on call" not in action.reason


def test_s4_a_problem_that_is_not_urgent_waits_for_the_clients_morning(store, sofia, marco, dan):
    # when: a problem of normal urgency comes in at 22:00 on Saturday
    post_events(sofia, breakdown("evt-can-wait", SATURDAY_22, urgency="normal"))
    run_engine(now=SATURDAY_22 + dt.timedelta(minutes=1))
    # then: nobody is woken; the client's own associate calls at the end of the quiet hours
    action = Action.objects.get(client=dan, kind=ActionKind.SERVICE_RECOVERY)
    assert action.associate == sofia
    assert action.due_at == dt.datetime(2026, 11, 22, 9, 0, tzinfo=NY)


def test_s4_with_nobody_on_call_the_manager_gets_it_and_is_told_why(store, sofia, dan):
    # given
    manager = UserFactory(username="rita", role=Role.MANAGER, store=store)
    # when
    post_events(sofia, breakdown("evt-alone", SATURDAY_22))
    run_engine(now=SATURDAY_22 + dt.timedelta(minutes=1))
    # then
    action = Action.objects.get(client=dan, kind=ActionKind.SERVICE_RECOVERY)
    assert action.associate == manager
    assert "after closing, and no one was on call" in action.reason


def test_s5_resolved_then_followed_up_and_the_whole_story_is_on_the_timeline(
    store, sofia, marco, dan, web_as
):
    # given: the Saturday-night problem, called back by Marco, who promised a loan car
    post_events(sofia, breakdown("evt-breakdown", SATURDAY_22))
    run_engine(now=SATURDAY_22 + dt.timedelta(minutes=1))
    recovery = Action.objects.get(client=dan, kind=ActionKind.SERVICE_RECOVERY)
    loan_by = SATURDAY_22 + dt.timedelta(minutes=50)
    post_events(
        sofia,
        event(
            "evt-promise-loan",
            "promise.made",
            SATURDAY_22 + dt.timedelta(minutes=5),
            {
                "promise": {
                    "client": {"id": "C-DAN"},
                    "text": "A loan car at the stadium gate",
                    "due_at": loan_by.isoformat(),
                    "made_by": "marco",
                    "problem": {"id": "evt-breakdown"},
                }
            },
        ),
    )
    run_engine(now=SATURDAY_22 + dt.timedelta(minutes=6))
    log_call(
        recovery,
        by=marco,
        outcome="Driving a loan car over now.",
        reached=True,
        now=SATURDAY_22 + dt.timedelta(minutes=6),
    )
    loan = Promise.objects.get(external_ref="evt-promise-loan")
    services.keep_promise(loan, by=marco, now=SATURDAY_22 + dt.timedelta(minutes=45))
    # when: the repair is done and reported resolved on Monday
    post_events(
        sofia,
        event(
            "evt-repaired",
            "problem.resolved",
            MONDAY_11,
            {
                "problem": {"id": "evt-breakdown"},
                "resolution": "Alternator replaced",
                "resolved_by": "sofia",
            },
        ),
    )
    run_engine(now=MONDAY_11 + dt.timedelta(minutes=1))
    # then: a follow-up call on Tuesday morning, to make sure Dan is happy
    problem = Problem.objects.get(external_ref="evt-breakdown")
    assert (problem.status, problem.resolved_by) == ("resolved", sofia)
    assert (loan.problem, loan.made_by) == (problem, marco)
    follow_up = Action.objects.get(client=dan, kind=ActionKind.PROBLEM_FOLLOW_UP)
    assert follow_up.state == ActionState.OPEN
    assert follow_up.due_at == dt.datetime(2026, 11, 24, 10, 0, tzinfo=NY)
    assert follow_up.associate == sofia
    assert "resolved at 11:00 on Monday 23 November: Alternator replaced" in follow_up.reason
    # and: one timeline tells it all, newest first
    kinds = [entry.kind for entry in client_timeline(dan)]
    assert kinds.index("problem_follow_up") < kinds.index("problem_resolved")
    assert kinds.index("problem_resolved") < kinds.index("promise_kept_on_time")
    assert kinds.index("promise_kept_on_time") < kinds.index("call")
    assert kinds.index("call") < kinds.index("promise_made")
    assert kinds.index("promise_made") < kinds.index("problem_reported")
    # and: the problem page shows it to any colleague of the store
    page = web_as(sofia).get(reverse("care:problem", args=[problem.pk])).content.decode()
    assert "Alternator replaced" in page
    assert "A loan car at the stadium gate" in page
    assert "Kept on time" in page


@pytest.mark.parametrize(
    ("kept_after_made", "outcome"),
    [
        (dt.timedelta(days=1), PromiseOutcome.KEPT_EARLY),  # Tuesday, due Friday
        (dt.timedelta(days=4, hours=5), PromiseOutcome.KEPT_ON_TIME),  # Friday 14:00
        (dt.timedelta(days=4, hours=9), PromiseOutcome.KEPT_LATE),  # Friday 18:00
        (None, PromiseOutcome.BROKEN),  # never: the sweep breaks it on Saturday 17:00
    ],
)
def test_s10_a_promise_ends_kept_early_on_time_late_or_broken(
    store, sofia, dan, kept_after_made, outcome
):
    # given: on Monday 09:00 Sofia promises the hem by Friday 17:00, through the events API
    made_at = dt.datetime(2026, 11, 16, 9, 0, tzinfo=NY)
    due = dt.datetime(2026, 11, 20, 17, 0, tzinfo=NY)
    post_events(
        sofia,
        event(
            "evt-hem",
            "promise.made",
            made_at,
            {
                "promise": {
                    "client": {"id": "C-DAN"},
                    "text": "Hem ready by Friday",
                    "due_at": due.isoformat(),
                    "made_by": "sofia",
                }
            },
        ),
    )
    run_engine(now=made_at)
    promise = Promise.objects.get(external_ref="evt-hem")
    assert (promise.made_by, promise.due_at, promise.outcome) == (sofia, due, "")
    # when
    if kept_after_made is not None:
        services.keep_promise(promise, by=sofia, now=made_at + kept_after_made)
    services.mark_broken_promises(now=dt.datetime(2026, 11, 21, 17, 0, tzinfo=NY))
    # then
    promise.refresh_from_db()
    assert promise.outcome == outcome
    titles = [entry.title for entry in client_timeline(dan)]
    label = PromiseOutcome(outcome).label
    assert any(title.startswith(f"Promise {label.split()[0].lower()}") for title in titles)
