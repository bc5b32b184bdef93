"""S2 in real Chromium: the manager deactivates Walter, and Sofia finds his clients on Today.

With EXTRAMILE_SCREENSHOTS set, handover.png (the preview of who takes which client) and
handover-brief.png (the handover action with its brief) are written to docs/screenshots/.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from PIL import Image

from extramile.accounts.models import Role
from extramile.clients.services import add_note, record_consent
from extramile.moments.models import Action, ActionKind
from tests.e2e.conftest import PASSWORD, phone_shot, sign_in
from tests.e2e.test_today_browser import midday_zone
from tests.factories import (
    ClientFactory,
    ImportantDateFactory,
    OrderFactory,
    PreferenceFactory,
    SizeFactory,
    StoreFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)


def walters_book() -> dict:
    """Uptown: Walter with three clients, Sofia beside him, Margaret their manager."""
    store = StoreFactory(
        code="uptown", name="Uptown Boutique", time_zone=midday_zone(), phone="+12125550100"
    )
    people = {
        username: UserFactory(
            username=username,
            first_name=first,
            last_name=last,
            role=role,
            store=store,
            password=PASSWORD,
        )
        for username, first, last, role in (
            ("walter", "Walter", "Kessler", Role.ASSOCIATE),
            ("sofia", "Sofia", "Marchetti", Role.ASSOCIATE),
            ("margaret", "Margaret", "Hale", Role.MANAGER),
        )
    }
    walter = people["walter"]
    edmund = ClientFactory(
        store=store,
        primary_associate=walter,
        first_name="Edmund",
        last_name="Ashcroft",
        phone="+12125550123",
        time_zone=store.time_zone,
    )
    record_consent(edmund, channel="email", granted=True, source="form")
    SizeFactory(client=edmund, category="Men/Suits", size="40R")
    SizeFactory(client=edmund, category="Men/Shirts", size="15.5")
    PreferenceFactory(client=edmund, dimension="brand", value="Ashby & Rowe")
    PreferenceFactory(client=edmund, dimension="colour", value="Navy")
    ImportantDateFactory(client=edmund, month=12, day=3)
    for year in (2023, 2024):
        OrderFactory(
            store=store,
            client=edmund,
            associate=walter,
            external_ref=f"W-{year}",
            total=Decimal("895.00"),
            placed_at=dt.datetime(year, 10, 2, 17, 0, tzinfo=dt.UTC),
        )
    add_note(edmund, body="Buys his autumn suit in the first week of October.", author=walter)
    for first, last in (("Clara", "Benn"), ("Oscar", "Lind")):
        ClientFactory(
            store=store,
            primary_associate=walter,
            first_name=first,
            last_name=last,
            phone="+12125550124",
            time_zone=store.time_zone,
        )
    return {"store": store, "edmund": edmund, **people}


def test_manager_deactivates_walter_and_sofia_sees_the_handover_with_its_brief(
    live_server, browser_page, screenshots
):
    # given
    page = browser_page
    shots = screenshots
    scene = walters_book()

    # when: Margaret opens Staff and asks to deactivate Walter
    sign_in(page, live_server, "margaret")
    assert page.locator("nav a[href='/staff/']").count() == 1
    page.goto(f"{live_server.url}/staff/")
    page.click("li[data-username='walter'] a.deactivate")
    page.wait_for_url(f"{live_server.url}/staff/walter/deactivate/")
    phone_shot(page, shots / "handover.png")

    # then: the preview says who takes which client, and nothing has changed yet
    preview = page.inner_text(".preview")
    assert "Sofia Marchetti" in preview
    assert "Edmund Ashcroft" in preview
    scene["walter"].refresh_from_db()
    assert scene["walter"].is_active is True

    # when: she confirms
    page.click("form.confirm button[type=submit]")
    page.wait_for_url(f"{live_server.url}/staff/")

    # then
    assert "Walter Kessler is deactivated. 3 client(s) handed over" in page.inner_text(".messages")
    assert "Deactivated" in page.inner_text("li[data-username='walter']")

    # when: Sofia opens Today and the handover for Edmund
    sign_in(page, live_server, "sofia")
    rows = page.locator("a.row:has-text('Edmund Ashcroft')")
    assert rows.count() == 1
    action = Action.objects.get(kind=ActionKind.HANDOVER, client=scene["edmund"])
    rows.first.click()
    page.wait_for_url(f"{live_server.url}/today/{action.pk}/")
    phone_shot(page, shots / "handover-brief.png")

    # then: the brief tells her what Walter knew, and the draft introduces her
    brief = page.inner_text("#handover-brief")
    assert "Handover from Walter Kessler" in brief
    assert "Men/Suits: 40R" in brief
    assert "Brand: Ashby & Rowe" in brief
    assert "Buys his autumn suit" in brief
    assert "Birthday" in brief
    assert action.associate == scene["sofia"]
    assert "Walter has left us" in action.draft
    for name in ("handover.png", "handover-brief.png"):
        with Image.open(shots / name) as image:
            assert image.format == "PNG"
            assert image.width == 780  # 390 CSS pixels at twice the density
