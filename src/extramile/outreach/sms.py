"""Sending a text message through the configured provider: console, in memory, or Twilio's API.

The Twilio adapter speaks Twilio's REST shape (POST {base}/2010-04-01/Accounts/{sid}/
Messages.json, form fields To, From, Body, HTTP basic auth sid:token, JSON answer with sid and
status), so TWILIO_BASE_URL can also point at a compatible gateway or a local test server. It
uses the standard library's urllib: one form POST needs no extra dependency.
"""

from __future__ import annotations

import base64
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Seconds to wait for the provider; well below OUTREACH_LEASE_SECONDS, so a slow answer never
# lets a second worker take the message over while this one still waits.
TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class SmsSent:
    """What the provider said when it accepted a message."""

    provider_id: str
    status: str


class SmsError(Exception):
    """The provider did not accept the message; `transient` says whether a retry may succeed."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.transient = transient


# Messages kept by the "locmem" provider, like django.core.mail.outbox for email.
outbox: list[dict[str, str]] = []


def send_sms(*, to: str, body: str, idempotency_key: str) -> SmsSent:
    """Send one text message through the provider named by SMS_PROVIDER."""
    provider = settings.SMS_PROVIDER
    if provider == "console":
        sys.stdout.write(f"SMS to {to} (key {idempotency_key}):\n{body}\n")
        return SmsSent(provider_id=f"console-{idempotency_key}", status="sent")
    if provider == "locmem":
        outbox.append({"to": to, "body": body, "idempotency_key": idempotency_key})
        return SmsSent(provider_id=f"locmem-{len(outbox)}", status="sent")
    if provider == "twilio":
        return _send_twilio(to=to, body=body, idempotency_key=idempotency_key)
    raise ImproperlyConfigured(
        f"SMS_PROVIDER={provider!r} is not a provider; use console, locmem or twilio."
    )


def _send_twilio(*, to: str, body: str, idempotency_key: str) -> SmsSent:
    sid, token, sender = (
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        settings.TWILIO_FROM,
    )
    if not (sid and token and sender):
        raise ImproperlyConfigured(
            "SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM."
        )
    url = f"{settings.TWILIO_BASE_URL}/2010-04-01/Accounts/{urllib.parse.quote(sid)}/Messages.json"
    credentials = base64.b64encode(f"{sid}:{token}".encode()).decode("ascii")
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode({"To": to, "From": sender, "Body": body}).encode(),
        method="POST",
        headers={
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            # The same key on a resend lets a provider or gateway that honours it drop the copy.
            "Idempotency-Key": idempotency_key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:300]
        # 429 (slow down) and 5xx are the provider's trouble; other 4xx (a bad number, bad
        # credentials) will not get better by trying again.
        transient = exc.code == 429 or exc.code >= 500
        raise SmsError(f"Twilio answered {exc.code}: {detail}", transient=transient) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise SmsError(f"Twilio could not be reached: {exc}", transient=True) from exc
    except json.JSONDecodeError as exc:
        raise SmsError("Twilio's answer was not JSON.", transient=True) from exc
    if not answer.get("sid"):
        raise SmsError(f"Twilio's answer had no message sid: {answer!r}"[:300], transient=True)
    return SmsSent(provider_id=str(answer["sid"]), status=str(answer.get("status", "")))
