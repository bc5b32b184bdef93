import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from extramile.moments import lifecycle
from extramile.moments.models import Action, ActionKey, ActionState
from extramile.outreach.models import AuditEntry
from tests.factories import ActionFactory

# 11:00 in New York (EDT), the store's zone.
NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
NEW_YORK = ZoneInfo("America/New_York")


def audit_rows(action: Action) -> list[tuple]:
    return list(
        AuditEntry.objects.filter(action=action)
        .order_by("at", "id")
        .values_list("verb", "actor__username", "client_id", "at", "detail")
    )


@pytest.fixture
def action(store_a, associate_a) -> Action:
    return ActionFactory(
        store=store_a,
        associate=associate_a,
        due_at=NOW - dt.timedelta(hours=1),
        expires_at=NOW + dt.timedelta(days=3),
    )


@pytest.mark.django_db
def test_complete_closes_the_action_with_who_when_and_outcome(action, associate_a):
    # when
    returned = lifecycle.complete_action(
        action, by=associate_a, outcome=" Booked a fitting. ", now=NOW
    )
    # then
    stored = Action.objects.get(pk=action.pk)
    assert returned is action
    assert (stored.state, stored.outcome, stored.completed_at, stored.completed_by) == (
        ActionState.DONE,
        "Booked a fitting.",
        NOW,
        associate_a,
    )
    assert (action.state, action.completed_at) == (ActionState.DONE, NOW)
    assert audit_rows(action) == [
        ("completed", "ana", action.client_id, NOW, {"outcome": "Booked a fitting."})
    ]


@pytest.mark.django_db
def test_skip_records_the_reason_and_who_closed_it(action, associate_a):
    # when
    lifecycle.skip_action(
        action, by=associate_a, reason="Already in touch: saw him Monday", now=NOW
    )
    # then
    stored = Action.objects.get(pk=action.pk)
    assert (stored.state, stored.state_reason, stored.completed_at, stored.completed_by) == (
        ActionState.SKIPPED,
        "Already in touch: saw him Monday",
        NOW,
        associate_a,
    )
    assert audit_rows(action) == [
        ("skipped", "ana", action.client_id, NOW, {"reason": "Already in touch: saw him Monday"})
    ]


@pytest.mark.django_db
def test_skip_without_a_reason_is_refused_and_changes_nothing(action, associate_a):
    # when
    with pytest.raises(ValueError, match="Say why"):
        lifecycle.skip_action(action, by=associate_a, reason="  ", now=NOW)
    # then
    assert Action.objects.get(pk=action.pk).state == ActionState.OPEN
    assert audit_rows(action) == []


@pytest.mark.django_db
def test_snooze_sets_the_wake_time_and_audits_it(action, associate_a):
    # given
    until = NOW + dt.timedelta(hours=1)
    # when
    lifecycle.snooze_action(action, by=associate_a, until=until, now=NOW)
    # then
    stored = Action.objects.get(pk=action.pk)
    assert (stored.state, stored.snoozed_until, stored.completed_at) == (
        ActionState.SNOOZED,
        until,
        None,
    )
    assert audit_rows(action) == [
        ("snoozed", "ana", action.client_id, NOW, {"until": "2026-03-10T16:00:00+00:00"})
    ]


@pytest.mark.django_db
def test_snooze_into_the_past_or_past_the_expiry_is_refused(action, associate_a):
    # when
    with pytest.raises(ValueError, match="still ahead"):
        lifecycle.snooze_action(action, by=associate_a, until=NOW, now=NOW)
    with pytest.raises(ValueError, match="passes before then"):
        lifecycle.snooze_action(action, by=associate_a, until=NOW + dt.timedelta(days=7), now=NOW)
    # then
    stored = Action.objects.get(pk=action.pk)
    assert (stored.state, stored.snoozed_until) == (ActionState.OPEN, None)
    assert audit_rows(action) == []


@pytest.mark.django_db
def test_a_snoozed_action_can_still_be_done_and_loses_its_wake_time(action, associate_a):
    # given
    lifecycle.snooze_action(action, by=associate_a, until=NOW + dt.timedelta(hours=2), now=NOW)
    # when
    lifecycle.complete_action(
        action, by=associate_a, outcome="Caught her in the store.", now=NOW + dt.timedelta(hours=1)
    )
    # then
    stored = Action.objects.get(pk=action.pk)
    assert (stored.state, stored.snoozed_until) == (ActionState.DONE, None)
    assert [row[0] for row in audit_rows(action)] == ["snoozed", "completed"]


@pytest.mark.django_db
def test_call_that_reached_the_client_closes_the_action(action, associate_a):
    # when
    lifecycle.log_call(
        action,
        by=associate_a,
        outcome="Happy with the refund; re-booked for May.",
        reached=True,
        now=NOW,
    )
    # then
    stored = Action.objects.get(pk=action.pk)
    assert (stored.state, stored.outcome, stored.completed_at, stored.completed_by) == (
        ActionState.DONE,
        "Happy with the refund; re-booked for May.",
        NOW,
        associate_a,
    )
    assert audit_rows(action) == [
        (
            "called",
            "ana",
            action.client_id,
            NOW,
            {"reached": True, "outcome": "Happy with the refund; re-booked for May."},
        )
    ]


@pytest.mark.django_db
def test_call_that_did_not_reach_keeps_the_action_open_with_a_note(action, associate_a):
    # when
    lifecycle.log_call(action, by=associate_a, outcome="Left a voicemail", reached=False, now=NOW)
    # then
    stored = Action.objects.get(pk=action.pk)
    assert (stored.state, stored.state_reason, stored.outcome, stored.completed_at) == (
        ActionState.OPEN,
        "Called Tue 10 Mar 11:00, not reached: Left a voicemail",
        "",
        None,
    )
    assert audit_rows(action) == [
        ("called", "ana", action.client_id, NOW, {"reached": False, "outcome": "Left a voicemail"})
    ]


@pytest.mark.django_db
def test_two_missed_calls_then_a_reached_one_leave_three_entries(action, associate_a):
    # when
    for minutes, reached in ((0, False), (90, False), (240, True)):
        lifecycle.log_call(
            action,
            by=associate_a,
            outcome="" if not reached else "All fine.",
            reached=reached,
            now=NOW + dt.timedelta(minutes=minutes),
        )
    # then
    stored = Action.objects.get(pk=action.pk)
    assert (stored.state, stored.outcome) == (ActionState.DONE, "All fine.")
    assert [(row[0], row[4]["reached"]) for row in audit_rows(action)] == [
        ("called", False),
        ("called", False),
        ("called", True),
    ]


@pytest.mark.parametrize(
    "state", [ActionState.DONE, ActionState.SKIPPED, ActionState.EXPIRED, ActionState.HELD_OUT]
)
@pytest.mark.django_db
def test_a_closed_action_refuses_every_change(store_a, associate_a, state):
    # given
    action = ActionFactory(store=store_a, associate=associate_a, state=state, draft="Hello")
    attempts = [
        lambda: lifecycle.complete_action(action, by=associate_a, outcome="x", now=NOW),
        lambda: lifecycle.skip_action(action, by=associate_a, reason="x", now=NOW),
        lambda: lifecycle.snooze_action(
            action, by=associate_a, until=NOW + dt.timedelta(hours=1), now=NOW
        ),
        lambda: lifecycle.log_call(action, by=associate_a, outcome="x", reached=True, now=NOW),
        lambda: lifecycle.edit_draft(action, subject="s", draft="changed"),
    ]
    # when
    for attempt in attempts:
        with pytest.raises(lifecycle.ActionNotOpen):
            attempt()
    # then
    stored = Action.objects.get(pk=action.pk)
    assert (stored.state, stored.draft) == (state, "Hello")
    assert audit_rows(action) == []


@pytest.mark.django_db
def test_edit_draft_keeps_the_new_text_trimmed(action):
    # when
    lifecycle.edit_draft(action, subject=" New in: navy ", draft="Hi Maya,\n\nIt came in.\n")
    # then
    stored = Action.objects.get(pk=action.pk)
    assert (stored.subject, stored.draft) == ("New in: navy", "Hi Maya,\n\nIt came in.")


def test_snooze_choices_land_on_an_hour_on_or_nine_in_the_morning_locally():
    # when
    times = {
        choice: lifecycle.snooze_until(choice, now=NOW, zone=NEW_YORK)
        for choice in ("hour", "tomorrow", "week")
    }
    # then: 9:00 EDT is 13:00 UTC
    assert times == {
        "hour": dt.datetime(2026, 3, 10, 16, 0, tzinfo=dt.UTC),
        "tomorrow": dt.datetime(2026, 3, 11, 13, 0, tzinfo=dt.UTC),
        "week": dt.datetime(2026, 3, 17, 13, 0, tzinfo=dt.UTC),
    }


def test_snooze_to_tomorrow_late_at_night_is_the_next_local_morning():
    # given: 23:30 in New York is already the next day in UTC
    late = dt.datetime(2026, 3, 11, 3, 30, tzinfo=dt.UTC)
    # when
    until = lifecycle.snooze_until("tomorrow", now=late, zone=NEW_YORK)
    # then
    assert until == dt.datetime(2026, 3, 11, 13, 0, tzinfo=dt.UTC)


def test_unknown_snooze_choice_is_refused():
    with pytest.raises(ValueError, match="Unknown snooze choice 'forever'"):
        lifecycle.snooze_until("forever", now=NOW, zone=NEW_YORK)


@pytest.mark.django_db
def test_withdrawing_a_moment_merged_with_others_keeps_the_others_open(action):
    # given one call for two reasons: a problem to put right, and an order to check in on
    action.reasons = [
        {"kind": "service_recovery", "reason": "Jim left his belt", "key": "service_recovery:4"},
        {"kind": "order_check_in", "reason": "Jim ordered shoes online", "key": "order_check_in:9"},
    ]
    action.save()
    ActionKey.objects.create(key="service_recovery:4", action=action)
    ActionKey.objects.create(key="order_check_in:9", action=action)
    # when the order is cancelled
    withdrawn = lifecycle.withdraw_moment("order_check_in:9", reason="Order cancelled.", now=NOW)
    # then the call stays, for the belt only
    action.refresh_from_db()
    assert withdrawn == action
    assert action.state == ActionState.OPEN
    assert [entry["key"] for entry in action.reasons] == ["service_recovery:4"]
    assert action.reason == "Jim left his belt."
    assert [row[0] for row in audit_rows(action)] == ["reason_withdrawn"]


@pytest.mark.django_db
def test_withdrawing_a_moment_whose_action_is_closed_changes_nothing(action, associate_a):
    # given
    ActionKey.objects.create(key="order_check_in:9", action=action)
    lifecycle.complete_action(action, by=associate_a, outcome="Called.", now=NOW)
    # when
    withdrawn = lifecycle.withdraw_moment("order_check_in:9", reason="Order cancelled.", now=NOW)
    # then
    action.refresh_from_db()
    assert withdrawn is None
    assert action.state == ActionState.DONE
