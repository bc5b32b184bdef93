"""A problem from report to resolution on a phone, in real Chromium, and its story on the timeline.

With EXTRAMILE_SCREENSHOTS set, problems.png (the list with the new problem on top) and
problem-resolved.png (the problem page once resolved) are written to docs/screenshots/.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from PIL import Image

from extramile.accounts.models import Role
from extramile.care import services
from extramile.care.models import Problem, ProblemStatus
from extramile.moments.models import Action, ActionKind, ActionState
from tests.e2e.conftest import PASSWORD, phone_shot, sign_in
from tests.e2e.test_today_browser import midday_zone
from tests.factories import ClientFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

WHAT_HAPPENED = "The hem of her navy suit came undone the day after the fitting."
PUT_RIGHT = "Re-stitched the hem in the atelier and drove the suit to her office."


def a_store_with_one_problem_already() -> dict[str, Any]:
    """Ana of Uptown and her clients Maya and Leo; Leo's late delivery is already reported."""
    zone = midday_zone()
    store = StoreFactory(code="uptown", name="Uptown", time_zone=zone)
    ana = UserFactory(
        username="ana",
        first_name="Ana",
        last_name="Reyes",
        role=Role.ASSOCIATE,
        store=store,
        password=PASSWORD,
    )

    def client(first: str, last: str):
        return ClientFactory(
            store=store,
            first_name=first,
            last_name=last,
            email=f"{first.lower()}@example.com",
            phone="+12125550100",
            time_zone=zone,
            primary_associate=ana,
        )

    maya = client("Maya", "Okafor")
    leo = client("Leo", "Brandt")
    services.report_problem(
        client=leo,
        kind="late_delivery",
        urgency="low",
        description="His shirts are two days late.",
        by=ana,
        now=timezone.now() - dt.timedelta(hours=3),
    )
    return {"store": store, "ana": ana, "maya": maya, "leo": leo}


def test_associate_reports_a_problem_takes_it_on_resolves_it_and_the_timeline_tells_it(
    live_server, browser_page, screenshots
):
    # given
    page = browser_page
    scene = a_store_with_one_problem_already()
    ana, maya = scene["ana"], scene["maya"]
    zone = ZoneInfo(scene["store"].time_zone)
    tomorrow = timezone.now().astimezone(zone).date() + dt.timedelta(days=1)

    # when: Ana signs in on her phone and opens Problems from the menu
    sign_in(page, live_server, "ana")
    page.click("nav a[href='/problems/']")
    page.wait_for_url(f"{live_server.url}/problems/")

    # then: Leo's problem is the only one not resolved
    assert page.inner_text(".problems .count") == "1 not resolved yet"
    assert page.locator(".problem-row .name").all_inner_texts() == ["Leo Brandt"]
    # and: on a phone each filter's label keeps to one line, and the one shown is marked
    lines = page.eval_on_selector_all(
        "nav.counts a.badge",
        """links => links.map(link => {
            const range = document.createRange();
            range.selectNodeContents(link);
            return [link.innerText, new Set([...range.getClientRects()].map(r => r.top)).size];
        })""",
    )
    assert lines == [
        [label, 1] for label in ("Not resolved", "Open", "In progress", "Resolved", "All")
    ]
    assert page.inner_text("nav.counts a[aria-current]") == "Not resolved"

    # when: she reports a problem, finding Maya by name first
    page.click("a.button:has-text('Report a problem')")
    page.wait_for_url(f"{live_server.url}/problems/new/")
    page.fill("#id_q", "maya")
    page.click("form[role=search] button[type=submit]")
    page.click(f"a.row[href='?client={maya.pk}']")
    page.wait_for_url(f"{live_server.url}/problems/new/?client={maya.pk}")
    assert page.inner_text("h1") == "Report a problem for Maya Okafor"
    page.select_option("#id_kind", "defect")
    page.select_option("#id_urgency", "urgent")
    page.fill("#id_description", WHAT_HAPPENED)
    page.fill("#id_promised_date", tomorrow.isoformat())
    page.fill("#id_promised_time", "17:00")
    page.click("main button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/problems/*/")

    # then: the problem is stored as she said it, owned by her, and its recovery call is hers
    problem = Problem.objects.get(client=maya)
    assert page.url == f"{live_server.url}/problems/{problem.pk}/"
    assert "Problem reported for Maya Okafor." in page.inner_text(".messages")
    assert page.inner_text("#problem-state") == "Open"
    assert (problem.kind, problem.urgency, problem.status) == ("defect", "urgent", "open")
    assert (problem.description, problem.owner, problem.reported_by) == (WHAT_HAPPENED, ana, ana)
    assert problem.promised_by == dt.datetime.combine(tomorrow, dt.time(17), tzinfo=zone)
    recovery = Action.objects.get(client=maya, kind=ActionKind.SERVICE_RECOVERY)
    assert (recovery.associate, recovery.state) == (ana, ActionState.OPEN)

    # when: she goes back to the list
    page.click("a.back:has-text('Problems')")
    page.wait_for_url(f"{live_server.url}/problems/")
    phone_shot(page, screenshots / "problems.png")

    # then: Maya's urgent problem is listed above Leo's, with what happened and the promise
    assert page.inner_text(".problems .count") == "2 not resolved yet"
    assert page.locator(".problem-row .name").all_inner_texts() == ["Maya Okafor", "Leo Brandt"]
    row = page.locator(f"a.problem-row[href='/problems/{problem.pk}/']")
    listed = row.inner_text()
    assert "Urgent" in listed
    assert "Open" in listed
    assert f"Defect — {WHAT_HAPPENED}" in listed
    assert "owner Ana Reyes" in listed
    assert f"promised by {tomorrow:%a} {tomorrow.day} {tomorrow:%b}, 17:00" in listed

    # when: she opens it and takes it on
    row.click()
    page.wait_for_url(f"{live_server.url}/problems/{problem.pk}/")
    page.click('button:has-text("I\'m on it (in progress)")')
    page.wait_for_selector(".messages:has-text('Marked in progress.')")

    # then
    assert page.inner_text("#problem-state") == "In progress"
    problem.refresh_from_db()
    assert problem.status == ProblemStatus.IN_PROGRESS
    assert problem.started_at is not None

    # when: she says how it was put right and resolves it
    page.fill("#id_resolution", PUT_RIGHT)
    page.click("form[action$='/resolve/'] button[type=submit]")
    page.wait_for_selector(".messages:has-text('Resolved. A follow-up call is planned')")
    phone_shot(page, screenshots / "problem-resolved.png")

    # then: resolved by her with her words; the recovery call ends and a follow-up call is hers
    assert page.inner_text("#problem-state") == "Resolved"
    assert PUT_RIGHT in page.inner_text("section[aria-labelledby=what-title] .state")
    assert page.locator("#resolve-title").count() == 0
    problem.refresh_from_db()
    assert (problem.status, problem.resolution, problem.resolved_by) == (
        ProblemStatus.RESOLVED,
        PUT_RIGHT,
        ana,
    )
    recovery.refresh_from_db()
    assert recovery.state == ActionState.WITHDRAWN
    follow_up = Action.objects.get(client=maya, kind=ActionKind.PROBLEM_FOLLOW_UP)
    assert (follow_up.associate, follow_up.state) == (ana, ActionState.OPEN)
    assert "re-stitched the hem" in follow_up.reason.lower()
    assert "Maya Okafor" in page.inner_text("section[aria-labelledby=calls-title]")

    # when: she looks at the list again, not resolved and then resolved
    page.goto(f"{live_server.url}/problems/")
    # then: only Leo's is still waiting; Maya's is among the resolved
    assert page.inner_text(".problems .count") == "1 not resolved yet"
    assert page.locator(".problem-row .name").all_inner_texts() == ["Leo Brandt"]
    page.click("nav.counts a[href='?status=resolved']")
    page.wait_for_url(f"{live_server.url}/problems/?status=resolved")
    assert page.locator(".problem-row .name").all_inner_texts() == ["Maya Okafor"]

    # when: she opens Maya's profile from the problem
    page.goto(f"{live_server.url}/problems/{problem.pk}/")
    page.click(f"h1 a[href='/clients/{maya.pk}/']")
    page.wait_for_url(f"{live_server.url}/clients/{maya.pk}/**")

    # then: the timeline tells the problem's story, newest first, down to the follow-up call
    story = page.locator(
        "#timeline .entry.kind-problem_follow_up, #timeline .entry.kind-problem_resolved, "
        "#timeline .entry.kind-problem_in_progress, #timeline .entry.kind-problem_reported"
    )
    texts = story.all_inner_texts()
    assert [text.split("\n")[1] for text in texts] == [
        "Follow-up call planned after the problem · Ana Reyes",
        "Problem resolved · Defect · Ana Reyes",
        "Problem in progress · Defect · Ana Reyes",
        "Problem reported · Defect · Ana Reyes",
    ]
    assert PUT_RIGHT in texts[1]
    promised = f"promised by 17:00 on {tomorrow:%A} {tomorrow.day} {tomorrow:%B}"
    assert f"{WHAT_HAPPENED} — Urgent urgency · owner Ana Reyes · {promised}" in texts[3]
    for name in ("problems.png", "problem-resolved.png"):
        with Image.open(screenshots / name) as image:
            assert image.format == "PNG"
            assert image.width == 780  # 390 CSS pixels at twice the density
