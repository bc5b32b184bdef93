"""REST routes of programs, under /api/v1/programs: introductions, stories and offers.

Every route needs a bearer token (see extramile.api) and sees only the stores the token's user
may see (extramile.accounts.access.scope_to_user): another store's record answers 404.
"""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from extramile.accounts.access import scope_to_user
from extramile.api_support import (
    ErrorOut,
    Pagination,
    ValidationErrorOut,
    api_user,
    raise_field_errors,
)
from extramile.clients.models import Client
from extramile.programs import services
from extramile.programs.models import (
    Answer,
    HowAsked,
    Introduction,
    IntroductionConsent,
    IntroductionState,
    Offer,
    Side,
    Story,
)

router = Router(tags=["programs"])


class ConsentOut(Schema):
    """One side of an introduction: asked when, the answer, who recorded it and how."""

    side: Side
    client_id: int
    asked_at: dt.datetime | None
    answer: Answer
    answered_at: dt.datetime | None
    recorded_by: str | None
    how: str
    note: str

    @staticmethod
    def resolve_recorded_by(obj: IntroductionConsent) -> str | None:
        return obj.recorded_by.username if obj.recorded_by else None


class IntroductionOut(Schema):
    """An introduction of a client who offers something to one who needs it."""

    id: int
    store: str
    state: IntroductionState
    offer_id: int
    offer: str
    need_id: int
    need: str
    offering_client_id: int
    needing_client_id: int
    score: float
    shared_words: list[str]
    suggested_at: dt.datetime
    made_at: dt.datetime | None
    made_by: str | None
    made_how: str
    closed_reason: str
    consents: list[ConsentOut]

    @staticmethod
    def resolve_store(obj: Introduction) -> str:
        return obj.store.code

    @staticmethod
    def resolve_offer(obj: Introduction) -> str:
        return obj.offer.text

    @staticmethod
    def resolve_need(obj: Introduction) -> str:
        return obj.need.text

    @staticmethod
    def resolve_made_by(obj: Introduction) -> str | None:
        return obj.made_by.username if obj.made_by else None

    @staticmethod
    def resolve_consents(obj: Introduction) -> list[IntroductionConsent]:
        return list(obj.consents.all())


class IntroductionFilters(Schema):
    """Narrow the list of introductions."""

    state: IntroductionState | None = None
    client_id: int | None = Field(None, description="Either side.")


class AnswerIn(Schema):
    """One side's answer, and how it was given."""

    side: Side
    agreed: bool
    how: HowAsked
    note: str = Field("", max_length=255)


class MadeIn(Schema):
    """How the introduction was made."""

    how: HowAsked
    note: str = Field("", max_length=255)


class StoryOut(Schema):
    """A story of the store's log."""

    id: int
    store: str
    author: str
    client_id: int | None
    happened_on: dt.date
    what_happened: str
    recognised_by: str | None
    recognised_at: dt.datetime | None
    recognition_note: str

    @staticmethod
    def resolve_store(obj: Story) -> str:
        return obj.store.code

    @staticmethod
    def resolve_author(obj: Story) -> str:
        return obj.author.username

    @staticmethod
    def resolve_recognised_by(obj: Story) -> str | None:
        return obj.recognised_by.username if obj.recognised_by else None


class StoryIn(Schema):
    """A story to record; the client, if named, must be of the store."""

    what_happened: str = Field(..., min_length=1, max_length=4000)
    happened_on: dt.date
    client_id: int | None = None


class OfferOut(Schema):
    """What a client offers other clients."""

    id: int
    client_id: int
    text: str
    keywords: str
    created_at: dt.datetime
    withdrawn_at: dt.datetime | None


class OfferIn(Schema):
    """An offer to record for a client."""

    client_id: int
    text: str = Field(..., min_length=1, max_length=200)
    keywords: str = Field("", max_length=200)


def _introductions(request: Any) -> QuerySet[Introduction]:
    return (
        scope_to_user(Introduction.objects.all(), api_user(request))
        .select_related("store", "offer", "need", "made_by")
        .prefetch_related("consents__recorded_by")
        .order_by("-suggested_at", "-id")
    )


def _visible_client(request: Any, client_id: int) -> Client:
    return get_object_or_404(scope_to_user(Client.objects.all(), api_user(request)), pk=client_id)


@router.get("/introductions", response=list[IntroductionOut], summary="List introductions")
@paginate(Pagination)
def list_introductions(request: Any, filters: Query[IntroductionFilters]) -> Any:
    queryset = _introductions(request)
    if filters.state is not None:
        queryset = queryset.filter(state=filters.state)
    if filters.client_id is not None:
        queryset = queryset.filter(offering_client_id=filters.client_id) | queryset.filter(
            needing_client_id=filters.client_id
        )
    return queryset


@router.get(
    "/introductions/{int:introduction_id}",
    response={200: IntroductionOut, 404: ErrorOut},
    summary="Read an introduction",
)
def read_introduction(request: Any, introduction_id: int) -> Introduction:
    return get_object_or_404(_introductions(request), pk=introduction_id)


@router.post(
    "/introductions/{int:introduction_id}/answers",
    response={200: IntroductionOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="Record one side's answer",
    description="Both sides agreeing lets the introduction be made; one declining closes it. "
    "The same answer again changes nothing.",
)
def record_answer(request: Any, introduction_id: int, payload: AnswerIn) -> Introduction:
    intro = get_object_or_404(_introductions(request), pk=introduction_id)
    try:
        services.record_answer(
            intro,
            side=payload.side,
            agreed=payload.agreed,
            by=api_user(request),
            how=payload.how,
            note=payload.note,
            now=timezone.now(),
        )
    except ValidationError as exc:
        raise_field_errors(exc)
    return get_object_or_404(_introductions(request), pk=introduction_id)


@router.post(
    "/introductions/{int:introduction_id}/made",
    response={200: IntroductionOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="Record that the introduction was made",
    description="Refused (422) unless both sides agreed.",
)
def record_made(request: Any, introduction_id: int, payload: MadeIn) -> Introduction:
    intro = get_object_or_404(_introductions(request), pk=introduction_id)
    try:
        services.make_introduction(
            intro, by=api_user(request), how=payload.how, note=payload.note, now=timezone.now()
        )
    except ValidationError as exc:
        raise_field_errors(exc)
    return get_object_or_404(_introductions(request), pk=introduction_id)


def _stories(request: Any) -> QuerySet[Story]:
    return scope_to_user(Story.objects.all(), api_user(request)).select_related(
        "store", "author", "recognised_by"
    )


@router.get("/stories", response=list[StoryOut], summary="List the story log")
@paginate(Pagination)
def list_stories(request: Any) -> QuerySet[Story]:
    return _stories(request)


@router.post(
    "/stories",
    response={201: StoryOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="Record a story",
)
def create_story(request: Any, payload: StoryIn) -> Status[Story]:
    user = api_user(request)
    client = _visible_client(request, payload.client_id) if payload.client_id else None
    try:
        story = services.record_story(
            author=user,
            what_happened=payload.what_happened,
            happened_on=payload.happened_on,
            client=client,
            now=timezone.now(),
        )
    except ValidationError as exc:
        raise_field_errors(exc)
    return Status(201, _stories(request).get(pk=story.pk))


def _offers(request: Any) -> QuerySet[Offer]:
    return scope_to_user(Offer.objects.all(), api_user(request), store_field="client__store")


@router.get("/offers", response=list[OfferOut], summary="List clients' offers")
@paginate(Pagination)
def list_offers(request: Any, client_id: int | None = None) -> QuerySet[Offer]:
    queryset = _offers(request).filter(withdrawn_at__isnull=True)
    return queryset.filter(client_id=client_id) if client_id is not None else queryset


@router.post(
    "/offers",
    response={201: OfferOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="Record what a client offers",
    description="Introductions to clients of the same store who need it are suggested at once.",
)
def create_offer(request: Any, payload: OfferIn) -> Status[Offer]:
    client = _visible_client(request, payload.client_id)
    try:
        offer = services.add_offer(
            client,
            text=payload.text,
            keywords=payload.keywords,
            by=api_user(request),
            now=timezone.now(),
        )
    except ValidationError as exc:
        raise_field_errors(exc)
    return Status(201, offer)


@router.delete(
    "/offers/{int:offer_id}",
    response={204: None, 404: ErrorOut},
    summary="Withdraw an offer",
    description="Its introductions not yet made are withdrawn with it.",
)
def withdraw_offer(request: Any, offer_id: int) -> Status[None]:
    offer = get_object_or_404(_offers(request), pk=offer_id)
    services.withdraw_offer(offer, by=api_user(request), now=timezone.now())
    return Status(204, None)
