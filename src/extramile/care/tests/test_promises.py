"""Promises: made on an action or a problem, shown on Today when due, and their four outcomes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from extramile.care import services
from extramile.care.models import Promise, PromiseOutcome
from extramile.care.tasks import mark_broken_promises_task
from extramile.clients.models import Client
from extramile.clients.services import client_timeline
from extramile.moments.today import todays_actions
from tests.api_helpers import bearer
from tests.factories import ActionFactory, ClientFactory

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
MADE = dt.datetime(2026, 11, 16, 9, 0, tzinfo=NY)  # Monday
DUE = dt.datetime(2026, 11, 20, 17, 0, tzinfo=NY)  # Friday 17:00


@pytest.fixture
def jim(store_a, associate_a) -> Client:
    return ClientFactory(store=store_a, first_name="Jim", primary_associate=associate_a)


def promise(jim: Client, by, *, due: dt.datetime = DUE, made: dt.datetime = MADE) -> Promise:
    return services.make_promise(
        client=jim, text="Call you back about the repair", due_at=due, by=by, now=made
    )


@pytest.mark.parametrize(
    ("kept", "outcome"),
    [
        (dt.datetime(2026, 11, 19, 23, 59, tzinfo=NY), PromiseOutcome.KEPT_EARLY),
        (dt.datetime(2026, 11, 20, 0, 1, tzinfo=NY), PromiseOutcome.KEPT_ON_TIME),
        (dt.datetime(2026, 11, 20, 17, 0, tzinfo=NY), PromiseOutcome.KEPT_ON_TIME),
        (dt.datetime(2026, 11, 20, 17, 1, tzinfo=NY), PromiseOutcome.KEPT_LATE),
        (dt.datetime(2026, 11, 21, 16, 59, tzinfo=NY), PromiseOutcome.KEPT_LATE),
        (dt.datetime(2026, 11, 21, 17, 0, tzinfo=NY), PromiseOutcome.BROKEN),
    ],
)
def test_a_kept_promise_is_judged_by_the_stores_day_and_the_due_time(
    jim, associate_a, kept, outcome
):
    # given
    made = promise(jim, associate_a)
    # when
    services.keep_promise(made, by=associate_a, now=kept)
    # then
    made.refresh_from_db()
    assert (made.outcome, made.kept_at, made.kept_by) == (outcome, kept, associate_a)


def test_the_sweep_breaks_a_promise_a_full_day_past_due_and_keeping_it_later_stays_broken(
    jim, associate_a
):
    # given
    made = promise(jim, associate_a)
    on_time = promise(jim, associate_a, due=DUE + dt.timedelta(days=2))
    # when: not yet a full day late, then a full day
    assert services.mark_broken_promises(now=DUE + dt.timedelta(hours=23)) == 0
    assert services.mark_broken_promises(now=DUE + dt.timedelta(days=1)) == 1
    # then
    made.refresh_from_db()
    assert (made.outcome, made.broken_at) == (PromiseOutcome.BROKEN, DUE + dt.timedelta(days=1))
    on_time.refresh_from_db()
    assert on_time.outcome == ""
    # when: done after all, two days late
    services.keep_promise(made, by=associate_a, now=DUE + dt.timedelta(days=2))
    # then: the keeping is recorded, the outcome stays broken
    made.refresh_from_db()
    assert (made.outcome, made.kept_at) == (PromiseOutcome.BROKEN, DUE + dt.timedelta(days=2))
    with pytest.raises(ValidationError):
        services.keep_promise(made, by=associate_a, now=DUE + dt.timedelta(days=3))


def test_the_periodic_task_uses_the_real_clock(jim, associate_a):
    # given: a promise due a week ago
    long_ago = timezone.now() - dt.timedelta(days=7)
    promise(jim, associate_a, due=long_ago, made=long_ago - dt.timedelta(days=1))
    # when / then
    assert mark_broken_promises_task() == 1
    assert Promise.objects.get().outcome == PromiseOutcome.BROKEN


def test_a_promise_must_say_what_and_be_due_after_it_is_made(jim, associate_a):
    with pytest.raises(ValidationError):
        promise(jim, associate_a, due=MADE - dt.timedelta(hours=1))
    with pytest.raises(ValidationError):
        services.make_promise(client=jim, text="  ", due_at=DUE, by=associate_a, now=MADE)


def test_today_shows_my_promises_due_today_or_overdue_only(jim, associate_a, manager_a):
    # given
    overdue = promise(jim, associate_a, due=DUE - dt.timedelta(days=1))
    today = promise(jim, associate_a)
    promise(jim, associate_a, due=DUE + dt.timedelta(days=1))  # tomorrow
    promise(jim, manager_a)  # someone else's
    kept = promise(jim, associate_a)
    services.keep_promise(kept, by=associate_a, now=MADE + dt.timedelta(hours=1))
    # when
    day = todays_actions(associate_a, now=DUE - dt.timedelta(hours=8))
    # then
    assert [p.pk for p in day.promises] == [overdue.pk, today.pk]


def test_a_promise_on_an_action_is_recorded_by_htmx_and_kept_from_today(web_as, associate_a, jim):
    # given
    action = ActionFactory(store=jim.store, client=jim, associate=associate_a)
    web = web_as(associate_a)
    tomorrow = (timezone.now() + dt.timedelta(days=1)).astimezone(NY).date()
    # when
    response = web.post(
        reverse("care:promise_on_action", args=[action.pk]),
        {"text": "Bring the belt by", "promised_date": tomorrow.isoformat()},
        HTTP_HX_REQUEST="true",
    )
    # then: the panel comes back with the promise in it, due at the end of that day
    assert response.status_code == 200
    assert "Promise recorded." in response.content.decode()
    made = Promise.objects.get()
    assert (made.action, made.client, made.made_by) == (action, jim, associate_a)
    assert made.due_at == dt.datetime.combine(tomorrow, dt.time(23, 59), tzinfo=NY)
    # and: the action page shows it
    page = web.get(reverse("moments:action", args=[action.pk])).content.decode()
    assert "Bring the belt by" in page
    # when: kept from Today (early: the day before it was due)
    kept = web.post(
        reverse("care:keep_promise", args=[made.pk]), {"row": "due"}, HTTP_HX_REQUEST="true"
    )
    # then
    assert kept.status_code == 200
    assert "Kept early" in kept.content.decode()
    made.refresh_from_db()
    assert made.outcome == PromiseOutcome.KEPT_EARLY


def test_today_lists_a_due_promise_with_a_kept_button(web_as, associate_a, jim):
    # given
    now = timezone.now()
    made = promise(jim, associate_a, due=now + dt.timedelta(minutes=1), made=now)
    # when
    html = web_as(associate_a).get(reverse("moments:today")).content.decode()
    # then
    assert "Promises due" in html
    assert reverse("care:keep_promise", args=[made.pk]) in html


def test_another_stores_promise_cannot_be_kept_or_added_to(web_as, associate_b, associate_a, jim):
    # given
    made = promise(jim, associate_a)
    action = ActionFactory(store=jim.store, client=jim, associate=associate_a)
    web = web_as(associate_b)
    # when
    keep = web.post(reverse("care:keep_promise", args=[made.pk]))
    add = web.post(
        reverse("care:promise_on_action", args=[action.pk]),
        {"text": "x", "promised_date": "2099-01-01"},
    )
    # then
    assert (keep.status_code, add.status_code) == (404, 404)
    made.refresh_from_db()
    assert made.kept_at is None
    assert Promise.objects.count() == 1


def test_promise_forms_need_the_csrf_token(associate_a, jim):
    # given
    made = promise(jim, associate_a)
    web = HttpClient(enforce_csrf_checks=True)
    web.force_login(associate_a, backend="django.contrib.auth.backends.ModelBackend")
    # when
    response = web.post(reverse("care:keep_promise", args=[made.pk]))
    # then
    assert response.status_code == 403
    made.refresh_from_db()
    assert made.kept_at is None


def test_the_api_makes_lists_and_keeps_promises_of_your_store_only(associate_a, associate_b, jim):
    # given
    http = HttpClient()
    mine = bearer(associate_a)
    due = (timezone.now() + dt.timedelta(days=2)).isoformat()
    # when
    created = http.post(
        "/api/v1/promises",
        {"client_id": jim.pk, "text": "Hem ready by Friday", "due_at": due},
        content_type="application/json",
        **mine,
    )
    # then
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["made_by"], body["outcome"]) == ("ana", "")
    listed = http.get("/api/v1/promises", {"open": "true"}, **mine).json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    assert http.get("/api/v1/promises", **bearer(associate_b)).json()["count"] == 0
    theirs = http.post(f"/api/v1/promises/{body['id']}/keep", **bearer(associate_b))
    assert theirs.status_code == 404
    kept = http.post(f"/api/v1/promises/{body['id']}/keep", **mine)
    assert (kept.status_code, kept.json()["outcome"]) == (200, "kept_early")


def test_the_timeline_shows_each_promise_made_and_how_it_ended(jim, associate_a):
    # given
    kept = promise(jim, associate_a)
    services.keep_promise(kept, by=associate_a, now=DUE + dt.timedelta(hours=2))
    broken = promise(jim, associate_a, due=DUE + dt.timedelta(hours=1))
    services.mark_broken_promises(now=DUE + dt.timedelta(days=2))
    # when
    entries = [(e.kind, e.title) for e in client_timeline(jim)]
    # then
    assert ("promise_kept_late", "Promise kept late · Call you back about the repair") in entries
    assert ("promise_broken", "Promise broken · Call you back about the repair") in entries
    assert [kind for kind, _ in entries].count("promise_made") == 2
    assert broken.pk != kept.pk
