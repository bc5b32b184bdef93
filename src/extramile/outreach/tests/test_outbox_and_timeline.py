import datetime as dt

import pytest

from extramile.clients.services import client_timeline
from extramile.moments.lifecycle import log_call
from extramile.moments.models import ActionState
from extramile.outreach.models import Message
from extramile.outreach.services import (
    backoff,
    deliver_due_messages,
    deliver_message,
    send_action_message,
)
from extramile.outreach.tests.conftest import NOW, free_port
from extramile.tasks import periodic_tasks, registered_tasks
from tests.factories import ActionFactory

pytestmark = pytest.mark.django_db

BODY = "Hi Maya, the navy suit is in. Walter"


def queued_message(scene, **fields) -> Message:
    message = Message.objects.create(
        action=None,
        client=scene.client,
        channel="email",
        to=scene.client.email,
        subject="Hello",
        body=BODY,
        created_at=NOW,
        next_attempt_at=NOW,
    )
    Message.objects.filter(pk=message.pk).update(**fields)
    return message


def test_the_sweep_hands_over_due_and_abandoned_messages_only(
    scene, smtp_settings, django_capture_on_commit_callbacks
):
    # given
    due = queued_message(scene)
    abandoned = queued_message(
        scene, status="sending", claimed_until=NOW - dt.timedelta(seconds=1), attempts=1
    )
    queued_message(scene, status="sending", claimed_until=NOW + dt.timedelta(minutes=4))
    queued_message(scene, next_attempt_at=NOW + dt.timedelta(seconds=30), attempts=1)
    already_sent = queued_message(scene, status="sent", sent_at=NOW)
    queued_message(scene, status="refused")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        handed = deliver_due_messages(now=NOW)
    # then: both went out, once each (in-process, delivery runs with the real clock)
    assert handed == 2
    assert set(Message.objects.filter(status="sent").values_list("pk", flat=True)) == {
        due.pk,
        abandoned.pk,
        already_sent.pk,
    }
    assert len(smtp_settings.received) == 2
    assert Message.objects.get(pk=abandoned.pk).attempts == 2


def test_backoff_doubles_from_thirty_seconds_up_to_an_hour():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4, 7, 8, 20)] == [
        30,
        60,
        120,
        240,
        1920,
        3600,
        3600,
    ]


def test_a_retry_that_would_fall_in_quiet_hours_waits_for_the_morning(
    scene, smtp_settings, settings, django_capture_on_commit_callbacks
):
    # given: sent at 19:59:50 in New York; the server is down
    settings.EMAIL_PORT = free_port()
    evening = dt.datetime(2025, 3, 12, 23, 59, 50, tzinfo=dt.UTC)
    with django_capture_on_commit_callbacks(execute=False):
        message = send_action_message(
            scene.action, channel="email", subject="Hi", body=BODY, by=scene.associate, now=evening
        )
    # when
    deliver_message(message.pk, now=evening)
    # then: not at 20:00:20, but at 09:00 the next morning (13:00 UTC)
    message.refresh_from_db()
    assert message.next_attempt_at == dt.datetime(2025, 3, 13, 13, 0, tzinfo=dt.UTC)


def test_delivery_and_the_sweep_are_registered_tasks():
    assert "extramile.outreach.services.deliver_message" in registered_tasks()
    assert [p.seconds for p in periodic_tasks() if p.name.startswith("extramile.outreach")] == [60]


def test_messages_and_calls_appear_on_the_clients_timeline(
    scene, smtp_settings, django_capture_on_commit_callbacks
):
    # given: an email sent, a call logged on another action, a message refused at delivery
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = send_action_message(
            scene.action,
            channel="email",
            subject="The navy suit is in",
            body=BODY,
            by=scene.associate,
            now=NOW,
        )
    deliver_message(message.pk, now=NOW + dt.timedelta(seconds=2))
    assert len(callbacks) == 1
    call = ActionFactory(
        store=scene.store,
        client=scene.client,
        associate=scene.associate,
        kind="order_check_in",
        purpose="service",
        channel="phone",
        due_at=NOW,
    )
    log_call(
        call,
        by=scene.associate,
        outcome="Asked about the fit; all good.",
        reached=True,
        now=NOW + dt.timedelta(hours=1),
    )
    opted_out = "Maya opted out of text messages on 12 Mar 2025 (preference page)."
    queued_message(
        scene,
        status="refused",
        subject="",
        channel="sms",
        last_error=opted_out,
        created_at=NOW + dt.timedelta(hours=2),
    )
    # when
    entries = [
        e for e in client_timeline(scene.client) if e.kind == "call" or e.kind.startswith("message")
    ]
    # then: newest first
    assert [(e.at, e.kind, e.title, e.detail, e.actor) for e in entries] == [
        (
            NOW + dt.timedelta(hours=2),
            "message_refused",
            "Text message not sent",
            opted_out,
            "",
        ),
        (
            NOW + dt.timedelta(hours=1),
            "call",
            "Call, reached",
            "Asked about the fit; all good.",
            "Walter Hale",
        ),
        (
            NOW + dt.timedelta(seconds=2),
            "message_sent",
            "Email sent: The navy suit is in",
            BODY,
            "Walter Hale",
        ),
    ]
    assert scene.action.state == ActionState.DONE
