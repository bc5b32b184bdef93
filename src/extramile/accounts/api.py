"""API authentication: bearer tokens issued by `extramile createtoken`."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from extramile.accounts.models import ApiToken


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
