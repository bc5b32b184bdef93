"""Absences and their backups, and the ways in to deactivation: the CLI, the pages, API, admin."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client as HttpClient
from django.utils import timezone

from extramile.accounts.models import Absence, Role, User
from extramile.accounts.services import record_absence
from extramile.clients.models import Client
from extramile.moments.candidates import Candidate
from extramile.moments.models import Action, ActionChannel, ActionKind
from extramile.moments.proposals import propose_actions
from tests.api_helpers import bearer
from tests.factories import ClientFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

# 10:05 on Monday 17 November 2025 in New York.
NOW = dt.datetime(2025, 11, 17, 15, 5, tzinfo=dt.UTC)
MONDAY = dt.date(2025, 11, 17)


def client_of(associate: User, name: str) -> Client:
    return ClientFactory(
        store=associate.store, primary_associate=associate, first_name=name, phone="+12125550100"
    )


def away(user: User, backup: User, *, days: int = 4) -> Absence:
    return record_absence(
        user=user, starts_on=MONDAY, ends_on=MONDAY + dt.timedelta(days=days), backup=backup
    )


def candidate(client: Client, kind: ActionKind, *, due: dt.datetime = NOW, **fields) -> Candidate:
    return Candidate(
        kind=kind,
        client=client,
        key=f"{kind}:{client.pk}:{due:%Y%m%d}",
        occasion=f"test:{due:%Y%m%d}",
        reason="A reason.",
        due_at=due,
        score=0.5,
        channel=ActionChannel.PHONE,
        **fields,
    )


# --- Absences ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backup", "ends", "field", "message"),
    [
        ("walter", 3, "backup", "Walter Kessler cannot be their own backup."),
        ("gone", 3, "backup", "Gone Away is deactivated; choose an active colleague."),
        ("far", 3, "backup", "Far Off works at another store than Walter Kessler."),
        ("sofia", -1, "ends_on", "The last day (16 Nov 2025) comes before the first day."),
    ],
)
def test_an_absence_needs_an_active_backup_of_the_store_and_ordered_dates(
    store, walter, sofia, backup, ends, field, message
):
    # given
    UserFactory(username="gone", first_name="Gone", last_name="Away", store=store, is_active=False)
    UserFactory(username="far", first_name="Far", last_name="Off", store=StoreFactory())

    # when
    with pytest.raises(ValidationError) as refused:
        record_absence(
            user=walter,
            starts_on=MONDAY,
            ends_on=MONDAY + dt.timedelta(days=ends),
            backup=User.objects.get(username=backup),
        )

    # then
    assert refused.value.message_dict[field] == [message]
    assert Absence.objects.count() == 0


def test_while_away_service_actions_go_to_the_backup_and_marketing_stays(store, walter, sofia):
    # given: Walter is away Monday to Friday; Sofia covers
    away(walter, sofia)
    ada = client_of(walter, "Ada")
    bea = client_of(walter, "Bea")
    on_call = UserFactory(username="oncall", store=store)

    # when: a check-in, a marketing moment, a problem routed on call, and a check-in due after
    result = propose_actions(
        [
            candidate(ada, ActionKind.ORDER_CHECK_IN),
            candidate(bea, ActionKind.IMPORTANT_DATE),
            candidate(bea, ActionKind.SERVICE_RECOVERY, associate=on_call),
        ],
        now=NOW,
    )
    cy = client_of(walter, "Cy")
    later = propose_actions(
        [candidate(cy, ActionKind.CANCELLATION_COURTESY, due=NOW + dt.timedelta(days=6))],
        now=NOW,
    )

    # then
    owners = {a.kind: a.associate.username for a in [*result.created, *result.held_out]}
    assert owners["order_check_in"] == "sofia"
    assert owners["service_recovery"] == "oncall"
    assert owners.get("important_date", "walter") == "walter"
    assert [a.associate.username for a in later.created] == ["walter"]
    # and Sofia's action says whom she covers for; Walter's own and the on-call one do not
    reasons = {a.kind: a.reason for a in [*result.created, *result.held_out]}
    covering = "Walter is away and you are covering for them"
    assert covering in reasons["order_check_in"]
    assert covering not in reasons["service_recovery"]
    assert covering not in later.created[0].reason
    # and when the moment is brought up to date (the same check-in, told anew), it still says so
    newer = dataclasses.replace(
        candidate(ada, ActionKind.ORDER_CHECK_IN, refresh=True), reason="A newer reason."
    )
    again = propose_actions([newer], now=NOW)
    assert [a.reason.startswith("A newer reason. Walter is away") for a in again.updated] == [True]


def test_a_deactivated_backup_does_not_take_the_actions(store, walter, sofia):
    # given
    away(walter, sofia)
    User.objects.filter(pk=sofia.pk).update(is_active=False)
    ada = client_of(walter, "Ada")

    # when
    result = propose_actions([candidate(ada, ActionKind.ORDER_CHECK_IN)], now=NOW)

    # then
    assert [a.associate.username for a in result.created] == ["walter"]


# --- The command line -------------------------------------------------------------------------


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("associates", *args, stdout=out)
    return out.getvalue()


def test_associates_list_json_gives_store_state_and_clients(store, walter, sofia, manager):
    # given
    client_of(walter, "Ada")
    client_of(walter, "Bea")
    today = timezone.localdate()
    record_absence(user=sofia, starts_on=today, ends_on=today, backup=walter)
    UserFactory(username="gone", store=store, is_active=False, deactivated_at=NOW)

    # when
    rows = json.loads(run("list", "--json"))

    # then
    assert [(r["username"], r["store"], r["state"], r["clients"]) for r in rows] == [
        ("gone", "uptown", "deactivated", 0),
        ("sofia", "uptown", "away", 0),
        ("walter", "uptown", "active", 2),
    ]


def test_associates_deactivate_hands_over_and_says_what_it_did(store, walter, sofia):
    # given
    client_of(walter, "Ada")

    # when
    out = run("deactivate", "walter")
    again = run("deactivate", "walter")

    # then
    assert "walter deactivated: 1 client(s) handed over" in out
    assert "  sofia takes 1 client(s)" in out
    assert again.endswith("walter was already deactivated; nothing to hand over.\n")
    assert Action.objects.filter(kind=ActionKind.HANDOVER, associate=sofia).count() == 1


def test_associates_deactivate_names_an_unknown_user(walter):
    with pytest.raises(CommandError) as unknown:
        run("deactivate", "nobody")
    assert str(unknown.value) == "No member of staff has the username 'nobody'."
    with pytest.raises(CommandError) as unknown_to:
        run("deactivate", "walter", "--to", "ghost")
    assert str(unknown_to.value) == "No member of staff has the username 'ghost' (--to)."


# --- The Staff pages --------------------------------------------------------------------------


def test_a_manager_previews_then_confirms_a_deactivation(store, walter, sofia, manager, web_as):
    # given
    ada = client_of(walter, "Ada")
    http = web_as(manager)

    # when: the preview, then the confirmation
    preview = http.get("/staff/walter/deactivate/")
    walter.refresh_from_db()
    still_active = walter.is_active
    done = http.post("/staff/walter/deactivate/", follow=True)

    # then
    assert preview.status_code == 200
    assert 'data-username="sofia"' in preview.content.decode()
    assert still_active is True
    walter.refresh_from_db()
    ada.refresh_from_db()
    assert (walter.is_active, ada.primary_associate) == (False, sofia)
    assert "Walter Kessler is deactivated. 1 client(s) handed over" in done.content.decode()


def test_the_staff_pages_need_a_manager_of_the_store(store, walter, sofia, web_as):
    # given
    other_manager = UserFactory(role=Role.MANAGER, store=StoreFactory(code="harbour"))

    # when / then: an associate is refused, another store's manager finds nobody
    assert web_as(sofia).get("/staff/").status_code == 403
    assert web_as(sofia).post("/staff/walter/deactivate/").status_code == 403
    assert web_as(other_manager).get("/staff/walter/deactivate/").status_code == 404
    assert web_as(other_manager).post("/staff/walter/deactivate/").status_code == 404
    walter.refresh_from_db()
    assert walter.is_active is True


def test_the_deactivation_form_is_csrf_protected(store, walter, sofia, manager):
    # given
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(manager, backend="django.contrib.auth.backends.ModelBackend")

    # when
    response = http.post("/staff/walter/deactivate/")

    # then
    assert response.status_code == 403
    walter.refresh_from_db()
    assert walter.is_active is True


def test_a_manager_records_an_absence_with_a_backup(store, walter, sofia, manager, web_as):
    # when
    response = web_as(manager).post(
        "/staff/walter/absence/",
        {"starts_on": "2025-11-17", "ends_on": "2025-11-21", "backup": sofia.pk, "note": "Fair"},
    )
    listing = web_as(manager).get("/staff/")

    # then
    assert response.status_code == 302
    absence = Absence.objects.get()
    assert (absence.user, absence.backup, absence.ends_on, absence.created_by) == (
        walter,
        sofia,
        dt.date(2025, 11, 21),
        manager,
    )
    assert listing.status_code == 200
    assert 'data-username="walter"' in listing.content.decode()


# --- The API ----------------------------------------------------------------------------------


def test_api_lists_the_stores_associates_with_client_counts(store, walter, sofia):
    # given
    client_of(walter, "Ada")
    UserFactory(username="far", store=StoreFactory(code="harbour"))

    # when
    response = HttpClient().get("/api/v1/associates", **bearer(sofia))

    # then
    assert response.status_code == 200
    assert [(r["username"], r["clients"], r["state"]) for r in response.json()] == [
        ("sofia", 0, "active"),
        ("walter", 1, "active"),
    ]


def test_api_deactivates_for_managers_of_the_store_only(store, walter, sofia, manager):
    # given
    ada = client_of(walter, "Ada")
    other_manager = UserFactory(role=Role.MANAGER, store=StoreFactory(code="harbour"))
    url = "/api/v1/associates/walter/deactivate"

    # when
    as_associate = HttpClient().post(url, **bearer(sofia))
    as_other = HttpClient().post(url, **bearer(other_manager))
    as_manager = HttpClient().post(
        url, data={"to": "sofia"}, content_type="application/json", **bearer(manager)
    )
    again = HttpClient().post(url, **bearer(manager))

    # then
    assert (as_associate.status_code, as_other.status_code) == (403, 404)
    assert as_manager.status_code == 200, as_manager.content
    body = as_manager.json()
    assert (body["changed"], body["handed_over"][0]["client_id"], body["handed_over"][0]["to"]) == (
        True,
        ada.pk,
        "sofia",
    )
    assert len(body["handover_actions"]) == 1
    assert (again.status_code, again.json()["changed"]) == (200, False)


def test_api_refuses_without_a_token(walter):
    assert HttpClient().get("/api/v1/associates").status_code == 401


# --- The admin --------------------------------------------------------------------------------


def test_the_admin_action_deactivates_and_hands_over(store, walter, sofia, manager, web_as):
    # given
    ada = client_of(walter, "Ada")

    # when
    response = web_as(manager).post(
        "/admin/accounts/user/",
        {"action": "deactivate_and_hand_over", "_selected_action": [walter.pk], "index": 0},
        follow=True,
    )

    # then
    assert response.status_code == 200
    ada.refresh_from_db()
    walter.refresh_from_db()
    assert (walter.is_active, ada.primary_associate) == (False, sofia)
    assert "Walter deactivated: 1 client(s) handed over (sofia 1)" in response.content.decode()


def test_service_scripts_are_written_as_the_backup_while_the_associate_is_away(
    store, walter, sofia
):
    from extramile.moments.detectors.service_calls import associate_first_name

    # given Walter away this week with Sofia covering
    absence = away(walter, sofia)
    ada = client_of(walter, "Ada")
    # then a call script written this week is Sofia's, one written after it Walter's again
    assert associate_first_name(ada, now=NOW) == "Sofia"
    after = dt.datetime.combine(absence.ends_on + dt.timedelta(days=2), dt.time(15), dt.UTC)
    assert associate_first_name(ada, now=after) == "Walter"
    # and a backup who has left does not sign anything
    sofia.is_active = False
    sofia.save()
    assert associate_first_name(ada, now=NOW) == "Walter"
