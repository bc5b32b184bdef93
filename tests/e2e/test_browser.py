"""Real Chromium (Debian's package, driven by Playwright) against the live app on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from extramile.accounts.models import Role
from extramile.clients.models import Note
from tests.factories import ClientFactory, StoreFactory, UserFactory

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser_page() -> Iterator[object]:
    if CHROMIUM is None:
        reason = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the browser tests")
        pytest.skip(reason)
    playwright_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the test
    # itself are still synchronous, so Django's async guard is lifted for these tests only.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def test_associate_signs_in_finds_a_client_and_adds_a_note_on_a_phone(live_server, browser_page):
    # given
    page = browser_page
    uptown = StoreFactory(code="uptown", name="Uptown")
    harbour = StoreFactory(code="harbour", name="Harbour")
    ana = UserFactory(
        username="ana", role=Role.ASSOCIATE, store=uptown, password="a long passphrase 9"
    )
    maya = ClientFactory(store=uptown, first_name="Maya", last_name="Okafor", primary_associate=ana)
    ClientFactory(store=uptown, first_name="Leo", last_name="Brandt")
    ClientFactory(store=harbour, first_name="Maya", last_name="Harbourside")

    # when: she signs in
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "ana")
    page.fill("#id_password", "a long passphrase 9")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/clients/**")

    # then: her store's two clients are listed, not the other store's
    assert page.inner_text("#results .count") == "2 clients"

    # when: she types in the live search (htmx swaps the results without a page load)
    page.fill("#id_q", "maya")
    page.wait_for_function("document.querySelector('#results .count').innerText === '1 client'")

    # then: only Maya of her store is found
    names = page.locator("#results .rows .name").all_inner_texts()
    assert names == ["Maya Okafor"]

    # when: she opens the profile and adds a note from the timeline form
    page.click("#results .rows a.row")
    page.wait_for_url(f"{live_server.url}/clients/{maya.pk}/**")
    page.fill("#timeline textarea[name=body]", "Prefers a call after 6pm.")
    page.click("#timeline button[type=submit]")
    page.wait_for_selector("#timeline .entry:has-text('Prefers a call after 6pm.')")

    # then: the note is stored once, signed by her
    notes = list(Note.objects.filter(client=maya).values_list("body", "author__username"))
    assert notes == [("Prefers a call after 6pm.", "ana")]


def test_wrong_password_keeps_the_login_page_with_an_error(live_server, browser_page):
    # given
    page = browser_page
    UserFactory(username="ana", password="a long passphrase 9")
    # when
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "ana")
    page.fill("#id_password", "not the password")
    page.click("button[type=submit]")
    # then
    page.wait_for_selector("[role=alert]")
    assert page.url.startswith(f"{live_server.url}/login/")
    assert "correct username and password" in page.inner_text("[role=alert]")
