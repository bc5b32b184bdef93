"""Loyalty's services, pages and API: links, events from outside, movement, holdout, scoping."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import signing
from django.test import Client as HttpClient
from django.test import override_settings
from django.utils import timezone

from conftest import logged_in
from extramile.accounts.models import Store, User
from extramile.clients.models import Client
from extramile.clients.services import record_consent
from extramile.loyalty.models import (
    PlanItem,
    PlanState,
    Referral,
    ReferralSource,
    StageSnapshot,
    Survey,
)
from extramile.loyalty.plans import build_plans
from extramile.loyalty.services import (
    SURVEY_SALT,
    answer_survey,
    record_referral,
    refresh_stage_snapshots,
    send_survey,
    stage_movement,
    survey_token,
)
from extramile.moments.engine_run import run_engine
from extramile.moments.models import Action, ActionKind, Event, StoreRules
from tests.api_helpers import bearer, get
from tests.factories import ClientFactory, OrderFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 6, 18, 16, 30, tzinfo=dt.UTC)


def no_holdout(store: Store) -> None:
    """Show every marketing action (plans built on today's week draw differently each week)."""
    StoreRules.objects.update_or_create(store=store, defaults={"holdout_share": Decimal("0")})


def emailable(store: Store, associate: User | None = None, **fields: object) -> Client:
    client = ClientFactory(store=store, primary_associate=associate, **fields)
    record_consent(client, channel="email", granted=True, source="form", at=NOW - dt.timedelta(90))
    return client


def test_a_survey_link_expires_and_a_forged_one_is_refused(store_a):
    # given: a survey sent 31 days ago (links last 30)
    client = emailable(store_a)
    survey = send_survey(client, trigger="purchase", now=timezone.now() - dt.timedelta(days=31))
    forged = signing.dumps(str(survey.uid), salt="another.salt")
    # when
    expired = HttpClient().get(f"/survey/{survey_token(survey)}/")
    bad = HttpClient().get(f"/survey/{forged}/")
    # then
    assert expired.status_code == 400
    assert b"This survey has closed" in expired.content
    assert bad.status_code == 400
    assert b"This link is not valid" in bad.content
    assert SURVEY_SALT == "extramile.loyalty.survey"


def test_the_survey_page_refuses_a_post_without_its_csrf_token(store_a):
    # given
    survey = send_survey(emailable(store_a), trigger="purchase", now=timezone.now())
    # when
    response = HttpClient(enforce_csrf_checks=True).post(
        f"/survey/{survey_token(survey)}/", {"score": "9"}
    )
    # then
    assert response.status_code == 403
    survey.refresh_from_db()
    assert survey.score is None


def test_an_answer_posted_to_the_events_api_is_recorded_as_a_survey_and_detected(associate_a):
    # given: a client known by their reference, and an NPS tool posting its answers
    client = emailable(associate_a.store, associate_a, external_ref="C-9", phone="+12125550100")
    body = {
        "id": "nps-tool:123",
        "type": "survey.answered",
        "occurred_at": (NOW - dt.timedelta(hours=1)).isoformat(),
        "data": {"client": {"id": "C-9"}, "score": 2, "comment": "Rude on the phone"},
    }
    # when
    response = HttpClient().post(
        "/api/v1/events", data=body, content_type="application/json", **bearer(associate_a)
    )
    run_engine(now=NOW)
    # then: one survey answered elsewhere, and a recovery call
    assert response.status_code == 202, response.content
    [survey] = Survey.objects.filter(client=client)
    assert (survey.trigger, survey.score, survey.event_id) == ("external", 2, "nps-tool:123")
    assert Action.objects.get(client=client).kind == ActionKind.DETRACTOR_RECOVERY
    assert Event.objects.get(event_id="nps-tool:123").error == ""


def test_an_answer_naming_another_clients_survey_is_not_applied(associate_a):
    # given
    survey = send_survey(emailable(associate_a.store), trigger="purchase", now=NOW)
    other = emailable(associate_a.store, external_ref="C-10")
    body = {
        "id": "nps-tool:124",
        "type": "survey.answered",
        "occurred_at": NOW.isoformat(),
        "data": {"survey": {"id": str(survey.uid)}, "client": {"id": "C-10"}, "score": 10},
    }
    # when
    HttpClient().post(
        "/api/v1/events", data=body, content_type="application/json", **bearer(associate_a)
    )
    run_engine(now=NOW)
    # then
    survey.refresh_from_db()
    assert survey.score is None
    assert not Survey.objects.filter(client=other).exists()
    assert "data.client" in Event.objects.get(event_id="nps-tool:124").error


def test_stage_movement_counts_clients_from_one_month_to_the_next(store_a):
    # given: three clients in May; in June one of them sent us a friend
    clients = [emailable(store_a) for _ in range(3)]
    for client in clients:
        OrderFactory(store=store_a, client=client, placed_at=NOW - dt.timedelta(days=200))
        OrderFactory(store=store_a, client=client, placed_at=NOW - dt.timedelta(days=100))
    may = NOW - dt.timedelta(days=30)
    refresh_stage_snapshots(now=may, stores=[store_a])
    newcomer = emailable(store_a)
    record_referral(referrer=clients[0], referred=newcomer, source="profile", now=NOW)
    refresh_stage_snapshots(now=NOW, stores=[store_a])
    # when
    movement = stage_movement(store_a, dt.date(2025, 5, 1), dt.date(2025, 6, 30))
    # then
    assert movement == [
        ("neutral", "neutral", 2),
        (None, "new", 1),
        ("neutral", "advocate", 1),
    ]
    assert StageSnapshot.objects.filter(client=newcomer).get().stage == "new"


def test_a_referral_between_stores_or_to_oneself_is_refused(store_a, store_b):
    # given
    here, there = emailable(store_a), emailable(store_b)
    # when / then
    with pytest.raises(Exception, match="same store"):
        record_referral(referrer=there, referred=here, source=ReferralSource.API)
    with pytest.raises(Exception, match="themselves"):
        record_referral(referrer=here, referred=here, source=ReferralSource.API)
    assert not Referral.objects.exists()


def test_a_client_referred_by_one_cannot_be_claimed_by_another(store_a):
    # given
    first, second, newcomer = emailable(store_a), emailable(store_a), emailable(store_a)
    record_referral(referrer=first, referred=newcomer, source=ReferralSource.API)
    # when / then
    with pytest.raises(Exception, match="already referred"):
        record_referral(referrer=second, referred=newcomer, source=ReferralSource.API)
    assert Action.objects.filter(kind=ActionKind.REFERRAL_THANKS).count() == 1


def test_a_planned_client_drawn_into_the_holdout_is_kept_from_the_associate(store_a, associate_a):
    # given: the whole store is a control group
    StoreRules.objects.update_or_create(store=store_a, defaults={"holdout_share": Decimal("1")})
    client = emailable(store_a, associate_a)
    newcomer = emailable(store_a, associate_a)
    OrderFactory(store=store_a, client=client, placed_at=NOW - dt.timedelta(days=100))
    record_referral(referrer=client, referred=newcomer, source="profile", now=NOW)
    # when
    build = build_plans(store=store_a, now=NOW)
    # then: recorded as held out, with its held-out action, and not on the associate's page
    [item] = PlanItem.objects.all()
    assert build.items == []
    assert build.held_out == 1
    assert item.state == PlanState.HELD_OUT
    assert item.action is not None
    assert item.action.state == "held_out"
    page = logged_in(associate_a).get(f"/plan/?week={build.week.isoformat()}")
    assert client.full_name.encode() not in page.content


def test_a_client_without_consent_is_passed_over_for_the_plan(store_a, associate_a):
    # given: an advocate who never agreed to any contact
    client = ClientFactory(store=store_a, primary_associate=associate_a)
    OrderFactory(store=store_a, client=client, placed_at=NOW - dt.timedelta(days=100))
    record_referral(
        referrer=client, referred=ClientFactory(store=store_a), source="profile", now=NOW
    )
    # when
    build = build_plans(store=store_a, now=NOW)
    # then
    assert build.passed_over == 1
    assert not PlanItem.objects.exists()


def test_the_api_lists_answers_stages_referrals_and_plans_of_ones_own_store(
    associate_a, associate_b
):
    # given: an answered survey, a referral and a plan in store A
    store = associate_a.store
    no_holdout(store)
    client = emailable(store, associate_a)
    newcomer = emailable(store, associate_a)
    OrderFactory(store=store, client=client, placed_at=timezone.now() - dt.timedelta(days=100))
    survey = send_survey(client, trigger="purchase", now=timezone.now())
    answer_survey(survey, score=9, comment="Great")
    record_referral(referrer=client, referred=newcomer, source="api")
    build_plans(store=store, now=timezone.now())
    refresh_stage_snapshots(now=timezone.now(), stores=[store])
    # when
    surveys = get(associate_a, "/api/v1/loyalty/surveys").json()
    stages = get(associate_a, "/api/v1/loyalty/stages", client_id=client.pk).json()
    referrals = get(associate_a, "/api/v1/loyalty/referrals").json()
    plan = get(associate_a, "/api/v1/loyalty/plan").json()
    others = get(associate_b, "/api/v1/loyalty/surveys").json()
    # then
    assert [(s["score"], s["group"]) for s in surveys["items"]] == [(9, "promoter")]
    assert [s["stage"] for s in stages["items"]] == ["advocate"]
    assert [(r["referrer_id"], r["referred_id"]) for r in referrals["items"]] == [
        (client.pk, newcomer.pk)
    ]
    assert [p["client_id"] for p in plan["items"]] == [client.pk]
    assert others["count"] == 0
    assert get(associate_b, "/api/v1/loyalty/plan").json()["count"] == 0


def test_the_api_records_a_referral_once_and_marks_a_plan_item_done(associate_a, associate_b):
    # given
    store = associate_a.store
    no_holdout(store)
    client = emailable(store, associate_a, external_ref="C-1")
    newcomer = emailable(store, associate_a, email="new@example.com")
    OrderFactory(store=store, client=client, placed_at=timezone.now() - dt.timedelta(days=100))
    body = {"referrer": {"id": "C-1"}, "referred": {"email": "new@example.com"}}
    http = HttpClient()
    headers = bearer(associate_a)
    # when
    first = http.post(
        "/api/v1/loyalty/referrals", data=body, content_type="application/json", **headers
    )
    second = http.post(
        "/api/v1/loyalty/referrals", data=body, content_type="application/json", **headers
    )
    assert first.status_code == 201, first.content
    build_plans(store=store, now=timezone.now())
    item = PlanItem.objects.get()
    refused = http.post(
        f"/api/v1/loyalty/plan/{item.pk}/done",
        data={"note": "Card"},
        content_type="application/json",
        **bearer(associate_b),
    )
    done = http.post(
        f"/api/v1/loyalty/plan/{item.pk}/done",
        data={"note": "A card and a call"},
        content_type="application/json",
        **headers,
    )
    # then
    assert (first.status_code, second.status_code) == (201, 200), second.content
    assert Referral.objects.get().referred == newcomer
    assert Action.objects.filter(kind=ActionKind.REFERRAL_THANKS).count() == 1
    assert refused.status_code == 404
    assert done.status_code == 200, done.content
    assert done.json()["state"] == "done"


def test_the_client_profile_shows_the_loyalty_section_and_refuses_an_ambiguous_referrer(
    associate_a,
):
    # given: two clients named Lee
    store = associate_a.store
    newcomer = emailable(store, first_name="Nadia", last_name="Klein")
    emailable(store, first_name="Grace", last_name="Lee")
    emailable(store, first_name="Tom", last_name="Lee")
    web = logged_in(associate_a)
    # when
    page = web.get(f"/clients/{newcomer.pk}/")
    ambiguous = web.post(
        f"/referrals/clients/{newcomer.pk}/", {"referrer": "Lee"}, HTTP_HX_REQUEST="true"
    )
    # then
    assert b"Who sent them?" in page.content
    assert ambiguous.status_code == 422
    assert b"2 clients match" in ambiguous.content
    assert not Referral.objects.exists()


@override_settings(MEDIA_ROOT="/tmp/extramile-loyalty-demo-media")
def test_the_demo_has_answers_a_referral_stages_and_plans(django_capture_on_commit_callbacks):
    # given / when
    from extramile.demo.services import load_demo

    with django_capture_on_commit_callbacks(execute=True):
        load_demo(now=timezone.now(), clients=150)
    # then
    assert Survey.objects.filter(score__isnull=False).count() == 6
    assert Referral.objects.count() == 2
    assert Action.objects.filter(kind=ActionKind.DETRACTOR_RECOVERY).count() == 2
    assert PlanItem.objects.exclude(state=PlanState.HELD_OUT).exists()
    assert StageSnapshot.objects.values("month").distinct().count() == 2
