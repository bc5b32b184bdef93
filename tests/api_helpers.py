"""Helpers for REST API tests: bearer headers for a member of staff."""

from __future__ import annotations

from extramile.accounts.models import ApiToken, User


def bearer(user: User) -> dict[str, str]:
    """Issue a token for the user and return the header the test client should send."""
    _, raw = ApiToken.issue(user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
