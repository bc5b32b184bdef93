"""Gesture: a client of an associate's weekly extra-mile plan, as an action that can be measured.

Made by the weekly plan (extramile.loyalty.plans.build_plans), not by the sweep: each planned
client becomes one marketing candidate ("gesture:<client>:<week>"), so the rules of contact
apply (consent, open problems, the cap) and a share of them is held out at random — the
insight dashboard then measures what the plan's gestures earn against clients who were picked
the same way and left alone. The reason and the gesture ideas are the plan's; the draft is a
short personal note the associate can send with the gesture, or rewrite.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from extramile.accounts.models import User
from extramile.clients.models import Client
from extramile.engine.occasions import due_before, local_midnight
from extramile.moments.candidates import Candidate
from extramile.moments.detectors.calendar_support import render_message, sender_for
from extramile.moments.governance import client_zone
from extramile.moments.models import ActionKind


@dataclass(frozen=True)
class PlannedGesture:
    """One client of a weekly plan: why, what to do, for whom, which week."""

    client: Client
    associate: User
    week: dt.date
    why: str
    reason: str
    ideas: list[str]
    score: float
    evidence: dict[str, Any] = field(default_factory=dict)


def key_for(client: Client, week: dt.date) -> str:
    """The moment's key: one gesture per client and week."""
    return f"gesture:{client.pk}:{week.isoformat()}"


def candidate_for(planned: PlannedGesture, *, now: dt.datetime) -> Candidate:
    """Turn a planned gesture into a candidate action for the associate, due this week."""
    client = planned.client
    zone = client_zone(client)
    expires_at = local_midnight(planned.week + dt.timedelta(days=7), zone)
    subject, draft = render_message(
        ActionKind.GESTURE.value,
        {
            "first_name": client.first_name or client.full_name,
            "sender": planned.associate.first_name or sender_for(client).first_name,
            "store_name": client.store.name,
            "why": planned.why,
        },
    )
    return Candidate(
        kind=ActionKind.GESTURE,
        client=client,
        key=key_for(client, planned.week),
        occasion=f"week:{planned.week.isoformat()}",
        reason=planned.reason,
        due_at=due_before(now, zone, deadline=expires_at),
        expires_at=expires_at,
        score=planned.score,
        evidence={**planned.evidence, "why": planned.why, "ideas": planned.ideas},
        subject=subject,
        draft=draft,
        associate=planned.associate,
    )
