"""What a detector proposes: a candidate action, before the rules decide its fate."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from extramile.accounts.models import User
from extramile.catalog.models import Product
from extramile.clients.models import Client
from extramile.moments.models import ActionChannel, ActionKind, ActionPurpose


@dataclass
class ShownProduct:
    """A product to show with an action, and why."""

    product: Product
    note: str = ""


@dataclass
class Candidate:
    """One reason to contact one client, as a detector saw it.

    `key` names the moment itself: kind, client and occasion, such as
    "important_date:42:birthday:2026", so that running the engine again finds the action already
    made and adds nothing. `occasion` names the occasion again without database ids
    ("birthday:2026"): with the client's own reference it identifies the moment on any install,
    and the holdout draws on it (extramile.moments.holdout). `score` is the detector's own
    measure of fit or urgency, from 0 to 1; the rules turn it into a priority.

    `refresh` says that a later event can change what the moment's action should say (a refund
    after a cancellation): when the key is already recorded and its action still open, the
    action's reason, evidence and draft are brought up to date instead of counting a duplicate.

    `urgent` says that the client is waiting for us now (they reported an urgent problem
    themselves): the action is due at once, inside the quiet hours too.
    """

    kind: ActionKind
    client: Client
    key: str
    reason: str
    due_at: dt.datetime
    score: float
    evidence: dict[str, Any] = field(default_factory=dict)
    expires_at: dt.datetime | None = None
    channel: ActionChannel | None = None  # None: the rules pick the best consented channel
    subject: str = ""
    draft: str = ""
    products: list[ShownProduct] = field(default_factory=list)
    surprise: Product | None = None
    surprise_note: str = ""
    associate: User | None = None  # None: the client's primary associate, else the store's
    occasion: str = ""
    refresh: bool = False
    urgent: bool = False

    @property
    def purpose(self) -> ActionPurpose:
        """Service kinds answer what the client did or met; the rest is marketing."""
        from extramile.moments.models import SERVICE_KINDS

        return ActionPurpose.SERVICE if self.kind in SERVICE_KINDS else ActionPurpose.MARKETING
