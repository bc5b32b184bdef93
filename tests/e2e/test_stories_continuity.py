"""Story S2 end to end: the suit salesman leaves, and none of his clients is left without him.

Walter sold Edmund a suit every autumn. When Walter leaves, the manager deactivates him on the
Staff page (a preview of who takes which client, then the confirmation): every client of his
goes to a colleague of the same store, preferring the one who already served them and evening
out the rest; each new owner finds a handover action on Today with a brief of what Walter knew
and a drafted introduction naming him; and nothing of the history is deleted.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest

from extramile.accounts.models import ClientHandover, Role, Store, User
from extramile.clients.models import Client, Note
from extramile.clients.services import add_note, record_consent
from extramile.moments.models import Action, ActionKind, ActionState
from extramile.orders.models import Order
from tests.factories import (
    ActionFactory,
    ClientFactory,
    ImportantDateFactory,
    OrderFactory,
    PreferenceFactory,
    SizeFactory,
    StoreFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def store() -> Store:
    return StoreFactory(code="uptown", name="Uptown", time_zone="America/New_York")


def staff(store: Store, username: str, first: str, last: str, role: str = Role.ASSOCIATE) -> User:
    return UserFactory(username=username, first_name=first, last_name=last, role=role, store=store)


def client_of(associate: User, first: str, last: str = "Client") -> Client:
    return ClientFactory(
        store=associate.store,
        primary_associate=associate,
        first_name=first,
        last_name=last,
        phone="+12125550111",
    )


def test_s2_when_walter_leaves_every_client_is_handed_over_with_a_brief(store, web_as):
    # given: Walter, the suit salesman, with eight clients; Sofia and James work beside him,
    # Priya at another store
    walter = staff(store, "walter", "Walter", "Kessler")
    sofia = staff(store, "sofia", "Sofia", "Marchetti")
    james = staff(store, "james", "James", "Whitaker")
    margaret = staff(store, "margaret", "Margaret", "Hale", Role.MANAGER)
    staff(StoreFactory(code="harbour", name="Harbour"), "priya", "Priya", "Raman")
    edmund = client_of(walter, "Edmund", "Hale")
    others = [client_of(walter, name) for name in ("Ada", "Bea", "Cy", "Di", "Eve", "Flo", "Gus")]
    walters = [edmund, *others]
    # and Sofia already looks after three clients, James after one
    for name in ("S1", "S2", "S3"):
        client_of(sofia, name)
    client_of(james, "J1")
    # and Edmund's history with Walter: a suit every autumn, his size, his taste, his birthday
    for year in (2022, 2023, 2024):
        OrderFactory(
            store=store,
            client=edmund,
            associate=walter,
            external_ref=f"W-{year}",
            total=Decimal("895.00"),
            placed_at=dt.datetime(year, 10, 2, 17, 0, tzinfo=dt.UTC),
        )
    SizeFactory(client=edmund, category="Men/Suits", size="40R")
    PreferenceFactory(client=edmund, dimension="brand", value="Harrow & Vane")
    ImportantDateFactory(client=edmund, month=12, day=3)
    record_consent(edmund, channel="email", granted=True, source="form")
    add_note(edmund, body="Buys his autumn suit in the first week of October.", author=walter)
    # and James sold to Ada and Bea once; Sofia wrote a note on Cy
    OrderFactory(store=store, client=others[0], associate=james)
    OrderFactory(store=store, client=others[1], associate=james)
    add_note(others[2], body="Asked about made-to-measure.", author=sofia)
    # and Walter's actions: one done, two still open
    ActionFactory(
        store=store,
        client=edmund,
        associate=walter,
        state=ActionState.DONE,
        completed_by=walter,
        kind=ActionKind.BUYING_SEASON,
    )
    open_actions = [
        ActionFactory(store=store, client=client, associate=walter) for client in others[3:5]
    ]
    before = {
        "clients": Client.objects.count(),
        "orders": Order.objects.count(),
        "notes": Note.objects.count(),
        "actions": Action.objects.count(),
        "walter's orders": Order.objects.filter(associate=walter).count(),
        "walter's notes": Note.objects.filter(author=walter).count(),
    }
    http = web_as(margaret)

    # when: the manager previews the handover, then confirms it
    preview = http.get("/staff/walter/deactivate/")
    confirmed = http.post("/staff/walter/deactivate/", follow=True)

    # then: the preview named who would take which client before anything changed
    assert preview.status_code == 200
    page = preview.content.decode()
    assert 'data-username="james"' in page
    assert 'data-username="sofia"' in page
    assert "Edmund Hale" in page
    assert confirmed.status_code == 200
    assert "Walter Kessler is deactivated. 8 client(s) handed over" in confirmed.content.decode()
    walter.refresh_from_db()
    assert (walter.is_active, walter.deactivated_at is not None) == (False, True)

    # and every client of Walter's has a new owner in the same store
    owners = {
        c.pk: c.primary_associate for c in Client.objects.filter(pk__in=[c.pk for c in walters])
    }
    assert set(owners.values()) <= {sofia, james}
    assert Client.objects.filter(primary_associate=walter).count() == 0
    # preferring who served them: James sold to Ada and Bea, Sofia wrote on Cy
    assert (owners[others[0].pk], owners[others[1].pk], owners[others[2].pk]) == (
        james,
        james,
        sofia,
    )
    # and balanced: the two now look after as many clients, give or take one
    load = Counter(
        Client.objects.filter(store=store).values_list("primary_associate__username", flat=True)
    )
    assert abs(load["sofia"] - load["james"]) <= 1
    assert load["sofia"] + load["james"] == 12

    # and each new owner has a handover action for each client they took, with a brief
    handovers = Action.objects.filter(kind=ActionKind.HANDOVER, state=ActionState.OPEN)
    assert sorted((a.client_id, a.associate_id) for a in handovers) == sorted(
        (pk, owner.pk) for pk, owner in owners.items()
    )
    edmunds = handovers.get(client=edmund)
    brief = edmunds.evidence["brief"]
    assert brief["sizes"] == ["Men/Suits: 40R"]
    assert brief["likes"] == ["Brand: Harrow & Vane"]
    assert brief["purchases"] == "3 orders, $2,685 in all"
    assert brief["next_important_date"].startswith("Birthday: ")
    assert len(brief["last_interactions"]) == 3
    assert edmunds.evidence["previous_associate"] == "Walter Kessler"
    new_owner = owners[edmund.pk]
    assert edmunds.channel == "email"
    assert edmunds.draft.startswith(f"Dear Edmund,\n\nI'm {new_owner.first_name} from Uptown")
    assert "Walter has left us, and I'll be looking after you from now on." in edmunds.draft
    assert edmunds.reason.startswith("Walter Kessler left Uptown at ")

    # and Walter's open actions followed their clients
    for action in open_actions:
        action.refresh_from_db()
        assert action.associate == owners[action.client_id]

    # and nothing was deleted: the history keeps Walter's name
    after = {
        "clients": Client.objects.count(),
        "orders": Order.objects.count(),
        "notes": Note.objects.count(),
        "actions": Action.objects.count() - handovers.count(),
        "walter's orders": Order.objects.filter(associate=walter).count(),
        "walter's notes": Note.objects.filter(author=walter).count(),
    }
    assert after == before
    assert ClientHandover.objects.filter(from_associate=walter).count() == 8

    # and the new owner sees the handover, with its brief, on Today
    today = web_as(new_owner).get(f"/today/{edmunds.pk}/")
    assert today.status_code == 200
    html = today.content.decode()
    assert "Handover from Walter Kessler" in html
    assert "Men/Suits: 40R" in html
    # told once: in the brief's card, not again in the readable evidence under "Why"
    why = html[html.index('id="why"') : html.index('class="raw"')]
    assert "40R" not in why
    assert "Harrow" not in why
    assert "Handed over at" in why

    # and deactivating again changes nothing
    again = http.post("/staff/walter/deactivate/", follow=True)
    assert again.status_code == 200
    assert Action.objects.filter(kind=ActionKind.HANDOVER).count() == 8
