"""Loyalty's part of the demo: survey answers, a referral, two months of stages, the plans."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count

from extramile.accounts.models import Store
from extramile.clients.models import Channel, Client
from extramile.loyalty.models import ReferralSource, Survey, SurveyTrigger
from extramile.loyalty.plans import build_plans
from extramile.loyalty.services import answer_survey, record_referral, refresh_stage_snapshots
from extramile.moments.governance import consented_channels

# (score, comment) of the demo answers, one client each, in each demo store.
ANSWERS = [
    (3, "The trousers I had altered came back too short, and nobody called me."),
    (10, "Sofia found me exactly the right suit — I have already told my brother."),
    (9, "Lovely service, as always."),
]


def _clients_with_email(store: Store, count: int) -> list[Client]:
    """Regular clients of the store who agreed to email, most orders first."""
    found = []
    clients = (
        Client.objects.current()
        .filter(store=store, primary_associate__isnull=False)
        .exclude(email="")
        .annotate(n=Count("orders"))
        .filter(n__gte=2)
        .select_related("store", "primary_associate")
        .order_by("-n", "id")
    )
    for client in clients[: count * 6]:
        if Channel.EMAIL in consented_channels(client):
            found.append(client)
        if len(found) == count:
            break
    return found


def load(*, now: dt.datetime) -> None:
    """Write the demo's surveys, a referral, two months of stages and this week's plans."""
    stores = list(Store.objects.filter(code__in=["uptown", "harbour"]).order_by("code"))
    for store in stores:
        clients = _clients_with_email(store, len(ANSWERS) + 2)
        for client, (score, comment) in zip(clients, ANSWERS, strict=False):
            survey = Survey.objects.create(
                store=store,
                client=client,
                trigger=SurveyTrigger.PURCHASE,
                sent_at=now - dt.timedelta(days=4),
                expires_at=now + dt.timedelta(days=26),
                created_at=now - dt.timedelta(days=4),
            )
            answer_survey(survey, score=score, comment=comment, now=now - dt.timedelta(hours=20))
        if len(clients) > len(ANSWERS) + 1:
            record_referral(
                referrer=clients[1],
                referred=clients[len(ANSWERS)],
                source=ReferralSource.DEMO,
                note="Came in for a wedding suit",
                now=now - dt.timedelta(days=2),
            )
    # Last month's stages, then this month's, so the ladder shows movement from the start.
    refresh_stage_snapshots(now=now - dt.timedelta(days=31), stores=stores)
    refresh_stage_snapshots(now=now, stores=stores)
    for store in stores:
        build_plans(store=store, now=now)
