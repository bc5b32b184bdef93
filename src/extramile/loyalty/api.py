"""REST routes of loyalty, under /api/v1/loyalty: surveys, stages, referrals, the weekly plan.

Every route needs a bearer token and sees only what scope_to_user lets the token's owner see: a
record of another store answers 404. Referrals are recorded in the caller's own store (an admin
names the store).
"""

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from extramile.accounts.access import can_access_store, scope_to_user
from extramile.accounts.models import Store
from extramile.api_support import (
    ErrorOut,
    Pagination,
    ValidationErrorOut,
    api_user,
    raise_field_errors,
)
from extramile.clients.models import Client
from extramile.clients.services import normalize_email, normalize_phone
from extramile.engine.loyalty import nps_group
from extramile.loyalty import plans, services
from extramile.loyalty.models import (
    PlanItem,
    PlanState,
    Referral,
    ReferralSource,
    StageSnapshot,
    Survey,
)

router = Router(tags=["loyalty"])


# --- Surveys ----------------------------------------------------------------------------------


class SurveyOut(Schema):
    """A survey sent, and its answer once given."""

    id: str = Field(..., description="The survey's uid (as in its link and its event).")
    client_id: int
    store: str
    trigger: str
    sent_at: dt.datetime | None
    answered_at: dt.datetime | None
    score: int | None
    group: str | None = Field(..., description="detractor (0 to 6), passive, promoter (9, 10).")
    comment: str

    @staticmethod
    def from_survey(survey: Survey) -> dict[str, Any]:
        """Shape one survey."""
        return {
            "id": str(survey.uid),
            "client_id": survey.client_id,
            "store": survey.store.code,
            "trigger": survey.trigger,
            "sent_at": survey.sent_at,
            "answered_at": survey.answered_at,
            "score": survey.score,
            "group": nps_group(survey.score) if survey.score is not None else None,
            "comment": survey.comment,
        }


class SurveyFilter(Schema):
    """Narrow the surveys."""

    client_id: int | None = None
    answered: bool | None = Field(
        True, description="true (default): answers only; false: unanswered."
    )
    since: dt.datetime | None = Field(None, description="Answered (or sent) at or after.")


@router.get("/surveys", response=list[SurveyOut], summary="List survey answers")
@paginate(Pagination)
def list_surveys(request: Any, filters: Query[SurveyFilter]) -> list[dict[str, Any]]:
    """The surveys of the stores you may see, answers first by default, newest first."""
    surveys: QuerySet[Survey] = scope_to_user(
        Survey.objects.select_related("store"), api_user(request)
    )
    if filters.client_id is not None:
        surveys = surveys.filter(client_id=filters.client_id)
    if filters.answered is not None:
        surveys = surveys.filter(answered_at__isnull=not filters.answered)
    if filters.since is not None:
        field = "answered_at__gte" if filters.answered is not False else "sent_at__gte"
        surveys = surveys.filter(**{field: filters.since})
    ordered = surveys.order_by("-answered_at", "-sent_at", "-id")
    return [SurveyOut.from_survey(s) for s in ordered]


# --- Stages -------------------------------------------------------------------------------------


class StageOut(Schema):
    """A client's loyalty stage in one month, with what it rested on."""

    client_id: int
    month: dt.date
    stage: str
    facts: dict[str, Any]
    recorded_at: dt.datetime


class StageFilter(Schema):
    """Which stages."""

    client_id: int | None = None
    stage: str | None = None
    month: dt.date | None = Field(None, description="Any day of the month (default: this month).")


@router.get("/stages", response=list[StageOut], summary="List loyalty stages")
@paginate(Pagination)
def list_stages(request: Any, filters: Query[StageFilter]) -> QuerySet[StageSnapshot]:
    """Each client's stage for a month (refreshed every few hours while the month runs)."""
    month = (filters.month or timezone.now().date()).replace(day=1)
    stages = scope_to_user(StageSnapshot.objects.all(), api_user(request)).filter(month=month)
    if filters.client_id is not None:
        stages = stages.filter(client_id=filters.client_id)
    if filters.stage:
        stages = stages.filter(stage=filters.stage)
    return stages.order_by("client_id")


class MovementOut(Schema):
    """How many clients went from one stage to another (from: null — not known then)."""

    from_stage: str | None = Field(..., alias="from")
    to_stage: str = Field(..., alias="to")
    clients: int


@router.get(
    "/stages/movement",
    response={200: list[MovementOut], 404: ErrorOut},
    summary="Movement on the loyalty ladder",
    by_alias=True,
)
def stage_movement(request: Any, since: dt.date, until: dt.date, store: str | None = None) -> Any:
    """Count the store's clients by (stage at `since`, stage at `until`)."""
    user = api_user(request)
    found = _store_for(user, store)
    rows = services.stage_movement(found, since, until)
    return [{"from": a, "to": b, "clients": n} for a, b, n in rows]


def _store_for(user: Any, code: str | None) -> Store:
    if code:
        store = Store.objects.filter(code=code).first()
        if store is None or not can_access_store(user, store.pk):
            raise HttpError(404, f"No store {code!r} that you may see.")
        return store
    if user.store is None:
        raise HttpError(422, "Say which store: ?store=CODE.")
    return user.store


# --- Referrals ----------------------------------------------------------------------------------


class ClientRefIn(Schema):
    """Which client: extramile's id, else your id for them, else their email or phone."""

    client_id: int | None = None
    id: str | None = Field(None, description="Your own reference (external ref).")
    email: str | None = None
    phone: str | None = None


class ReferralIn(Schema):
    """A referral: who sent whom."""

    referrer: ClientRefIn
    referred: ClientRefIn
    note: str = ""
    store: str | None = Field(None, description="Store code; needed only by an admin.")


class ReferralOut(Schema):
    """A recorded referral."""

    id: int
    store: str
    referrer_id: int
    referred_id: int
    recorded_at: dt.datetime
    source: str
    note: str

    @staticmethod
    def from_referral(referral: Referral) -> dict[str, Any]:
        """Shape one referral."""
        return {
            "id": referral.pk,
            "store": referral.store.code,
            "referrer_id": referral.referrer_id,
            "referred_id": referral.referred_id,
            "recorded_at": referral.recorded_at,
            "source": referral.source,
            "note": referral.note,
        }


def _client(user: Any, store: Store, ref: ClientRefIn, field: str) -> Client:
    clients = scope_to_user(Client.objects.current(), user).filter(store=store)
    found: Client | None = None
    if ref.client_id is not None:
        found = clients.filter(pk=ref.client_id).first()
    elif ref.id:
        found = clients.filter(external_ref=ref.id).first()
    elif ref.email:
        found = clients.filter(email=normalize_email(ref.email)).first()
    elif ref.phone:
        try:
            phone = normalize_phone(ref.phone)
        except ValidationError:
            phone = ""
        found = clients.filter(phone=phone).first() if phone else None
    else:
        raise_field_errors(
            ValidationError({field: "Name the client: client_id, id, email or phone."})
        )
    if found is None:
        raise HttpError(404, f"No such client ({field}) in store {store.code}.")
    return found


@router.get("/referrals", response=list[ReferralOut], summary="List referrals")
@paginate(Pagination)
def list_referrals(request: Any, client_id: int | None = None) -> list[dict[str, Any]]:
    """The referrals of the stores you may see, newest first (client_id: made or received)."""
    referrals = scope_to_user(Referral.objects.select_related("store"), api_user(request))
    if client_id is not None:
        referrals = referrals.filter(referrer_id=client_id) | referrals.filter(
            referred_id=client_id
        )
    return [ReferralOut.from_referral(r) for r in referrals.order_by("-recorded_at", "-id")]


@router.post(
    "/referrals",
    response={201: ReferralOut, 200: ReferralOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="Record a referral",
)
def create_referral(request: Any, payload: ReferralIn) -> Any:
    """Record who sent whom; the referrer is thanked. The same again: 200, nothing changes."""
    user = api_user(request)
    store = _store_for(user, payload.store)
    referrer = _client(user, store, payload.referrer, "referrer")
    referred = _client(user, store, payload.referred, "referred")
    try:
        referral, created = services.record_referral(
            referrer=referrer,
            referred=referred,
            source=ReferralSource.API,
            by=user,
            note=payload.note,
        )
    except ValidationError as exc:
        raise_field_errors(exc)
    return Status(201 if created else 200, ReferralOut.from_referral(referral))


# --- The weekly plan ------------------------------------------------------------------------------


class PlanItemOut(Schema):
    """One client of a weekly plan."""

    id: int
    week: dt.date
    associate: str
    client_id: int
    client: str
    why: str
    stage: str
    reason: str
    ideas: list[str]
    state: str
    action_id: int | None
    done_at: dt.datetime | None
    done_note: str
    outcome: str
    outcome_note: str

    @staticmethod
    def from_item(item: PlanItem) -> dict[str, Any]:
        """Shape one plan item."""
        return {
            "id": item.pk,
            "week": item.week,
            "associate": item.associate.username,
            "client_id": item.client_id,
            "client": item.client.full_name,
            "why": item.why,
            "stage": item.stage,
            "reason": item.reason,
            "ideas": list(item.ideas),
            "state": item.state,
            "action_id": item.action_id,
            "done_at": item.done_at,
            "done_note": item.done_note,
            "outcome": item.outcome,
            "outcome_note": item.outcome_note,
        }


class DoneIn(Schema):
    """What was done."""

    note: str


class OutcomeIn(Schema):
    """What came of it."""

    outcome: str = Field(..., description="delighted, bought, referred, no_response, not_welcome")
    note: str = ""


@router.get("/plan", response=list[PlanItemOut], summary="List weekly plan items")
@paginate(Pagination)
def list_plan(
    request: Any, week: dt.date | None = None, associate: str | None = None
) -> list[dict[str, Any]]:
    """The plan items of a week (default: this week) that you may see; held-out ones included."""
    user = api_user(request)
    if week is None:
        week = plans.week_of(timezone.now(), user.store) if user.store else timezone.now().date()
    week = week - dt.timedelta(days=week.weekday())
    items = plans.visible_plan_items(user).filter(week=week)
    if associate:
        items = items.filter(associate__username=associate)
    if user.role == "associate":
        items = items.filter(associate=user).exclude(state=PlanState.HELD_OUT)
    return [PlanItemOut.from_item(i) for i in items.order_by("associate__username", "rank", "id")]


def _item(request: Any, pk: int) -> PlanItem:
    return get_object_or_404(plans.visible_plan_items(api_user(request)), pk=pk)


@router.post(
    "/plan/{item_id}/done",
    response={200: PlanItemOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="Mark a plan item done",
)
def plan_done(request: Any, item_id: int, payload: DoneIn) -> Any:
    """Say what was done for the client; the gesture's action is completed with it."""
    item = _item(request, item_id)
    try:
        item = plans.mark_done(item, by=api_user(request), note=payload.note)
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from exc
    except ValidationError as exc:
        raise_field_errors(exc)
    return PlanItemOut.from_item(item)


@router.post(
    "/plan/{item_id}/outcome",
    response={200: PlanItemOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="Record a plan item's outcome",
)
def plan_outcome(request: Any, item_id: int, payload: OutcomeIn) -> Any:
    """Record what came of a gesture done."""
    item = _item(request, item_id)
    try:
        item = plans.record_outcome(
            item, by=api_user(request), outcome=payload.outcome, note=payload.note
        )
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from exc
    except ValidationError as exc:
        raise_field_errors(exc)
    return PlanItemOut.from_item(item)
