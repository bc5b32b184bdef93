"""Use cases for stores and staff."""

from __future__ import annotations

from django.db import transaction

from extramile.accounts.models import Role, Store, User


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
