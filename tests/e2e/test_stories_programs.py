"""S9 end to end: an introduction waits for both sides, through the API, the engine and the pages.

Olivia runs a catering business; Ben needs a caterer for a summer party. Her offer, recorded
through the API, suggests an introduction; the engine asks each side's associate to ask their
client; the introduction is made only after both agreed, and one side declining ends it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client as HttpClient

from extramile.accounts.models import Store, User
from extramile.clients.models import Client
from extramile.clients.services import add_need, client_timeline
from extramile.moments.engine_run import run_engine
from extramile.moments.models import Action, ActionKind, ActionState
from extramile.programs.models import Introduction, IntroductionState
from tests.api_helpers import bearer
from tests.e2e.test_stories import NOW, customer, sofia, store  # noqa: F401
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def james(store: Store) -> User:  # noqa: F811
    return UserFactory(username="james", first_name="James", store=store)


@pytest.fixture
def olivia(store: Store, sofia: User) -> Client:  # noqa: F811
    return customer(store, sofia, "Olivia Grant", "C-OLIVIA", "+12125550101")


@pytest.fixture
def ben(store: Store, james: User) -> Client:  # noqa: F811
    client = customer(store, james, "Ben Hall", "C-BEN", "+12125550102")
    add_need(client, text="Needs a caterer for a summer party", at=NOW - dt.timedelta(days=2))
    return client


def api_post(user: User, path: str, body: dict) -> dict:
    response = HttpClient().post(path, data=body, content_type="application/json", **bearer(user))
    assert response.status_code in (200, 201), response.content
    return response.json()


def web(user: User) -> HttpClient:
    http = HttpClient()
    http.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return http


def introduction_actions(**filters: object) -> list[Action]:
    return list(Action.objects.filter(kind=ActionKind.INTRODUCTION, **filters).order_by("id"))


def offer_catering(sofia: User, olivia: Client) -> Introduction:  # noqa: F811
    api_post(sofia, "/api/v1/programs/offers", {"client_id": olivia.pk, "text": "caterer"})
    return Introduction.objects.get()


def test_s9_an_introduction_is_made_only_after_both_clients_agree(
    store,  # noqa: F811
    sofia,  # noqa: F811
    james,
    olivia,
    ben,
):
    # given Olivia's offer, recorded through the API
    intro = offer_catering(sofia, olivia)
    run_engine(now=NOW)
    # then the introduction is suggested and each associate asks their own client
    assert intro.state == IntroductionState.SUGGESTED
    asks = introduction_actions()
    assert [(a.client, a.associate, a.state) for a in asks] == [
        (ben, james, ActionState.OPEN),
        (olivia, sofia, ActionState.OPEN),
    ]
    assert "Ben Hall" in web(james).get("/today/").content.decode()
    assert "Olivia" not in asks[0].draft  # Ben is not told who, before both agree

    # when Ben agrees, recorded by James on the Introductions page
    page = web(james).post(
        f"/introductions/{intro.pk}/answer/needing/", {"answer": "agreed", "how": "phone"}
    )
    assert page.status_code == 302
    run_engine(now=NOW + dt.timedelta(minutes=5))
    # then nothing is made yet: Olivia has not answered, and making it is refused
    intro.refresh_from_db()
    assert intro.state == IntroductionState.ASKED
    assert introduction_actions(keys__key__endswith=":make") == []
    refused = HttpClient().post(
        f"/api/v1/programs/introductions/{intro.pk}/made",
        data={"how": "email"},
        content_type="application/json",
        **bearer(james),
    )
    assert refused.status_code == 422

    # when Olivia agrees, recorded by Sofia through the API
    body = api_post(
        sofia,
        f"/api/v1/programs/introductions/{intro.pk}/answers",
        {"side": "offering", "agreed": True, "how": "in_person", "note": "Happy to help"},
    )
    assert body["state"] == "agreed"
    run_engine(now=NOW + dt.timedelta(minutes=10))
    # then James is asked to make it, once, with a draft naming both
    (make,) = introduction_actions(keys__key__endswith=":make")
    assert (make.client, make.associate, make.state) == (ben, james, ActionState.OPEN)
    assert "Olivia Grant" in make.draft
    assert "Ben Hall" in make.draft

    # when James makes it
    web(james).post(f"/introductions/{intro.pk}/make/", {"how": "email", "note": "Both copied"})
    # then it is made, the reminder leaves Today, and both timelines tell it
    intro.refresh_from_db()
    assert (intro.state, intro.made_by, intro.made_how) == (IntroductionState.MADE, james, "email")
    make.refresh_from_db()
    assert make.state == ActionState.WITHDRAWN
    for client in (olivia, ben):
        titles = [entry.title for entry in client_timeline(client)]
        assert "Introduction made: Olivia Grant (caterer) → Ben Hall" in titles


def test_s9_one_side_declining_means_it_is_never_made(
    store,  # noqa: F811
    sofia,  # noqa: F811
    james,
    olivia,
    ben,
):
    # given both asked, Olivia agreed
    intro = offer_catering(sofia, olivia)
    run_engine(now=NOW)
    web(sofia).post(
        f"/introductions/{intro.pk}/answer/offering/", {"answer": "agreed", "how": "phone"}
    )
    # when Ben declines
    web(james).post(
        f"/introductions/{intro.pk}/answer/needing/", {"answer": "declined", "how": "phone"}
    )
    run_engine(now=NOW + dt.timedelta(minutes=5))
    # then it is declined, nothing asks to make it, and making it is refused everywhere
    intro.refresh_from_db()
    assert intro.state == IntroductionState.DECLINED
    assert introduction_actions(keys__key__endswith=":make") == []
    assert {a.state for a in introduction_actions()} == {ActionState.WITHDRAWN}
    response = web(james).post(f"/introductions/{intro.pk}/make/", {"how": "email"})
    assert response.status_code == 302
    intro.refresh_from_db()
    assert intro.state == IntroductionState.DECLINED
    assert intro.made_at is None
    # and a later change of heart on Olivia's side cannot reopen it
    changed = HttpClient().post(
        f"/api/v1/programs/introductions/{intro.pk}/answers",
        data={"side": "needing", "agreed": True, "how": "phone"},
        content_type="application/json",
        **bearer(james),
    )
    assert changed.status_code == 422


def test_s9_repeating_every_step_changes_nothing(
    store,  # noqa: F811
    sofia,  # noqa: F811
    james,
    olivia,
    ben,
):
    # given the whole story, each step sent twice and the engine run between
    intro = offer_catering(sofia, olivia)
    answers = f"/api/v1/programs/introductions/{intro.pk}/answers"
    for minute in (0, 1):
        run_engine(now=NOW + dt.timedelta(minutes=minute))
        api_post(james, answers, {"side": "needing", "agreed": True, "how": "phone"})
        api_post(sofia, answers, {"side": "offering", "agreed": True, "how": "phone"})
        run_engine(now=NOW + dt.timedelta(minutes=minute, seconds=30))
    made = f"/api/v1/programs/introductions/{intro.pk}/made"
    first = api_post(james, made, {"how": "email"})
    again = api_post(james, made, {"how": "sms"})
    run_engine(now=NOW + dt.timedelta(minutes=3))
    # then one introduction, made once, three actions in all (two asks and one make)
    assert Introduction.objects.count() == 1
    assert first["made_at"] == again["made_at"]
    assert again["made_how"] == "email"
    assert len(introduction_actions()) == 3
    consents = {c["side"]: c["recorded_by"] for c in again["consents"]}
    assert consents == {"needing": "james", "offering": "sofia"}
