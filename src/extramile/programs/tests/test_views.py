"""The programs' pages: introductions, offers on the profile, stories; scoped, CSRF-safe."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from extramile.accounts.models import Role
from extramile.programs import services
from extramile.programs.models import Introduction, IntroductionState, Offer, Story
from extramile.programs.tests.conftest import NOW
from tests.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def intro(olivia, ben, party_need, sofia) -> Introduction:
    services.add_offer(olivia, text="caterer", by=sofia, now=NOW)
    return Introduction.objects.get()


def test_the_introductions_page_lists_the_stores_introductions_with_both_sides(
    web_as, intro, james
):
    # when
    page = web_as(james).get("/introductions/").content.decode()
    # then
    assert f'id="introduction-{intro.pk}"' in page
    assert "Olivia Grant" in page
    assert "Ben Hall" in page
    assert "Needs a caterer for a summer party" in page
    assert page.count("not asked yet") == 2


def test_another_stores_staff_see_none_and_get_404_on_acting(web_as, intro, associate_b):
    web = web_as(associate_b)
    assert f"introduction-{intro.pk}" not in web.get("/introductions/").content.decode()
    answer = {"answer": "agreed", "how": "phone"}
    assert web.post(f"/introductions/{intro.pk}/answer/needing/", answer).status_code == 404
    assert web.post(f"/introductions/{intro.pk}/make/", {"how": "email"}).status_code == 404
    assert intro.consents.get(side="needing").answer == "pending"


def test_recording_both_answers_by_htmx_then_making_it(web_as, intro, james, sofia):
    web = web_as(james)
    # when Ben agrees
    answer = {"answer": "agreed", "how": "phone", "note": "Delighted"}
    response = web.post(f"/introductions/{intro.pk}/answer/needing/", answer, **HTMX)
    # then the row comes back, waiting for Olivia
    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith(f'<article id="introduction-{intro.pk}"')
    assert "Agreed: now ask the other side." in html
    assert "Introduction made" not in html
    # when Olivia agrees
    web_as(sofia).post(
        f"/introductions/{intro.pk}/answer/offering/", {"answer": "agreed", "how": "in_person"}
    )
    html = web.get("/introductions/").content.decode()
    assert "Both agreed." in html
    # when James makes it
    response = web.post(f"/introductions/{intro.pk}/make/", {"how": "email"}, **HTMX)
    # then
    assert "Introduction made." in response.content.decode()
    intro.refresh_from_db()
    assert (intro.state, intro.made_by) == (IntroductionState.MADE, james)


def test_making_it_before_both_agreed_shows_why_not(web_as, intro, james):
    response = web_as(james).post(f"/introductions/{intro.pk}/make/", {"how": "email"}, **HTMX)
    assert response.status_code == 200
    assert "only after both clients agreed" in response.content.decode()
    intro.refresh_from_db()
    assert intro.state == IntroductionState.SUGGESTED


def test_forms_need_a_csrf_token(intro, james):
    web = HttpClient(enforce_csrf_checks=True)
    web.force_login(james, backend="django.contrib.auth.backends.ModelBackend")
    answer = {"answer": "agreed", "how": "phone"}
    assert web.post(f"/introductions/{intro.pk}/answer/needing/", answer).status_code == 403
    assert (
        web.post("/stories/", {"what_happened": "x", "happened_on": "2025-06-01"}).status_code
        == 403
    )


def test_pages_need_a_login():
    for path in ("/introductions/", "/stories/", "/calendar/"):
        assert HttpClient().get(path).status_code == 302


def test_the_profile_shows_offers_and_adding_one_suggests_an_introduction(
    web_as, olivia, party_need, sofia
):
    web = web_as(sofia)
    # when
    response = web.post(
        f"/introductions/offers/client/{olivia.pk}/", {"text": "caterer", "keywords": ""}, **HTMX
    )
    # then
    html = response.content.decode()
    assert 'id="offers"' in html
    assert "1 introduction suggested." in html
    profile = web.get(f"/clients/{olivia.pk}/").content.decode()
    assert "Offers to other clients" in profile
    assert "caterer" in profile
    assert "Introduction suggested: Olivia Grant (caterer) → Ben Hall" in profile
    # when removed
    offer = Offer.objects.get()
    web.post(f"/introductions/offers/{offer.pk}/withdraw/", **HTMX)
    offer.refresh_from_db()
    assert offer.withdrawn_at is not None


def test_offers_of_another_stores_client_are_a_404(web_as, olivia, associate_b):
    response = web_as(associate_b).post(
        f"/introductions/offers/client/{olivia.pk}/", {"text": "caterer"}
    )
    assert response.status_code == 404
    assert not Offer.objects.exists()


def test_an_associate_tells_a_story_and_a_manager_recognises_it(web_as, sofia, olivia, manager_a):
    # when Sofia tells a story about Olivia
    today = timezone.localdate()
    response = web_as(sofia).post(
        "/stories/",
        {
            "what_happened": "Drove her scarf to the airport.",
            "happened_on": today.isoformat(),
            "client": olivia.pk,
        },
    )
    # then
    assert response.status_code == 302
    story = Story.objects.get()
    assert (story.author, story.client, story.store) == (sofia, olivia, olivia.store)
    # Sofia cannot recognise her own story
    assert "Recognise</button>" not in web_as(sofia).get("/stories/").content.decode()
    web_as(sofia).post(f"/stories/{story.pk}/recognise/", {"note": "me"})
    story.refresh_from_db()
    assert story.recognised_at is None
    # when the manager recognises it
    manager = web_as(manager_a)
    assert "Recognise</button>" in manager.get("/stories/").content.decode()
    response = manager.post(f"/stories/{story.pk}/recognise/", {"note": "Bravo"}, **HTMX)
    assert "Recognised" in response.content.decode()
    # then Sofia sees it
    page = web_as(sofia).get("/stories/").content.decode()
    assert "Your stories recognised" in page
    assert "recognised by" in page
    assert "“Bravo”" in page
    story.refresh_from_db()
    assert (story.recognised_by, story.recognition_note) == (manager_a, "Bravo")


def test_stories_are_scoped_to_the_store(web_as, sofia, associate_b, store_b):
    # given a story in each store
    services.record_story(
        author=sofia, what_happened="Uptown gesture", happened_on=NOW.date(), now=NOW
    )
    other = UserFactory(role=Role.MANAGER, store=store_b)
    services.record_story(
        author=associate_b, what_happened="Harbour gesture", happened_on=NOW.date(), now=NOW
    )
    # then
    page = web_as(sofia).get("/stories/").content.decode()
    assert "Uptown gesture" in page
    assert "Harbour gesture" not in page
    uptown = Story.objects.get(what_happened="Uptown gesture")
    assert web_as(other).post(f"/stories/{uptown.pk}/recognise/").status_code == 404


def test_a_story_cannot_name_another_stores_client_or_a_future_day(web_as, sofia, store_b):
    web = web_as(sofia)
    stranger = ClientFactory(store=store_b)
    tomorrow = timezone.localdate() + dt.timedelta(days=2)
    bad_client = {"what_happened": "x", "happened_on": "2025-06-01", "client": stranger.pk}
    assert web.post("/stories/", bad_client).status_code == 400
    future = {"what_happened": "x", "happened_on": tomorrow.isoformat()}
    assert "A story is told after it happened." in web.post("/stories/", future).content.decode()
    assert not Story.objects.exists()
