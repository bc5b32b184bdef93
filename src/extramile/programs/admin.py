"""The back office's view of the programs, each store seeing only its own."""

from __future__ import annotations

from django.contrib import admin

from extramile.accounts.admin_scoping import CHANGE, VIEW, ScopedModelAdmin
from extramile.programs.models import Introduction, Offer, Story


@admin.register(Offer)
class OfferAdmin(ScopedModelAdmin):
    """What clients offer other clients; managers read their store's."""

    list_display = ("text", "client", "created_at", "withdrawn_at")
    list_select_related = ("client",)
    search_fields = ("text", "keywords", "client__last_name")
    store_field = "client__store"
    raw_id_fields = ("client", "created_by")


@admin.register(Introduction)
class IntroductionAdmin(ScopedModelAdmin):
    """Introductions, read-only: they change through the Introductions page, both sides asked."""

    list_display = ("__str__", "state", "suggested_at", "made_at")
    list_filter = ("state",)
    list_select_related = ("offering_client", "needing_client", "offer")
    readonly_fields = [f.name for f in Introduction._meta.concrete_fields]

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Story)
class StoryAdmin(ScopedModelAdmin):
    """The story log; managers may correct their store's stories."""

    list_display = ("happened_on", "author", "client", "recognised_at")
    list_select_related = ("author", "client")
    search_fields = ("what_happened",)
    raw_id_fields = ("client",)
    manager_rights = frozenset({VIEW, CHANGE})
