"""The browser of the end-to-end tests: Debian's Chromium driven by Playwright, phone-sized.

Also what the browser tests share: where their screenshots go, signing in, a phone-wide shot.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# The outreach tests' real SMTP server on 127.0.0.1 (aiosmtpd), and Django's settings for it.
from extramile.outreach.tests.conftest import smtp_server, smtp_settings  # noqa: F401

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The password of every member of staff the browser tests sign in as.
PASSWORD = "a long passphrase 9"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where the screenshots go: docs/screenshots/ when EXTRAMILE_SCREENSHOTS is set."""
    folder = REPO / "docs" / "screenshots" if os.environ.get("EXTRAMILE_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sign_in(page, live_server, username: str) -> None:
    """Sign in afresh as `username` (with PASSWORD) and land on Today."""
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/today/")


def phone_shot(page, path) -> None:
    """The whole page, cut to the phone's width (a crowded top bar may overflow it).

    From the top: a page scrolled down (as a reload leaves it) would show its sticky top bar
    in the middle of the shot.
    """
    page.evaluate("window.scrollTo(0, 0)")
    height = page.evaluate("document.documentElement.scrollHeight")
    page.screenshot(
        path=str(path), full_page=True, clip={"x": 0, "y": 0, "width": 390, "height": height}
    )


@pytest.fixture
def browser_page() -> Iterator[object]:
    """A page in real Chromium with a phone's viewport (390 x 844); CI fails without Chromium."""
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
        # Twice the pixels, as on a phone's screen, so that screenshots read sharply.
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, device_scale_factor=2
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
