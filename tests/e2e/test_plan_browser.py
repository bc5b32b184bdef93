"""The weekly extra-mile plan on a phone, in real Chromium: built, done, and what came of it.

With EXTRAMILE_SCREENSHOTS set, plan.png (the associate's plan, one gesture done with its
outcome) is written to docs/screenshots/.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from PIL import Image

from extramile.accounts.models import Role
from extramile.clients.models import DateKind, ImportantDate, Need
from extramile.clients.services import record_consent
from extramile.loyalty.models import PlanItem, PlanState, ReferralSource, Survey
from extramile.loyalty.services import record_referral
from extramile.moments.models import ActionState, StoreRules
from tests.e2e.conftest import PASSWORD, phone_shot, sign_in
from tests.e2e.test_today_browser import midday_zone
from tests.factories import ClientFactory, OrderFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

WHAT_SHE_DID = "Sent a handwritten card and set a linen jacket aside in his size."


def sofias_book() -> dict[str, Any]:
    """Sofia's clients: a valuable neutral, an advocate, one newly at risk, and a newcomer."""
    zone = midday_zone()
    store = StoreFactory(code="uptown", name="Uptown", time_zone=zone)
    # No control group here, so every planned client is shown (the holdout has tests of its own).
    StoreRules.objects.update_or_create(store=store, defaults={"holdout_share": Decimal("0")})
    sofia = UserFactory(
        username="sofia",
        first_name="Sofia",
        last_name="Marchetti",
        role=Role.ASSOCIATE,
        store=store,
        password=PASSWORD,
    )
    UserFactory(
        username="margaret",
        first_name="Margaret",
        last_name="Hale",
        role=Role.MANAGER,
        store=store,
        password=PASSWORD,
    )
    now = timezone.now()

    def person(first: str, last: str, *order_days: int, total: str = "300.00"):
        client = ClientFactory(
            store=store,
            first_name=first,
            last_name=last,
            email=f"{first.lower()}@example.com",
            phone="+12125550100",
            time_zone=zone,
            primary_associate=sofia,
        )
        record_consent(
            client,
            channel="email",
            granted=True,
            source="signup form",
            at=now - dt.timedelta(days=400),
        )
        for days in order_days:
            OrderFactory(
                store=store,
                client=client,
                placed_at=now - dt.timedelta(days=days),
                total=Decimal(total),
                status="fulfilled",
            )
        return client

    edmund = person("Edmund", "Hart", 200, 110, 20, total="1200.00")
    birthday = now.astimezone(ZoneInfo(zone)).date() + dt.timedelta(days=10)
    if (birthday.month, birthday.day) == (2, 29):  # a day that comes round every year
        birthday += dt.timedelta(days=1)
    ImportantDate.objects.create(
        client=edmund, kind=DateKind.BIRTHDAY, month=birthday.month, day=birthday.day
    )
    Need.objects.create(
        client=edmund,
        text="A linen jacket for a July wedding",
        stated_at=now - dt.timedelta(days=30),
    )
    grace = person("Grace", "Lee", 300, 150)
    nadia = person("Nadia", "Klein")
    record_referral(
        referrer=grace, referred=nadia, source=ReferralSource.PROFILE, now=now - dt.timedelta(6)
    )
    tom = person("Tom", "Reyes", 400, 250, 90)
    Survey.objects.create(
        store=store,
        client=tom,
        trigger="purchase",
        sent_at=now - dt.timedelta(days=9),
        answered_at=now - dt.timedelta(days=8),
        score=4,
        comment="Waited too long",
    )
    return {"sofia": sofia, "edmund": edmund, "grace": grace, "tom": tom, "birthday": birthday}


def test_manager_builds_the_plan_and_the_associate_marks_a_gesture_done_with_its_outcome(
    live_server, browser_page, screenshots
):
    # given
    page = browser_page
    book = sofias_book()
    sofia, edmund = book["sofia"], book["edmund"]

    # when: Margaret opens the plan from the menu; nothing is planned this week yet
    sign_in(page, live_server, "margaret")
    page.click("nav a[href='/plan/']")
    page.wait_for_url(f"{live_server.url}/plan/")
    assert "No plan for this week yet." in page.inner_text("main")
    assert not PlanItem.objects.exists()

    # when: she builds this week's plans with the page's button
    page.click('button:has-text("Build this week\'s plans")')
    page.wait_for_url(f"{live_server.url}/plan/?week=*")

    # then: three gestures for Sofia, under her name, each a planned item with an action
    assert "3 gestures planned for the week of" in page.inner_text(".messages")
    assert page.locator(".plan-group h2").all_inner_texts() == ["Sofia Marchetti"]
    items = {item.client: item for item in PlanItem.objects.filter(associate=sofia)}
    assert set(items) == {edmund, book["grace"], book["tom"]}
    assert {item.state for item in items.values()} == {PlanState.PLANNED}
    assert page.locator(".plan-item").count() == 3

    # when: Sofia signs in on her phone and opens her plan
    sign_in(page, live_server, "sofia")
    page.click("nav a[href='/plan/']")
    page.wait_for_url(f"{live_server.url}/plan/")

    # then: her three clients, each with why, the reason and gesture ideas (no names above them)
    assert page.locator(".plan-group h2").count() == 0
    shown = sorted(page.locator(".plan-item h3 a").all_inner_texts())
    assert shown == ["Edmund Hart", "Grace Lee", "Tom Reyes"]
    card = {client: f"#plan-item-{item.pk}" for client, item in items.items()}
    edmunds = page.inner_text(card[edmund])
    assert "Valuable but neutral" in edmunds
    assert "Edmund is among your most valuable clients" in edmunds
    birthday = book["birthday"]
    assert f"Their birthday is on {birthday:%A} {birthday.day} {birthday:%B}" in edmunds
    assert '"A linen jacket for a July wedding"' in edmunds
    assert page.locator(f"{card[edmund]} .ideas li").count() == len(items[edmund].ideas) == 3
    graces = page.inner_text(card[book["grace"]])
    assert "An advocate to thank" in graces
    assert "Grace sent us Nadia Klein" in graces
    toms = page.inner_text(card[book["tom"]])
    assert "Newly at risk" in toms
    assert "with 4 out of 10" in toms
    assert "A personal call with nothing to sell" in toms

    # when: she says what she did for Edmund and marks it done (HTMX swaps the card in place)
    page.fill(f"#note-{items[edmund].pk}", WHAT_SHE_DID)
    page.click(f"{card[edmund]} button:has-text('Done')")
    page.wait_for_selector(f"{card[edmund]} select[name=outcome]")

    # then: the card says so, the item is done, and its gesture action is done with her words
    assert f": {WHAT_SHE_DID}" in page.inner_text(card[edmund])
    assert page.inner_text(f"{card[edmund]} .badge.state-done") == "Done"
    done = PlanItem.objects.select_related("action").get(pk=items[edmund].pk)
    assert (done.state, done.done_note) == (PlanState.DONE, WHAT_SHE_DID)
    assert done.action is not None
    assert (done.action.state, done.action.outcome) == (ActionState.DONE, WHAT_SHE_DID)

    # when: she records what came of it
    page.select_option(f"#outcome-{done.pk}", "bought")
    page.fill(f"{card[edmund]} input[name=note]", "Came in on Saturday for the jacket")
    page.click(f"{card[edmund]} button:has-text('Record the outcome')")
    page.wait_for_selector(f"{card[edmund]} .badge.state-outcome")

    # then: the outcome is stored and shown, and stays after a reload; the others are untouched
    done.refresh_from_db()
    assert (done.state, done.outcome, done.outcome_note) == (
        PlanState.OUTCOME,
        "bought",
        "Came in on Saturday for the jacket",
    )
    assert done.outcome_at is not None
    page.reload()
    phone_shot(page, screenshots / "plan.png")
    edmunds = page.inner_text(card[edmund])
    assert "Outcome: Came back and bought — Came in on Saturday for the jacket" in edmunds
    assert page.locator(f"{card[edmund]} button:has-text('Update the outcome')").count() == 1
    for other in (book["grace"], book["tom"]):
        assert page.locator(f"{card[other]} textarea[name=note]").count() == 1
        assert PlanItem.objects.get(pk=items[other].pk).state == PlanState.PLANNED
    with Image.open(screenshots / "plan.png") as image:
        assert image.format == "PNG"
        assert image.width == 780  # 390 CSS pixels at twice the density
