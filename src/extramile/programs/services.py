"""Use cases of the programs — the only place that writes their records.

Introductions are double opt-in: a suggestion asks the associate to ask each side, each side's
answer is recorded with who recorded it, when and how, and the introduction can be made only
once both agreed. One side declining closes it for good. Every step is idempotent: recording
the same answer twice, suggesting again or making a made introduction changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from extramile.accounts.access import can_access_store
from extramile.accounts.models import Role, Store, User
from extramile.clients.models import Client, ClientStatus, Need
from extramile.engine.introductions import Text, match_offers_to_needs
from extramile.moments.detectors import introduction as introduction_detector
from extramile.moments.detectors.service_calls import clock_time, store_zone
from extramile.moments.lifecycle import withdraw_moment
from extramile.moments.proposals import ProposalResult, propose_actions
from extramile.programs.models import (
    OPEN_INTRODUCTION_STATES,
    Answer,
    CalendarFeed,
    HowAsked,
    Introduction,
    IntroductionConsent,
    IntroductionState,
    Offer,
    Side,
    Story,
)

# Clients who may be introduced: not archived, not merged into another record.
INTRODUCIBLE = (ClientStatus.ACTIVE, ClientStatus.LAPSED)


# -- offers ---------------------------------------------------------------------------------


def add_offer(
    client: Client, *, text: str, keywords: str = "", by: User | None, now: dt.datetime
) -> Offer:
    """Record what the client offers, then suggest the introductions it makes possible."""
    text, keywords = text.strip(), keywords.strip()
    if not text:
        raise ValidationError({"text": "Say what the client offers, such as “caterer”."})
    offer = Offer.objects.create(
        client=client, text=text, keywords=keywords, created_by=by, created_at=now
    )
    suggest_introductions(client.store, now=now)
    return offer


def withdraw_offer(offer: Offer, *, by: User | None, now: dt.datetime) -> Offer:
    """Withdraw an offer; its introductions not yet made are withdrawn with it."""
    with transaction.atomic():
        locked = Offer.objects.select_for_update().get(pk=offer.pk)
        if locked.withdrawn_at is not None:
            return locked
        locked.withdrawn_at = now
        locked.save(update_fields=["withdrawn_at"])
        pending = list(locked.introductions.filter(state__in=OPEN_INTRODUCTION_STATES))
        for intro in pending:
            intro.state = IntroductionState.WITHDRAWN
            intro.closed_at = now
            intro.closed_reason = f"The offer “{locked.text}” was withdrawn."
            intro.save(update_fields=["state", "closed_at", "closed_reason", "updated_at"])
    for intro in pending:
        _withdraw_moments(intro, reason=intro.closed_reason, now=now)
    return locked


# -- introductions --------------------------------------------------------------------------


def suggest_introductions(store: Store, *, now: dt.datetime) -> list[Introduction]:
    """Match the store's offers to its open needs; record each new pair and propose the asks."""
    offers = Offer.objects.filter(
        client__store=store, withdrawn_at__isnull=True, client__status__in=INTRODUCIBLE
    )
    needs = Need.objects.filter(
        client__store=store, met_at__isnull=True, client__status__in=INTRODUCIBLE
    )
    matches = match_offers_to_needs(
        [Text(o.pk, o.client_id, o.match_text) for o in offers],
        [Text(n.pk, n.client_id, n.text) for n in needs],
    )
    known = set(Introduction.objects.filter(store=store).values_list("offer_id", "need_id"))
    created: list[Introduction] = []
    for found in matches:
        if (found.offer_id, found.need_id) in known:
            continue
        try:
            with transaction.atomic():
                intro = Introduction.objects.create(
                    store=store,
                    offer_id=found.offer_id,
                    need_id=found.need_id,
                    offering_client_id=found.offer_client_id,
                    needing_client_id=found.need_client_id,
                    score=found.score,
                    shared_words=list(found.shared),
                    suggested_at=now,
                )
                IntroductionConsent.objects.bulk_create(
                    [
                        IntroductionConsent(
                            introduction=intro, side=Side.OFFERING, client_id=found.offer_client_id
                        ),
                        IntroductionConsent(
                            introduction=intro, side=Side.NEEDING, client_id=found.need_client_id
                        ),
                    ]
                )
        except IntegrityError:
            continue  # another run recorded the pair first
        created.append(intro)
    if created:
        propose_introduction_actions(created, now=now)
    return created


def propose_introduction_actions(
    introductions: list[Introduction], *, now: dt.datetime
) -> ProposalResult:
    """Propose what each introduction needs next: the asks, or making it once both agreed."""
    candidates = [
        candidate
        for intro in introductions
        for candidate in introduction_detector.candidates_for(intro, now=now)
    ]
    return propose_actions(candidates, now=now)


def _locked(introduction: Introduction) -> Introduction:
    return Introduction.objects.select_for_update().get(pk=introduction.pk)


def _consent(introduction: Introduction, side: str) -> IntroductionConsent:
    return IntroductionConsent.objects.select_for_update().get(introduction=introduction, side=side)


def _check_how(how: str) -> str:
    if how and how not in HowAsked.values:
        raise ValidationError({"how": f"Say how: one of {', '.join(HowAsked.values)}."})
    return how


def mark_asked(
    introduction: Introduction, *, side: str, by: User, how: str = "", now: dt.datetime
) -> Introduction:
    """Record that one side was asked; the introduction is then being asked."""
    _check_how(how)
    with transaction.atomic():
        intro = _locked(introduction)
        consent = _consent(intro, side)
        if intro.state not in (IntroductionState.SUGGESTED, IntroductionState.ASKED):
            return intro
        if consent.asked_at is None:
            consent.asked_at, consent.asked_by, consent.how = now, by, how or consent.how
            consent.save(update_fields=["asked_at", "asked_by", "how"])
        if intro.state == IntroductionState.SUGGESTED:
            intro.state = IntroductionState.ASKED
            intro.save(update_fields=["state", "updated_at"])
    return intro


@dataclass(frozen=True)
class AnswerRecorded:
    """What recording an answer did: the introduction now, and whether anything changed."""

    introduction: Introduction
    changed: bool


def record_answer(
    introduction: Introduction,
    *,
    side: str,
    agreed: bool,
    by: User,
    how: str,
    note: str = "",
    now: dt.datetime,
) -> AnswerRecorded:
    """Record one side's answer; both agreeing lets it be made, one declining closes it.

    The same answer again changes nothing; an answer once given is not changed here (a side
    that changes its mind is a new conversation, and the other side agreed to the first).
    """
    if side not in Side.values:
        raise ValidationError({"side": f"Say which side: {' or '.join(Side.values)}."})
    if not how:
        raise ValidationError({"how": "Say how they answered (in person, phone, email, SMS)."})
    _check_how(how)
    wanted = Answer.AGREED if agreed else Answer.DECLINED
    with transaction.atomic():
        intro = _locked(introduction)
        consent = _consent(intro, side)
        if consent.answer == wanted:
            return AnswerRecorded(intro, changed=False)
        if consent.answer != Answer.PENDING:
            raise ValidationError(
                f"{consent.client} already {consent.get_answer_display().lower()} "
                f"{clock_time(consent.answered_at or now, store_zone(intro.store))}."
            )
        if intro.state not in (IntroductionState.SUGGESTED, IntroductionState.ASKED):
            raise ValidationError(f"This introduction is {intro.get_state_display().lower()}.")
        consent.answer = wanted
        consent.answered_at = now
        consent.recorded_by = by
        consent.how = how
        consent.note = note.strip()[:255]
        if consent.asked_at is None:
            consent.asked_at, consent.asked_by = now, by
        consent.save()
        other = IntroductionConsent.objects.get(introduction=intro, side=_other(side))
        when = clock_time(now, store_zone(intro.store))
        if not agreed:
            intro.state = IntroductionState.DECLINED
            intro.closed_at = now
            intro.closed_reason = f"{consent.client} declined {when}."
        elif other.answer == Answer.AGREED:
            intro.state = IntroductionState.AGREED
        else:
            intro.state = IntroductionState.ASKED
        intro.save()
    word = "agreed" if agreed else "declined"
    withdraw_moment(
        introduction_detector.ask_key(intro, side),
        reason=f"{consent.client} {word} {when} (recorded by {by.display_name}).",
        now=now,
    )
    if intro.state == IntroductionState.DECLINED:
        _withdraw_moments(intro, reason=intro.closed_reason, now=now)
    elif intro.state == IntroductionState.AGREED:
        propose_introduction_actions([intro], now=now)
    return AnswerRecorded(intro, changed=True)


def _other(side: str) -> str:
    return Side.NEEDING if side == Side.OFFERING else Side.OFFERING


def make_introduction(
    introduction: Introduction, *, by: User, how: str, note: str = "", now: dt.datetime
) -> Introduction:
    """Record that the introduction was made; refused unless both sides agreed."""
    if not how:
        raise ValidationError({"how": "Say how you introduced them (in person, phone, email…)."})
    _check_how(how)
    with transaction.atomic():
        intro = _locked(introduction)
        if intro.state == IntroductionState.MADE:
            return intro
        answers = dict(intro.consents.values_list("side", "answer"))
        both = answers.get(Side.OFFERING) == Answer.AGREED == answers.get(Side.NEEDING)
        if intro.state != IntroductionState.AGREED or not both:
            raise ValidationError(
                "An introduction is made only after both clients agreed "
                f"(it is {intro.get_state_display().lower()})."
            )
        intro.state = IntroductionState.MADE
        intro.made_at, intro.made_by, intro.made_how = now, by, how
        intro.made_note = note.strip()[:255]
        intro.save()
    when = clock_time(now, store_zone(intro.store))
    withdraw_moment(
        introduction_detector.make_key(intro),
        reason=f"The introduction was made {when} by {by.display_name}.",
        now=now,
    )
    return intro


def dismiss_introduction(
    introduction: Introduction, *, by: User, reason: str = "", now: dt.datetime
) -> Introduction:
    """Set aside a suggestion that is not a good match; a made one stays made."""
    with transaction.atomic():
        intro = _locked(introduction)
        if intro.state not in OPEN_INTRODUCTION_STATES:
            return intro
        intro.state = IntroductionState.DISMISSED
        intro.closed_at = now
        when = clock_time(now, store_zone(intro.store))
        intro.closed_reason = (reason.strip() or f"Dismissed by {by.display_name} {when}.")[:255]
        intro.save()
    _withdraw_moments(intro, reason=intro.closed_reason, now=now)
    return intro


def _withdraw_moments(intro: Introduction, *, reason: str, now: dt.datetime) -> None:
    for key in introduction_detector.all_keys(intro):
        withdraw_moment(key, reason=reason, now=now)


# -- stories --------------------------------------------------------------------------------


def record_story(
    *,
    author: User,
    what_happened: str,
    happened_on: dt.date,
    client: Client | None = None,
    store: Store | None = None,
    now: dt.datetime,
) -> Story:
    """Record a gesture in the store's story log; the client, if any, must be of that store."""
    what_happened = what_happened.strip()
    if not what_happened:
        raise ValidationError({"what_happened": "Say what happened."})
    store = store or (client.store if client is not None else author.store)
    if store is None:
        raise ValidationError({"store": "Say which store the story belongs to."})
    if not can_access_store(author, store.pk):
        raise ValidationError({"store": "You may record stories only in your own store."})
    if client is not None and client.store_id != store.pk:
        raise ValidationError({"client": "The client is not a client of this store."})
    if happened_on > now.astimezone(store_zone(store)).date():
        raise ValidationError({"happened_on": "A story is told after it happened."})
    return Story.objects.create(
        store=store,
        author=author,
        client=client,
        happened_on=happened_on,
        what_happened=what_happened,
        created_at=now,
    )


def can_recognise(user: User, story: Story) -> bool:
    """Managers (and admins) recognise their store's stories, never their own."""
    return (
        user.role in (Role.MANAGER, Role.ADMIN)
        and can_access_store(user, story.store_id)
        and story.author_id != user.pk
    )


def recognise_story(story: Story, *, by: User, note: str = "", now: dt.datetime) -> Story:
    """Recognise a story; recognising it again changes nothing."""
    if not can_recognise(by, story):
        raise ValidationError("Only a manager of the store recognises a story, not its author.")
    with transaction.atomic():
        locked = Story.objects.select_for_update().get(pk=story.pk)
        if locked.recognised_at is not None:
            return locked
        locked.recognised_by, locked.recognised_at = by, now
        locked.recognition_note = note.strip()[:255]
        locked.save(update_fields=["recognised_by", "recognised_at", "recognition_note"])
    return locked


# -- calendar feeds -------------------------------------------------------------------------


def _signature(user_id: int, nonce: str) -> str:
    key = f"extramile.programs.calendar:{settings.SECRET_KEY}".encode()
    return hmac.new(key, f"{user_id}.{nonce}".encode(), hashlib.sha256).hexdigest()[:32]


def calendar_token(feed: CalendarFeed) -> str:
    """The secret part of the feed's URL: user id, nonce and their signature."""
    return f"{feed.user_id}.{feed.nonce}.{_signature(feed.user_id, feed.nonce)}"


def feed_for_token(token: str) -> CalendarFeed | None:
    """Return the live feed a token opens, or None (bad signature, revoked, user inactive)."""
    try:
        user_id_text, nonce, signature = token.split(".")
        user_id = int(user_id_text)
    except ValueError:
        return None
    if not hmac.compare_digest(signature, _signature(user_id, nonce)):
        return None
    return (
        CalendarFeed.objects.select_related("user", "user__store")
        .filter(user_id=user_id, nonce=nonce, revoked_at__isnull=True, user__is_active=True)
        .first()
    )


def issue_calendar_feed(user: User, *, now: dt.datetime | None = None) -> CalendarFeed:
    """Give the user a feed with a new URL; any earlier URL stops working."""
    now = now or timezone.now()
    feed, _ = CalendarFeed.objects.update_or_create(
        user=user,
        defaults={"nonce": secrets.token_urlsafe(24), "created_at": now, "revoked_at": None},
    )
    return feed


def revoke_calendar_feed(user: User, *, now: dt.datetime | None = None) -> None:
    """Stop the user's feed: its URL answers 404 until a new one is issued."""
    CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )


def note_feed_read(feed: CalendarFeed, *, now: dt.datetime) -> None:
    """Remember when a calendar app last read the feed (shown on the calendar page)."""
    CalendarFeed.objects.filter(pk=feed.pk).update(last_read_at=now)
