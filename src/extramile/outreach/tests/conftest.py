"""Real servers on 127.0.0.1 for the outreach tests: SMTP (aiosmtpd) and a Twilio-shaped API."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import email
import email.policy
import io
import json
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.core.files.base import ContentFile
from PIL import Image

from extramile.accounts.models import Store, User
from extramile.catalog.models import Photo, Product
from extramile.clients.models import Client
from extramile.clients.services import record_consent
from extramile.moments.models import Action, ActionProduct
from tests.factories import (
    ActionFactory,
    ClientFactory,
    ProductFactory,
    StoreFactory,
    UserFactory,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SmtpRecorder:
    """An aiosmtpd handler that keeps what it accepted; it can hold the first MAIL command."""

    received: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    hold_first_mail: bool = False
    refuse_recipients: set[str] = field(default_factory=set)
    mail_started: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    _held: bool = False

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.hold_first_mail and not self._held:
            # The first delivery stops here, before any content is sent, until released.
            self._held = True
            self.mail_started.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
            return "421 Closing connection"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_recipients:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.received.append(
            email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        )
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    recorder: SmtpRecorder

    @property
    def received(self) -> list[EmailMessage]:
        return self.recorder.received


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on a free port of 127.0.0.1 (aiosmtpd)."""
    recorder = SmtpRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(host="127.0.0.1", port=port, recorder=recorder)
    finally:
        recorder.release.set()
        controller.stop()


@pytest.fixture
def smtp_settings(settings, smtp_server: SmtpServer) -> SmtpServer:
    """Django's SMTP backend pointed at the test SMTP server."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "hello@uptown.example"
    settings.PUBLIC_URL = "https://shop.example"
    return smtp_server


@dataclass
class TwilioRequest:
    path: str
    authorization: str
    idempotency_key: str
    form: dict[str, list[str]]


@dataclass
class TwilioServer:
    base_url: str
    requests: list[TwilioRequest]
    answers: list[tuple[int, dict[str, Any]]]

    def credentials(self, index: int = 0) -> str:
        scheme, _, encoded = self.requests[index].authorization.partition(" ")
        assert scheme == "Basic"
        return base64.b64decode(encoded).decode()


@pytest.fixture
def twilio_server() -> Iterator[TwilioServer]:
    """A local HTTP server answering like Twilio's Messages endpoint; queue answers to vary it."""
    requests: list[TwilioRequest] = []
    answers: list[tuple[int, dict[str, Any]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            requests.append(
                TwilioRequest(
                    path=self.path,
                    authorization=self.headers.get("Authorization", ""),
                    idempotency_key=self.headers.get("Idempotency-Key", ""),
                    form=form,
                )
            )
            status, payload = (
                answers.pop(0)
                if answers
                else (201, {"sid": f"SM{len(requests):032d}", "status": "queued"})
            )
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield TwilioServer(
            base_url=f"http://127.0.0.1:{server.server_address[1]}",
            requests=requests,
            answers=answers,
        )
    finally:
        server.shutdown()
        server.server_close()


# --- The scene most tests start from -------------------------------------------------------

# 11:00 in New York (EDT), well outside the default quiet hours (20:00 to 09:00).
NOW = dt.datetime(2025, 3, 12, 15, 0, tzinfo=dt.UTC)


def jpeg_bytes(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 10), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


@dataclass
class Scene:
    store: Store
    associate: User
    client: Client
    action: Action
    suit: Product
    linen: Product


@pytest.fixture
def scene(settings, tmp_path) -> Scene:
    """Walter of Uptown and his client Maya, who said yes to email and SMS; a new-arrival action
    showing a navy suit (photo file held here) and a linen shirt (photo only linked)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PUBLIC_URL = "https://shop.example"
    store = StoreFactory(
        code="uptown", name="Uptown", time_zone="America/New_York", address="12 Main St"
    )
    associate = UserFactory(
        username="walter",
        first_name="Walter",
        last_name="Hale",
        email="walter@uptown.example",
        store=store,
    )
    client = ClientFactory(
        store=store,
        first_name="Maya",
        last_name="Lund",
        email="maya@example.com",
        phone="+14155550123",
        time_zone="America/New_York",
    )
    for channel in ("email", "sms"):
        record_consent(
            client,
            channel=channel,
            granted=True,
            source="signup form",
            at=NOW - dt.timedelta(days=30),
        )
    suit = ProductFactory(title="Navy suit", price=Decimal("450.00"))
    Photo.objects.create(product=suit, alt="The navy suit, front", position=0).image.save(
        "navy-suit.jpg", ContentFile(jpeg_bytes("navy"))
    )
    linen = ProductFactory(title="Linen shirt", price=Decimal("95.00"))
    Photo.objects.create(
        product=linen, source_url="https://cdn.example/linen.jpg", alt="Linen shirt"
    )
    action = ActionFactory(
        store=store,
        client=client,
        associate=associate,
        kind="new_arrival_match",
        purpose="marketing",
        due_at=NOW,
        subject="The navy suit is in",
        draft="Hi Maya,\n\nThe navy suit came in today in your size.\n\nWalter",
    )
    ActionProduct.objects.create(action=action, product=suit, position=0)
    ActionProduct.objects.create(action=action, product=linen, position=1)
    return Scene(
        store=store, associate=associate, client=client, action=action, suit=suit, linen=linen
    )
