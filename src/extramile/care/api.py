"""REST routes of care: problems (list, report, read, take on, resolve), promises (make, keep).

Every route needs a bearer token (see extramile.api) and looks records up through
scope_to_user: another store's problem, promise, client or action answers 404 and never shows
in a list. The routes call the same services as the pages, so reporting a problem proposes its
recovery call (on call out of hours when urgent) and resolving one plans its follow-up.
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
from extramile.accounts.models import User
from extramile.api_support import (
    ErrorOut,
    Pagination,
    ValidationErrorOut,
    api_user,
    aware,
    field_error,
    raise_field_errors,
)
from extramile.care import services
from extramile.care.models import (
    Problem,
    ProblemKind,
    ProblemStatus,
    Promise,
    Urgency,
    unresolved_first,
)
from extramile.clients.models import Client
from extramile.moments.today import visible_actions
from extramile.orders.models import Order

problems_router = Router(tags=["problems"])
promises_router = Router(tags=["promises"])


def _username(user: User | None) -> str | None:
    return user.username if user is not None else None


class ProblemOut(Schema):
    """A problem a client met, where it stands, who owns it and what was promised."""

    id: int
    ref: str | None = Field(..., description="The id of the problem.reported event, if any.")
    store: str = Field(..., description="Store code.")
    client_id: int
    kind: str
    description: str
    status: str = Field(..., description="open, in_progress or resolved.")
    urgency: str = Field(..., description="low, normal or urgent.")
    owner: str | None = Field(..., description="Username of the owner, or null.")
    promised_by: dt.datetime | None
    order_ref: str | None
    product_id: int | None
    reported_at: dt.datetime
    reported_by: str | None
    started_at: dt.datetime | None
    resolved_at: dt.datetime | None
    resolved_by: str | None
    resolution: str

    @staticmethod
    def resolve_ref(obj: Problem) -> str | None:
        """Give the reporting event's id."""
        return obj.external_ref

    @staticmethod
    def resolve_store(obj: Problem) -> str:
        """Give the store's code."""
        return obj.store.code

    @staticmethod
    def resolve_owner(obj: Problem) -> str | None:
        """Give the owner's username."""
        return _username(obj.owner)

    @staticmethod
    def resolve_reported_by(obj: Problem) -> str | None:
        """Give the reporter's username."""
        return _username(obj.reported_by)

    @staticmethod
    def resolve_resolved_by(obj: Problem) -> str | None:
        """Give the username of who resolved it."""
        return _username(obj.resolved_by)

    @staticmethod
    def resolve_order_ref(obj: Problem) -> str | None:
        """Give the order's reference."""
        return obj.order.external_ref if obj.order else None


class ProblemFilters(Schema):
    """Narrowing of the problem list."""

    status: ProblemStatus | None = None
    urgency: Urgency | None = None
    client_id: int | None = None


class ProblemIn(Schema):
    """A problem to report for a client of a store you may see."""

    client_id: int
    kind: ProblemKind
    urgency: Urgency = Urgency.NORMAL
    description: str = ""
    owner: str | None = Field(None, description="Username of the owner, of the client's store.")
    promised_by: dt.datetime | None = Field(
        None, description="ISO 8601; without an offset, read in the server's time zone."
    )
    order_id: int | None = None


class ResolveIn(Schema):
    """How the problem was put right."""

    resolution: str = Field(..., min_length=1)


def _problems(user: User) -> QuerySet[Problem]:
    return scope_to_user(Problem.objects.all(), user).select_related(
        "store", "owner", "reported_by", "resolved_by", "order"
    )


def _staff_named(username: str | None, *, field: str) -> User | None:
    if not username:
        return None
    user = User.objects.filter(username=username).first()
    if user is None:
        raise field_error(field, f"no member of staff has the username {username!r}")
    return user


@problems_router.get("", response=list[ProblemOut], summary="List problems")
@paginate(Pagination)
def list_problems(request: Any, filters: Query[ProblemFilters]) -> QuerySet[Problem]:
    """List the problems you may see: unresolved first, the most urgent first, newest first."""
    problems = _problems(api_user(request))
    if filters.status:
        problems = problems.filter(status=filters.status)
    if filters.urgency:
        problems = problems.filter(urgency=filters.urgency)
    if filters.client_id is not None:
        problems = problems.filter(client_id=filters.client_id)
    return unresolved_first(problems)


@problems_router.get(
    "/{int:problem_id}", response={200: ProblemOut, 404: ErrorOut}, summary="Read a problem"
)
def read_problem(request: Any, problem_id: int) -> Problem:
    """Read one problem of a store you may see."""
    return get_object_or_404(_problems(api_user(request)), pk=problem_id)


@problems_router.post(
    "",
    response={201: ProblemOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="Report a problem",
)
def create_problem(request: Any, payload: ProblemIn) -> Status[Problem]:
    """Report a problem for a client; its recovery call is proposed at once."""
    user = api_user(request)
    client = get_object_or_404(scope_to_user(Client.objects.current(), user), pk=payload.client_id)
    order = None
    if payload.order_id is not None:
        orders = scope_to_user(Order.objects.all(), user)
        order = orders.filter(pk=payload.order_id).first()
        if order is None:
            raise field_error("order_id", f"no order {payload.order_id} that you may see")
    try:
        problem = services.report_problem(
            client=client,
            kind=payload.kind,
            urgency=payload.urgency,
            description=payload.description,
            owner=_staff_named(payload.owner, field="owner"),
            promised_by=aware(payload.promised_by) if payload.promised_by else None,
            order=order,
            by=user,
            now=timezone.now(),
        )
    except ValidationError as exc:
        raise_field_errors(exc)
    return Status(201, _problems(user).get(pk=problem.pk))


@problems_router.post(
    "/{int:problem_id}/start",
    response={200: ProblemOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="Take a problem on (in progress)",
)
def start_problem(request: Any, problem_id: int) -> Problem:
    """Mark the problem in progress; you own it if nobody did."""
    user = api_user(request)
    problem = get_object_or_404(_problems(user), pk=problem_id)
    try:
        services.start_problem(problem, by=user, now=timezone.now())
    except ValidationError as exc:
        raise_field_errors(exc)
    return _problems(user).get(pk=problem.pk)


@problems_router.post(
    "/{int:problem_id}/resolve",
    response={200: ProblemOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="Resolve a problem",
)
def resolve_problem(request: Any, problem_id: int, payload: ResolveIn) -> Problem:
    """Resolve the problem; its recovery call ends and a follow-up call is planned."""
    user = api_user(request)
    problem = get_object_or_404(_problems(user), pk=problem_id)
    try:
        services.resolve_problem(
            problem, resolution=payload.resolution, by=user, now=timezone.now()
        )
    except ValidationError as exc:
        raise_field_errors(exc)
    return _problems(user).get(pk=problem.pk)


# --- Promises ---------------------------------------------------------------------------------


class PromiseOut(Schema):
    """A promise made to a client and, once it ended, how."""

    id: int
    ref: str | None = Field(..., description="The id of the promise.made event, if any.")
    store: str = Field(..., description="Store code.")
    client_id: int
    action_id: int | None
    problem_id: int | None
    text: str
    due_at: dt.datetime
    made_by: str | None
    made_at: dt.datetime
    kept_at: dt.datetime | None
    broken_at: dt.datetime | None
    outcome: str = Field(
        ..., description="kept_early, kept_on_time, kept_late, broken; empty while open."
    )

    @staticmethod
    def resolve_ref(obj: Promise) -> str | None:
        """Give the promise.made event's id."""
        return obj.external_ref

    @staticmethod
    def resolve_store(obj: Promise) -> str:
        """Give the store's code."""
        return obj.store.code

    @staticmethod
    def resolve_made_by(obj: Promise) -> str | None:
        """Give the maker's username."""
        return _username(obj.made_by)


class PromiseFilters(Schema):
    """Narrowing of the promise list."""

    client_id: int | None = None
    open: bool | None = Field(None, description="true: neither kept nor broken yet.")
    made_by: str | None = Field(None, description="Username of who made it.")
    due_before: dt.datetime | None = Field(None, description="ISO 8601, exclusive.")


class PromiseIn(Schema):
    """A promise made to a client, on an action or a problem or on its own."""

    client_id: int | None = Field(None, description="Optional when action_id or problem_id says.")
    text: str = Field(..., min_length=1, max_length=300)
    due_at: dt.datetime = Field(..., description="ISO 8601; after now.")
    action_id: int | None = None
    problem_id: int | None = None


def _promises(user: User) -> QuerySet[Promise]:
    return scope_to_user(Promise.objects.all(), user).select_related("store", "made_by")


@promises_router.get("", response=list[PromiseOut], summary="List promises")
@paginate(Pagination)
def list_promises(request: Any, filters: Query[PromiseFilters]) -> QuerySet[Promise]:
    """List the promises you may see, soonest due first."""
    promises = _promises(api_user(request))
    if filters.client_id is not None:
        promises = promises.filter(client_id=filters.client_id)
    if filters.open is not None:
        promises = promises.filter(outcome="") if filters.open else promises.exclude(outcome="")
    if filters.made_by:
        promises = promises.filter(made_by__username=filters.made_by)
    if filters.due_before:
        promises = promises.filter(due_at__lt=aware(filters.due_before))
    return promises.order_by("due_at", "id")


@promises_router.post(
    "",
    response={201: PromiseOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="Record a promise",
)
def create_promise(request: Any, payload: PromiseIn) -> Status[Promise]:
    """Record a promise you made to a client."""
    user = api_user(request)
    action = problem = None
    if payload.action_id is not None:
        action = get_object_or_404(visible_actions(user), pk=payload.action_id)
    if payload.problem_id is not None:
        problem = get_object_or_404(_problems(user), pk=payload.problem_id)
    client_id = payload.client_id
    for record in (action, problem):
        if record is not None and client_id is None:
            client_id = record.client_id
    if client_id is None:
        raise field_error("client_id", "is required without an action_id or a problem_id")
    client = get_object_or_404(scope_to_user(Client.objects.all(), user), pk=client_id)
    try:
        promise = services.make_promise(
            client=client,
            text=payload.text,
            due_at=aware(payload.due_at),
            by=user,
            now=timezone.now(),
            action=action,
            problem=problem,
        )
    except ValidationError as exc:
        raise_field_errors(exc)
    return Status(201, _promises(user).get(pk=promise.pk))


@promises_router.post(
    "/{int:promise_id}/keep",
    response={200: PromiseOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="Record that a promise was kept",
)
def keep_promise(request: Any, promise_id: int) -> Promise:
    """Record that the promise was kept now: early, on time, late (or it stays broken)."""
    user = api_user(request)
    promise = get_object_or_404(_promises(user), pk=promise_id)
    try:
        services.keep_promise(promise, by=user, now=timezone.now())
    except ValidationError as exc:
        raise_field_errors(exc)
    return _promises(user).get(pk=promise.pk)
