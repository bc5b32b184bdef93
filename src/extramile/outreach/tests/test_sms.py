import datetime as dt
import re

import pytest

from extramile.outreach import sms
from extramile.outreach.models import Message
from extramile.outreach.services import (
    SendRefused,
    client_for_token,
    deliver_message,
    send_action_message,
)
from extramile.outreach.tests.conftest import NOW, free_port

pytestmark = pytest.mark.django_db

BODY = "Hi Maya, your belt is waiting at the counter. Walter"


@pytest.fixture
def twilio(settings, twilio_server):
    settings.SMS_PROVIDER = "twilio"
    settings.TWILIO_ACCOUNT_SID = "AC0123456789"
    settings.TWILIO_AUTH_TOKEN = "s3cret-token"
    settings.TWILIO_FROM = "+15005550006"
    settings.TWILIO_BASE_URL = twilio_server.base_url
    return twilio_server


def test_an_sms_goes_to_the_twilio_endpoint_with_the_exact_form_auth_and_key(
    scene, twilio, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        message = send_action_message(
            scene.action, channel="sms", subject="ignored", body=BODY, by=scene.associate, now=NOW
        )
    # then: one POST in Twilio's shape
    assert len(twilio.requests) == 1
    request = twilio.requests[0]
    assert request.path == "/2010-04-01/Accounts/AC0123456789/Messages.json"
    assert twilio.credentials() == "AC0123456789:s3cret-token"
    assert request.idempotency_key == str(message.uid)
    assert sorted(request.form) == ["Body", "From", "To"]
    assert request.form["To"] == ["+14155550123"]
    assert request.form["From"] == ["+15005550006"]
    body = request.form["Body"][0]
    link = re.fullmatch(
        re.escape(BODY) + r"\n\nYour choices: (https://shop\.example/p/(.+)/)", body
    )
    assert link is not None, body
    assert client_for_token(link.group(2)) == scene.client
    # and the outbox holds Twilio's id
    message.refresh_from_db()
    assert (message.status, message.to, message.subject) == ("sent", "+14155550123", "")
    assert message.provider_id == "SM" + "1".zfill(32)
    assert message.attempts == 1


def test_twilio_trouble_is_retried_and_a_bad_number_fails_at_once(
    scene, twilio, django_capture_on_commit_callbacks
):
    # given: Twilio answers 503, then 400
    twilio.answers.extend(
        [
            (503, {"code": 20500, "message": "Service unavailable"}),
            (400, {"code": 21211, "message": "Invalid 'To' Phone Number"}),
        ]
    )
    with django_capture_on_commit_callbacks(execute=False):
        message = send_action_message(
            scene.action, channel="sms", subject="", body=BODY, by=scene.associate, now=NOW
        )
    # when: the first attempt meets the 503
    deliver_message(message.pk, now=NOW)
    # then
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 1)
    assert message.next_attempt_at == NOW + dt.timedelta(seconds=30)
    assert message.last_error.startswith("Twilio answered 503: ")
    # when: the retry meets the 400
    deliver_message(message.pk, now=NOW + dt.timedelta(seconds=30))
    # then
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 2)
    assert "Invalid 'To' Phone Number" in message.last_error
    assert len(twilio.requests) == 2
    assert {r.idempotency_key for r in twilio.requests} == {str(message.uid)}


def test_an_unreachable_provider_is_a_retry(scene, settings, django_capture_on_commit_callbacks):
    # given
    settings.SMS_PROVIDER = "twilio"
    settings.TWILIO_ACCOUNT_SID = "AC1"
    settings.TWILIO_AUTH_TOKEN = "t"
    settings.TWILIO_FROM = "+15005550006"
    settings.TWILIO_BASE_URL = f"http://127.0.0.1:{free_port()}"
    with django_capture_on_commit_callbacks(execute=False):
        message = send_action_message(
            scene.action, channel="sms", subject="", body=BODY, by=scene.associate, now=NOW
        )
    # when
    deliver_message(message.pk, now=NOW)
    # then
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 1)
    assert message.last_error.startswith("Twilio could not be reached: ")


def test_no_mobile_number_or_no_sms_consent_is_refused(scene, twilio):
    # given
    scene.client.consents.filter(channel="sms").delete()
    # when / then
    with pytest.raises(SendRefused) as refused:
        send_action_message(
            scene.action, channel="sms", subject="", body=BODY, by=scene.associate, now=NOW
        )
    assert refused.value.reason == (
        "Maya has not agreed to be contacted by text message; nothing was sent."
    )
    # given
    scene.client.phone = ""
    scene.client.save()
    # when / then
    with pytest.raises(SendRefused) as refused:
        send_action_message(
            scene.action, channel="sms", subject="", body=BODY, by=scene.associate, now=NOW
        )
    assert refused.value.reason == "We have no mobile number for Maya; nothing was sent."
    assert twilio.requests == []
    assert Message.objects.count() == 0


def test_the_locmem_provider_keeps_messages_for_other_tests(
    scene, settings, django_capture_on_commit_callbacks
):
    # given
    settings.SMS_PROVIDER = "locmem"
    sms.outbox.clear()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        message = send_action_message(
            scene.action, channel="sms", subject="", body=BODY, by=scene.associate, now=NOW
        )
    # then
    assert [(m["to"], m["idempotency_key"]) for m in sms.outbox] == [
        ("+14155550123", str(message.uid))
    ]
    assert sms.outbox[0]["body"].startswith(BODY + "\n\nYour choices: https://shop.example/p/")
