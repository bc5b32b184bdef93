"""What came in and who it is going to, on a phone, in real Chromium.

An associate opens Arrivals from the menu, expands the new suit, reads who it was offered to
(best fit first, the held-out client said plainly) and follows a link to her client's action.
With EXTRAMILE_SCREENSHOTS set, arrivals.png (the page with the suit expanded) is written to
docs/screenshots/.
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
from extramile.catalog.models import Photo, Product
from extramile.moments.models import Action, ActionKey, ActionState
from tests.e2e.conftest import PASSWORD, phone_shot, sign_in
from tests.e2e.test_today_browser import midday_zone, photo_server  # noqa: F401
from tests.factories import (
    ActionFactory,
    ClientFactory,
    ProductFactory,
    StockFactory,
    StoreFactory,
    UserFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)


def a_store_with_new_arrivals(photos: str) -> dict[str, Any]:
    """Uptown's new suit offered to four clients, and a pocket square nobody was matched to."""
    zone_name = midday_zone()
    today = timezone.now().astimezone(ZoneInfo(zone_name)).date()
    store = StoreFactory(code="uptown", name="Uptown", time_zone=zone_name)

    def staff(username: str, first: str, last: str):
        return UserFactory(
            username=username,
            first_name=first,
            last_name=last,
            role=Role.ASSOCIATE,
            store=store,
            password=PASSWORD,
        )

    ana = staff("ana", "Ana", "Reyes")
    bo = staff("bo", "Bo", "Lind")

    def product(title: str, days_ago: int, price: str, colour: str, stock: dict[str, int]):
        found = ProductFactory(
            title=title,
            brand="Ashby & Rowe",
            colour=colour,
            price=Decimal(price),
            arrived_on=today - dt.timedelta(days=days_ago),
        )
        photo = "navy-suit.jpg" if "suit" in title else "pocket-square.jpg"
        Photo.objects.create(product=found, source_url=f"{photos}/{photo}", alt=title)
        for size, quantity in stock.items():
            variant = VariantFactory(product=found, size=size, colour=colour)
            StockFactory(variant=variant, store=store, quantity=quantity)
        return found

    suit = product("Navy wool suit", 1, "495.00", "navy", {"38R": 1, "40R": 2, "42L": 1})
    product("Silk pocket square", 3, "25.00", "light blue", {"": 6})

    def offered(first: str, last: str, *, to: Any, size: str, fit: float, state: str) -> Action:
        client = ClientFactory(
            store=store, first_name=first, last_name=last, time_zone=zone_name, primary_associate=to
        )
        item = {"product_id": suit.pk, "title": suit.title, "size": size, "fit": fit}
        evidence = {"products": [item]}
        key = f"new_arrival_match:{client.pk}:{suit.pk}"
        action = ActionFactory(
            store=store,
            client=client,
            associate=to,
            kind="new_arrival_match",
            state=state,
            reason=f"The navy wool suit arrived yesterday in {first}'s size, {size}.",
            evidence=evidence,
            reasons=[{"kind": "new_arrival_match", "reason": "", "evidence": evidence, "key": key}],
        )
        ActionKey.objects.create(key=key, action=action)
        return action

    maya = offered("Maya", "Okafor", to=ana, size="40R", fit=0.91, state=ActionState.OPEN)
    offered("Leo", "Brandt", to=ana, size="42L", fit=0.64, state=ActionState.DONE)
    offered("Nora", "Quist", to=ana, size="40R", fit=0.58, state=ActionState.HELD_OUT)
    offered("Oscar", "Voss", to=bo, size="38R", fit=0.72, state=ActionState.OPEN)
    return {"suit": suit, "maya": maya}


def test_associate_sees_what_came_in_and_who_it_is_going_to_then_opens_the_action(
    live_server,
    browser_page,
    photo_server,  # noqa: F811
    screenshots,
):
    # given
    page = browser_page
    scene = a_store_with_new_arrivals(photo_server)
    suit: Product = scene["suit"]
    maya: Action = scene["maya"]

    # when: Ana signs in on her phone and opens Arrivals from the menu
    sign_in(page, live_server, "ana")
    page.click("nav a[href='/arrivals/']")
    page.wait_for_url(f"{live_server.url}/arrivals/")

    # then: the suit (newest) comes first, with its stock here, its offers and how they stand
    assert page.inner_text("nav[aria-label=Main] a[aria-current]") == "Arrivals"
    titles = page.locator("article.arrival h2").all_inner_texts()
    assert titles == ["Navy wool suit", "Silk pocket square"]
    card = page.locator(f"#product-{suit.pk}")
    assert card.locator(".sizes .chip").all_inner_texts() == ["38R · 1", "40R · 2", "42L · 1"]
    assert card.locator(".offers").inner_text() == "4 offers for 4 units"
    assert card.locator(".tally .badge").all_inner_texts() == [
        "2 to contact",
        "1 contacted",
        "1 held out (control group, not contacted)",
    ]
    assert "No client matched yet." in page.inner_text("article.arrival:nth-of-type(2)")
    # and: the photos have loaded
    assert page.eval_on_selector(f"#product-{suit.pk} img.thumb", "img => img.naturalWidth") > 0

    # when: she expands the suit
    card.locator("summary").click()

    # then: the clients, best fit first, each with the size offered, the associate and the state
    rows = card.locator(".match-row")
    assert rows.locator(".name").all_inner_texts() == [
        "Maya Okafor",
        "Oscar Voss",
        "Leo Brandt",
        "Nora Quist",
    ]
    assert rows.locator(".size").all_inner_texts() == ["40R", "38R", "42L", "40R"]
    assert rows.locator(".associate").all_inner_texts() == [
        "Ana Reyes",
        "Bo Lind",
        "Ana Reyes",
        "Ana Reyes",
    ]
    assert rows.locator(".match-state").all_inner_texts() == [
        "To contact",
        "To contact",
        "Contacted",
        "Held out: not contacted, on purpose",
    ]
    assert rows.nth(3).locator(".open-action").count() == 0  # a held-out action is never shown
    # and: on a phone nothing runs off the side of the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    phone_shot(page, screenshots / "arrivals.png")
    with Image.open(screenshots / "arrivals.png") as shot:
        assert shot.width == 780  # 390 CSS pixels at twice the density

    # when: "Only my clients" leaves Bo's client out
    page.click("a.badge:has-text('Only my clients')")
    page.wait_for_url(f"{live_server.url}/arrivals/?days=30&mine=1")
    card = page.locator(f"#product-{suit.pk}")
    card.locator("summary").click()
    assert card.locator(".match-row .name").all_inner_texts() == [
        "Maya Okafor",
        "Leo Brandt",
        "Nora Quist",
    ]
    assert page.locator("article.arrival h2").all_inner_texts() == ["Navy wool suit"]

    # when: she opens Maya's action from the list
    card.locator(".match-row").first.locator(".open-action").click()
    page.wait_for_url(f"{live_server.url}/today/{maya.pk}/")

    # then: it is the action's page, about Maya
    assert page.inner_text("h1") == "Maya Okafor"
    assert "The navy wool suit arrived yesterday in Maya's size, 40R." in page.inner_text("#why")
