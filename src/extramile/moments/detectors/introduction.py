"""Introductions: ask each client whether they want to meet, then make it once both agreed.

A suggested introduction (extramile.programs: a client's offer matches another client's need)
becomes one ask per side still to answer, each for that client's associate; the ask's script
never names the other client, since nothing is shared before both agree. Once both agreed, one
action on the client with the need asks the associate to make the introduction, with a draft
naming both. Each is due at once and kept for two weeks. Recording an answer or making the
introduction withdraws its open action (extramile.programs.services), and each moment has its
own key, so a sweep adds nothing twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse

from extramile.accounts.models import Store
from extramile.clients.models import Client
from extramile.moments.candidates import Candidate
from extramile.moments.detectors.service_calls import (
    associate_first_name,
    first_name,
    render_draft,
    spoken_date,
    store_zone,
)
from extramile.moments.models import ActionKind
from extramile.programs.models import (
    Answer,
    Introduction,
    IntroductionConsent,
    IntroductionState,
    Side,
)

EXPIRES_AFTER = dt.timedelta(days=14)
ASK_SCORE = 0.5
MAKE_SCORE = 0.8


def ask_key(introduction: Introduction, side: str) -> str:
    """The moment of asking one side."""
    return f"introduction:{introduction.pk}:ask:{side}"


def make_key(introduction: Introduction) -> str:
    """The moment of making the introduction once both agreed."""
    return f"introduction:{introduction.pk}:make"


def all_keys(introduction: Introduction) -> list[str]:
    """Every moment an introduction can have."""
    return [ask_key(introduction, side) for side in Side.values] + [make_key(introduction)]


def detect(*, now: dt.datetime, stores: Iterable[Store]) -> list[Candidate]:
    """Propose what each open introduction of the stores needs next."""
    introductions = _loaded(
        Introduction.objects.filter(
            store__in=list(stores),
            state__in=[
                IntroductionState.SUGGESTED,
                IntroductionState.ASKED,
                IntroductionState.AGREED,
            ],
        )
    )
    return [candidate for intro in introductions for candidate in candidates_for(intro, now=now)]


def _loaded(queryset: Any) -> list[Introduction]:
    return list(
        queryset.select_related(
            "store",
            "offer",
            "need",
            "offering_client__store",
            "offering_client__primary_associate",
            "needing_client__store",
            "needing_client__primary_associate",
        )
        .prefetch_related("consents")
        .order_by("id")
    )


def candidates_for(introduction: Introduction, *, now: dt.datetime) -> list[Candidate]:
    """The asks still to make, or making the introduction when both agreed; else nothing."""
    intro = _loaded(Introduction.objects.filter(pk=introduction.pk))[0]
    consents = {consent.side: consent for consent in intro.consents.all()}
    if intro.state == IntroductionState.AGREED:
        return [_make(intro, consents, now=now)]
    if intro.state not in (IntroductionState.SUGGESTED, IntroductionState.ASKED):
        return []
    return [
        _ask(intro, side, now=now)
        for side in (Side.NEEDING, Side.OFFERING)
        if side in consents and consents[side].answer == Answer.PENDING
    ]


def _link(intro: Introduction) -> str:
    return reverse("programs:introductions") + f"#introduction-{intro.pk}"


def _facts(intro: Introduction) -> dict[str, Any]:
    return {
        "introduction": {
            "id": intro.pk,
            "title": f"{intro.offering_client} → {intro.needing_client}",
            "offer": intro.offer.text,
            "need": intro.need.text,
            "need_stated_at": intro.need.stated_at.isoformat(),
            "shared_words": list(intro.shared_words),
            "score": intro.score,
        },
        "offering_client": intro.offering_client.full_name or str(intro.offering_client),
        "needing_client": intro.needing_client.full_name or str(intro.needing_client),
        "page": _link(intro),
    }


def _ask(intro: Introduction, side: str, *, now: dt.datetime) -> Candidate:
    zone = store_zone(intro.store)
    offering, needing = intro.offering_client, intro.needing_client
    need = intro.need.text.strip().rstrip(".")
    stated = spoken_date(intro.need.stated_at, zone)
    client: Client = needing if side == Side.NEEDING else offering
    name = first_name(client)
    facts = (
        f"{offering} offers “{intro.offer.text}”, and {needing} needs “{need}” "
        f"(written down on {stated})"
    )
    if side == Side.NEEDING:
        ask = f"Ask {name} whether they would like to be introduced to {first_name(offering)}"
    else:
        ask = f"Ask {name} whether they would be happy to be introduced to {first_name(needing)}"
    reason = (
        f"{facts}. {ask} — without naming the other client until both agree — and record "
        "the answer on the Introductions page."
    )
    return Candidate(
        kind=ActionKind.INTRODUCTION,
        client=client,
        key=ask_key(intro, side),
        occasion=f"introduction:ask:{side}:{intro.offer.created_at:%Y%m%d%H%M%S}",
        reason=reason,
        due_at=now,
        expires_at=now + EXPIRES_AFTER,
        score=ASK_SCORE,
        evidence={**_facts(intro), "step": f"ask the {Side(side).label.lower()} side"},
        subject=_subject({"step": "ask", "store_name": intro.store.name}),
        draft=render_draft(
            ActionKind.INTRODUCTION,
            {
                "step": "ask",
                "side": side,
                "client_first": name,
                "associate_first": associate_first_name(client, now=now),
                "store_name": intro.store.name,
                "offer": intro.offer.text,
                "need": need,
                "link": _link(intro),
            },
        ),
    )


def _subject(context: dict[str, Any]) -> str:
    """The subject of the email, should the rules pick email: one line."""
    text = render_to_string(f"moments/drafts/{ActionKind.INTRODUCTION}_subject.txt", context)
    return " ".join(text.split())


def _contact(client: Client) -> str:
    return client.phone or client.email or ""


def _make(
    intro: Introduction, consents: dict[str, IntroductionConsent], *, now: dt.datetime
) -> Candidate:
    zone = store_zone(intro.store)
    offering, needing = intro.offering_client, intro.needing_client
    need = intro.need.text.strip().rstrip(".")

    def agreed(side: str) -> str:
        consent = consents[side]
        when = spoken_date(consent.answered_at, zone) if consent.answered_at else "?"
        how = consent.get_how_display().lower() if consent.how else ""
        return f"{first_name(consent.client)} on {when}" + (f" ({how})" if how else "")

    reason = (
        f"{needing} and {offering} both agreed to be introduced — "
        f"{agreed(Side.NEEDING)}, {agreed(Side.OFFERING)}. Put {first_name(needing)}, who needs "
        f"“{need}”, in touch with {first_name(offering)} (“{intro.offer.text}”), then record it "
        "on the Introductions page."
    )
    return Candidate(
        kind=ActionKind.INTRODUCTION,
        client=needing,
        key=make_key(intro),
        occasion=f"introduction:make:{intro.offer.created_at:%Y%m%d%H%M%S}",
        reason=reason,
        due_at=now,
        expires_at=now + EXPIRES_AFTER,
        score=MAKE_SCORE,
        evidence={**_facts(intro), "step": "make the introduction"},
        subject=_subject(
            {
                "step": "make",
                "store_name": intro.store.name,
                "offering_full": offering.full_name or str(offering),
            }
        ),
        draft=render_draft(
            ActionKind.INTRODUCTION,
            {
                "step": "make",
                "client_first": first_name(needing),
                "associate_first": associate_first_name(needing, now=now),
                "store_name": intro.store.name,
                "offer": intro.offer.text,
                "need": need,
                "needing_first": first_name(needing),
                "needing_full": needing.full_name or str(needing),
                "needing_contact": _contact(needing),
                "offering_first": first_name(offering),
                "offering_full": offering.full_name or str(offering),
                "offering_contact": _contact(offering),
                "link": _link(intro),
            },
        ),
    )
