"""What every API router shares: one pagination, error bodies, service errors as 422."""

from __future__ import annotations

import datetime as dt
from typing import Any, NoReturn

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from ninja import Field, Schema
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import PageNumberPagination

from extramile.accounts.models import User

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


class Pagination(PageNumberPagination):
    """`?page=2&page_size=100`: pages of 50 by default; more than 500 a page is refused (422).

    Ninja's own class silently cuts a larger page_size down, so a client counting pages from
    the size it asked for would skip rows; refusing says it plainly.
    """

    class Input(Schema):
        page: int = Field(1, ge=1)
        page_size: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE, **kwargs)


class ErrorOut(Schema):
    """A refusal with the reason in plain words."""

    detail: str


class FieldErrorOut(Schema):
    """One bad field: where it is (`["body", "payload", "email"]`) and what is wrong."""

    type: str
    loc: list[str | int]
    msg: str


class ValidationErrorOut(Schema):
    """Every bad field of the request, as Ninja reports its own schema errors."""

    detail: list[FieldErrorOut]


def raise_field_errors(exc: DjangoValidationError, *, location: str = "payload") -> NoReturn:
    """Re-raise a service's ValidationError as a 422 naming each bad field of the body."""
    errors: list[dict[str, Any]] = []
    by_field = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}
    for field, messages in by_field.items():
        loc: list[str] = (
            ["body", location] if field == NON_FIELD_ERRORS else ["body", location, field]
        )
        errors.extend({"type": "value_error", "loc": loc, "msg": message} for message in messages)
    raise NinjaValidationError(errors)


def field_error(field: str, message: str, *, location: str = "payload") -> NinjaValidationError:
    """Build a 422 naming one bad field of the body."""
    return NinjaValidationError(
        [{"type": "value_error", "loc": ["body", location, field], "msg": message}]
    )


def api_user(request: Any) -> User:
    """Return the staff member the bearer token belongs to (set by ApiTokenAuth)."""
    user = request.auth
    assert isinstance(user, User)
    return user


def aware(moment: dt.datetime) -> dt.datetime:
    """Read a moment given without an offset in the server's time zone."""
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment
