"""The database side of the loyalty ladder: read each client's facts, ask engine.loyalty.

`stages_of(clients, now=…)` reads, in a few grouped queries per chunk of clients, their standing
orders (count, first and last day), their last survey answer and the referrals they made, and
per store the purchase-timing model's chance that each is still a client
(extramile.engine.retention, on the same purchases the at-risk detector reads). The model is
fitted once per store and day while the store's orders stay the same.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np
from django.db.models import Count, Max, Min

from extramile.accounts.models import Store
from extramile.clients.models import Client
from extramile.engine.loyalty import LoyaltyFacts, Stage, stage_of
from extramile.engine.retention import scan
from extramile.loyalty.models import Referral, Survey
from extramile.moments.detectors.at_risk import purchase_lines
from extramile.moments.detectors.calendar_support import STANDING, chunks, zone_named
from extramile.orders.models import Order

# Per store: (fingerprint of the day and its orders, {client id: chance still a client}).
_ALIVE: dict[int, tuple[tuple[Any, ...], dict[int, float]]] = {}


def alive_by_client(store: Store, *, now: dt.datetime) -> dict[int, float]:
    """Return each client's chance of still being a client (empty: too little history to fit)."""
    today = now.astimezone(zone_named(store.time_zone)).date()
    stamp = Order.objects.filter(store=store, placed_at__lte=now).aggregate(
        n=Count("id"), last=Max("id"), changed=Max("updated_at")
    )
    fingerprint = (today, stamp["n"], stamp["last"], stamp["changed"])
    cached = _ALIVE.get(store.pk)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    ids, days, amounts = purchase_lines(store, now=now)
    alive: dict[int, float] = {}
    if ids:
        found = scan(ids, days, amounts, today=today)
        if found.model is not None:
            alive = dict(
                zip(found.customer.tolist(), np.round(found.alive_now, 4).tolist(), strict=True)
            )
    _ALIVE[store.pk] = (fingerprint, alive)
    return alive


def facts_of(clients: Iterable[Client], *, now: dt.datetime) -> dict[int, LoyaltyFacts]:
    """Return what each client's stage rests on at `now`."""
    clients = list(clients)
    by_id = {client.pk: client for client in clients}
    orders: dict[int, tuple[int, dt.datetime | None, dt.datetime | None]] = {}
    scores: dict[int, tuple[int, dt.datetime]] = {}
    referrals: dict[int, int] = defaultdict(int)
    for batch in chunks(list(by_id)):
        for client_id, n, first, last in (
            Order.objects.filter(client_id__in=batch, status__in=STANDING, placed_at__lte=now)
            .values("client_id")
            .annotate(n=Count("id"), first=Min("placed_at"), last=Max("placed_at"))
            .values_list("client_id", "n", "first", "last")
        ):
            orders[client_id] = (n, first, last)
        for client_id, score, at in (
            Survey.objects.filter(client_id__in=batch, score__isnull=False, answered_at__lte=now)
            .order_by("client_id", "answered_at", "id")
            .values_list("client_id", "score", "answered_at")
        ):
            if score is not None and at is not None:
                scores[client_id] = (score, at)  # ordered by time: the last one stays
        for client_id, n in (
            Referral.objects.filter(referrer_id__in=batch, recorded_at__lte=now)
            .values("referrer_id")
            .annotate(n=Count("id"))
            .values_list("referrer_id", "n")
        ):
            referrals[client_id] = n
    alive: dict[int, float] = {}
    for store in {client.store for client in clients}:
        alive.update(alive_by_client(store, now=now))
    found: dict[int, LoyaltyFacts] = {}
    for pk in by_id:
        n, first, last = orders.get(pk, (0, None, None))
        answer = scores.get(pk)
        found[pk] = LoyaltyFacts(
            purchases=n,
            days_since_first=_days(now, first),
            days_since_last=_days(now, last),
            typical_gap_days=((last - first).days / (n - 1)) if first and last and n > 1 else 0.0,
            latest_score=answer[0] if answer else None,
            days_since_score=_days(now, answer[1]) if answer else None,
            referrals_made=referrals.get(pk, 0),
            alive=alive.get(pk),
        )
    return found


def _days(now: dt.datetime, then: dt.datetime | None) -> int | None:
    return None if then is None else max(0, (now - then).days)


def stages_of(clients: Iterable[Client], *, now: dt.datetime) -> dict[int, Stage]:
    """Return each client's loyalty stage at `now`, by client id."""
    return {pk: stage_of(facts) for pk, facts in facts_of(clients, now=now).items()}


def facts_as_json(facts: LoyaltyFacts) -> dict[str, Any]:
    """The facts as stored with a snapshot."""
    return {
        "purchases": facts.purchases,
        "days_since_first": facts.days_since_first,
        "days_since_last": facts.days_since_last,
        "typical_gap_days": round(facts.typical_gap_days, 1),
        "latest_score": facts.latest_score,
        "days_since_score": facts.days_since_score,
        "referrals_made": facts.referrals_made,
        "alive": facts.alive,
    }
