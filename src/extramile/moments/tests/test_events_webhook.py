import base64
import hashlib
import hmac
import json

import pytest
from django.test import Client as HttpClient

from extramile.moments.models import Event

SECRET = "s3cret-for-tests"
URL = "/webhooks/events/"

pytestmark = pytest.mark.django_db


def body_of(*events):
    return json.dumps({"events": list(events)}).encode()


def event(event_id, **fields):
    return {
        "id": event_id,
        "type": "product.arrived",
        "occurred_at": "2026-03-14T09:00:00Z",
        "data": {"product": {"id": "SU-NAVY"}},
        **fields,
    }


def hex_signature(body, secret=SECRET):
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send(body, **headers):
    return HttpClient().post(URL, data=body, content_type="application/json", **headers)


@pytest.fixture(autouse=True)
def secret(settings):
    settings.EVENTS_WEBHOOK_SECRET = SECRET


def test_a_hex_signature_is_accepted(store_a):
    # given
    body = body_of(event("evt-1"), event("evt-2", store="uptown"))

    # when
    response = send(body, HTTP_X_EXTRAMILE_SIGNATURE=hex_signature(body))

    # then
    assert response.status_code == 202
    assert [(e["id"], e["status"]) for e in response.json()["events"]] == [
        ("evt-1", "created"),
        ("evt-2", "created"),
    ]
    assert list(Event.objects.order_by("id").values_list("event_id", "source", "store")) == [
        ("evt-1", "webhook", None),
        ("evt-2", "webhook", store_a.pk),
    ]


def test_a_base64_signature_with_a_prefix_is_accepted_and_a_replay_is_a_duplicate():
    # given
    body = json.dumps(event("evt-1")).encode()
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    signature = "sha256=" + base64.b64encode(digest).decode()
    send(body, HTTP_X_EXTRAMILE_SIGNATURE=signature)

    # when
    response = send(body, HTTP_X_EXTRAMILE_SIGNATURE=signature)

    # then
    assert response.status_code == 202
    assert response.json()["events"][0]["status"] == "duplicate"
    assert Event.objects.count() == 1


def test_a_wrong_signature_is_refused_and_nothing_stored():
    # given
    body = body_of(event("evt-1"))

    # when
    other_secret = send(body, HTTP_X_EXTRAMILE_SIGNATURE=hex_signature(body, "other"))
    other_body = send(body, HTTP_X_EXTRAMILE_SIGNATURE=hex_signature(body + b" "))
    garbage = send(body, HTTP_X_EXTRAMILE_SIGNATURE="not a signature!")

    # then
    assert [r.status_code for r in (other_secret, other_body, garbage)] == [401, 401, 401]
    assert other_secret.json() == {
        "detail": "The X-Extramile-Signature signature does not match the body."
    }
    assert Event.objects.count() == 0


def test_a_missing_signature_is_refused():
    # when
    response = send(body_of(event("evt-1")))

    # then
    assert response.status_code == 401
    assert response.json() == {"detail": "The X-Extramile-Signature signature is missing."}
    assert Event.objects.count() == 0


def test_webhooks_are_refused_while_the_secret_is_unset(settings):
    # given
    settings.EVENTS_WEBHOOK_SECRET = ""
    body = body_of(event("evt-1"))

    # when
    response = send(body, HTTP_X_EXTRAMILE_SIGNATURE=hex_signature(body))

    # then
    assert response.status_code == 503
    assert Event.objects.count() == 0


def test_a_signed_but_invalid_event_is_refused_with_its_path():
    # given
    body = body_of(event("evt-1", data={"product": {"id": ""}}))

    # when
    response = send(body, HTTP_X_EXTRAMILE_SIGNATURE=hex_signature(body))

    # then
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "value_error",
                "loc": ["body", "events", 0, "data", "product", "id"],
                "msg": "is empty",
            }
        ]
    }
    assert Event.objects.count() == 0


def test_only_post_is_allowed():
    # when
    response = HttpClient().get(URL)

    # then
    assert response.status_code == 405
