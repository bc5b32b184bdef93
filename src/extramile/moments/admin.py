"""Back office for each store's rules of contact: capacity, caps, quiet hours, holdout, wording."""

from __future__ import annotations

from django.contrib import admin

from extramile.accounts.admin_scoping import CHANGE, VIEW, ScopedModelAdmin
from extramile.moments.models import StoreRules


@admin.register(StoreRules)
class StoreRulesAdmin(ScopedModelAdmin):
    """Store rules: admins manage every store's; a manager changes their own store's."""

    list_display = (
        "store",
        "daily_capacity",
        "marketing_cap",
        "marketing_cap_days",
        "holdout_share",
        "refund_timing",
        "surprise_limit",
    )
    list_select_related = ("store",)
    ordering = ("store__name",)
    manager_rights = frozenset({VIEW, CHANGE})
    fieldsets = (
        (None, {"fields": ("store",)}),
        (
            "Associates' days",
            {"fields": ("daily_capacity",)},
        ),
        (
            "Contacting clients",
            {"fields": ("marketing_cap", "marketing_cap_days", "quiet_start", "quiet_end")},
        ),
        (
            "Moments",
            {
                "fields": (
                    "date_lead_days",
                    "season_lead_days",
                    "arrival_days",
                    "arrival_message_days",
                )
            },
        ),
        (
            "Service calls",
            {
                "fields": ("refund_timing", "surprise_limit"),
                "description": "What a cancellation call tells the client about the refund, "
                "and the most a service-recovery surprise may cost.",
            },
        ),
        (
            "Measuring lift",
            {"fields": ("holdout_share", "attribution_days")},
        ),
    )
