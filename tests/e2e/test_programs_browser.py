"""Introductions and stories on a phone, in real Chromium: both sides agree, then it is made.

With EXTRAMILE_SCREENSHOTS set, the screenshots are written to docs/screenshots/.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from extramile.accounts.models import Role
from extramile.clients.services import add_need
from extramile.programs import services
from extramile.programs.models import Introduction, IntroductionState, Story
from tests.e2e.conftest import PASSWORD, sign_in
from tests.factories import ClientFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_associate_records_both_answers_and_makes_the_introduction(
    live_server, browser_page, screenshots
):
    # given a caterer and a client who needs one, in one store
    store = StoreFactory(code="uptown", name="Uptown", time_zone="America/New_York")
    sofia = UserFactory(username="sofia", first_name="Sofia", store=store, password=PASSWORD)
    olivia = ClientFactory(
        store=store, first_name="Olivia", last_name="Grant", phone="+12125550101"
    )
    ben = ClientFactory(store=store, first_name="Ben", last_name="Hall", phone="+12125550102")
    add_need(ben, text="Needs a caterer for a summer party")
    services.add_offer(olivia, text="caterer", by=sofia, now=timezone.now())
    intro = Introduction.objects.get()
    row = f"#introduction-{intro.pk}"
    page = browser_page
    sign_in(page, live_server, "sofia")

    # when she opens Introductions and records Ben's yes, then Olivia's
    page.goto(f"{live_server.url}/introductions/")
    page.screenshot(path=str(screenshots / "introductions.png"), full_page=True)
    for side, how in (("needing", "phone"), ("offering", "in_person")):
        page.select_option(f"{row} #how-{intro.pk}-{side}", how)
        page.click(f"{row} form[action$='/answer/{side}/'] button[value=agreed]")
        page.wait_for_selector(f"{row} .notice")
    # then the row offers to make it
    page.wait_for_selector(f"{row} .make-form")
    assert "Both agreed" in page.inner_text(row)

    # when she makes it
    page.select_option(f"#make-how-{intro.pk}", "email")
    page.click(f"{row} .make-form button[type=submit]")
    page.wait_for_selector(f"{row}.state-made")
    page.screenshot(path=str(screenshots / "introduction-made.png"), full_page=True)
    # then
    intro.refresh_from_db()
    assert (intro.state, intro.made_by) == (IntroductionState.MADE, sofia)


def test_a_manager_recognises_a_story_and_the_author_sees_it(
    live_server, browser_page, screenshots
):
    # given Sofia's story
    store = StoreFactory(code="uptown", name="Uptown", time_zone="America/New_York")
    sofia = UserFactory(username="sofia", first_name="Sofia", store=store, password=PASSWORD)
    UserFactory(username="margaret", role=Role.MANAGER, store=store, password=PASSWORD)
    story = services.record_story(
        author=sofia,
        what_happened="Drove Olivia's forgotten scarf to the airport before her flight.",
        happened_on=timezone.localdate() - dt.timedelta(days=1),
        now=timezone.now(),
    )
    page = browser_page
    # when Margaret recognises it
    sign_in(page, live_server, "margaret")
    page.goto(f"{live_server.url}/stories/")
    page.fill(f"#story-{story.pk} input[name=note]", "This is who we are.")
    page.click(f"#story-{story.pk} button[type=submit]")
    page.wait_for_selector(f"#story-{story.pk} .recognition")
    # then Sofia sees it at the top of her stories
    page.context.clear_cookies()
    sign_in(page, live_server, "sofia")
    page.goto(f"{live_server.url}/stories/")
    page.screenshot(path=str(screenshots / "stories.png"), full_page=True)
    assert "This is who we are." in page.inner_text(".recognised-mine")
    assert Story.objects.get().recognised_at is not None
