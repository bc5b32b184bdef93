"""Writing the audit log: one entry per contact or decision about a client."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from extramile.accounts.models import User
from extramile.clients.models import Client
from extramile.moments.models import Action
from extramile.outreach.models import AuditEntry, Message


def record_audit(
    verb: str,
    *,
    client: Client | None,
    actor: User | None = None,
    action: Action | None = None,
    message: Message | None = None,
    detail: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AuditEntry:
    """Append one entry to the audit log."""
    return AuditEntry.objects.create(
        verb=verb,
        client=client,
        actor=actor,
        action=action,
        message=message,
        detail=detail or {},
        at=at or timezone.now(),
    )
