"""Problems: urgency, state, on-call routing out of hours, resolution and its follow-up call."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from extramile.accounts.models import Role, Store, User
from extramile.care import services
from extramile.care.models import OnCallShift, OpeningHours, Problem, ProblemStatus, Urgency
from extramile.care.rota import is_open_at, on_call_at
from extramile.clients.models import Client
from extramile.clients.services import client_timeline
from extramile.moments.detectors import problem_follow_up
from extramile.moments.governance import clients_with_open_problems, has_open_problem
from extramile.moments.models import Action, ActionKind, ActionState
from tests.api_helpers import bearer
from tests.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
# Saturday 21 November 2026, 22:05 in New York: the store closed at 18:00.
SATURDAY_NIGHT = dt.datetime(2026, 11, 21, 22, 5, tzinfo=NY)
# Monday 23 November 2026, 11:00: the store is open.
MONDAY_MORNING = dt.datetime(2026, 11, 23, 11, 0, tzinfo=NY)


@pytest.fixture
def hours(store_a: Store) -> None:
    for weekday in range(6):
        OpeningHours.objects.create(
            store=store_a, weekday=weekday, opens_at=dt.time(10), closes_at=dt.time(18)
        )


@pytest.fixture
def olivia(store_a: Store) -> User:
    return UserFactory(username="olivia", first_name="Olivia", store=store_a)


@pytest.fixture
def jim(store_a: Store, associate_a: User) -> Client:
    return ClientFactory(
        store=store_a, first_name="Jim", phone="+14155550106", primary_associate=associate_a
    )


def on_call(store: Store, associate: User) -> OnCallShift:
    """Olivia on call from Saturday's closing to Monday's opening."""
    return OnCallShift.objects.create(
        store=store,
        associate=associate,
        starts_at=dt.datetime(2026, 11, 21, 18, 0, tzinfo=NY),
        ends_at=dt.datetime(2026, 11, 23, 10, 0, tzinfo=NY),
    )


def report(client: Client, *, at: dt.datetime, urgency: str = Urgency.URGENT, **fields) -> Problem:
    return services.report_problem(
        client=client, kind="defect", urgency=urgency, by=None, now=at, **fields
    )


def recovery(client: Client) -> Action:
    return Action.objects.get(client=client, kind=ActionKind.SERVICE_RECOVERY)


def test_opening_hours_are_read_in_the_store_zone(store_a, hours):
    # then: open on Monday at 11:00, closed on Saturday at 22:05 and all Sunday
    assert is_open_at(store_a, MONDAY_MORNING)
    assert not is_open_at(store_a, SATURDAY_NIGHT)
    assert not is_open_at(store_a, dt.datetime(2026, 11, 22, 12, 0, tzinfo=NY))


def test_a_store_without_opening_hours_is_never_out_of_hours(store_a):
    assert is_open_at(store_a, SATURDAY_NIGHT)


def test_an_urgent_problem_after_closing_goes_to_the_associate_on_call(store_a, hours, jim, olivia):
    # given
    on_call(store_a, olivia)
    # when
    report(jim, at=SATURDAY_NIGHT)
    # then
    action = recovery(jim)
    assert action.associate == olivia
    assert action.reason.startswith(
        "Reported at 22:05 on Saturday 21 November, after closing; you are on call."
    )
    assert action.evidence["routing"] == {
        "urgency": "urgent",
        "out_of_hours": True,
        "on_call": True,
        "to": "olivia",
    }
    assert "it's Olivia from" in action.draft


def test_with_nobody_on_call_it_goes_to_the_store_manager_and_says_so(
    store_a, hours, jim, manager_a
):
    # when
    report(jim, at=SATURDAY_NIGHT)
    # then
    action = recovery(jim)
    assert action.associate == manager_a
    assert "after closing, and no one was on call" in action.reason


def test_in_hours_an_urgent_problem_goes_to_the_clients_associate(
    store_a, hours, jim, olivia, associate_a
):
    # given: Olivia's shift does not cover Monday 11:00
    on_call(store_a, olivia)
    # when
    report(jim, at=MONDAY_MORNING)
    # then
    action = recovery(jim)
    assert action.associate == associate_a
    assert "on call" not in action.reason


def test_a_problem_that_is_not_urgent_waits_for_the_usual_associate(
    store_a, hours, jim, olivia, associate_a
):
    # given
    on_call(store_a, olivia)
    # when
    report(jim, at=SATURDAY_NIGHT, urgency=Urgency.NORMAL)
    # then
    assert recovery(jim).associate == associate_a


def test_in_hours_the_owner_takes_the_call(store_a, hours, jim, olivia):
    # when
    report(jim, at=MONDAY_MORNING, owner=olivia)
    # then
    assert recovery(jim).associate == olivia


def test_a_deactivated_associate_is_never_on_call(store_a, olivia):
    # given
    on_call(store_a, olivia)
    olivia.is_active = False
    olivia.save()
    # then
    assert on_call_at(store_a, SATURDAY_NIGHT) is None


def test_a_problem_in_progress_still_silences_marketing(jim):
    # given
    problem = report(jim, at=MONDAY_MORNING)
    # when
    services.start_problem(problem, by=jim.primary_associate, now=MONDAY_MORNING)
    # then
    problem.refresh_from_db()
    assert (problem.status, problem.started_at) == (ProblemStatus.IN_PROGRESS, MONDAY_MORNING)
    assert problem.owner == jim.primary_associate
    assert has_open_problem(jim)
    assert clients_with_open_problems([jim.pk]) == {jim.pk}


def test_resolving_ends_the_recovery_call_and_plans_a_follow_up_the_next_morning(jim, associate_a):
    # given
    problem = report(jim, at=MONDAY_MORNING)
    resolved_at = MONDAY_MORNING + dt.timedelta(hours=3)
    # when
    services.resolve_problem(
        problem, resolution="Replaced the zip on the spot.", by=associate_a, now=resolved_at
    )
    # then
    problem.refresh_from_db()
    assert (problem.status, problem.resolved_by) == (ProblemStatus.RESOLVED, associate_a)
    assert not has_open_problem(jim)
    call = recovery(jim)
    assert call.state == ActionState.WITHDRAWN
    assert call.state_reason == "Problem resolved at 14:00 on Monday 23 November."
    follow_up = Action.objects.get(client=jim, kind=ActionKind.PROBLEM_FOLLOW_UP)
    assert follow_up.state == ActionState.OPEN
    assert follow_up.due_at == dt.datetime(2026, 11, 24, 10, 0, tzinfo=NY)
    assert follow_up.channel == "phone"
    assert follow_up.associate == associate_a
    assert "was resolved at 14:00 on Monday 23 November: Replaced the zip on the spot" in (
        follow_up.reason
    )
    assert "What was done: Replaced the zip on the spot." in follow_up.draft


def test_the_sweep_finds_a_resolution_it_did_not_see_and_adds_no_second_follow_up(
    store_a, jim, associate_a
):
    # given: resolved in the app, follow-up already proposed
    problem = report(jim, at=MONDAY_MORNING)
    services.resolve_problem(problem, resolution="Done.", by=associate_a, now=MONDAY_MORNING)
    # when
    again = problem_follow_up.detect(now=MONDAY_MORNING + dt.timedelta(hours=1), stores=[store_a])
    # then: the sweep proposes the same moment, which the key keeps to one action
    assert [c.key for c in again] == [f"problem_follow_up:{problem.pk}"]
    assert Action.objects.filter(kind=ActionKind.PROBLEM_FOLLOW_UP).count() == 1


def test_a_resolved_problem_cannot_be_resolved_again(jim, associate_a):
    problem = report(jim, at=MONDAY_MORNING)
    services.resolve_problem(problem, resolution="Done.", by=associate_a, now=MONDAY_MORNING)
    with pytest.raises(ValidationError):
        services.resolve_problem(problem, resolution="Again", by=associate_a, now=MONDAY_MORNING)


def test_an_owner_from_another_store_is_refused(jim, associate_b):
    with pytest.raises(ValidationError) as caught:
        report(jim, at=MONDAY_MORNING, owner=associate_b)
    assert "owner" in caught.value.message_dict


def test_the_timeline_tells_the_whole_problem(jim, associate_a):
    # given
    problem = report(jim, at=MONDAY_MORNING, description="Zip broke")
    services.start_problem(problem, by=associate_a, now=MONDAY_MORNING + dt.timedelta(hours=1))
    services.resolve_problem(
        problem,
        resolution="New zip.",
        by=associate_a,
        now=MONDAY_MORNING + dt.timedelta(hours=2),
    )
    # when
    kinds = [entry.kind for entry in client_timeline(jim)]
    # then: newest first
    assert kinds[:4] == [
        "problem_follow_up",
        "problem_resolved",
        "problem_in_progress",
        "problem_reported",
    ]


# --- Pages --------------------------------------------------------------------------------------


def test_the_list_puts_unresolved_and_urgent_first_and_hides_other_stores(
    web_as, associate_a, jim, store_b
):
    # given
    low = report(jim, at=MONDAY_MORNING, urgency=Urgency.LOW)
    urgent = report(jim, at=MONDAY_MORNING - dt.timedelta(days=1))
    done = report(jim, at=MONDAY_MORNING + dt.timedelta(hours=1))
    services.resolve_problem(done, resolution="x", by=associate_a, now=MONDAY_MORNING)
    theirs = report(ClientFactory(store=store_b, phone="+14155550199"), at=MONDAY_MORNING)
    # when
    page = web_as(associate_a).get(reverse("care:problems") + "?status=all")
    # then
    assert [p.pk for p in page.context["page"].object_list] == [urgent.pk, low.pk, done.pk]
    assert theirs.pk not in [p.pk for p in page.context["page"].object_list]
    other = web_as(associate_a).get(reverse("care:problem", args=[theirs.pk]))
    assert other.status_code == 404


def test_report_start_and_resolve_through_the_pages(web_as, associate_a, jim):
    web = web_as(associate_a)
    # when: reported
    response = web.post(
        reverse("care:report"),
        {
            "client": jim.pk,
            "kind": "late_delivery",
            "urgency": "urgent",
            "description": "Parcel stuck",
            "owner": associate_a.pk,
            "promised_date": "2099-01-05",
            "promised_time": "12:00",
        },
    )
    problem = Problem.objects.get(client=jim)
    assert response.status_code == 302
    assert response.url == reverse("care:problem", args=[problem.pk])
    assert (problem.urgency, problem.owner) == ("urgent", associate_a)
    assert problem.promised_by == dt.datetime(2099, 1, 5, 12, 0, tzinfo=NY)
    # when: taken on, then resolved
    web.post(reverse("care:start", args=[problem.pk]))
    web.post(reverse("care:resolve", args=[problem.pk]), {"resolution": "Delivered by hand"})
    # then
    problem.refresh_from_db()
    assert (problem.status, problem.resolution) == ("resolved", "Delivered by hand")
    page = web.get(reverse("care:problem", args=[problem.pk])).content.decode()
    assert "Delivered by hand" in page
    assert "Follow-up after a problem" in page


def test_resolving_without_saying_how_is_refused(web_as, associate_a, jim):
    problem = report(jim, at=MONDAY_MORNING)
    response = web_as(associate_a).post(
        reverse("care:resolve", args=[problem.pk]), {"resolution": ""}
    )
    assert response.status_code == 400
    problem.refresh_from_db()
    assert problem.status == ProblemStatus.OPEN


def test_problem_pages_need_a_login(jim):
    from django.test import Client as HttpClient

    response = HttpClient().get(reverse("care:problems"))
    assert response.status_code == 302
    assert response.url.startswith("/login/")


# --- API ----------------------------------------------------------------------------------------


def test_the_api_reports_lists_and_resolves_problems_of_your_store_only(
    associate_a, associate_b, jim
):
    from django.test import Client as HttpClient

    http = HttpClient()
    mine = bearer(associate_a)
    # when
    created = http.post(
        "/api/v1/problems",
        {"client_id": jim.pk, "kind": "defect", "urgency": "urgent", "owner": "ana"},
        content_type="application/json",
        **mine,
    )
    # then
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["status"], body["urgency"], body["owner"]) == ("open", "urgent", "ana")
    assert Action.objects.filter(client=jim, kind=ActionKind.SERVICE_RECOVERY).exists()
    listed = http.get("/api/v1/problems", **mine).json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    assert http.get("/api/v1/problems", **bearer(associate_b)).json()["count"] == 0
    theirs = http.post(
        f"/api/v1/problems/{body['id']}/resolve",
        {"resolution": "x"},
        content_type="application/json",
        **bearer(associate_b),
    )
    assert theirs.status_code == 404
    resolved = http.post(
        f"/api/v1/problems/{body['id']}/resolve",
        {"resolution": "Swapped it"},
        content_type="application/json",
        **mine,
    )
    assert resolved.status_code == 200
    assert (resolved.json()["status"], resolved.json()["resolved_by"]) == ("resolved", "ana")
    assert Action.objects.filter(client=jim, kind=ActionKind.PROBLEM_FOLLOW_UP).exists()


def test_the_api_needs_a_token():
    from django.test import Client as HttpClient

    assert HttpClient().get("/api/v1/problems").status_code == 401
    assert HttpClient().get("/api/v1/promises").status_code == 401


def test_a_manager_keeps_the_on_call_rota_of_their_store_in_the_admin(
    web_as, manager_a, store_a, olivia
):
    # when
    web = web_as(manager_a)
    response = web.post(
        reverse("admin:care_oncallshift_add"),
        {
            "store": store_a.pk,
            "associate": olivia.pk,
            "starts_at_0": "2026-11-21",
            "starts_at_1": "18:00",
            "ends_at_0": "2026-11-23",
            "ends_at_1": "10:00",
            "note": "",
        },
    )
    # then
    assert response.status_code == 302, response.content
    assert OnCallShift.objects.get().associate == olivia
    assert manager_a.role == Role.MANAGER
