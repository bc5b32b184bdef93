"""Real Chromium (Debian's package, driven by Playwright) against the live app on 127.0.0.1."""

from __future__ import annotations

import pytest

from extramile.accounts.models import Role
from extramile.clients.models import Note
from tests.factories import ClientFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


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
    page.wait_for_url(f"{live_server.url}/today/")
    page.click("nav >> text=Clients")
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
