"""The signed events webhook: verify the HMAC of the raw body, then record the events once."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from extramile.moments.event_schema import InvalidEvent
from extramile.moments.events import UnreadableBody, decode_body, parse_event_batch, record_events

SIGNATURE_HEADER = "X-Extramile-Signature"


def verify_events_signature(body: bytes, signature: str, *, secret: str) -> bool:
    """Tell whether the signature is the body's HMAC-SHA256 in hex or base64 (constant time)."""
    if not secret or not signature:
        return False
    value = signature.strip()
    if value.lower().startswith("sha256="):
        value = value[len("sha256=") :]
    expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    try:
        given = bytes.fromhex(value)
    except ValueError:
        try:
            given = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return False
    return hmac.compare_digest(expected, given)


@csrf_exempt  # The sender holds no CSRF token; the HMAC signature authenticates the request.
@require_POST
def events_webhook(request: HttpRequest) -> JsonResponse:
    """Verify the signature, then record one event or a batch (docs/events.md)."""
    secret = settings.EVENTS_WEBHOOK_SECRET
    if not secret:
        return JsonResponse(
            {"detail": "Event webhooks are refused: EVENTS_WEBHOOK_SECRET is not set."}, status=503
        )
    body = request.body
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not verify_events_signature(body, signature, secret=secret):
        reason = "is missing" if not signature else "does not match the body"
        return JsonResponse({"detail": f"The {SIGNATURE_HEADER} signature {reason}."}, status=401)
    try:
        events = parse_event_batch(decode_body(body))
    except UnreadableBody as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    except InvalidEvent as exc:
        problems = [
            {"type": "value_error", "loc": ["body", *p.path], "msg": p.message}
            for p in exc.problems
        ]
        return JsonResponse({"detail": problems}, status=422)
    results = record_events(events, source="webhook")
    return JsonResponse(
        {
            "events": [
                {
                    "id": event.event_id,
                    "event": event.pk,
                    "status": "created" if created else "duplicate",
                }
                for event, created in results
            ]
        },
        status=202,
    )
