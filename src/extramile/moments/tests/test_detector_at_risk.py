import datetime as dt
import random
from decimal import Decimal

import pytest

from extramile.accounts.models import Role, Store
from extramile.clients.models import Client
from extramile.moments.detectors import at_risk
from extramile.moments.models import ActionKind
from tests.factories import ClientFactory, OrderFactory, StoreFactory, UserFactory

# Monday 23 November 2026, 10:00 in New York.
NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 23)


@pytest.fixture
def store(db) -> Store:
    return StoreFactory(code="uptown", name="Uptown Boutique", time_zone="America/New_York")


def buy(client: Client, day: dt.date, amount: str) -> None:
    placed = dt.datetime.combine(day, dt.time(16), tzinfo=dt.UTC)
    OrderFactory(client=client, store=client.store, placed_at=placed, total=Decimal(amount))


def regulars(store: Store, count: int = 60) -> None:
    """Clients buying about monthly for two years, each stopping after a visit at 1 in 15."""
    rng = random.Random(3)
    for number in range(count):
        client = ClientFactory(store=store, first_name=f"Regular{number}")
        day = TODAY - dt.timedelta(days=730 - rng.randrange(30))
        while day <= TODAY - dt.timedelta(days=1):
            buy(client, day, f"{rng.randint(40, 120)}.00")
            day += dt.timedelta(days=rng.randint(20, 45))
            if rng.random() < 1 / 15:
                break


def test_a_valuable_client_who_stopped_coming_gets_a_personal_check_in(store):
    # given a store with its regulars, and Nora, who spent $900 every three weeks until July
    walter = UserFactory(username="walter", first_name="Walter", role=Role.ASSOCIATE, store=store)
    regulars(store)
    nora = ClientFactory(store=store, first_name="Nora", primary_associate=walter)
    last = TODAY - dt.timedelta(days=150)
    visits = [last - dt.timedelta(days=21 * n) for n in range(20, -1, -1)]
    for day in visits:
        buy(nora, day, "900.00")
    # when the detector runs
    found = [c for c in at_risk.detect(now=NOW, stores=[store]) if c.client == nora]
    # then Nora gets one marketing check-in whose reason names what drove it
    assert len(found) == 1
    candidate = found[0]
    assert candidate.kind == ActionKind.AT_RISK
    assert candidate.key == f"at_risk:{nora.pk}:2026-Q4"
    assert candidate.reason.startswith("Nora came about every 3 weeks (21 visits since ")
    assert "$18,900 in all" in candidate.reason
    assert f"on {last:%A} {last.day} {last:%B} {last.year}" in candidate.reason
    assert "in August to " in candidate.reason
    assert candidate.evidence["visits"] == 21
    assert candidate.evidence["chance_active_now"] < 0.6
    assert (
        candidate.evidence["chance_active_before"] - candidate.evidence["chance_active_now"] >= 0.2
    )
    # and the draft is a note from Walter with nothing to sell
    assert candidate.subject == "How are you, Nora?"
    assert candidate.draft.startswith("Dear Nora,")
    assert candidate.draft.rstrip().endswith("Walter")
    assert "%" not in candidate.draft
    assert "$" not in candidate.draft
    assert candidate.purpose == "marketing"


def test_a_store_with_too_few_returning_clients_flags_no_one(store):
    # given a young store: one big spender who stopped, and a few one-visit clients
    nora = ClientFactory(store=store, first_name="Nora")
    for n in range(6):
        buy(nora, TODAY - dt.timedelta(days=300 - 21 * n), "900.00")
    for number in range(10):
        buy(ClientFactory(store=store), TODAY - dt.timedelta(days=40 + number), "50.00")
    # when the detector runs
    # then nobody is flagged: the model is not fitted on so little
    assert at_risk.detect(now=NOW, stores=[store]) == []
