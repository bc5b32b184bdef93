import datetime as dt
import threading
from dataclasses import replace
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from extramile.accounts.models import Role
from extramile.care.models import Problem, ProblemKind, ProblemStatus
from extramile.clients.models import Channel, Client
from extramile.clients.services import record_consent
from extramile.moments import batch, proposals
from extramile.moments.candidates import Candidate, ShownProduct
from extramile.moments.governance import rules_for
from extramile.moments.holdout import draw_for, holdout_key
from extramile.moments.models import Action, ActionKey, ActionKind, ActionState
from extramile.moments.proposals import combined_reason, propose_actions
from tests.factories import ActionFactory, ClientFactory, ProductFactory, UserFactory

# 10:00 in New York, midnight in Tokyo.
NOW = dt.datetime(2026, 2, 10, 15, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_holdout(store_a, store_b):
    # Most tests here are about other rules; only the holdout tests turn the holdout on.
    for store in (store_a, store_b):
        rules = rules_for(store)
        rules.holdout_share = Decimal("0.000")
        rules.save()


def reachable_client(store, *, channels=("email",), **fields):
    fields.setdefault("phone", "+12125550100")
    client = ClientFactory(store=store, **fields)
    for channel in channels:
        record_consent(
            client, channel=channel, granted=True, source="form", at=NOW - dt.timedelta(days=90)
        )
    return client


def candidate(client, *, kind=ActionKind.NEW_ARRIVAL_MATCH, key=None, **fields):
    fields.setdefault("reason", f"The new linen blazer fits {client.first_name}")
    fields.setdefault("due_at", NOW)
    fields.setdefault("score", 0.5)
    return Candidate(kind=kind, client=client, key=key or f"{kind}:{client.pk}:x", **fields)


def test_a_candidate_becomes_an_open_action_for_the_clients_associate(store_a, associate_a):
    # given
    client = reachable_client(store_a, primary_associate=associate_a)
    blazer, scarf = ProductFactory(title="Blazer"), ProductFactory(title="Scarf")
    proposal = candidate(
        client,
        reason="The linen blazer arrived in her size 38",
        evidence={"product_id": blazer.pk, "size": "38"},
        products=[ShownProduct(blazer, "in 38"), ShownProduct(scarf), ShownProduct(blazer)],
        subject="Something new",
        draft="Hello!",
        expires_at=NOW + dt.timedelta(days=14),
    )
    # when
    result = propose_actions([proposal], now=NOW)
    # then
    [action] = result.created
    assert (result.merged, result.duplicates, result.held_out, result.suppressed) == ([], 0, [], [])
    action.refresh_from_db()
    assert action.state == ActionState.OPEN
    assert action.associate == associate_a
    assert action.store == store_a
    assert action.purpose == "marketing"
    assert action.channel == "email"
    assert action.due_at == NOW
    assert action.expires_at == NOW + dt.timedelta(days=14)
    assert action.reason == "The linen blazer arrived in her size 38"
    assert action.reasons == [
        {
            "kind": "new_arrival_match",
            "reason": "The linen blazer arrived in her size 38",
            "evidence": {"product_id": blazer.pk, "size": "38"},
            "key": proposal.key,
        }
    ]
    # new_arrival_match 25 + fit 15 * 0.5 + due now 5 + expiry in 336 h (past the 168 h horizon) 0
    assert action.priority == 37.5
    assert [(p.product, p.position, p.note) for p in action.action_products.all()] == [
        (blazer, 0, "in 38"),
        (scarf, 1, ""),
    ]
    assert (action.subject, action.draft, action.created_at) == ("Something new", "Hello!", NOW)
    assert list(ActionKey.objects.values_list("key", "action")) == [(proposal.key, action.pk)]


def test_a_second_run_with_the_same_moment_adds_nothing(store_a, associate_a):
    # given
    client = reachable_client(store_a, primary_associate=associate_a)
    propose_actions([candidate(client, key="important_date:7:birthday:2026")], now=NOW)
    # when
    again = propose_actions([candidate(client, key="important_date:7:birthday:2026")], now=NOW)
    # then
    assert again.duplicates == 1
    assert (again.created, again.merged, again.held_out, again.suppressed) == ([], [], [], [])
    assert Action.objects.count() == 1


def test_a_race_on_the_key_counts_a_duplicate_and_leaves_no_second_action(
    store_a, associate_a, monkeypatch
):
    # given another run recorded the key after this one looked
    client = reachable_client(store_a, primary_associate=associate_a)
    propose_actions([candidate(client, key="k-race")], now=NOW)
    monkeypatch.setattr(batch, "recorded_keys", lambda keys: set())
    # when
    result = propose_actions([candidate(client, key="k-race")], now=NOW)
    # then the unique key refused the write, which rolled back whole
    assert result.duplicates == 1
    assert result.created == result.merged == []
    assert Action.objects.count() == 1
    assert len(Action.objects.get().reasons) == 1


def test_several_reasons_for_one_client_merge_into_one_action(store_a, associate_a):
    # given
    client = reachable_client(store_a, primary_associate=associate_a, first_name="Maya")
    shoes, bag = ProductFactory(title="Shoes"), ProductFactory(title="Bag")
    birthday = candidate(
        client,
        kind=ActionKind.IMPORTANT_DATE,
        key="important_date:maya:birthday:2026",
        reason="Maya's birthday is on 14 February.",
        evidence={"date": "02-14"},
        due_at=NOW + dt.timedelta(days=2),
        expires_at=NOW + dt.timedelta(days=4),
        score=0.9,
        products=[ShownProduct(bag)],
    )
    arrival = candidate(
        client,
        key="new_arrival_match:maya:shoes",
        reason="The suede loafers arrived in her size",
        evidence={"product_id": shoes.pk},
        due_at=NOW + dt.timedelta(hours=1),
        expires_at=NOW + dt.timedelta(days=10),
        score=0.4,
        products=[ShownProduct(shoes), ShownProduct(bag)],
    )
    # when
    result = propose_actions([birthday, arrival], now=NOW)
    # then
    [action] = result.created
    assert result.merged == [action]
    action.refresh_from_db()
    assert Action.objects.count() == 1
    assert action.kind == "important_date"
    assert action.reason == (
        "Two reasons, one contact: Maya's birthday is on 14 February; "
        "The suede loafers arrived in her size."
    )
    assert [entry["kind"] for entry in action.reasons] == ["important_date", "new_arrival_match"]
    assert action.reasons[1]["evidence"] == {"product_id": shoes.pk}
    assert [shown.product for shown in action.action_products.all()] == [bag, shoes]
    assert action.due_at == NOW + dt.timedelta(hours=1)
    assert action.expires_at == NOW + dt.timedelta(days=10)
    # the birthday's priority (30 + 13.5 + 5 * (1 - 48/48) + 5 * (1 - 96/168)) beats the arrival's
    assert action.priority == round(30 + 13.5 + 0 + 5 * (1 - 96 / 168), 2)
    assert set(ActionKey.objects.filter(action=action).values_list("key", flat=True)) == {
        birthday.key,
        arrival.key,
    }


def test_service_and_marketing_reasons_stay_separate_actions(store_a, associate_a):
    # given
    client = reachable_client(store_a, primary_associate=associate_a)
    # when
    result = propose_actions(
        [
            candidate(client, key="m"),
            candidate(client, kind=ActionKind.ORDER_CHECK_IN, key="s", reason="Ordered online"),
        ],
        now=NOW,
    )
    # then
    assert sorted(a.purpose for a in result.created) == ["marketing", "service"]
    assert result.merged == []


def test_marketing_without_consent_is_suppressed_and_recorded_once(store_a, associate_a):
    # given
    client = reachable_client(store_a, channels=(), primary_associate=associate_a, first_name="Jo")
    # when
    result = propose_actions([candidate(client, key="no-consent")], now=NOW)
    again = propose_actions([candidate(client, key="no-consent")], now=NOW)
    # then
    [action] = result.suppressed
    assert result.created == []
    assert action.state == ActionState.SUPPRESSED
    assert (
        action.state_reason
        == "Jo has not agreed to marketing by email, SMS or phone (or we lack the address)."
    )
    assert action.channel == ""
    assert again.duplicates == 1
    assert Action.objects.count() == 1


def test_a_withdrawn_consent_counts_as_no_consent(store_a, associate_a):
    # given
    client = reachable_client(store_a, primary_associate=associate_a)
    record_consent(client, channel=Channel.EMAIL, granted=False, source="unsubscribe link")
    # when
    result = propose_actions([candidate(client)], now=NOW)
    # then
    assert [a.state for a in result.suppressed] == [ActionState.SUPPRESSED]


def test_no_marketing_while_the_client_has_an_open_problem(store_a, associate_a):
    # given
    client = reachable_client(store_a, primary_associate=associate_a, first_name="Jim")
    problem = Problem.objects.create(store=store_a, client=client, kind=ProblemKind.DEFECT)
    # when
    silenced = propose_actions([candidate(client, key="during")], now=NOW)
    problem.status = ProblemStatus.RESOLVED
    problem.save()
    after = propose_actions([candidate(client, key="after")], now=NOW)
    # then
    [action] = silenced.suppressed
    assert action.state_reason == "Jim has an open problem; no marketing until it is resolved."
    assert [a.state for a in after.created] == [ActionState.OPEN]


def test_service_recovery_goes_ahead_with_an_open_problem_and_no_consent(store_a, associate_a):
    # given
    client = reachable_client(store_a, channels=(), primary_associate=associate_a)
    Problem.objects.create(store=store_a, client=client, kind=ProblemKind.LEFT_BEHIND)
    # when
    result = propose_actions(
        [candidate(client, kind=ActionKind.SERVICE_RECOVERY, reason="Left his belt")], now=NOW
    )
    # then a call about his own problem needs only his number
    [action] = result.created
    assert (action.state, action.purpose, action.channel) == ("open", "service", "phone")


def test_a_service_call_needs_a_number_and_respects_a_no_to_calls(store_a, associate_a):
    # given
    no_phone = reachable_client(store_a, phone="", primary_associate=associate_a)
    refused = reachable_client(store_a, primary_associate=associate_a)
    record_consent(refused, channel=Channel.PHONE, granted=False, source="asked not to be called")
    unreachable = reachable_client(store_a, phone="", channels=(), primary_associate=associate_a)
    # when
    result = propose_actions(
        [
            candidate(c, kind=ActionKind.CANCELLATION_COURTESY, channel="phone")
            for c in (no_phone, refused, unreachable)
        ],
        now=NOW,
    )
    # then
    assert [(a.client, a.channel) for a in result.created] == [
        (no_phone, "email"),
        (refused, "email"),
    ]
    [action] = result.suppressed
    assert action.client == unreachable
    assert action.state_reason.startswith("No way to reach")


def test_marketing_takes_the_asked_channel_if_consented_else_email_then_sms(store_a, associate_a):
    # given
    both = reachable_client(store_a, channels=("email", "sms"), primary_associate=associate_a)
    sms_only = reachable_client(store_a, channels=("sms",), primary_associate=associate_a)
    email_only = reachable_client(store_a, channels=("email",), primary_associate=associate_a)
    # when
    result = propose_actions(
        [
            candidate(both, key="a"),
            candidate(sms_only, key="b"),
            candidate(email_only, key="c", channel="sms"),
            candidate(both, key="d", kind=ActionKind.BUYING_SEASON, channel="sms"),
        ],
        now=NOW,
    )
    # then
    assert [(a.client, a.channel) for a in result.created] == [
        (both, "email"),
        (sms_only, "sms"),
        (email_only, "email"),
    ]
    assert result.merged[0].channel == "email"


def test_the_cap_suppresses_marketing_past_two_contacts_in_thirty_days(store_a, associate_a):
    # given two marketing contacts done in the last 30 days, one long ago
    client = reachable_client(store_a, primary_associate=associate_a, first_name="Lee")
    for days in (3, 20, 45):
        ActionFactory(
            store=store_a,
            client=client,
            state=ActionState.DONE,
            completed_at=NOW - dt.timedelta(days=days),
        )
    other = reachable_client(store_a, primary_associate=associate_a)
    ActionFactory(store=store_a, client=other, state="done", completed_at=NOW - dt.timedelta(3))
    ActionFactory(store=store_a, client=other, state="snoozed", due_at=NOW + dt.timedelta(1))
    # when
    result = propose_actions([candidate(client), candidate(other)], now=NOW)
    # then
    assert [a.client for a in result.suppressed] == [client, other]
    assert result.suppressed[0].state_reason == (
        "Lee had 2 marketing contacts, done since 11 Jan 2026 or still open "
        "(the limit is 2 in 30 days)."
    )


def test_an_older_contact_leaves_room_under_the_cap(store_a, associate_a):
    # given
    client = reachable_client(store_a, primary_associate=associate_a)
    for days in (3, 31):
        ActionFactory(
            store=store_a, client=client, state="done", completed_at=NOW - dt.timedelta(days=days)
        )
    # when
    result = propose_actions([candidate(client)], now=NOW)
    # then
    assert len(result.created) == 1


def test_service_is_never_capped_nor_held_out(store_a, associate_a):
    # given every marketing action would be held out, and the client is at the cap
    rules = rules_for(store_a)
    rules.holdout_share = Decimal("1.000")
    rules.save()
    client = reachable_client(store_a, primary_associate=associate_a)
    fresh = reachable_client(store_a, primary_associate=associate_a)
    for days in (1, 2):
        ActionFactory(
            store=store_a, client=client, state="done", completed_at=NOW - dt.timedelta(days=days)
        )
    # when
    result = propose_actions(
        [
            candidate(client, kind=ActionKind.ORDER_CHECK_IN, key="svc"),
            candidate(client, key="capped"),
            candidate(fresh, key="held"),
        ],
        now=NOW,
    )
    # then
    assert [(a.kind, a.state) for a in result.created] == [("order_check_in", "open")]
    assert [a.client for a in result.suppressed] == [client]
    [held] = result.held_out
    assert (held.client, held.state, held.due_at) == (fresh, "held_out", NOW)
    assert held.state_reason == (
        "Held out (the 100% control group) so the lift can be measured; never shown."
    )


def test_about_a_tenth_is_held_out_and_exactly_the_predicted_keys(store_a, associate_a):
    # given 300 eligible marketing moments, each for its own client, and room for them all
    rules = rules_for(store_a)
    rules.holdout_share = Decimal("0.100")
    rules.daily_capacity = 1000
    rules.save()
    clients = [reachable_client(store_a, primary_associate=associate_a) for _ in range(300)]
    batch = [
        candidate(c, key=f"new_arrival_match:{c.pk}:blazer", occasion="blazer") for c in clients
    ]
    predicted = {c.key for c in batch if draw_for(c) < 0.1}
    # when
    result = propose_actions(batch, now=NOW)
    # then
    held_keys = set(
        ActionKey.objects.filter(action__in=result.held_out).values_list("key", flat=True)
    )
    assert held_keys == predicted
    assert 15 <= len(predicted) <= 45
    assert len(result.created) == 300 - len(predicted)
    assert Action.objects.filter(state="held_out").count() == len(predicted)
    # and every eligible action records its draw, so the split can be checked later
    assert Action.objects.filter(holdout_draw__isnull=True).count() == 0
    assert Action.objects.filter(holdout_draw__lt=0.1).count() == len(predicted)


def test_quiet_hours_are_the_clients_own_tokyo_at_eleven_at_night(store_a, associate_a):
    # given 23:00 in Tokyo is 09:00 in the store's New York
    at = dt.datetime(2026, 2, 10, 14, 0, tzinfo=dt.UTC)
    tokyo = reachable_client(store_a, time_zone="Asia/Tokyo", primary_associate=associate_a)
    new_york = reachable_client(store_a, primary_associate=associate_a)
    # when
    result = propose_actions([candidate(tokyo, due_at=at), candidate(new_york, due_at=at)], now=at)
    # then Tokyo's is due at 09:00 Tokyo time the next morning, New York's at once
    assert [(a.client, a.due_at) for a in result.created] == [
        (tokyo, dt.datetime(2026, 2, 11, 0, 0, tzinfo=dt.UTC)),
        (new_york, at),
    ]


def test_a_call_is_not_due_in_quiet_hours_and_its_window_moves_with_it(store_a, associate_a):
    # given an online order at 22:00 in New York; the check-in would expire in two hours
    at = dt.datetime(2026, 2, 11, 3, 0, tzinfo=dt.UTC)
    client = reachable_client(store_a, primary_associate=associate_a)
    check_in = candidate(
        client,
        kind=ActionKind.ORDER_CHECK_IN,
        channel="phone",
        due_at=at + dt.timedelta(minutes=10),
        expires_at=at + dt.timedelta(hours=2),
    )
    # when
    [action] = propose_actions([check_in], now=at).created
    # then 09:00 New York time, still with its window of 1 h 50 min
    assert action.due_at == dt.datetime(2026, 2, 11, 14, 0, tzinfo=dt.UTC)
    assert action.expires_at == action.due_at + dt.timedelta(hours=1, minutes=50)


def test_a_full_day_moves_marketing_to_the_next_day_but_not_service(store_a, associate_a):
    # given capacity 2 and two open actions due today, New York time
    rules = rules_for(store_a)
    rules.daily_capacity = 2
    rules.save()
    for hours in (1, 5):
        ActionFactory(store=store_a, associate=associate_a, due_at=NOW + dt.timedelta(hours=hours))
    ActionFactory(store=store_a, associate=associate_a, state="done", due_at=NOW)
    client = reachable_client(store_a, primary_associate=associate_a)
    other = reachable_client(store_a, primary_associate=associate_a)
    # when
    result = propose_actions(
        [candidate(client), candidate(other, kind=ActionKind.SERVICE_RECOVERY)], now=NOW
    )
    # then
    assert [(a.kind, a.due_at) for a in result.created] == [
        ("service_recovery", NOW),
        ("new_arrival_match", NOW + dt.timedelta(days=1)),
    ]


def test_marketing_with_no_room_before_it_expires_is_suppressed(store_a, associate_a):
    # given
    rules = rules_for(store_a)
    rules.daily_capacity = 1
    rules.save()
    ActionFactory(store=store_a, associate=associate_a, due_at=NOW)
    client = reachable_client(store_a, primary_associate=associate_a)
    # when
    result = propose_actions([candidate(client, expires_at=NOW + dt.timedelta(hours=6))], now=NOW)
    # then
    [action] = result.suppressed
    assert (
        action.state_reason
        == f"{associate_a.display_name} has no room for it before the moment passes."
    )


def test_the_associate_is_the_candidates_then_the_primary_then_the_least_loaded(
    store_a, associate_a
):
    # given
    gone = UserFactory(store=store_a, username="gone", deactivated_at=NOW, is_active=False)
    busy = UserFactory(store=store_a, username="busy")
    ActionFactory(store=store_a, associate=associate_a)
    ActionFactory.create_batch(2, store=store_a, associate=busy)
    chosen = UserFactory(store=store_a, username="chosen")
    ActionFactory.create_batch(3, store=store_a, associate=chosen)
    mine = reachable_client(store_a, primary_associate=associate_a)
    orphan = reachable_client(store_a, primary_associate=gone)
    # when
    result = propose_actions(
        [candidate(mine, key="1", associate=chosen), candidate(orphan, key="2")], now=NOW
    )
    # then the orphan goes to the active associate with the fewest open actions: ana (1)
    assert [a.associate for a in result.created] == [chosen, associate_a]


def test_a_store_with_no_associate_gives_the_action_to_its_manager(store_b):
    # given
    manager = UserFactory(store=store_b, role=Role.MANAGER, username="boss")
    client = reachable_client(store_b)
    # when
    [action] = propose_actions([candidate(client)], now=NOW).created
    # then
    assert action.associate == manager


def test_an_action_made_elsewhere_keeps_its_reason_when_merged(store_a, associate_a):
    # given
    client = reachable_client(store_a, primary_associate=associate_a)
    existing = ActionFactory(store=store_a, client=client, reason="Asked about wool coats.")
    # when
    result = propose_actions([candidate(client, reason="The wool coats arrived")], now=NOW)
    # then
    assert result.merged == [existing]
    existing.refresh_from_db()
    assert (
        existing.reason
        == "Two reasons, one contact: Asked about wool coats; The wool coats arrived."
    )


def test_combined_reason_counts_in_words_and_keeps_one_reason_as_is():
    assert combined_reason(["Birthday on Friday."]) == "Birthday on Friday."
    assert combined_reason(["A.", "B", "C. "]) == "Three reasons, one contact: A; B; C."
    assert combined_reason([f"R{n}" for n in range(8)]).startswith("8 reasons, one contact: R0;")


def test_a_moment_found_late_is_due_now_unless_it_is_quiet_now(store_a, associate_a):
    # given an order at 19:55 in New York, seen by the engine at 22:30, and one seen at 19:58
    client = reachable_client(store_a, primary_associate=associate_a)
    placed = dt.datetime(2026, 2, 11, 0, 55, tzinfo=dt.UTC)
    late = candidate(client, kind=ActionKind.ORDER_CHECK_IN, key="late", due_at=placed)
    other = reachable_client(store_a, primary_associate=associate_a)
    prompt = candidate(other, kind=ActionKind.ORDER_CHECK_IN, key="prompt", due_at=placed)
    # when
    [seen_late] = propose_actions([late], now=placed + dt.timedelta(hours=2, minutes=35)).created
    [seen_soon] = propose_actions([prompt], now=placed + dt.timedelta(minutes=3)).created
    # then the late one waits for 09:00, the prompt one is due at once
    assert seen_late.due_at == dt.datetime(2026, 2, 11, 14, 0, tzinfo=dt.UTC)
    assert seen_soon.due_at == placed + dt.timedelta(minutes=3)


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_make_one_action(store_a, associate_a):
    # given two engine runs proposing the same moments at the same moment
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the race needs PostgreSQL")
    clients = [reachable_client(store_a, primary_associate=associate_a) for _ in range(20)]
    batch = [candidate(c, key=f"race:{n}") for n, c in enumerate(clients)]
    start = threading.Barrier(2)
    results = []

    def run():
        start.wait()
        try:
            results.append(propose_actions(batch, now=NOW))
        finally:
            connections.close_all()

    # when
    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then
    assert sorted(len(r.created) + r.duplicates for r in results) == [20, 20]
    assert sum(len(r.created) for r in results) == 20
    assert sum(r.duplicates for r in results) == 20
    assert sum(len(r.merged) for r in results) == 0
    assert Action.objects.count() == 20


def test_the_most_important_moment_takes_the_last_place_in_a_full_day(store_a, associate_a):
    # given room for one more action today, and a new arrival found before a birthday
    rules = rules_for(store_a)
    rules.daily_capacity = 1
    rules.save()
    arrival_for = reachable_client(store_a, primary_associate=associate_a)
    birthday_for = reachable_client(store_a, primary_associate=associate_a)
    arrival = candidate(arrival_for, score=0.5, expires_at=NOW + dt.timedelta(days=10))
    birthday = candidate(
        birthday_for,
        kind=ActionKind.IMPORTANT_DATE,
        score=0.9,
        expires_at=NOW + dt.timedelta(hours=12),
    )
    # when
    result = propose_actions([arrival, birthday], now=NOW)
    # then the birthday is due today; the arrival waits for tomorrow
    assert [(a.kind, a.due_at) for a in result.created] == [
        ("important_date", NOW),
        ("new_arrival_match", NOW + dt.timedelta(days=1)),
    ]


def test_the_same_moment_is_held_out_or_not_alike_on_any_install(store_a, associate_a):
    # given the holdout on, and Maya's birthday moment on one install
    rules = rules_for(store_a)
    rules.holdout_share = Decimal("0.500")
    rules.save()

    def install_and_propose(padding: int) -> Action:
        """Load Maya afresh after `padding` other clients, as another install would."""
        for _ in range(padding):
            ClientFactory(store=store_a)
        maya = reachable_client(
            store_a, primary_associate=associate_a, first_name="Maya", external_ref="C-MAYA"
        )
        birthday = candidate(
            maya,
            kind=ActionKind.IMPORTANT_DATE,
            key=f"important_date:{maya.pk}:birthday:2026",
            occasion="birthday:2026",
        )
        result = propose_actions([birthday], now=NOW)
        [action] = result.created + result.held_out
        return action

    first = install_and_propose(padding=0)
    first_client, first_key = first.client_id, first.keys.get().key
    Action.objects.all().delete()
    first.client.delete()
    # when the same data is loaded where the database gives Maya another id
    again = install_and_propose(padding=7)
    # then the key with database ids differs, but the draw and the decision are the same
    assert again.client_id != first_client
    assert again.keys.get().key != first_key
    assert again.holdout_draw == first.holdout_draw
    assert again.state == first.state


def test_holdout_keys_name_the_client_by_their_own_reference_never_a_database_id(store_a):
    # given
    by_ref = ClientFactory(store=store_a, external_ref="C-1", email="a@example.com")
    by_email = ClientFactory(store=store_a, external_ref="", email="B@Example.com ")
    by_phone = ClientFactory(store=store_a, external_ref="", email="", phone="+12125550100")
    arrival = ProductFactory(external_ref="P-EMERALD")
    # when
    keys = [
        holdout_key(candidate(by_ref, kind=ActionKind.BUYING_SEASON, occasion="Men/Suits:2026")),
        holdout_key(candidate(by_email, occasion="birthday:2026")),
        holdout_key(candidate(by_phone, products=[ShownProduct(arrival)])),
    ]
    # then
    assert keys == [
        "buying_season|uptown:ref:C-1|Men/Suits:2026",
        "new_arrival_match|uptown:email:b@example.com|birthday:2026",
        "new_arrival_match|uptown:phone:+12125550100|products:P-EMERALD",
    ]


def test_the_configured_share_of_stable_keys_is_held_out(store_a):
    # given 5,000 birthday moments of clients known by their own references (unsaved: only
    # the keys matter)
    moments = [
        candidate(
            Client(store=store_a, external_ref=f"C-{n:05d}"),
            kind=ActionKind.IMPORTANT_DATE,
            key=f"important_date:{n}",
            occasion="birthday:2026",
        )
        for n in range(5000)
    ]
    # when
    draws = [draw_for(moment) for moment in moments]
    # then each share is honoured within one and a half points
    for share in (0.05, 0.10, 0.25):
        held = sum(draw < share for draw in draws) / len(draws)
        assert abs(held - share) < 0.015, (share, held)


def test_a_merge_never_moves_an_action_into_a_full_day(store_a, associate_a):
    # given one action a day for the associate; today is full, so Lee's arrival went to tomorrow
    rules = rules_for(store_a)
    rules.daily_capacity = 1
    rules.save()
    ActionFactory(store=store_a, associate=associate_a, due_at=NOW + dt.timedelta(hours=1))
    lee = reachable_client(store_a, primary_associate=associate_a, first_name="Lee")
    [deferred] = propose_actions([candidate(lee, key="arrival")], now=NOW).created
    tomorrow = deferred.due_at
    # when a second reason for Lee, due today, merges into it
    birthday = candidate(
        lee,
        kind=ActionKind.IMPORTANT_DATE,
        key="birthday",
        reason="Lee's birthday is on Thursday 12 February",
        due_at=NOW,
    )
    result = propose_actions([birthday], now=NOW)
    # then it keeps tomorrow's place, and today still holds one action
    assert result.merged == [deferred]
    deferred.refresh_from_db()
    assert deferred.due_at == tomorrow > NOW + dt.timedelta(hours=12)
    assert len(deferred.reasons) == 2
    today = Action.objects.filter(
        associate=associate_a, state="open", due_at__lt=NOW + dt.timedelta(hours=12)
    )
    assert today.count() == 1


def test_a_merge_takes_an_earlier_due_time_on_a_day_with_room(store_a, associate_a):
    # given Lee's arrival due tomorrow and room today
    lee = reachable_client(store_a, primary_associate=associate_a)
    propose_actions([candidate(lee, key="arrival", due_at=NOW + dt.timedelta(days=1))], now=NOW)
    # when a reason due today merges into it
    [action] = propose_actions(
        [candidate(lee, kind=ActionKind.IMPORTANT_DATE, key="birthday", due_at=NOW)], now=NOW
    ).merged
    # then it is due today
    action.refresh_from_db()
    assert action.due_at == NOW


def test_a_later_event_brings_the_open_action_of_its_moment_up_to_date(store_a, associate_a):
    # given a cancellation courtesy call, open, made before the refund was recorded
    claire = reachable_client(store_a, primary_associate=associate_a)
    moment = {"kind": ActionKind.CANCELLATION_COURTESY, "key": "cc:9", "refresh": True}
    first = candidate(
        claire,
        reason="Claire cancelled; no refund is recorded yet",
        evidence={"refunded": "0.00"},
        draft="your refund is being processed",
        expires_at=NOW + dt.timedelta(days=3),
        **moment,
    )
    [action] = propose_actions([first], now=NOW).created
    # when the refund's candidate for the same moment comes
    refund = replace(
        first,
        reason="Claire cancelled; the full refund of $560 was recorded",
        evidence={"refunded": "560.00"},
        draft="your refund of $560 went through",
        due_at=NOW + dt.timedelta(minutes=5),
        expires_at=NOW + dt.timedelta(days=3, minutes=5),
    )
    result = propose_actions([refund], now=NOW)
    # then the one action now says so; no second action is made
    assert (result.updated, result.created, result.duplicates) == ([action], [], 0)
    action.refresh_from_db()
    assert Action.objects.count() == 1
    assert action.reason == "Claire cancelled; the full refund of $560 was recorded."
    assert action.evidence == {"refunded": "560.00"}
    assert action.draft == "your refund of $560 went through"
    assert [entry["reason"] for entry in action.reasons] == [refund.reason]
    assert action.expires_at == NOW + dt.timedelta(days=3, minutes=5)
    assert action.due_at == NOW


def test_a_later_event_changes_nothing_once_the_call_is_made(store_a, associate_a):
    # given the courtesy call already done
    claire = reachable_client(store_a, primary_associate=associate_a)
    moment = {"kind": ActionKind.CANCELLATION_COURTESY, "key": "cc:9", "refresh": True}
    [action] = propose_actions([candidate(claire, reason="Before", **moment)], now=NOW).created
    Action.objects.filter(pk=action.pk).update(state=ActionState.DONE, completed_at=NOW)
    # when
    result = propose_actions([candidate(claire, reason="After", **moment)], now=NOW)
    # then
    assert (result.duplicates, result.updated) == (1, [])
    action.refresh_from_db()
    assert action.reason == "Before"


def test_a_merge_that_brings_an_action_forward_fills_that_day_for_the_rest_of_the_batch(
    store_a, associate_a
):
    # given one action a day for the associate, and Lee's arrival due tomorrow
    rules = rules_for(store_a)
    rules.daily_capacity = 1
    rules.save()
    lee = reachable_client(store_a, primary_associate=associate_a)
    ann = reachable_client(store_a, primary_associate=associate_a)
    [arrival] = propose_actions(
        [candidate(lee, key="lee-arrival", due_at=NOW + dt.timedelta(days=1))], now=NOW
    ).created
    # when one batch brings Lee's birthday, due today, and Ann's arrival, due today
    birthday = candidate(lee, kind=ActionKind.IMPORTANT_DATE, key="lee-birthday", score=0.9)
    result = propose_actions([birthday, candidate(ann, key="ann-arrival", score=0.1)], now=NOW)
    # then Lee's action moves to today, which is then full: Ann's goes to tomorrow, now free
    assert result.merged == [arrival]
    arrival.refresh_from_db()
    [ann_action] = result.created
    assert (arrival.due_at, ann_action.due_at) == (NOW, NOW + dt.timedelta(days=1))


def test_a_batch_read_in_chunks_still_fills_each_day_to_capacity(store_a, associate_a, monkeypatch):
    # given room for two actions a day, and facts read three candidates at a time
    rules = rules_for(store_a)
    rules.daily_capacity = 2
    rules.save()
    monkeypatch.setattr(proposals, "CHUNK", 3)
    clients = [reachable_client(store_a, primary_associate=associate_a) for _ in range(5)]
    # when
    moments = [candidate(c, key=f"arrival:{n}") for n, c in enumerate(clients)]
    result = propose_actions(moments, now=NOW)
    # then
    assert [a.due_at - NOW for a in result.created] == [
        dt.timedelta(days=d) for d in (0, 0, 1, 1, 2)
    ]


def test_a_refresh_recorded_by_another_run_meanwhile_still_updates_its_action(
    store_a, associate_a, monkeypatch
):
    # given the courtesy call recorded after this run read the recorded moments
    claire = reachable_client(store_a, primary_associate=associate_a)
    moment = {"kind": ActionKind.CANCELLATION_COURTESY, "key": "cc:9", "refresh": True}
    [action] = propose_actions([candidate(claire, reason="Before", **moment)], now=NOW).created
    monkeypatch.setattr(batch, "recorded_keys", lambda keys: set())
    # when
    result = propose_actions([candidate(claire, reason="After", **moment)], now=NOW)
    # then the key is looked at again under the client's lock
    assert (result.updated, result.created, result.duplicates) == ([action], [], 0)
    action.refresh_from_db()
    assert action.reason == "After."


def test_each_candidate_costs_a_few_statements_however_large_the_batch(store_a, associate_a):
    # given room for every action, and two batches of marketing moments, one twice the other
    rules = rules_for(store_a)
    rules.daily_capacity = 100
    rules.save()
    small = [reachable_client(store_a, primary_associate=associate_a) for _ in range(5)]
    large = [reachable_client(store_a, primary_associate=associate_a) for _ in range(10)]

    def statements(clients, name):
        with CaptureQueriesContext(connection) as sent:
            moments = [candidate(c, key=f"{name}:{c.pk}") for c in clients]
            created = propose_actions(moments, now=NOW)
        assert len(created.created) == len(clients)
        return len(sent.captured_queries)

    # when
    five, ten = statements(small, "small"), statements(large, "large")
    # then five more candidates cost at most six statements each: a savepoint and its release,
    # the client's lock, the client's actions, the action and its key (none per day looked at)
    assert ten - five <= 5 * 6
