"""An associate's morning on a phone, in real Chromium: Today, one action, an email that arrives.

The email goes out through Django's SMTP backend to a real SMTP server on 127.0.0.1 (aiosmtpd,
the outreach tests' fixture). With EXTRAMILE_SCREENSHOTS set, the screenshots are written to
docs/screenshots/ for the README; otherwise to a temporary folder.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from PIL import Image

from extramile.accounts.models import Role
from extramile.catalog.models import Photo
from extramile.clients import services as client_services
from extramile.demo.photos import draw_product_photo
from extramile.moments.models import ActionProduct, ActionState
from extramile.outreach.models import Message, MessageStatus
from extramile.outreach.tests.conftest import SmtpServer
from tests.e2e.conftest import PASSWORD
from tests.factories import (
    ActionFactory,
    ClientFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    StoreFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)


def midday_zone() -> str:
    """An IANA zone in which it is midday now, so the morning is past and no hour is quiet."""
    offset = 12 - timezone.now().astimezone(dt.UTC).hour
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


@pytest.fixture
def photo_server(tmp_path: Path) -> Iterator[str]:
    """Serve drawn product photos from a folder over HTTP on 127.0.0.1; yield the base URL."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, title, category, colour in (
        ("navy-suit.jpg", "Navy wool suit", "Apparel/Suits", "navy"),
        ("pocket-square.jpg", "Silk pocket square", "Accessories/Pocket Squares", "light blue"),
    ):
        jpeg = draw_product_photo(
            title=title, brand="Ashby & Rowe", category=category, colour=colour
        )
        (folder / name).write_bytes(jpeg)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def a_morning_in_the_store(photos: str) -> dict[str, Any]:
    """Ana of Uptown with four actions today; Maya's is a new arrival to send by email."""
    zone_name = midday_zone()
    zone = ZoneInfo(zone_name)
    store = StoreFactory(code="uptown", name="Uptown", time_zone=zone_name)
    ana = UserFactory(
        username="ana",
        first_name="Ana",
        last_name="Reyes",
        role=Role.ASSOCIATE,
        store=store,
        password=PASSWORD,
    )
    today = timezone.now().astimezone(zone).date()

    def at(hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(today, dt.time(hour, minute), tzinfo=zone)

    def client(first: str, last: str, **extra: Any):
        return ClientFactory(
            store=store,
            first_name=first,
            last_name=last,
            email=f"{first.lower()}@example.com",
            phone="+12125550100",
            time_zone=zone_name,
            primary_associate=ana,
            **extra,
        )

    maya = client("Maya", "Okafor")
    client_services.record_consent(maya, channel="email", granted=True, source="signup form")
    client_services.set_size(maya, category="Suits", size="40R")
    client_services.set_size(maya, category="Shirts", size="15.5")
    for value in ("navy", "Ashby & Rowe", "wool"):
        dimension = {"navy": "colour", "wool": "material"}.get(value, "brand")
        client_services.add_preference(
            maya, dimension=dimension, value=value, likes=True, source="stated"
        )
    client_services.add_need(
        maya, text="A suit for her sister's June wedding", budget=Decimal("600")
    )
    last_autumn = timezone.now() - dt.timedelta(days=150)
    order = OrderFactory(store=store, client=maya, placed_at=last_autumn)
    OrderLineFactory(
        order=order, title="Charcoal flannel suit", variant__product__title="Charcoal flannel suit"
    )
    suit = ProductFactory(title="Navy wool suit", brand="Ashby & Rowe", price=Decimal("495.00"))
    Photo.objects.create(product=suit, source_url=f"{photos}/navy-suit.jpg", alt="Navy wool suit")
    square = ProductFactory(title="Silk pocket square", price=Decimal("25.00"))
    Photo.objects.create(
        product=square, source_url=f"{photos}/pocket-square.jpg", alt="Silk pocket square"
    )
    maya_action = ActionFactory(
        store=store,
        associate=ana,
        client=maya,
        kind="new_arrival_match",
        purpose="marketing",
        channel="email",
        priority=70,
        due_at=at(9, 30),
        expires_at=at(9) + dt.timedelta(days=10),
        reason=(
            "The navy wool suit by Ashby & Rowe arrived Monday in her size, 40R; she likes navy, "
            "wears Ashby & Rowe, and needs a suit for a June wedding."
        ),
        evidence={"size_in_stock": "40R", "matched_likes": ["navy", "Ashby & Rowe", "wool"]},
        subject="The navy suit is in",
        draft=(
            "Hi Maya,\n\nThe navy wool suit by Ashby & Rowe came in on Monday, and we have it in "
            "your 40R. I think it would be perfect for the wedding in June.\n\nAna"
        ),
        surprise=square,
        surprise_note="A pocket square in her navy, with our compliments, if she comes in.",
    )
    ActionProduct.objects.create(action=maya_action, product=suit, position=0, note="2 left in 40R")

    def call_or_email(name: str, kind: str, due: dt.datetime, priority: int, reason: str) -> None:
        """Another of Ana's actions today: a service call, or a marketing email."""
        service = kind in ("cancellation_courtesy", "service_recovery")
        ActionFactory(
            store=store,
            associate=ana,
            client=client(*name.split()),
            kind=kind,
            purpose="service" if service else "marketing",
            channel="phone" if service else "email",
            priority=priority,
            due_at=due,
            reason=reason,
        )

    cancelled = f"at 11:20 on {today:%A} {today.day} {today:%B}"
    call_or_email(
        "Claire Dubois",
        "cancellation_courtesy",
        at(11, 40),
        95,
        f"Claire cancelled her order {cancelled}; the refund of $180 is recorded. A short call "
        "to say it reaches her card in 2 to 3 days — no selling.",
    )
    call_or_email(
        "Jim Calloway",
        "service_recovery",
        at(10, 15),
        90,
        "Jim left his belt at the counter; offer to bring it round, with a shoe-care kit.",
    )
    call_or_email(
        "Edmund Ashcroft",
        "buying_season",
        at(16, 30),
        60,
        "Edmund bought a suit in each of the last three autumns; the season opens on 26 November.",
    )
    return {"ana": ana, "maya": maya, "action": maya_action}


def test_associate_opens_today_edits_a_draft_and_the_email_arrives(
    live_server, browser_page, smtp_settings: SmtpServer, photo_server, screenshots
):
    # given
    page = browser_page
    scene = a_morning_in_the_store(photo_server)
    action, maya = scene["action"], scene["maya"]

    # when: she signs in, and lands on Today
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "ana")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/today/")
    page.screenshot(path=str(screenshots / "today.png"))

    # then: her actions due now by priority, then the one for later
    assert page.locator("#now .name").all_inner_texts() == [
        "Claire Dubois",
        "Jim Calloway",
        "Maya Okafor",
    ]
    assert page.locator("#later .name").all_inner_texts() == ["Edmund Ashcroft"]

    # when: she opens Maya's action
    page.click("#now a.row:has-text('Maya Okafor')")
    page.wait_for_url(f"{live_server.url}/today/{action.pk}/")
    page.wait_for_function(
        "[...document.querySelectorAll('#products img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    page.screenshot(path=str(screenshots / "action.png"), full_page=True)

    # then: why, the photo and the draft are there
    assert "arrived Monday in her size, 40R" in page.inner_text("#why")
    assert page.locator("#products img").first.get_attribute("alt") == "Navy wool suit"
    assert page.input_value("#id_send_subject") == "The navy suit is in"

    # when: she edits the draft and saves it (htmx swaps the controls in place)
    edited = (
        "Hi Maya,\n\nI have put the navy Ashby & Rowe suit aside for you in 40R. "
        "Come by on Saturday and we will fit it for the wedding.\n\nAna"
    )
    page.fill("#id_send_body", edited)
    page.click("#act button.save-draft")
    page.wait_for_selector("#act .notice:has-text('Draft saved.')")

    # then: the draft is kept, and she is still on the page
    action.refresh_from_db()
    assert (action.draft, page.url) == (edited, f"{live_server.url}/today/{action.pk}/")
    assert page.input_value("#id_send_body") == edited

    # when: she changes the subject and sends it by email
    page.fill("#id_send_subject", "Your navy suit, put aside")
    page.click("button[name=channel][value=email]")
    page.wait_for_selector("#act .state-done")
    page.screenshot(path=str(screenshots / "sent.png"))

    # then: the page confirms it, and the email is at the SMTP server with her edited text
    assert f"Sent by email to {maya.email}" in page.inner_text("#act .state-done")
    deadline = time.monotonic() + 10
    while not smtp_settings.received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(smtp_settings.received) == 1
    received = smtp_settings.received[0]
    assert (received["To"], received["Subject"]) == (maya.email, "Your navy suit, put aside")
    text = received.get_body(preferencelist=("plain",)).get_content()
    assert "I have put the navy Ashby & Rowe suit aside for you in 40R." in text
    message = Message.objects.get(action=action)
    action.refresh_from_db()
    assert (message.status, action.state) == (MessageStatus.SENT, ActionState.DONE)

    # and: the screenshots are phone-sized PNGs
    for name, full_page in (("today.png", False), ("action.png", True), ("sent.png", False)):
        with Image.open(screenshots / name) as image:
            assert image.format == "PNG"
            assert image.width == 780  # 390 CSS pixels at twice the density
            if full_page:
                assert image.height > 1688
            else:
                assert image.height == 1688
