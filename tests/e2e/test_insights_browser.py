"""A manager reads whether the extra mile pays, in real Chromium, and downloads a table as CSV.

With EXTRAMILE_SCREENSHOTS set, the screenshot is written to docs/screenshots/insights.png.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone

from extramile.accounts.models import Role
from extramile.moments.attribution import attribute_orders
from tests.factories import ActionFactory, ClientFactory, OrderFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a long passphrase 9"
DAY = dt.timedelta(days=1)


def a_season_of_contacts() -> None:
    """Uptown's last months: birthdays and new arrivals, contacted or held out, and purchases."""
    store = StoreFactory(code="uptown", name="Uptown", time_zone="America/New_York")
    UserFactory(
        username="margaret",
        first_name="Margaret",
        last_name="Hale",
        role=Role.MANAGER,
        store=store,
        password=PASSWORD,
    )
    sofia = UserFactory(username="sofia", first_name="Sofia", last_name="Marchetti", store=store)
    now = timezone.now()
    plan = [("important_date", 120, 40, 0.30, 0.12), ("new_arrival_match", 120, 40, 0.14, 0.12)]
    n = 0
    for kind, contacted, held_out, rate, held_rate in plan:
        for i in range(contacted + held_out):
            n += 1
            held = i >= contacted
            due = now - (20 + n % 50) * DAY
            client = ClientFactory(store=store)
            ActionFactory(
                store=store,
                client=client,
                associate=sofia,
                kind=kind,
                state="held_out" if held else ("skipped" if i % 9 == 0 else "done"),
                completed_at=None if held else due,
                due_at=due,
                holdout_draw=0.05 if held else 0.5,
            )
            buyers = round((held_out if held else contacted) * (held_rate if held else rate))
            if (i - contacted if held else i) < buyers:
                OrderFactory(
                    store=store, client=client, placed_at=due + 3 * DAY, total=Decimal("180.00")
                )
    attribute_orders(now=now)


def test_a_manager_reads_the_lift_and_downloads_it_as_csv(live_server, browser_page, screenshots):
    # given
    page = browser_page
    a_season_of_contacts()

    # when: Margaret signs in and opens Insights from the menu
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "margaret")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/today/")
    # (on a phone the menu's links overflow the bar, so the test follows the link's address)
    link = page.locator("nav a:has-text('Insights')")
    assert link.get_attribute("href") == "/insights/"
    page.goto(f"{live_server.url}/insights/")
    page.screenshot(path=str(screenshots / "insights.png"), full_page=True)

    # then: the lift chart with its bars and whiskers, and the tables
    assert page.locator("svg.lift-chart g.bar").count() == 3  # two kinds and all marketing
    birthday = page.locator("#lift-table tr[data-kind=important_date]")
    assert "36 / 120 (30.0%)" in birthday.inner_text()
    assert "lift" in birthday.locator(".verdict").inner_text()
    assert page.locator("#kinds-table tbody tr").count() == 3  # two kinds and the total
    assert "Sofia Marchetti" in page.inner_text("#associates-table")

    # when: she downloads the lift table
    with page.expect_download() as download_info:
        page.click("#lift a.csv")
    download = download_info.value

    # then: the file holds the same rows
    assert download.suggested_filename.startswith("uptown-lift-")
    with open(download.path(), encoding="utf-8") as handle:
        rows = list(csv.reader(io.StringIO(handle.read())))
    assert rows[0][:3] == ["kind", "label", "contacted_actions"]
    assert [row[0] for row in rows[1:]] == ["new_arrival_match", "important_date", "all"]
    assert rows[2][2:5] == ["120", "36", "0.3"]
