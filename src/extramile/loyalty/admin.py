"""Admin of loyalty: each store's rules, surveys, referrals, stages and plans (read mostly)."""

from django.contrib import admin

from extramile.accounts.admin_scoping import CHANGE, VIEW, ScopedModelAdmin
from extramile.loyalty.models import LoyaltyRules, PlanItem, Referral, StageSnapshot, Survey


@admin.register(LoyaltyRules)
class LoyaltyRulesAdmin(ScopedModelAdmin):
    """Survey throttle, link life and plan size, per store."""

    list_display = ("store", "survey_rest_days", "survey_link_days", "plan_size")
    manager_rights = frozenset({VIEW, CHANGE})


@admin.register(Survey)
class SurveyAdmin(ScopedModelAdmin):
    """Surveys sent and their answers."""

    list_display = ("client", "store", "trigger", "sent_at", "score", "answered_at")
    list_filter = ("store", "trigger")
    readonly_fields = ("uid", "message", "event_id")
    raw_id_fields = ("client", "order", "problem")


@admin.register(Referral)
class ReferralAdmin(ScopedModelAdmin):
    """Who sent whom."""

    list_display = ("referred", "referrer", "store", "recorded_at", "source")
    list_filter = ("store", "source")
    raw_id_fields = ("referrer", "referred")


@admin.register(StageSnapshot)
class StageSnapshotAdmin(ScopedModelAdmin):
    """Each client's stage per month."""

    list_display = ("client", "store", "month", "stage")
    list_filter = ("store", "stage", "month")
    raw_id_fields = ("client",)


@admin.register(PlanItem)
class PlanItemAdmin(ScopedModelAdmin):
    """The weekly plans."""

    list_display = ("week", "associate", "client", "why", "state", "outcome")
    list_filter = ("store", "week", "state", "why")
    raw_id_fields = ("client", "action")
