"""REST route for events in: POST /api/v1/events, one event or a batch (docs/events.md).

An associate or manager posts events for their own store only (a missing "store" is theirs);
naming another store answers 403, like creating a client there. Only managers and admins
deactivate staff. A batch is checked whole: one bad event refuses it all (422), nothing stored.
"""

from typing import Any

from ninja import Router, Schema, Status
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError

from extramile.accounts.models import Role, User
from extramile.api_support import ErrorOut, ValidationErrorOut, api_user
from extramile.moments.event_schema import InvalidEvent
from extramile.moments.events import (
    EventIn,
    UnreadableBody,
    decode_body,
    parse_event_batch,
    record_events,
)
from extramile.moments.models import EventType

events_router = Router(tags=["events"])


class RecordedOut(Schema):
    """One event of the request: its id, its number in extramile, and created or duplicate."""

    id: str
    event: int
    status: str


class EventsAcceptedOut(Schema):
    """The events of the request, in order; processing follows within seconds."""

    events: list[RecordedOut]


def invalid_event_response(exc: InvalidEvent) -> NinjaValidationError:
    """Turn event problems into a 422 naming each field from the top of the body."""
    return NinjaValidationError(
        [
            {"type": "value_error", "loc": ["body", *problem.path], "msg": problem.message}
            for problem in exc.problems
        ]
    )


def accepted(results: list[tuple[Any, bool]]) -> dict[str, Any]:
    """Shape the recorded events as the 202 body."""
    return {
        "events": [
            {
                "id": event.event_id,
                "event": event.pk,
                "status": "created" if created else "duplicate",
            }
            for event, created in results
        ]
    }


def _check_access(user: User, events: list[EventIn]) -> None:
    if user.role == Role.ADMIN:
        return
    for index, event in enumerate(events):
        if event.store is not None and event.store.pk != user.store_id:
            own = user.store.code if user.store else "none"
            raise HttpError(
                403,
                f"Event {index} ({event.event_id}) is for store {event.store.code}; "
                f"you may post events for your own store only ({own}).",
            )
        if event.type == EventType.ASSOCIATE_DEACTIVATED and user.role != Role.MANAGER:
            raise HttpError(
                403, f"Event {index} ({event.event_id}): only managers and admins deactivate staff."
            )


@events_router.post(
    "",
    response={202: EventsAcceptedOut, 400: ErrorOut, 403: ErrorOut, 422: ValidationErrorOut},
    summary="Post events",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": 'One event, {"events": [...]}, or a JSON array of events; '
            "each event's data follows the schema of its type (docs/events.md).",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
def post_events(request: Any) -> Status:
    """Record one event or a batch; a replayed id changes nothing."""
    user = api_user(request)
    default_store = user.store if user.role != Role.ADMIN else None
    try:
        events = parse_event_batch(decode_body(request.body), default_store=default_store)
    except UnreadableBody as exc:
        return Status(400, {"detail": str(exc)})
    except InvalidEvent as exc:
        raise invalid_event_response(exc) from exc
    _check_access(user, events)
    return Status(202, accepted(record_events(events, source="api")))
