"""The loyalty stories end to end: NPS by a signed link, referrals, the weekly extra-mile plan."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.test import Client as HttpClient
from django.utils import timezone

from conftest import logged_in
from extramile.accounts.models import Store, User
from extramile.clients.models import Client, DateKind, ImportantDate, Need
from extramile.loyalty.models import PlanItem, PlanState, Referral, ReferralSource, Survey
from extramile.loyalty.plans import build_plans
from extramile.loyalty.services import SurveyRefused, record_referral, send_due_surveys
from extramile.moments.models import Action, ActionKind, ActionPurpose, ActionState, StoreRules
from extramile.outreach.models import Message
from tests.e2e.test_stories import consent, customer
from tests.factories import OrderFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

CLOCK = re.compile(r"at \d\d:\d\d on (Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day \d{1,2} [A-Z][a-z]+")
# A Wednesday afternoon in New York, for the weekly plan (its week starts Monday 16 June).
PLAN_NOW = dt.datetime(2025, 6, 18, 16, 30, tzinfo=dt.UTC)


@pytest.fixture
def store() -> Store:
    store = StoreFactory(code="uptown", name="Uptown", time_zone="America/New_York")
    # No control group in these stories: each moment's action is shown (the holdout has tests
    # of its own); the plan's held-out path is tested in loyalty/tests.
    StoreRules.objects.update_or_create(store=store, defaults={"holdout_share": Decimal("0")})
    return store


@pytest.fixture
def sofia(store: Store) -> User:
    return UserFactory(
        username="sofia", first_name="Sofia", email="sofia@uptown.example", store=store
    )


def olivia(store: Store, sofia: User, *, now: dt.datetime) -> Client:
    """Olivia, who agreed to email, and her order fulfilled three days ago."""
    client = customer(store, sofia, "Olivia Grant", "C-1042", "+12125550142")
    client.email = "olivia@example.com"
    client.save()
    consent(client, "email")
    OrderFactory(
        store=store,
        client=client,
        external_ref="R-7001",
        placed_at=now - dt.timedelta(days=4),
        fulfilled_at=now - dt.timedelta(days=3),
        status="fulfilled",
    )
    return client


def survey_link(captured: Any, *, now: dt.datetime) -> str:
    """Run the survey sweep, deliver the email, and return the path of the link in it."""
    with captured(execute=True):
        sweep = send_due_surveys(now=now)
    assert sweep.sent == 1
    [email] = mail.outbox
    assert email.subject == "One question from Uptown"
    found = re.search(r"http://[^/]+(/survey/[^/\s]+/)", email.body)
    assert found is not None, email.body
    return found.group(1)


def answer(path: str, captured: Any, *, score: int, comment: str) -> HttpClient:
    """Open the survey page as the client (no login, CSRF enforced) and answer it."""
    browser = HttpClient(enforce_csrf_checks=True)
    page = browser.get(path)
    assert page.status_code == 200
    assert b"How likely are you to recommend Uptown" in page.content
    token = page.cookies["csrftoken"].value
    with captured(execute=True):
        answered = browser.post(
            path, {"score": str(score), "comment": comment, "csrfmiddlewaretoken": token}
        )
    assert answered.status_code == 200
    assert b"Thank you, Olivia" in answered.content
    return browser


def test_nps_a_detractors_answer_by_the_signed_link_becomes_a_recovery_call(
    store, sofia, django_capture_on_commit_callbacks
):
    # given: Olivia's order was fulfilled three days ago
    now = timezone.now()
    client = olivia(store, sofia, now=now)
    # when: the survey goes out by email, and she answers 3 with a comment
    path = survey_link(django_capture_on_commit_callbacks, now=now)
    browser = answer(
        path, django_capture_on_commit_callbacks, score=3, comment="The hem came undone"
    )
    # then: her answer is recorded once, and Sofia has a recovery call to make
    survey = Survey.objects.get(client=client)
    assert (survey.score, survey.comment, survey.order.external_ref) == (
        3,
        "The hem came undone",
        "R-7001",
    )
    [action] = Action.objects.filter(client=client)
    assert action.kind == ActionKind.DETRACTOR_RECOVERY
    assert (action.purpose, action.channel, action.associate) == ("service", "phone", sofia)
    assert "3 out of 10" in action.reason
    assert '"The hem came undone"' in action.reason
    assert "order R-7001" in action.reason
    assert CLOCK.search(action.reason), action.reason
    assert "Listen" in action.draft
    # and: answering again changes nothing
    token = browser.cookies["csrftoken"].value
    again = browser.post(path, {"score": "10", "comment": "", "csrfmiddlewaretoken": token})
    assert b"already answered" in again.content
    survey.refresh_from_db()
    assert survey.score == 3
    assert Action.objects.filter(client=client).count() == 1
    # and: both are on her timeline
    page = logged_in(sofia).get(f"/clients/{client.pk}/")
    assert b"Survey answered: 3 out of 10" in page.content
    assert b"Survey sent" in page.content


def test_nps_a_promoters_answer_becomes_a_referral_ask(
    store, sofia, django_capture_on_commit_callbacks
):
    # given
    now = timezone.now()
    client = olivia(store, sofia, now=now)
    path = survey_link(django_capture_on_commit_callbacks, now=now)
    # when: she answers 10
    answer(path, django_capture_on_commit_callbacks, score=10, comment="Wonderful fitting")
    # then: a marketing action asks her, warmly, to bring a friend
    [action] = Action.objects.filter(client=client)
    assert action.kind == ActionKind.REFERRAL_ASK
    assert action.purpose == ActionPurpose.MARKETING
    assert action.state == ActionState.OPEN
    assert "10 out of 10" in action.reason
    assert CLOCK.search(action.reason), action.reason
    assert action.subject == "Thank you, Olivia"
    assert "someone who would enjoy" in action.draft


def test_nps_surveys_are_throttled_per_client_and_need_email_consent(
    store, sofia, django_capture_on_commit_callbacks
):
    # given: Olivia with two fulfilled orders this week, and Ben who never agreed to email
    now = timezone.now()
    client = olivia(store, sofia, now=now)
    OrderFactory(
        store=store,
        client=client,
        external_ref="R-7002",
        placed_at=now - dt.timedelta(days=5),
        fulfilled_at=now - dt.timedelta(days=4),
        status="fulfilled",
    )
    ben = customer(store, sofia, "Ben Ode", "C-2001", "+12125550199")
    OrderFactory(
        store=store,
        client=ben,
        placed_at=now - dt.timedelta(days=4),
        fulfilled_at=now - dt.timedelta(days=3),
        status="fulfilled",
    )
    # when: the sweep runs, then again the next day, and again 60 days later
    with django_capture_on_commit_callbacks(execute=True):
        first = send_due_surveys(now=now)
    second = send_due_surveys(now=now + dt.timedelta(days=1))
    # then: one survey for Olivia only; Ben got nothing
    assert (first.sent, first.refused) == (1, 1)
    assert (second.sent, second.refused) == (0, 2)  # her other order, and Ben again
    assert Survey.objects.filter(client=client).count() == 1
    assert not Survey.objects.filter(client=ben).exists()
    assert not Message.objects.filter(client=ben).exists()
    assert len(mail.outbox) == 1
    # and: within 90 days she is not asked again, whatever the trigger
    from extramile.loyalty.services import send_survey

    with pytest.raises(SurveyRefused, match="we ask once in 90 days"):
        send_survey(client, trigger="purchase", now=now + dt.timedelta(days=60))


def test_s9_a_referral_creates_one_thank_you_for_the_referrer(store, sofia):
    # given: Olivia sent her friend Nadia, who just became a client
    now = timezone.now()
    referrer = olivia(store, sofia, now=now)
    nadia = customer(store, sofia, "Nadia Klein", "C-3001", "+12125550111")
    # when: Sofia records it on Nadia's profile, twice (a double tap), and the API says it again
    web = logged_in(sofia)
    for _ in range(2):
        response = web.post(f"/referrals/clients/{nadia.pk}/", {"referrer": "olivia@example.com"})
        assert response.status_code == 302
    _, created = record_referral(referrer=referrer, referred=nadia, source=ReferralSource.API)
    # then: one referral and one thank-you action for Olivia, a service contact
    assert not created
    [referral] = Referral.objects.all()
    assert (referral.referrer, referral.referred, referral.source) == (referrer, nadia, "profile")
    [thanks] = Action.objects.filter(kind=ActionKind.REFERRAL_THANKS)
    assert thanks.client == referrer
    assert thanks.purpose == ActionPurpose.SERVICE
    assert "sent us Nadia Klein" in thanks.reason
    assert re.search(r"recorded on \w+day \d{1,2} [A-Z][a-z]+", thanks.reason)
    assert "Nadia came to see us" in thanks.draft
    # and: the profiles say who sent whom
    assert b"Referred Nadia Klein" in web.get(f"/clients/{referrer.pk}/").content
    assert b"Sent to us by" in web.get(f"/clients/{nadia.pk}/").content


def plan_clients(store: Store, sofia: User) -> dict[str, Client]:
    """Sofia's book: a valuable neutral, an advocate, one newly at risk, and a newcomer."""
    now = PLAN_NOW

    def person(name: str, ref: str, *order_days: int, total: str = "300.00") -> Client:
        client = customer(store, sofia, name, ref, f"+1212555{ref[-4:]}")
        client.email = f"{ref.lower()}@example.com"
        client.save()
        consent(client, "email")
        for n, days in enumerate(order_days):
            OrderFactory(
                store=store,
                client=client,
                external_ref=f"{ref}-{n}",
                placed_at=now - dt.timedelta(days=days),
                total=Decimal(total),
                status="fulfilled",
            )
        return client

    valued = person("Edmund Hart", "C-0001", 200, 110, 20, total="1200.00")
    ImportantDate.objects.create(client=valued, kind=DateKind.BIRTHDAY, month=6, day=28)
    Need.objects.create(
        client=valued, text="A linen jacket for a July wedding", stated_at=now - dt.timedelta(30)
    )
    advocate = person("Grace Lee", "C-0002", 300, 150)
    newcomer = person("Nadia Klein", "C-0003")
    record_referral(
        referrer=advocate,
        referred=newcomer,
        source=ReferralSource.PROFILE,
        now=now - dt.timedelta(days=6),
    )
    unhappy = person("Tom Reyes", "C-0004", 400, 250, 90)
    Survey.objects.create(
        store=store,
        client=unhappy,
        trigger="purchase",
        sent_at=now - dt.timedelta(days=9),
        answered_at=now - dt.timedelta(days=8),
        score=4,
        comment="Waited too long",
    )
    return {"valued": valued, "advocate": advocate, "newcomer": newcomer, "unhappy": unhappy}


def test_s3_a_weekly_plan_with_reasons_and_gesture_ideas_then_done_and_outcome(store, sofia):
    # given
    book = plan_clients(store, sofia)
    # when: Monday's plan is built (on Wednesday, the server having been down), twice
    build = build_plans(store=store, now=PLAN_NOW)
    again = build_plans(store=store, now=PLAN_NOW)
    # then: three gestures for Sofia, each with a reason and ideas; the rerun adds none
    assert build.week == dt.date(2025, 6, 16)
    assert again.items == []
    assert again.kept == ["sofia"]
    items = {i.client: i for i in PlanItem.objects.filter(associate=sofia, week=build.week)}
    assert set(items) == {book["valued"], book["advocate"], book["unhappy"]}
    valued, advocate, unhappy = (
        items[book["valued"]],
        items[book["advocate"]],
        items[book["unhappy"]],
    )
    assert valued.why == "valuable_neutral"
    assert "among your most valuable clients" in valued.reason
    assert "Their birthday is on Saturday 28 June" in valued.ideas[0]
    assert any("A linen jacket for a July wedding" in idea for idea in valued.ideas)
    assert advocate.why == "advocate_to_thank"
    assert "sent us Nadia Klein (recorded on Thursday 12 June 2025)" in advocate.reason
    assert unhappy.why == "newly_at_risk"
    assert "answered our survey on Tuesday 10 June with 4 out of 10" in unhappy.reason
    for item in items.values():
        assert item.state == PlanState.PLANNED
        assert item.ideas
        assert item.action is not None
        assert item.action.kind == ActionKind.GESTURE
        assert item.action.purpose == ActionPurpose.MARKETING
        assert item.action.associate == sofia
        assert "yesterday" not in item.reason
        assert " ago" not in item.reason
    # when: Sofia opens her plan on her phone and marks the birthday gesture done (HTMX)
    web = logged_in(sofia)
    page = web.get(f"/plan/?week={build.week.isoformat()}")
    assert page.status_code == 200
    assert b"Edmund Hart" in page.content
    assert b"Gesture ideas" in page.content
    done = web.post(
        f"/plan/{valued.pk}/done/",
        {"note": "Sent a card and set the linen jacket aside"},
        HTTP_HX_REQUEST="true",
    )
    assert done.status_code == 200
    assert b"What came of it?" in done.content
    outcome = web.post(
        f"/plan/{valued.pk}/outcome/",
        {"outcome": "bought", "note": "Came in Saturday"},
        HTTP_HX_REQUEST="true",
    )
    # then: the item is done with what she did, then its outcome; the gesture action is done
    assert outcome.status_code == 200
    valued.refresh_from_db()
    assert (valued.state, valued.done_note, valued.outcome) == (
        PlanState.OUTCOME,
        "Sent a card and set the linen jacket aside",
        "bought",
    )
    assert valued.action is not None
    valued.action.refresh_from_db()
    assert valued.action.state == ActionState.DONE
    assert valued.action.outcome == "Sent a card and set the linen jacket aside"


def test_s3_the_manager_sees_the_stores_plans_and_another_store_sees_none(store, sofia):
    # given
    plan_clients(store, sofia)
    build = build_plans(store=store, now=PLAN_NOW)
    manager = UserFactory(username="mia", role="manager", store=store)
    elsewhere = UserFactory(username="ben", store=StoreFactory(code="harbour"))
    item = build.items[0]
    # when / then: the manager sees Sofia's plan; the other store's associate sees nothing of it
    page = logged_in(manager).get(f"/plan/?week={build.week.isoformat()}")
    assert b"Sofia" in page.content
    assert item.client.full_name.encode() in page.content
    other = logged_in(elsewhere)
    assert (
        item.client.full_name.encode()
        not in other.get(f"/plan/?week={build.week.isoformat()}").content
    )
    assert other.post(f"/plan/{item.pk}/done/", {"note": "x"}).status_code == 404
