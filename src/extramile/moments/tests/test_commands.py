import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from extramile.clients.services import record_consent
from extramile.moments import engine_run
from extramile.moments.candidates import Candidate
from extramile.moments.governance import rules_for
from extramile.moments.models import ActionKind
from tests.factories import ActionFactory, ClientFactory, StoreFactory, UserFactory

NOW = dt.datetime(2026, 2, 10, 15, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_birthday(monkeypatch, store_a, associate_a):
    """The calendar sweep proposes one birthday for Maya; the run time is recorded."""
    rules = rules_for(store_a)
    rules.holdout_share = Decimal("0.000")
    rules.save()
    maya = ClientFactory(
        store=store_a, primary_associate=associate_a, first_name="Maya", last_name="Roth"
    )
    record_consent(maya, channel="email", granted=True, source="form", at=NOW)
    seen: list[dt.datetime] = []

    def detect(*, now, stores):
        seen.append(now)
        return [
            Candidate(
                kind=ActionKind.IMPORTANT_DATE,
                client=maya,
                key="important_date:maya:birthday:2026",
                reason="Maya's birthday is on Friday.",
                due_at=now,
                score=0.8,
            )
        ]

    monkeypatch.setattr(engine_run, "run_calendar_detectors", detect)
    return seen


def test_engine_run_json_reports_what_it_made_and_a_rerun_adds_nothing(capsys, one_birthday):
    # when
    call_command("engine", "run", "--now", "2026-02-10T15:00:00+00:00", "--json")
    first = json.loads(capsys.readouterr().out)
    call_command("engine", "run", "--now", "2026-02-10T15:00:00+00:00", "--json")
    second = json.loads(capsys.readouterr().out)
    # then
    assert one_birthday == [NOW, NOW]
    assert (first["created"], first["created_by_kind"], first["duplicates"]) == (
        1,
        {"important_date": 1},
        0,
    )
    assert (second["created"], second["created_by_kind"], second["duplicates"]) == (0, {}, 1)
    assert first["now"] == "2026-02-10T15:00:00+00:00"


def test_engine_run_prints_a_table(capsys, one_birthday):
    # when
    call_command("engine", "run", "--now", "2026-02-10T15:00:00Z")
    out = capsys.readouterr().out
    # then
    lines = out.splitlines()
    assert lines[0] == "Engine run at 2026-02-10T15:00:00+00:00"
    assert any(line.split() == ["created", "1"] for line in lines)
    assert any(line.split() == ["important_date", "1"] for line in lines)
    assert any(line.split() == ["held", "out", "0"] for line in lines)
    assert any(line.split() == ["suppressed", "0"] for line in lines)


def test_a_time_without_offset_is_read_in_the_servers_zone(settings, one_birthday):
    # given
    settings.TIME_ZONE = "Europe/Paris"
    # when
    call_command("engine", "run", "--now", "2026-02-10T16:00:00")
    # then
    assert one_birthday == [NOW]


def test_a_bad_time_is_refused_with_an_example(one_birthday):
    with pytest.raises(CommandError, match="is not an ISO time"):
        call_command("engine", "run", "--now", "next tuesday")
    assert one_birthday == []


def test_actions_list_json_prints_open_actions_by_priority(capsys, store_a, associate_a):
    # given
    maya = ClientFactory(store=store_a, first_name="Maya", last_name="Roth")
    low = ActionFactory(
        store=store_a, client=maya, associate=associate_a, priority=31.5, due_at=NOW
    )
    high = ActionFactory(
        store=store_a,
        associate=associate_a,
        kind="order_check_in",
        purpose="service",
        channel="phone",
        priority=95.0,
        due_at=NOW,
        reason="Ordered a recorder online at 12:22 on Wednesday 18 June.",
    )
    ActionFactory(store=store_a, associate=associate_a, state="held_out")
    ActionFactory(store=store_a, associate=associate_a, state="done")
    # when
    call_command("actions", "list", "--json")
    rows = json.loads(capsys.readouterr().out)
    # then
    assert [row["id"] for row in rows] == [high.pk, low.pk]
    assert rows[1] == {
        "id": low.pk,
        "kind": "new_arrival_match",
        "purpose": "marketing",
        "state": "open",
        "client": "Maya Roth",
        "client_id": maya.pk,
        "associate": "ana",
        "store": "uptown",
        "due": "2026-02-10T15:00:00+00:00",
        "expires": None,
        "priority": 31.5,
        "channel": "email",
        "reason": "A new arrival fits Maya.",
        "state_reason": "",
    }
    assert rows[0]["reason"] == "Ordered a recorder online at 12:22 on Wednesday 18 June."


def test_actions_list_narrows_to_an_associate_or_a_store_and_can_show_all_states(
    capsys, store_a, store_b, associate_a, associate_b
):
    # given
    mine = ActionFactory(store=store_a, associate=associate_a)
    colleague = ActionFactory(store=store_a, associate=UserFactory(store=store_a))
    elsewhere = ActionFactory(store=store_b, associate=associate_b)
    held = ActionFactory(store=store_a, associate=associate_a, state="held_out")

    def listed(*args):
        call_command("actions", "list", "--json", *args)
        return {row["id"] for row in json.loads(capsys.readouterr().out)}

    # then
    assert listed("--associate", "ana") == {mine.pk}
    assert listed("--store", "uptown") == {mine.pk, colleague.pk}
    assert listed("--store", "harbour") == {elsewhere.pk}
    assert listed("--associate", "ana", "--all-states") == {mine.pk, held.pk}


def test_actions_list_refuses_an_unknown_associate_or_store(store_a):
    StoreFactory(code="harbour")
    with pytest.raises(CommandError, match="No member of staff with username 'nobody'"):
        call_command("actions", "list", "--json", "--associate", "nobody")
    with pytest.raises(
        CommandError, match=r"No store with code 'moon' \(stores: harbour, uptown\)"
    ):
        call_command("actions", "list", "--store", "moon")


def test_actions_list_without_json_is_a_table(capsys, store_a, associate_a):
    # given
    maya = ClientFactory(store=store_a, first_name="Maya", last_name="Roth")
    ActionFactory(store=store_a, client=maya, associate=associate_a, priority=31.5, due_at=NOW)
    # when
    call_command("actions", "list")
    lines = capsys.readouterr().out.splitlines()
    # then
    assert lines[0].split() == [
        "prio",
        "due",
        "(store",
        "time)",
        "kind",
        "client",
        "associate",
        "channel",
        "state",
        "reason",
    ]
    assert lines[1].split() == [
        "31.5",
        "Tue",
        "10",
        "Feb",
        "10:00",
        "new_arrival_match",
        "Maya",
        "Roth",
        "ana",
        "email",
        "open",
        "A",
        "new",
        "arrival",
        "fits",
        "Maya.",
    ]


def test_actions_list_says_so_when_there_are_none(capsys, db):
    call_command("actions", "list")
    assert capsys.readouterr().out.strip() == "No actions."
