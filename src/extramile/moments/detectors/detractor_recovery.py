"""Detractor recovery: a survey answered 0 to 6 becomes a call to listen and put it right.

An unhappy answer is a problem met, so the call is a service contact (never capped or held out),
due at once and expiring three days after the answer. The reason quotes the score and the
client's own words, with the date and time they answered; the script asks before it explains
and sells nothing. One call per survey ("detractor_recovery:<survey>").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from extramile.engine.loyalty import DETRACTOR_MAX
from extramile.loyalty.models import Survey, SurveyTrigger
from extramile.loyalty.services import survey_for_event
from extramile.moments.candidates import Candidate
from extramile.moments.detectors.service_calls import (
    associate_first_name,
    clock_time,
    first_name,
    render_draft,
    sentence,
    spoken_date,
    store_zone,
)
from extramile.moments.models import ActionChannel, ActionKind, Event

EVENT_TYPES = ("survey.answered",)
EXPIRES_AFTER = dt.timedelta(days=3)


def on_event(event: Event, *, now: dt.datetime) -> list[Candidate]:
    """Propose a recovery call for a detractor's answer."""
    survey = survey_for_event(event)
    if survey is None or survey.score is None or survey.score > DETRACTOR_MAX:
        return []
    assert survey.answered_at is not None
    expires_at = survey.answered_at + EXPIRES_AFTER
    if now >= expires_at:
        return []
    client = survey.client
    name = first_name(client)
    zone = store_zone(survey.store)
    said = f': "{survey.comment}"' if survey.comment else ", with no comment"
    reason = (
        f"{name} answered our survey {clock_time(survey.answered_at, zone)} with "
        f"{survey.score} out of 10{said}{about(survey)}. Call, listen first, and put right what "
        "you can."
    )
    return [
        Candidate(
            kind=ActionKind.DETRACTOR_RECOVERY,
            client=client,
            key=f"detractor_recovery:{survey.pk}",
            occasion=f"survey:{survey.uid}",
            reason=sentence(reason),
            due_at=now,
            expires_at=expires_at,
            # The unhappier the answer, the sooner the call.
            score=round(1.0 - survey.score / 20, 3),
            evidence=evidence(survey),
            channel=ActionChannel.PHONE,
            draft=render_draft(
                ActionKind.DETRACTOR_RECOVERY,
                {
                    "client_first": name,
                    "associate_first": associate_first_name(client, now=now),
                    "store_name": survey.store.name,
                    "score": survey.score,
                    "comment": survey.comment,
                    "answered_on": spoken_date(survey.answered_at, zone),
                },
            ),
        )
    ]


def about(survey: Survey) -> str:
    """Say what the survey asked about: " (after order R1, on Monday 2 March)", or nothing."""
    zone = store_zone(survey.store)
    if survey.trigger == SurveyTrigger.PURCHASE and survey.order is not None:
        return f" (asked after order {survey.order.external_ref}, placed on " + (
            f"{spoken_date(survey.order.placed_at, zone)})"
        )
    if survey.trigger == SurveyTrigger.PROBLEM and survey.problem is not None:
        resolved = survey.problem.resolved_at
        when = f", resolved on {spoken_date(resolved, zone)}" if resolved else ""
        return f" (asked after their {survey.problem.get_kind_display().lower()} problem{when})"
    return ""


def evidence(survey: Survey) -> dict[str, Any]:
    """The survey behind the action."""
    assert survey.answered_at is not None
    return {
        "survey": {
            "id": survey.pk,
            "uid": str(survey.uid),
            "trigger": survey.trigger,
            "score": survey.score,
            "comment": survey.comment,
            "answered_at": survey.answered_at.isoformat(),
            "order_ref": survey.order.external_ref if survey.order else None,
            "problem_id": survey.problem_id,
        },
        "event": survey.event_id,
    }
