"""Back office of care: problems and promises to read, opening hours and the on-call rota to keep.

A manager keeps their own store's opening hours and on-call shifts (the rota that decides who
answers an urgent problem out of hours) and reads its problems and promises; admins see all.
"""

from __future__ import annotations

from django.contrib import admin

from extramile.accounts.admin_scoping import ALL_RIGHTS, CHANGE, VIEW, ScopedModelAdmin
from extramile.care.models import OnCallShift, OpeningHours, Problem, Promise


@admin.register(Problem)
class ProblemAdmin(ScopedModelAdmin):
    """Problems of the store: where each stands, who owns it."""

    list_display = ("client", "kind", "urgency", "status", "owner", "reported_at", "resolved_at")
    list_filter = ("status", "urgency", "kind")
    list_select_related = ("client", "owner")
    search_fields = ("client__first_name", "client__last_name", "description", "external_ref")
    raw_id_fields = ("client", "order", "product")
    date_hierarchy = "reported_at"
    manager_rights = frozenset({VIEW, CHANGE})


@admin.register(Promise)
class PromiseAdmin(ScopedModelAdmin):
    """Promises made to the store's clients and how they ended."""

    list_display = ("text", "client", "made_by", "due_at", "outcome", "kept_at")
    list_filter = ("outcome",)
    list_select_related = ("client", "made_by")
    search_fields = ("text", "client__first_name", "client__last_name")
    raw_id_fields = ("client", "action", "problem")
    date_hierarchy = "due_at"


@admin.register(OpeningHours)
class OpeningHoursAdmin(ScopedModelAdmin):
    """When the store is open, day by day; a day without a row is a closed day."""

    list_display = ("store", "weekday", "opens_at", "closes_at")
    list_filter = ("store", "weekday")
    manager_rights = ALL_RIGHTS


@admin.register(OnCallShift)
class OnCallShiftAdmin(ScopedModelAdmin):
    """Who answers urgent problems out of hours, shift by shift."""

    list_display = ("associate", "store", "starts_at", "ends_at", "note")
    list_filter = ("store",)
    list_select_related = ("associate", "store")
    date_hierarchy = "starts_at"
    manager_rights = ALL_RIGHTS
