"""Referral thanks: the client who sent us someone is thanked, once, by their associate.

Made when a referral is recorded (extramile.loyalty.services.record_referral: the new-client
form, the profile, the API, a client.upserted event), not by the sweep. A thank-you answers
something the client did, so it is a service contact: never capped or held out. Due the client's
next local morning, expiring after two weeks; one per referral ("referral_thanks:<referral>"),
so recording it again adds nothing.
"""

from __future__ import annotations

import datetime as dt

from extramile.engine.occasions import due_before
from extramile.loyalty.models import Referral
from extramile.moments.candidates import Candidate
from extramile.moments.detectors.calendar_support import render_message, sender_for
from extramile.moments.detectors.service_calls import first_name, sentence, spoken_date, store_zone
from extramile.moments.governance import client_zone
from extramile.moments.models import ActionChannel, ActionKind

EXPIRES_AFTER = dt.timedelta(days=14)
SCORE = 0.7


def candidates_for(referral: Referral, *, now: dt.datetime) -> list[Candidate]:
    """Propose a thank-you to the referrer of this referral."""
    referrer = referral.referrer
    referred = referral.referred
    expires_at = referral.recorded_at + EXPIRES_AFTER
    if now >= expires_at:
        return []
    name = first_name(referrer)
    zone = store_zone(referral.store)
    newcomer = referred.full_name or first_name(referred)
    reason = (
        f"{name} sent us {newcomer}: recorded on {spoken_date(referral.recorded_at, zone)}"
        + (f" ({referral.note})" if referral.note else "")
        + ". Thank them personally — a referral is the best compliment a client can pay."
    )
    subject, draft = render_message(
        ActionKind.REFERRAL_THANKS.value,
        {
            "first_name": referrer.first_name or name,
            "newcomer_first": referred.first_name or newcomer,
            "sender": sender_for(referrer).first_name,
            "store_name": referral.store.name,
        },
    )
    return [
        Candidate(
            kind=ActionKind.REFERRAL_THANKS,
            client=referrer,
            key=f"referral_thanks:{referral.pk}",
            occasion=f"referral:{referred.external_ref or referred.pk}",
            reason=sentence(reason),
            due_at=due_before(now, client_zone(referrer), deadline=expires_at),
            expires_at=expires_at,
            score=SCORE,
            evidence={
                "referral": {
                    "id": referral.pk,
                    "referred_id": referred.pk,
                    "referred": newcomer,
                    "recorded_at": referral.recorded_at.isoformat(),
                    "source": referral.source,
                }
            },
            channel=ActionChannel.EMAIL,
            subject=subject,
            draft=draft,
        )
    ]
