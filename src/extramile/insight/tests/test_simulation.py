"""The dashboard recovers a simulated effect of contacting clients, through the real chain.

A store's marketing actions are split by the real holdout draw (extramile.engine.holdout on each
moment's key, at the store's share); purchases are simulated so that contacted clients buy more
(or not); the real attribution sweep links them; the dashboard's service measures the lift.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from extramile.engine.holdout import holdout_draw
from extramile.insight.services import Period, build_insight, store_zone
from extramile.moments.attribution import attribute_orders
from extramile.moments.governance import rules_for
from extramile.moments.models import Action, ActionState
from extramile.orders.models import Order
from tests.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 20, 15, 0, tzinfo=dt.UTC)
CLIENTS = 1_200
SHARE = Decimal("0.200")
SPEND = (80.0, 400.0)  # a buyer spends uniformly between these


def simulate_store(*, contacted_rate: float, held_out_rate: float, seed: int):
    """One important-date action per client, due 20 to 80 days ago; purchases after them."""
    from extramile.clients.models import Client

    rng = np.random.default_rng(seed)
    store = StoreFactory(code="sim", name="Simulated", time_zone="UTC")
    rules = rules_for(store)
    rules.holdout_share = SHARE
    rules.save()
    associate = UserFactory(store=store)
    clients = Client.objects.bulk_create(
        [
            Client(store=store, first_name=f"C{n}", external_ref=f"C{n:05d}", time_zone="UTC")
            for n in range(CLIENTS)
        ]
    )
    actions, orders, truth = [], [], {"treated": [], "control": []}
    for n, client in enumerate(clients):
        due = NOW - dt.timedelta(days=int(rng.integers(20, 80)), hours=int(rng.integers(0, 10)))
        draw = holdout_draw(f"important_date|sim:ref:{client.external_ref}|birthday:2026")
        held = draw < float(SHARE)
        skipped = not held and rng.random() < 0.15  # shown but never made: still "treated"
        state = ActionState.HELD_OUT if held else ActionState.SKIPPED if skipped else "done"
        actions.append(
            Action(
                store=store,
                associate=associate,
                client=client,
                kind="important_date",
                purpose="marketing",
                reason="Her birthday is on Friday 27 March.",
                due_at=due,
                holdout_draw=draw,
                channel="email",
                state=state,
                completed_at=None if held else due,
            )
        )
        bought = rng.random() < (held_out_rate if held else contacted_rate)
        spent = round(float(rng.uniform(*SPEND)), 2) if bought else 0.0
        truth["control" if held else "treated"].append(spent)
        if bought:
            placed = due + dt.timedelta(days=float(rng.uniform(0.5, 13.5)))
            orders.append(
                Order(
                    store=store,
                    client=client,
                    external_ref=f"S{n:05d}",
                    total=Decimal(f"{spent:.2f}"),
                    placed_at=placed,
                )
            )
        # A purchase long before the moment is nobody's effect and must not count.
        if rng.random() < 0.3:
            orders.append(
                Order(
                    store=store,
                    client=client,
                    external_ref=f"E{n:05d}",
                    total=Decimal("50.00"),
                    placed_at=due - dt.timedelta(days=40),
                )
            )
    Action.objects.bulk_create(actions)
    Order.objects.bulk_create(orders)
    attribute_orders(now=NOW)
    return store, truth


def period_for(store) -> Period:
    return Period(dt.date(2025, 12, 1), dt.date(2026, 3, 20), store_zone(store))


def test_when_contacted_clients_buy_more_the_lift_and_its_interval_recover_the_effect():
    # given: 30% of contacted clients buy within the window, 15% of held-out ones
    store, truth = simulate_store(contacted_rate=0.30, held_out_rate=0.15, seed=1)
    # when
    insight = build_insight(store, period=period_for(store), now=NOW)
    # then: the groups are the draw's
    row = next(r for r in insight.lift if r.kind == "important_date")
    assert row.lift is not None
    assert (row.treated.n, row.control.n) == (len(truth["treated"]), len(truth["control"]))
    assert 0.15 * CLIENTS < row.control.n < 0.25 * CLIENTS
    # and the interval covers the simulated difference of 15 points and excludes zero
    assert row.lift.conversion.low <= 0.15 <= row.lift.conversion.high
    assert row.lift.conversion.low > 0
    assert row.lift.verdict == "lift"
    # and the revenue per action: what was simulated, covered, and more than nothing
    observed = np.mean(truth["treated"]) - np.mean(truth["control"])
    assert row.lift.revenue_per_action is not None
    assert row.lift.revenue_per_action.estimate == pytest.approx(observed, abs=0.01)
    true_difference = 0.15 * sum(SPEND) / 2
    assert row.lift.revenue_per_action.low <= true_difference <= row.lift.revenue_per_action.high
    assert row.lift.revenue_per_action.low > 0
    # and the attribution sweep credited the contacts made with their purchases
    kind = next(r for r in insight.kinds if r.kind == "important_date")
    done_bought = Order.objects.filter(
        external_ref__startswith="S",
        client__actions__state="done",
    ).count()
    assert kind.purchases == done_bought
    assert kind.held_out == row.control.n


def test_when_contacting_makes_no_difference_the_interval_includes_zero():
    # given: 20% buy, contacted or not
    store, _ = simulate_store(contacted_rate=0.20, held_out_rate=0.20, seed=2)
    # when
    insight = build_insight(store, period=period_for(store), now=NOW)
    # then
    row = next(r for r in insight.lift if r.kind == "important_date")
    assert row.lift is not None
    assert row.lift.conversion.low <= 0 <= row.lift.conversion.high
    assert row.lift.revenue_per_action is not None
    assert row.lift.revenue_per_action.low <= 0 <= row.lift.revenue_per_action.high
    assert row.lift.verdict == "no clear effect"
    # and all marketing together says the same
    overall = next(r for r in insight.lift if r.kind == "all")
    assert overall.treated == row.treated
    assert overall.control == row.control
