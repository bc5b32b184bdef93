"""API authentication (bearer tokens from `extramile createtoken`) and the associates routes."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema, Status
from ninja.security import HttpBearer
from pydantic import Field as PydField

from extramile.accounts.access import scope_to_user
from extramile.accounts.models import ApiToken, Role, User
from extramile.accounts.services import (
    DeactivationRefused,
    deactivate_associate,
    staff_overview,
    store_today,
)
from extramile.api_support import ErrorOut, api_user


class ApiTokenAuth(HttpBearer):
    """Accept `Authorization: Bearer em_…` for an active user's live token."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        """Return the token's user, or None to answer 401."""
        found = ApiToken.objects.active_for_secret(token)
        if found is None:
            return None
        now = timezone.now()
        if found.last_used_at is None or (now - found.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        request.user = found.user
        return found.user


# --- Associates: the team with their clients, and deactivation with a handover ---------------

associates_router = Router(tags=["associates"])


class AbsenceOut(Schema):
    """Days away and who covers."""

    starts_on: dt.date
    ends_on: dt.date
    backup: str
    note: str


class AssociateOut(Schema):
    """A member of staff, their state today and how many clients they look after."""

    username: str
    name: str
    role: str
    store: str | None
    state: str = PydField(description="active, away or deactivated")
    clients: int
    deactivated_at: dt.datetime | None
    absences: list[AbsenceOut]


class DeactivateIn(Schema):
    """Optionally, the one colleague who takes every client."""

    to: str | None = None


class HandedOverOut(Schema):
    """One client and the colleague who took them."""

    client_id: int
    client: str
    to: str
    why: str


class DeactivatedOut(Schema):
    """What the deactivation did; a repeat changes nothing and says so."""

    username: str
    deactivated_at: dt.datetime | None
    changed: bool
    handed_over: list[HandedOverOut]
    moved_actions: int
    handover_actions: list[int]


@associates_router.get("", response=list[AssociateOut], summary="List associates")
def list_associates(request: HttpRequest, all_roles: bool = False) -> list[dict[str, Any]]:
    """The associates of your store (admins: every store), with state and number of clients."""
    user = api_user(request)
    staff = scope_to_user(User.objects.exclude(role=Role.ADMIN), user)
    if not all_roles:
        staff = staff.filter(role=Role.ASSOCIATE)
    today = store_today(user.store)
    return [row.as_json() for row in staff_overview(staff, today=today)]


@associates_router.post(
    "/{username}/deactivate",
    response={200: DeactivatedOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Deactivate an associate and hand their clients over",
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": DeactivateIn.model_json_schema()}},
        }
    },
)
def deactivate(request: HttpRequest, username: str) -> Any:
    """Deactivate them, hand each client to a colleague of the store, keep every record.

    Managers of their store and admins only. The body is optional: `{"to": "sofia"}` gives
    every client to one colleague. A second call changes nothing (`changed` false).
    """
    user = api_user(request)
    try:
        sent = request.content_type == "application/json" and request.body.strip()
        payload = DeactivateIn(**json.loads(request.body)) if sent else None
    except (ValueError, TypeError) as exc:
        return Status(
            400, {"detail": f'The body is not a JSON object like {{"to": "sofia"}} ({exc}).'}
        )
    if user.role not in (Role.MANAGER, Role.ADMIN):
        return Status(403, {"detail": "Only managers and admins deactivate staff."})
    staff = scope_to_user(User.objects.exclude(role=Role.ADMIN), user)
    leaver = staff.select_related("store").filter(username=username).first()
    if leaver is None:
        return Status(404, {"detail": f"No member of your staff has the username {username!r}."})
    to = None
    if payload is not None and payload.to:
        to = staff.filter(username=payload.to).first()
        if to is None:
            return Status(
                422, {"detail": f"No member of your staff has the username {payload.to!r}."}
            )
    try:
        result = deactivate_associate(leaver, by=user, to=to, source="api")
    except PermissionDenied as exc:
        return Status(403, {"detail": str(exc)})
    except DeactivationRefused as exc:
        return Status(422, {"detail": str(exc)})
    leaver.refresh_from_db()
    return {
        "username": leaver.username,
        "deactivated_at": leaver.deactivated_at,
        "changed": result.changed,
        "handed_over": [
            {
                "client_id": move.client.pk,
                "client": str(move.client),
                "to": move.to.username,
                "why": move.why,
            }
            for move in result.plan.moves
        ],
        "moved_actions": result.moved_actions,
        "handover_actions": [action.pk for action in result.handover_actions],
    }
