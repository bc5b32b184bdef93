"""Back office for the inbound event log: read-only, for admins only."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from extramile.accounts.admin_scoping import ScopedModelAdmin
from extramile.ingest.models import InboundEvent


@admin.register(InboundEvent)
class InboundEventAdmin(ScopedModelAdmin):
    """What arrived from outside and what became of it; events span stores, so admins only."""

    list_display = ("received_at", "source", "topic", "status", "idempotency_key")
    list_filter = ("source", "status", "topic")
    search_fields = ("idempotency_key", "topic")
    date_hierarchy = "received_at"
    fields = (
        "source",
        "topic",
        "idempotency_key",
        "received_at",
        "status",
        "summary_shown",
        "payload_shown",
    )
    readonly_fields = fields
    store_field = None
    manager_rights = frozenset()

    @admin.display(description="summary")
    def summary_shown(self, obj: InboundEvent) -> str:
        """Show the summary as indented JSON."""
        return format_html("<pre>{}</pre>", json.dumps(obj.summary, indent=2, sort_keys=True))

    @admin.display(description="payload")
    def payload_shown(self, obj: InboundEvent) -> str:
        """Show the payload as indented JSON."""
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, sort_keys=True))

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Events arrive from outside, never from this form."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """The log is never edited."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """The log is kept: a deleted key would let a replay in again."""
        return False
