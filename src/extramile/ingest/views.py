"""Inbound webhooks: verify the sender, hand the body to the ingest services, answer in JSON."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from extramile.ingest.shopify import (
    SHOPIFY_TOPICS,
    ShopifyBodyError,
    ShopifyConfigError,
    ShopifyPayloadError,
    receive_shopify_webhook,
    verify_shopify_signature,
)

logger = logging.getLogger(__name__)


@csrf_exempt  # Shopify cannot send a CSRF token; the HMAC signature authenticates the request.
@require_POST
def shopify_webhook(request: HttpRequest) -> JsonResponse:
    """Verify a Shopify webhook's signature, then record and apply it once."""
    secret = settings.SHOPIFY_WEBHOOK_SECRET
    if not secret:
        return JsonResponse(
            {"error": "Shopify webhooks are refused: SHOPIFY_WEBHOOK_SECRET is not set."},
            status=503,
        )
    body = request.body
    signature = request.headers.get("X-Shopify-Hmac-Sha256", "")
    if not verify_shopify_signature(body, signature, secret=secret):
        reason = "is missing" if not signature else "does not match the body"
        return JsonResponse({"error": f"The X-Shopify-Hmac-Sha256 signature {reason}."}, status=401)
    topic = request.headers.get("X-Shopify-Topic", "").strip()
    if not topic:
        return JsonResponse({"error": "The X-Shopify-Topic header is missing."}, status=400)
    if topic not in SHOPIFY_TOPICS:
        # Acknowledged, not stored: Shopify retries any other answer, then drops the subscription.
        logger.warning("Shopify webhook with unhandled topic %r ignored.", topic)
        return JsonResponse({"status": "ignored", "topic": topic})
    try:
        delivery = receive_shopify_webhook(
            topic=topic, body=body, webhook_id=request.headers.get("X-Shopify-Webhook-Id")
        )
    except ShopifyBodyError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    except ShopifyPayloadError as exc:
        return JsonResponse({"error": str(exc), "field": exc.field}, status=422)
    except ShopifyConfigError as exc:
        logger.error("Shopify webhook refused: %s", exc)
        return JsonResponse({"error": str(exc)}, status=503)
    except IntegrityError:
        # A concurrent delivery created the same record first; Shopify retries, and the retry
        # finds the record and updates it.
        logger.warning("Shopify webhook %s met a concurrent write; asked to retry.", topic)
        return JsonResponse({"error": "A concurrent update got there first; retry."}, status=409)
    return JsonResponse(
        {
            "status": "duplicate" if delivery.duplicate else "processed",
            "event": delivery.event.pk,
            "summary": delivery.event.summary,
        }
    )
