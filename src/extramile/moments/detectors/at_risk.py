"""At risk: a valuable client whose chance of still being a client has fallen.

Per store, extramile.engine.retention fits BG/NBD (purchase timing) and Gamma-Gamma (spend) on
every client's purchase days — standing orders, days in the store's time zone, time in weeks —
and flags the clients in the top quarter by the spend to expect from them over the next year
whose probability of still being a client fell by at least 0.2 over the last 90 days to below
0.6. A store with fewer than 30 clients who came back flags no one.

The reason says what drove the flag in the client's own terms: how often they came and what
they spent, when they last came, and how the chance fell ("from 81% in August to 38% now"). The
draft is a personal note with no offer in it: the associate checks in, as one would with a
regular not seen for a while.

One candidate per client per quarter ("at_risk:<client>:2026-Q4"), due the next local morning,
expiring after two weeks. Score: 0.6 x the fall + 0.4 x the client's value rank in the store.
It is a marketing contact: capped and held out like the others, so what it earns is measured.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.db.models import F

from extramile.accounts.models import Store
from extramile.engine.occasions import due_before, local_midnight
from extramile.engine.retention import LOOKBACK_DAYS, RiskScan, scan
from extramile.moments.candidates import Candidate
from extramile.moments.detectors.calendar_support import (
    STANDING,
    ClientRow,
    client_instances,
    client_rows,
    render_message,
    sender_for,
    spoken_date,
    zone_named,
)
from extramile.moments.detectors.service_calls import money
from extramile.moments.models import ActionKind
from extramile.orders.models import Order

KEY_PREFIX = "at_risk"
EXPIRES_DAYS = 14
FALL_WEIGHT = 0.6
VALUE_WEIGHT = 0.4


@dataclass(frozen=True)
class AtRisk:
    """One flagged client and what the flag rests on."""

    client: ClientRow
    purchases: int
    first_day: dt.date
    last_day: dt.date
    gap_days: float
    alive_before: float
    alive_now: float
    value: float
    value_rank: float
    spent: float


def purchase_lines(store: Store, *, now: dt.datetime) -> tuple[list[int], list[int], list[float]]:
    """Return the store's standing orders up to now: client id, local day ordinal, net amount."""
    zone = zone_named(store.time_zone)
    rows = Order.objects.filter(
        store=store, client__isnull=False, status__in=STANDING, placed_at__lte=now
    ).values_list("client_id", "placed_at", F("total") - F("refunded_amount"))
    clients, days, amounts = [], [], []
    for client_id, placed_at, net in rows.iterator(chunk_size=5000):
        clients.append(client_id)
        days.append(placed_at.astimezone(zone).date().toordinal())
        amounts.append(float(net or 0))
    return clients, days, amounts


def flagged_in(store: Store, *, now: dt.datetime, clients: dict[int, ClientRow]) -> list[AtRisk]:
    """Scan one store and return its contactable clients at risk."""
    ids, days, amounts = purchase_lines(store, now=now)
    if not ids:
        return []
    today = now.astimezone(zone_named(store.time_zone)).date()
    found: RiskScan = scan(ids, days, amounts, today=today)
    if not found.flagged.any():
        return []
    spent = np.bincount(
        np.searchsorted(found.customer, ids), weights=amounts, minlength=found.customer.size
    )
    ranks = found.value.argsort().argsort() / max(found.customer.size - 1, 1)
    gaps = found.typical_gap_days()
    out = []
    for i in np.flatnonzero(found.flagged).tolist():
        row = clients.get(int(found.customer[i]))
        if row is None:
            continue  # merged, archived or opted out of being contacted
        out.append(
            AtRisk(
                client=row,
                purchases=int(found.purchases[i]),
                first_day=dt.date.fromordinal(int(found.first_day[i])),
                last_day=dt.date.fromordinal(int(found.last_day[i])),
                gap_days=float(gaps[i]),
                alive_before=float(found.alive_before[i]),
                alive_now=float(found.alive_now[i]),
                value=float(found.value[i]),
                value_rank=float(ranks[i]),
                spent=float(spent[i]),
            )
        )
    return out


def rhythm_words(gap_days: float) -> str:
    """Say how often someone came: "about every 3 weeks", "about every 2 months"."""
    weeks = gap_days / 7
    if weeks < 1.5:
        return "about every week"
    if weeks < 9:
        return f"about every {round(weeks)} weeks"
    return f"about every {round(gap_days / 30.4)} months"


def reason_for(risk: AtRisk, *, today: dt.date, currency: str) -> str:
    """Say why this client is worth a call now, from the data that drove the flag."""
    name = risk.client.first_name or "This client"
    earlier = today - dt.timedelta(days=LOOKBACK_DAYS)
    weeks_since = (today - risk.last_day).days // 7
    spent = money(Decimal(round(risk.spent)), currency)
    return (
        f"{name} came {rhythm_words(risk.gap_days)} ({risk.purchases} visits since "
        f"{risk.first_day:%B %Y}, {spent} in all); the last was "
        f"{weeks_since} weeks ago, on {spoken_date(risk.last_day)} {risk.last_day.year}. By "
        f"{name}'s own rhythm the chance they still shop with us fell from "
        f"{risk.alive_before:.0%} in {earlier:%B} to {risk.alive_now:.0%} now: worth a personal "
        "word."
    )


def detect(*, now: dt.datetime, stores: Iterable[Store]) -> list[Candidate]:
    """Propose a personal check-in for each valuable client who is slipping away."""
    stores = list(stores)
    if not stores:
        return []
    clients = client_rows(stores)
    risks = [
        (store, risk) for store in stores for risk in flagged_in(store, now=now, clients=clients)
    ]
    instances = client_instances(risk.client.id for _, risk in risks)
    candidates = []
    for store, risk in risks:
        client = instances[risk.client.id]
        today = now.astimezone(risk.client.zone).date()
        quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
        expires = local_midnight(today + dt.timedelta(days=EXPIRES_DAYS), risk.client.zone)
        fall = max(0.0, risk.alive_before - risk.alive_now)
        subject, draft = render_message(
            ActionKind.AT_RISK.value,
            {
                "first_name": risk.client.first_name,
                "sender": sender_for(client).first_name,
                "store_name": store.name,
            },
        )
        candidates.append(
            Candidate(
                kind=ActionKind.AT_RISK,
                client=client,
                key=f"{KEY_PREFIX}:{client.pk}:{quarter}",
                occasion=quarter,
                reason=reason_for(risk, today=today, currency=store.currency),
                due_at=due_before(now, risk.client.zone, deadline=expires),
                expires_at=expires,
                score=round(FALL_WEIGHT * min(fall, 1.0) + VALUE_WEIGHT * risk.value_rank, 3),
                evidence={
                    "visits": risk.purchases,
                    "first_visit": risk.first_day.isoformat(),
                    "last_visit": risk.last_day.isoformat(),
                    "typical_gap_days": round(risk.gap_days, 1),
                    "chance_active_before": round(risk.alive_before, 3),
                    "chance_active_now": round(risk.alive_now, 3),
                    "expected_spend_next_year": round(risk.value, 2),
                    "spent_in_all": round(risk.spent, 2),
                },
                subject=subject,
                draft=draft,
            )
        )
    return candidates
