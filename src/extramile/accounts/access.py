"""Who may see what: one rule, used by the web app, the API and the admin alike."""

from __future__ import annotations

from typing import TypeVar

from django.contrib.auth.models import AnonymousUser
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest

from extramile.accounts.models import Role, User

M = TypeVar("M", bound=Model)


def signed_in_staff(request: HttpRequest) -> User:
    """The member of staff making the request, behind login_required (this narrows the type)."""
    user = request.user
    if not isinstance(user, User):
        raise Http404
    return user


def scope_to_user(
    queryset: QuerySet[M], user: User | AnonymousUser, *, store_field: str = "store"
) -> QuerySet[M]:
    """Narrow a queryset to the rows this user may see: admins all, others their own store."""
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    assert isinstance(user, User)
    if user.role == Role.ADMIN:
        return queryset
    if user.store_id is None:
        return queryset.none()
    return queryset.filter(**{f"{store_field}_id": user.store_id})


def can_access_store(user: User | AnonymousUser, store_id: int | None) -> bool:
    """Say whether the user may see and change records of this store."""
    if not user.is_authenticated or not user.is_active:
        return False
    assert isinstance(user, User)
    return user.role == Role.ADMIN or (user.store_id is not None and user.store_id == store_id)
