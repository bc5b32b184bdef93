"""Referral ask: a promoter (a survey answered 9 or 10) is asked, warmly, to bring a friend.

A marketing contact: capped, held out and quiet-houred like the others, so what it earns is
measured. Due the client's next local morning, expiring two weeks after the answer; one ask per
survey ("referral_ask:<survey>"), and none for a client who already sent us someone in the last
90 days (they have just been asked by their own enthusiasm).
"""

from __future__ import annotations

import datetime as dt

from extramile.engine.loyalty import PROMOTER_MIN
from extramile.engine.occasions import due_before
from extramile.loyalty.models import Referral
from extramile.loyalty.services import survey_for_event
from extramile.moments.candidates import Candidate
from extramile.moments.detectors.calendar_support import render_message, sender_for
from extramile.moments.detectors.detractor_recovery import about, evidence
from extramile.moments.detectors.service_calls import clock_time, first_name, sentence, store_zone
from extramile.moments.governance import client_zone
from extramile.moments.models import ActionKind, Event

EVENT_TYPES = ("survey.answered",)
EXPIRES_AFTER = dt.timedelta(days=14)
RECENT_REFERRAL = dt.timedelta(days=90)


def on_event(event: Event, *, now: dt.datetime) -> list[Candidate]:
    """Propose a referral ask for a promoter's answer."""
    survey = survey_for_event(event)
    if survey is None or survey.score is None or survey.score < PROMOTER_MIN:
        return []
    assert survey.answered_at is not None
    expires_at = survey.answered_at + EXPIRES_AFTER
    client = survey.client
    recent = Referral.objects.filter(referrer=client, recorded_at__gte=now - RECENT_REFERRAL)
    if now >= expires_at or recent.exists():
        return []
    name = first_name(client)
    zone = store_zone(survey.store)
    said = f' and wrote: "{survey.comment}"' if survey.comment else ""
    reason = (
        f"{name} answered our survey {clock_time(survey.answered_at, zone)} with "
        f"{survey.score} out of 10{said}{about(survey)}. A happy client: thank them, and ask "
        "whether a friend might enjoy the same."
    )
    subject, draft = render_message(
        ActionKind.REFERRAL_ASK.value,
        {
            "first_name": client.first_name or name,
            "sender": sender_for(client).first_name,
            "store_name": survey.store.name,
            "score": survey.score,
        },
    )
    return [
        Candidate(
            kind=ActionKind.REFERRAL_ASK,
            client=client,
            key=f"referral_ask:{survey.pk}",
            occasion=f"survey:{survey.uid}",
            reason=sentence(reason),
            due_at=due_before(now, client_zone(client), deadline=expires_at),
            expires_at=expires_at,
            score=0.6 if survey.score == PROMOTER_MIN else 0.8,
            evidence=evidence(survey),
            subject=subject,
            draft=draft,
        )
    ]
