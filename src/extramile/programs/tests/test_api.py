"""REST routes of the programs: introductions, stories and offers, token-only and store-scoped."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from extramile.programs import services
from extramile.programs.models import Introduction, Offer, Story
from extramile.programs.tests.conftest import NOW
from tests.api_helpers import bearer, get, ids

pytestmark = pytest.mark.django_db


def post(user, path: str, body: dict) -> object:
    return HttpClient().post(path, data=body, content_type="application/json", **bearer(user))


@pytest.fixture
def intro(olivia, ben, party_need, sofia) -> Introduction:
    services.add_offer(olivia, text="caterer", by=sofia, now=NOW)
    return Introduction.objects.get()


def test_every_route_needs_a_token():
    for path in ("introductions", "stories", "offers"):
        assert HttpClient().get(f"/api/v1/programs/{path}").status_code == 401


def test_introductions_are_listed_for_the_store_only(intro, james, associate_b, olivia):
    # when
    mine = get(james, "/api/v1/programs/introductions")
    theirs = get(associate_b, "/api/v1/programs/introductions")
    # then
    assert ids(mine) == [intro.pk]
    item = mine.json()["items"][0]
    assert (item["state"], item["offer"], item["offering_client_id"]) == (
        "suggested",
        "caterer",
        olivia.pk,
    )
    assert [c["answer"] for c in item["consents"]] == ["pending", "pending"]
    assert ids(theirs) == []
    assert get(associate_b, f"/api/v1/programs/introductions/{intro.pk}").status_code == 404


def test_answers_then_made_through_the_api(intro, james, sofia):
    path = f"/api/v1/programs/introductions/{intro.pk}"
    # made before both agree: refused
    early = post(james, f"{path}/made", {"how": "email"})
    assert early.status_code == 422
    # both agree
    first = post(james, f"{path}/answers", {"side": "needing", "agreed": True, "how": "phone"})
    assert first.status_code == 200
    assert first.json()["state"] == "asked"
    both = post(sofia, f"{path}/answers", {"side": "offering", "agreed": True, "how": "sms"})
    assert both.json()["state"] == "agreed"
    recorded = {c["side"]: c["recorded_by"] for c in both.json()["consents"]}
    assert recorded == {"needing": "james", "offering": "sofia"}
    # made
    made = post(james, f"{path}/made", {"how": "email", "note": "Both copied"})
    assert made.status_code == 200
    assert (made.json()["state"], made.json()["made_by"]) == ("made", "james")


def test_an_answer_for_another_stores_introduction_is_a_404(intro, associate_b):
    path = f"/api/v1/programs/introductions/{intro.pk}/answers"
    response = post(associate_b, path, {"side": "needing", "agreed": True, "how": "phone"})
    assert response.status_code == 404
    assert intro.consents.get(side="needing").answer == "pending"


def test_stories_are_created_and_listed_in_the_store(sofia, olivia, associate_b):
    # when
    response = post(
        sofia,
        "/api/v1/programs/stories",
        {
            "what_happened": "Delivered a forgotten bag",
            "happened_on": "2025-06-01",
            "client_id": olivia.pk,
        },
    )
    # then
    assert response.status_code == 201
    assert response.json()["author"] == "sofia"
    assert Story.objects.get().client == olivia
    assert ids(get(sofia, "/api/v1/programs/stories")) == [response.json()["id"]]
    assert ids(get(associate_b, "/api/v1/programs/stories")) == []
    # another store's client cannot be named
    refused = post(
        associate_b,
        "/api/v1/programs/stories",
        {"what_happened": "x", "happened_on": "2025-06-01", "client_id": olivia.pk},
    )
    assert refused.status_code == 404


def test_offers_are_created_listed_and_withdrawn(sofia, olivia, party_need, associate_b):
    # when
    response = post(sofia, "/api/v1/programs/offers", {"client_id": olivia.pk, "text": "caterer"})
    # then
    assert response.status_code == 201
    assert Introduction.objects.count() == 1
    offer_id = response.json()["id"]
    assert ids(get(sofia, "/api/v1/programs/offers")) == [offer_id]
    assert ids(get(associate_b, "/api/v1/programs/offers")) == []
    other = HttpClient().delete(f"/api/v1/programs/offers/{offer_id}", **bearer(associate_b))
    assert other.status_code == 404
    gone = HttpClient().delete(f"/api/v1/programs/offers/{offer_id}", **bearer(sofia))
    assert gone.status_code == 204
    assert Offer.objects.get().withdrawn_at is not None
    assert ids(get(sofia, "/api/v1/programs/offers")) == []
