"""Helpers for REST API tests: bearer headers for a member of staff, and a GET made with them."""

from __future__ import annotations

from typing import Any

from django.test import Client as HttpClient

from extramile.accounts.models import ApiToken, User


def bearer(user: User) -> dict[str, str]:
    """Issue a token for the user and return the header the test client should send."""
    _, raw = ApiToken.issue(user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def get(user: User, path: str, **params: Any) -> Any:
    """GET the path as the user, with these query parameters."""
    return HttpClient().get(path, params, **bearer(user))


def ids(response: Any) -> list[int]:
    """Return the ids of the items of a paginated list response, in order."""
    return [item["id"] for item in response.json()["items"]]
