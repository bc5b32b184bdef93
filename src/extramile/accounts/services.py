"""Use cases for stores and staff."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from extramile.accounts.models import ApiToken, Role, Store, User


@transaction.atomic
def create_staff_user(
    *,
    username: str,
    password: str | None,
    role: Role | str = Role.ASSOCIATE,
    store: Store | None = None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
) -> User:
    """Create a member of staff with a hashed password (or none, for API-only users)."""
    user = User(
        username=username,
        role=role,
        store=store,
        first_name=first_name,
        last_name=last_name,
        email=email,
    )
    user.full_clean(exclude=["password"])
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user


def revoke_api_tokens(tokens: QuerySet[ApiToken], *, at: dt.datetime | None = None) -> int:
    """Revoke the live tokens among these; return how many were revoked."""
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=at or timezone.now())
