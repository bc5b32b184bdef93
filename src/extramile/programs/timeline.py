"""What the programs add to a client's timeline: introductions and stories about the client."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Q
from django.urls import reverse

from extramile.clients.models import Client
from extramile.clients.services import TimelineEntry
from extramile.moments.detectors.service_calls import store_zone
from extramile.programs.models import Answer, Introduction, IntroductionConsent, Story


def introduction_entries(client: Client) -> Iterable[TimelineEntry]:
    """An introduction suggested, each answer the client gave, and the introduction made."""
    link = reverse("programs:introductions")
    introductions = Introduction.objects.filter(
        Q(offering_client=client) | Q(needing_client=client)
    ).select_related("offer", "need", "offering_client", "needing_client", "made_by")
    for intro in introductions:
        title = f"{intro.offering_client} ({intro.offer.text}) → {intro.needing_client}"
        anchor = f"{link}#introduction-{intro.pk}"
        yield TimelineEntry(
            at=intro.suggested_at,
            kind="introduction_suggested",
            title=f"Introduction suggested: {title}",
            detail=f"Need: {intro.need.text}",
            link=anchor,
        )
        if intro.made_at is not None:
            yield TimelineEntry(
                at=intro.made_at,
                kind="introduction_made",
                title=f"Introduction made: {title}",
                detail=intro.made_note,
                actor=intro.made_by.display_name if intro.made_by else "",
                link=anchor,
            )
    answers = (
        IntroductionConsent.objects.filter(client=client, answered_at__isnull=False)
        .exclude(answer=Answer.PENDING)
        .select_related("recorded_by", "introduction__offer")
    )
    for consent in answers:
        assert consent.answered_at is not None
        yield TimelineEntry(
            at=consent.answered_at,
            kind=f"introduction_{consent.answer}",
            title=f"{consent.get_answer_display()} to an introduction "
            f"({consent.introduction.offer.text})",
            detail=f"{consent.get_how_display()}. {consent.note}".strip(),
            actor=consent.recorded_by.display_name if consent.recorded_by else "",
            link=f"{link}#introduction-{consent.introduction_id}",
        )


def story_entries(client: Client) -> Iterable[TimelineEntry]:
    """The extra-mile stories told about the client, and their recognition."""
    zone = store_zone(client.store)
    stories = Story.objects.filter(client=client).select_related("author", "recognised_by")
    for story in stories:
        # The day it happened, at midday in the store's zone: a story has a date, not a time.
        at = dt.datetime.combine(story.happened_on, dt.time(12), tzinfo=zone)
        recognised = ""
        if story.recognised_by is not None:
            recognised = f" Recognised by {story.recognised_by.display_name}."
        yield TimelineEntry(
            at=at,
            kind="story",
            title="Extra-mile story",
            detail=story.what_happened + recognised,
            actor=story.author.display_name,
            link=reverse("programs:stories") + f"#story-{story.pk}",
        )
