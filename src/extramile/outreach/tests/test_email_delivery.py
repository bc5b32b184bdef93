import datetime as dt
import re
from typing import Any

import pytest

from extramile.care.models import Problem
from extramile.clients.services import record_consent
from extramile.moments.models import ActionState
from extramile.outreach.models import AuditEntry, Message
from extramile.outreach.services import (
    SendRefused,
    client_for_token,
    deliver_message,
    preference_url,
    send_action_message,
)
from extramile.outreach.tests.conftest import NOW, free_port, jpeg_bytes
from tests.factories import ActionFactory

pytestmark = pytest.mark.django_db

BODY = "Hi Maya,\n\nThe navy suit came in today in your size.\n\nWalter"


def verbs(message: Message) -> list[str]:
    return list(
        AuditEntry.objects.filter(message=message)
        .order_by("at", "id")
        .values_list("verb", flat=True)
    )


def refused_send(scene: Any, *, at: dt.datetime, capture: Any) -> str:
    """Try to send the scene's action by email at `at`; return why it was refused."""
    with capture(execute=True), pytest.raises(SendRefused) as refused:
        send_action_message(
            scene.action, channel="email", subject="Hi", body=BODY, by=scene.associate, now=at
        )
    return refused.value.reason


def sent_email(scene: Any, *, capture: Any) -> Message:
    """Send the scene's action by email at NOW, delivering it; return the message as stored."""
    with capture(execute=True):
        message = send_action_message(
            scene.action, channel="email", subject="Hi", body=BODY, by=scene.associate, now=NOW
        )
    message.refresh_from_db()
    return message


def contacts_done(scene: Any, *done: tuple[int, str]) -> None:
    """Contacts with Maya, each done (days before NOW, purpose)."""
    for days, purpose in done:
        ActionFactory(
            store=scene.store,
            client=scene.client,
            purpose=purpose,
            state=ActionState.DONE,
            completed_at=NOW - dt.timedelta(days=days),
        )


def test_an_emailed_action_arrives_with_text_html_inline_photo_linked_photo_and_link(
    scene, smtp_settings, django_capture_on_commit_callbacks
):
    # given: Maya said yes to email; it is 11:00 in New York
    # when
    with django_capture_on_commit_callbacks(execute=True):
        message = send_action_message(
            scene.action,
            channel="email",
            subject="The navy suit is in",
            body=BODY,
            by=scene.associate,
            now=NOW,
        )
    # then: one email at the SMTP server
    assert len(smtp_settings.received) == 1
    mail = smtp_settings.received[0]
    assert smtp_settings.recorder.envelopes == [("hello@uptown.example", ["maya@example.com"])]
    assert mail["To"] == "maya@example.com"
    assert mail["From"] == "Walter at Uptown <hello@uptown.example>"
    assert mail["Reply-To"] == "walter@uptown.example"
    assert mail["Subject"] == "The navy suit is in"
    assert mail["Message-ID"] == f"<{message.uid}@uptown.example>"
    # multipart/related: the text/HTML alternatives first, then the inline photo
    assert mail.get_content_type() == "multipart/related"
    alternative, *images = mail.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    text_part, html_part = alternative.iter_parts()
    assert text_part.get_content_type() == "text/plain"
    assert html_part.get_content_type() == "text/html"
    # on the wire lines end in CRLF
    text = text_part.get_content().replace("\r\n", "\n")
    html = html_part.get_content().replace("\r\n", "\n")
    assert text.startswith(BODY + "\n")
    assert "* Navy suit — USD 450.00\n* Linen shirt — USD 95.00\n" in text
    assert [image.get_content_type() for image in images] == ["image/jpeg"]
    content_id = images[0]["Content-ID"].strip("<>")
    assert images[0].get_content() == jpeg_bytes("navy")
    assert images[0].get_content_disposition() == "inline"
    assert f'src="cid:{content_id}"' in html
    assert 'alt="The navy suit, front"' in html
    # the linen shirt's photo is held elsewhere: linked, not attached
    assert 'src="https://cdn.example/linen.jpg"' in html
    assert "<p>Hi Maya,</p>" in html
    # the same signed preference link in both parts and in List-Unsubscribe
    link = re.search(r"https://shop\.example/p/[^/\s]+/", text).group(0)
    assert f'href="{link}"' in html
    assert mail["List-Unsubscribe"].strip() == f"<{link}unsubscribe/>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert client_for_token(link.rsplit("/", 2)[1]) == scene.client
    # and the outbox, the audit log and the action say so
    message.refresh_from_db()
    assert (message.status, message.attempts, message.channel) == ("sent", 1, "email")
    assert message.provider_id == f"<{message.uid}@uptown.example>"
    assert message.sent_at is not None
    assert message.claimed_until is None
    assert verbs(message) == ["queued", "sent"]
    scene.action.refresh_from_db()
    assert scene.action.state == ActionState.DONE
    assert scene.action.completed_at == NOW
    assert scene.action.completed_by == scene.associate


def test_recording_writes_message_audit_and_done_action_together_and_delivers_after_commit(
    scene, smtp_settings, django_capture_on_commit_callbacks
):
    # when: the transaction has not committed yet
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = send_action_message(
            scene.action, channel="email", subject="", body=BODY, by=scene.associate, now=NOW
        )
    # then: everything is recorded, nothing is sent, one delivery waits for the commit
    assert len(callbacks) == 1
    assert smtp_settings.received == []
    message.refresh_from_db()
    assert (message.status, message.to, message.subject) == (
        "queued",
        "maya@example.com",
        "A note from Uptown",
    )
    assert message.next_attempt_at == NOW
    assert verbs(message) == ["queued"]
    assert scene.action.state == ActionState.DONE
    # when: the commit happens
    callbacks[0]()
    # then
    message.refresh_from_db()
    assert message.status == "sent"
    assert len(smtp_settings.received) == 1


def test_no_consent_for_email_refuses_and_nothing_reaches_the_server(
    scene, smtp_settings, django_capture_on_commit_callbacks
):
    # given: Maya never said yes to email (only SMS)
    scene.client.consents.filter(channel="email").delete()
    # when
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(SendRefused) as refused,
    ):
        send_action_message(
            scene.action, channel="email", subject="Hi", body=BODY, by=scene.associate, now=NOW
        )
    # then
    assert refused.value.reason == "Maya has not agreed to be contacted by email; nothing was sent."
    assert smtp_settings.received == []
    assert Message.objects.count() == 0
    entry = AuditEntry.objects.get()
    assert (entry.verb, entry.client, entry.actor, entry.at) == (
        "refused",
        scene.client,
        scene.associate,
        NOW,
    )
    assert entry.detail == {"channel": "email", "reason": refused.value.reason}
    scene.action.refresh_from_db()
    assert scene.action.state == ActionState.OPEN


def test_an_opt_out_is_named_with_its_date_and_source(scene, smtp_settings):
    # given
    record_consent(
        scene.client, channel="email", granted=False, source="call", at=NOW - dt.timedelta(days=2)
    )
    # when
    with pytest.raises(SendRefused) as refused:
        send_action_message(
            scene.action, channel="email", subject="Hi", body=BODY, by=scene.associate, now=NOW
        )
    # then
    assert refused.value.reason == (
        "Maya opted out of emails on 10 Mar 2025 (call); nothing was sent."
    )


def two_marketing_contacts_since(scene: Any) -> None:
    """Since the action was made, Maya had two other marketing contacts (the cap is 2)."""
    contacts_done(scene, (2, "marketing"), (9, "marketing"))


@pytest.mark.parametrize(
    ("since_made", "at", "refusal"),
    [
        (
            None,
            dt.datetime(2025, 3, 12, 2, 30, tzinfo=dt.UTC),  # 22:30 in New York
            "It is 22:30 for Maya (America/New_York), inside the quiet hours 20:00 to 09:00; "
            "send from 09:00 their time.",
        ),
        (
            two_marketing_contacts_since,
            NOW,
            "Maya has had 2 marketing contacts since 10 Feb 2025, and the limit is 2 in 30 days; "
            "nothing was sent. The action stays open: it can be sent from 02 Apr 2025 11:00.",
        ),
    ],
    ids=["quiet hours in the client's zone", "the marketing cap, reached since"],
)
def test_the_rules_checked_again_at_send_time_refuse_saying_why_and_when(
    scene, smtp_settings, django_capture_on_commit_callbacks, since_made, at, refusal
):
    # given
    if since_made is not None:
        since_made(scene)
    # when Walter sends it
    reason = refused_send(scene, at=at, capture=django_capture_on_commit_callbacks)
    # then he is told why and from when; nothing is sent and the action stays open
    assert reason == refusal
    assert smtp_settings.received == []
    assert Message.objects.count() == 0
    scene.action.refresh_from_db()
    assert scene.action.state == ActionState.OPEN
    assert list(AuditEntry.objects.values_list("verb", flat=True)) == ["refused"]


def test_marketing_waits_while_a_problem_is_open_but_service_goes_out(
    scene, smtp_settings, django_capture_on_commit_callbacks
):
    # given
    Problem.objects.create(store=scene.store, client=scene.client, kind="defect")
    # when / then: the marketing action is refused
    with pytest.raises(SendRefused) as refused:
        send_action_message(
            scene.action, channel="email", subject="Hi", body=BODY, by=scene.associate, now=NOW
        )
    assert refused.value.reason == (
        "Maya has an open problem with us; marketing waits until it is resolved."
    )
    # when: the same client's service action is sent
    scene.action.purpose = "service"
    scene.action.kind = "service_recovery"
    scene.action.save()
    message = sent_email(scene, capture=django_capture_on_commit_callbacks)
    # then
    assert message.status == "sent"
    assert len(smtp_settings.received) == 1


def test_under_the_cap_or_for_service_the_message_goes_out(
    scene, smtp_settings, django_capture_on_commit_callbacks
):
    # given: one other marketing contact in the window, one long before it, and a service call
    contacts_done(scene, (3, "marketing"), (45, "marketing"), (1, "service"))
    # when
    message = sent_email(scene, capture=django_capture_on_commit_callbacks)
    # then
    assert message.status == "sent"
    assert len(smtp_settings.received) == 1


def test_a_second_send_of_the_same_action_is_refused(
    scene, smtp_settings, django_capture_on_commit_callbacks
):
    # given
    with django_capture_on_commit_callbacks(execute=True):
        send_action_message(
            scene.action, channel="email", subject="Hi", body=BODY, by=scene.associate, now=NOW
        )
    # when: a double tap sends again (with the stale instance)
    scene.action.state = ActionState.OPEN
    with pytest.raises(SendRefused) as refused:
        send_action_message(
            scene.action, channel="email", subject="Hi", body=BODY, by=scene.associate, now=NOW
        )
    # then
    assert refused.value.reason == "This action is already done; nothing was sent."
    assert Message.objects.count() == 1
    assert len(smtp_settings.received) == 1


def test_an_empty_message_or_unknown_channel_is_refused_before_anything_is_written(scene):
    with pytest.raises(SendRefused) as empty:
        send_action_message(
            scene.action, channel="email", subject="Hi", body="  \n", by=scene.associate, now=NOW
        )
    with pytest.raises(SendRefused) as pigeon:
        send_action_message(
            scene.action, channel="pigeon", subject="Hi", body=BODY, by=scene.associate, now=NOW
        )
    assert empty.value.reason == "The message is empty; write something before sending."
    assert pigeon.value.reason == "'pigeon' is not a channel we send on (email or sms)."
    assert Message.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_an_opt_out_on_the_preference_page_after_queueing_refuses_delivery(
    scene, smtp_settings, client, django_capture_on_commit_callbacks
):
    # given: the message is recorded, its delivery not run yet
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = send_action_message(
            scene.action, channel="email", subject="Hi", body=BODY, by=scene.associate, now=NOW
        )
    link = re.search(r"/p/[^/]+/", preference_url(scene.client)).group(0)
    # when: Maya leaves email (keeps SMS) on her preference page, then delivery runs
    response = client.post(link, {"channels": ["sms"]})
    callbacks[0]()
    # then
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == "refused"
    assert message.attempts == 0
    assert message.last_error.startswith("Maya opted out of emails on ")
    assert message.last_error.endswith("(preference page); nothing was sent.")
    assert smtp_settings.received == []
    assert verbs(message) == ["queued", "refused"]


def test_a_closed_smtp_server_means_retries_with_exponential_backoff(
    scene, smtp_settings, settings, django_capture_on_commit_callbacks
):
    # given: nothing listens on the mail port
    settings.EMAIL_PORT = free_port()
    with django_capture_on_commit_callbacks(execute=False):
        message = send_action_message(
            scene.action, channel="email", subject="Hi", body=BODY, by=scene.associate, now=NOW
        )
    first = NOW + dt.timedelta(seconds=5)
    # when: the first attempt fails
    deliver_message(message.pk, now=first)
    # then: back in the queue for 30 s
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 1)
    assert message.next_attempt_at == first + dt.timedelta(seconds=30)
    assert message.last_error.startswith("ConnectionRefusedError")
    assert message.claimed_until is None
    # when: a task runs before the time has come, nothing is tried
    deliver_message(message.pk, now=first + dt.timedelta(seconds=29))
    message.refresh_from_db()
    assert message.attempts == 1
    # when: the second attempt fails too: 60 s
    second = first + dt.timedelta(seconds=30)
    deliver_message(message.pk, now=second)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 2)
    assert message.next_attempt_at == second + dt.timedelta(seconds=60)
    # when: the server is back for the third attempt
    settings.EMAIL_PORT = smtp_settings.port
    third = second + dt.timedelta(seconds=60)
    deliver_message(message.pk, now=third)
    # then
    message.refresh_from_db()
    assert (message.status, message.attempts, message.sent_at) == ("sent", 3, third)
    assert message.last_error == ""
    assert len(smtp_settings.received) == 1
    assert verbs(message) == ["queued", "retrying", "retrying", "sent"]
    retry = AuditEntry.objects.filter(message=message, verb="retrying").order_by("at").first()
    assert retry.detail["next_attempt_at"] == "2025-03-12T15:00:35+00:00"


def test_after_the_last_attempt_the_message_is_marked_failed(
    scene, smtp_settings, settings, django_capture_on_commit_callbacks
):
    # given
    settings.EMAIL_PORT = free_port()
    settings.OUTREACH_MAX_ATTEMPTS = 2
    with django_capture_on_commit_callbacks(execute=False):
        message = send_action_message(
            scene.action, channel="email", subject="Hi", body=BODY, by=scene.associate, now=NOW
        )
    # when
    deliver_message(message.pk, now=NOW)
    deliver_message(message.pk, now=NOW + dt.timedelta(seconds=30))
    deliver_message(message.pk, now=NOW + dt.timedelta(hours=2))
    # then
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 2)
    assert verbs(message) == ["queued", "retrying", "failed"]


def test_a_recipient_refused_for_good_fails_at_once(
    scene, smtp_settings, django_capture_on_commit_callbacks
):
    # given
    smtp_settings.recorder.refuse_recipients.add("maya@example.com")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        message = send_action_message(
            scene.action, channel="email", subject="Hi", body=BODY, by=scene.associate, now=NOW
        )
    # then
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 1)
    assert message.last_error.startswith("Recipient refused: ")
    assert "550" in message.last_error
    assert smtp_settings.received == []


def test_a_duplicate_task_and_a_live_claim_send_nothing_more(
    scene, smtp_settings, settings, django_capture_on_commit_callbacks
):
    # given: the message was delivered once
    with django_capture_on_commit_callbacks(execute=False):
        message = send_action_message(
            scene.action, channel="email", subject="Hi", body=BODY, by=scene.associate, now=NOW
        )
    deliver_message(message.pk, now=NOW)
    # when: the same task runs again (a redelivered Celery message)
    deliver_message(message.pk, now=NOW + dt.timedelta(seconds=1))
    # then
    assert len(smtp_settings.received) == 1
    # given: a second message another worker holds under a live lease
    scene.action.state = ActionState.OPEN
    scene.action.save()
    with django_capture_on_commit_callbacks(execute=False):
        other = send_action_message(
            scene.action, channel="email", subject="Hi", body=BODY, by=scene.associate, now=NOW
        )
    Message.objects.filter(pk=other.pk).update(
        status="sending", claimed_until=NOW + dt.timedelta(minutes=5), attempts=1
    )
    # when
    deliver_message(other.pk, now=NOW + dt.timedelta(minutes=1))
    # then: left alone
    other.refresh_from_db()
    assert (other.status, other.attempts) == ("sending", 1)
    assert len(smtp_settings.received) == 1
    # when: the lease has expired (that worker died)
    deliver_message(other.pk, now=NOW + dt.timedelta(minutes=6))
    # then: taken over and delivered, the interrupted attempt counted
    other.refresh_from_db()
    assert (other.status, other.attempts) == ("sent", 2)
    assert len(smtp_settings.received) == 2
    assert verbs(other) == ["queued", "resumed", "sent"]
