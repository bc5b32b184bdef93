"""Deactivating an associate: who takes each client, what moves, what stays, and the handover."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from extramile.accounts.models import ApiToken, ClientHandover, Role, User
from extramile.accounts.services import (
    DeactivationRefused,
    deactivate_associate,
    plan_handover,
)
from extramile.care.models import Promise
from extramile.clients.models import Client, Note
from extramile.clients.services import add_note, record_consent
from extramile.moments.events import process_event
from extramile.moments.models import Action, ActionKind, ActionState, Event
from tests.factories import (
    ActionFactory,
    ClientFactory,
    EventFactory,
    ImportantDateFactory,
    OrderFactory,
    PreferenceFactory,
    ProblemFactory,
    SizeFactory,
    StoreFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# 10:05 on Monday 17 November 2025 in New York.
NOW = dt.datetime(2025, 11, 17, 15, 5, tzinfo=dt.UTC)


def client_of(associate: User, name: str, **fields: object) -> Client:
    return ClientFactory(
        store=associate.store,
        primary_associate=associate,
        first_name=name,
        last_name="Client",
        phone=fields.pop("phone", "+12125550100"),
        **fields,
    )


def owner_of(client: Client) -> str:
    client.refresh_from_db()
    assert client.primary_associate is not None
    return client.primary_associate.username


def test_a_client_goes_to_the_colleague_who_served_them_else_the_least_loaded(
    store, walter, sofia, james
):
    # given: Walter's four clients; James sold to Ada and wrote a note on Bea; Sofia already
    # has two clients of her own, James none
    ada = client_of(walter, "Ada")
    bea = client_of(walter, "Bea")
    client_of(walter, "Cy")
    client_of(walter, "Di")
    OrderFactory(store=store, client=ada, associate=james)
    add_note(bea, body="Prefers fittings on Saturday mornings.", author=james)
    client_of(sofia, "Own1")
    client_of(sofia, "Own2")
    # and a colleague at another store, who never takes them
    UserFactory(username="far", store=StoreFactory(code="harbour"))

    # when
    plan = plan_handover(walter)

    # then: the served clients go to James, the others even out the load (Sofia 2, James 2)
    moved = {move.client.first_name: (move.to.username, move.why) for move in plan.moves}
    assert moved == {
        "Ada": ("james", "served them before"),
        "Bea": ("james", "served them before"),
        "Cy": ("james", "fewest clients"),
        "Di": ("sofia", "fewest clients"),
    }
    assert plan.unplaced == []


def test_associates_take_clients_before_managers(store, walter, sofia, manager):
    # given: the manager sold to Ada once, but an associate is there to take her
    ada = client_of(walter, "Ada")
    OrderFactory(store=store, client=ada, associate=manager)

    # when
    plan = plan_handover(walter)

    # then
    assert [(m.client, m.to) for m in plan.moves] == [(ada, sofia)]


def test_deactivating_keeps_every_record_moves_clients_and_open_actions(
    store, walter, sofia, james, manager
):
    # given: Walter's clients, his sale, note and done action, and two actions still to do
    ada = client_of(walter, "Ada")
    bea = client_of(walter, "Bea")
    OrderFactory(store=store, client=ada, associate=walter)
    add_note(ada, body="Loves double-breasted jackets.", author=walter)
    done = ActionFactory(
        store=store, client=ada, associate=walter, state=ActionState.DONE, completed_by=walter
    )
    still_open = ActionFactory(store=store, client=bea, associate=walter)
    snoozed = ActionFactory(store=store, client=ada, associate=walter, state=ActionState.SNOOZED)
    ApiToken.issue(walter)
    before = (Client.objects.count(), Note.objects.count(), Action.objects.count())

    # when
    result = deactivate_associate(walter, by=manager, now=NOW)

    # then: Walter can no longer sign in, and nothing of his is deleted
    walter.refresh_from_db()
    assert (walter.is_active, walter.deactivated_at) == (False, NOW)
    assert ApiToken.objects.get(user=walter).revoked_at == NOW
    assert Note.objects.get(client=ada).author == walter
    assert ada.orders.get().associate == walter
    done.refresh_from_db()
    assert (done.associate, done.state) == (walter, ActionState.DONE)
    # and each client has a new owner in the store, with the move on record
    assert {owner_of(ada), owner_of(bea)} == {"sofia", "james"}
    assert ClientHandover.objects.filter(from_associate=walter).count() == 2
    # and the actions still to do follow their client
    still_open.refresh_from_db()
    snoozed.refresh_from_db()
    assert still_open.associate.username == owner_of(bea)
    assert snoozed.associate.username == owner_of(ada)
    assert result.moved_actions == 2
    # and each new owner has a handover action for their client
    handovers = Action.objects.filter(kind=ActionKind.HANDOVER)
    assert sorted((a.client.first_name, a.associate.username) for a in handovers) == sorted(
        [("Ada", owner_of(ada)), ("Bea", owner_of(bea))]
    )
    assert {a.state for a in handovers} == {ActionState.OPEN}
    assert len(result.handover_actions) == 2
    # and the event that records it is processed
    event = Event.objects.get(type="associate.deactivated")
    assert (event.source, event.processed_at, event.data) == (
        "ui",
        NOW,
        {"associate": {"username": "walter"}},
    )
    after = (Client.objects.count(), Note.objects.count(), Action.objects.count())
    assert after == (before[0], before[1], before[2] + 2)


def test_deactivating_twice_changes_nothing(store, walter, sofia, manager):
    # given
    client_of(walter, "Ada")
    deactivate_associate(walter, by=manager, now=NOW)
    counts = (Action.objects.count(), ClientHandover.objects.count(), Event.objects.count())

    # when
    again = deactivate_associate(walter, by=manager, now=NOW + dt.timedelta(hours=1))

    # then
    assert again.changed is False
    assert (Action.objects.count(), ClientHandover.objects.count(), Event.objects.count()) == counts
    walter.refresh_from_db()
    assert walter.deactivated_at == NOW


def test_a_named_successor_takes_every_client(store, walter, sofia, james, manager):
    # given: James served Ada, but the manager names Sofia
    ada = client_of(walter, "Ada")
    bea = client_of(walter, "Bea")
    OrderFactory(store=store, client=ada, associate=james)

    # when
    deactivate_associate(walter, by=manager, to=sofia, now=NOW)

    # then
    assert (owner_of(ada), owner_of(bea)) == ("sofia", "sofia")
    assert set(ClientHandover.objects.values_list("why", flat=True)) == {"named as their successor"}


@pytest.mark.parametrize(
    ("successor", "message"),
    [
        ("walter", "walter cannot hand their clients to themselves."),
        ("gone", "gone is deactivated; choose an active colleague."),
        ("far", "far does not work at Uptown."),
    ],
)
def test_a_successor_must_be_an_active_colleague_of_the_store(
    store, walter, manager, successor, message
):
    # given
    UserFactory(username="gone", store=store, is_active=False, deactivated_at=NOW)
    UserFactory(username="far", store=StoreFactory(code="harbour"))
    client_of(walter, "Ada")

    # when
    with pytest.raises(DeactivationRefused) as refused:
        deactivate_associate(walter, by=manager, to=User.objects.get(username=successor))

    # then nothing was written
    assert str(refused.value) == message
    walter.refresh_from_db()
    assert walter.is_active is True
    assert ClientHandover.objects.count() == 0


def test_with_nobody_to_take_the_clients_they_wait_until_a_colleague_joins(store, walter):
    # given: Walter is the store's only member of staff
    admin = UserFactory(username="root", role=Role.ADMIN, store=None)
    ada = client_of(walter, "Ada")

    # when
    result = deactivate_associate(walter, by=admin, now=NOW)

    # then: access goes at once; Ada waits with Walter
    walter.refresh_from_db()
    assert (walter.is_active, [c.first_name for c in result.plan.unplaced]) == (False, ["Ada"])
    assert owner_of(ada) == "walter"
    # and once Sofia joins, deactivating again hands Ada over
    UserFactory(username="sofia", store=store)
    later = deactivate_associate(walter, by=admin, now=NOW + dt.timedelta(days=1))
    assert [(m.client, m.to.username) for m in later.plan.moves] == [(ada, "sofia")]
    assert Action.objects.get(kind=ActionKind.HANDOVER).associate.username == "sofia"


def test_only_admins_and_managers_of_the_store_deactivate(store, walter, sofia):
    # given
    other_manager = UserFactory(role=Role.MANAGER, store=StoreFactory(code="harbour"))

    # when / then
    for actor in (sofia, other_manager, walter):
        with pytest.raises(PermissionDenied):
            deactivate_associate(walter, by=actor)
    walter.refresh_from_db()
    assert walter.is_active is True


def test_the_event_from_the_api_hands_clients_over_the_same_way(store, walter, sofia):
    # given: an associate.deactivated event, as posted to the API
    ada = client_of(walter, "Ada")
    event = EventFactory(
        type="associate.deactivated",
        store=store,
        occurred_at=NOW,
        data={"associate": {"username": "walter"}},
    )

    # when
    process_event(event, now=NOW)

    # then
    assert owner_of(ada) == "sofia"
    action = Action.objects.get(kind=ActionKind.HANDOVER)
    assert (action.client, action.associate) == (ada, sofia)


def test_the_handover_brief_tells_the_new_owner_what_the_leaver_knew(store, walter, sofia):
    # given: Ada, who likes a brand, wears a 40R, has an open problem and a birthday
    ada = client_of(walter, "Ada")
    record_consent(ada, channel="email", granted=True, source="form", at=NOW)
    PreferenceFactory(client=ada, dimension="brand", value="Harrow & Vane", likes=True)
    PreferenceFactory(client=ada, dimension="colour", value="Mustard", likes=False)
    SizeFactory(client=ada, category="Men/Suits", size="40R")
    ImportantDateFactory(client=ada, month=11, day=28)
    ProblemFactory(
        store=store,
        client=ada,
        kind="defect",
        description="A loose button on the navy suit",
        reported_at=NOW - dt.timedelta(days=2),
    )
    OrderFactory(
        store=store,
        client=ada,
        associate=walter,
        external_ref="W-1",
        total=Decimal("1190.00"),
        placed_at=dt.datetime(2024, 10, 3, 16, 0, tzinfo=dt.UTC),
    )
    add_note(ada, body="Wants the suit for her daughter's wedding.", author=walter, at=NOW)
    store.phone = "+12125550100"
    store.save()
    Promise.objects.create(
        store=store,
        client=ada,
        text="Call back about the hem",
        due_at=NOW + dt.timedelta(days=1),
        made_at=NOW - dt.timedelta(hours=1),
    )

    # when
    deactivate_associate(walter, now=NOW)

    # then
    action = Action.objects.get(kind=ActionKind.HANDOVER)
    assert action.associate == sofia
    assert action.reason == (
        "Walter Kessler left Uptown at 10:05 on Monday 17 November; Ada Client is now your "
        "client. Introduce yourself before Ada has to ask for Walter; the handover brief tells "
        "you what Walter knew."
    )
    brief = action.evidence["brief"]
    assert brief["likes"] == ["Brand: Harrow & Vane"]
    assert brief["dislikes"] == ["Colour: Mustard"]
    assert brief["sizes"] == ["Men/Suits: 40R"]
    assert brief["open_problems"][0]["said"] == (
        "Defect: A loose button on the navy suit, reported at 10:05 on Saturday 15 November"
    )
    assert brief["open_promises"] == [
        "Call back about the hem, due at 10:05 on Tuesday 18 November"
    ]
    assert brief["next_important_date"] == "Birthday: Friday 28 November"
    assert brief["purchases"] == "1 order, $1,190 in all"
    # (the newest three of the timeline: the note, the promise, the problem; not the order)
    interactions = brief["last_interactions"]
    assert len(interactions) == 3
    assert interactions[0] == (
        "at 10:05 on Monday 17 November: Note — Wants the suit for her daughter's wedding. "
        "(Walter Kessler)"
    )
    assert interactions[1].startswith("at 09:05 on Monday 17 November: Promise made")
    assert not any("Order W-1" in line for line in interactions)
    # and the introduction is a letter in Sofia's voice that names Walter
    assert action.channel == "email"
    assert action.subject == "Ada, a note from Sofia at Uptown"
    assert action.draft.startswith("Dear Ada,\n\nI'm Sofia from Uptown.")
    assert "Walter has left us, and I'll be looking after you from now on." in action.draft
    assert "something we still owe you" in action.draft
    assert "call me at the store on +12125550100" in action.draft
