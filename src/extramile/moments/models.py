"""Events in, actions out: the event log, each store's rules, and the actions for associates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from extramile.accounts.models import Store
from extramile.catalog.models import Product
from extramile.clients.models import Client
from extramile.orders.models import Order


class EventType(models.TextChoices):
    """The documented event types (docs/events.md holds a JSON Schema for each)."""

    CLIENT_UPSERTED = "client.upserted", "Client created or changed"
    PRODUCT_UPSERTED = "product.upserted", "Product created or changed"
    STOCK_UPSERTED = "stock.upserted", "Stock changed"
    ORDER_PLACED = "order.placed", "Order placed"
    ORDER_FULFILLED = "order.fulfilled", "Order fulfilled"
    ORDER_CANCELLED = "order.cancelled", "Order cancelled"
    ORDER_REFUNDED = "order.refunded", "Order refunded"
    PRODUCT_ARRIVED = "product.arrived", "Product arrived"
    PROBLEM_REPORTED = "problem.reported", "Problem reported"
    PROBLEM_RESOLVED = "problem.resolved", "Problem resolved"
    ASSOCIATE_DEACTIVATED = "associate.deactivated", "Associate deactivated"
    SURVEY_ANSWERED = "survey.answered", "Survey answered"
    PROMISE_MADE = "promise.made", "Promise made"


class Event(models.Model):
    """One event in the documented format; its id makes a replay change nothing."""

    event_id = models.CharField(max_length=200, unique=True)
    type = models.CharField(max_length=40, choices=EventType.choices, db_index=True)
    occurred_at = models.DateTimeField(db_index=True)
    received_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=32, help_text="api, webhook, file, import, shopify…")
    store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    data = models.JSONField(default=dict)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


# The defaults of two store rules, as every store had them before they could be changed.
DEFAULT_REFUND_TIMING = "3 to 5 business days"
DEFAULT_SURPRISE_LIMIT = Decimal("50.00")


class StoreRules(models.Model):
    """How the engine treats one store's clients and staff; defaults fit a small boutique."""

    store = models.OneToOneField(Store, on_delete=models.CASCADE, related_name="rules")
    daily_capacity = models.PositiveSmallIntegerField(
        default=8, help_text="Open actions per associate per day."
    )
    marketing_cap = models.PositiveSmallIntegerField(
        default=2, help_text="Marketing contacts per client within the cap window."
    )
    marketing_cap_days = models.PositiveSmallIntegerField(default=30)
    quiet_start = models.TimeField(default=dt.time(20, 0), help_text="Client's local time.")
    quiet_end = models.TimeField(default=dt.time(9, 0))
    holdout_share = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.100"),
        help_text="Share of eligible marketing actions held out to measure lift.",
    )
    date_lead_days = models.PositiveSmallIntegerField(
        default=7, help_text="How far ahead of a birthday or other date to act."
    )
    season_lead_days = models.PositiveSmallIntegerField(
        default=14, help_text="How far ahead of a client's buying season to act."
    )
    arrival_days = models.PositiveSmallIntegerField(
        default=14, help_text="How long a product counts as a new arrival."
    )
    arrival_message_days = models.PositiveSmallIntegerField(
        default=7,
        help_text="A client hears about new arrivals at most once in this many days (0: no limit).",
    )
    attribution_days = models.PositiveSmallIntegerField(
        default=14, help_text="Purchases within this window after a contact are attributed."
    )
    refund_timing = models.CharField(
        max_length=100,
        default=DEFAULT_REFUND_TIMING,
        help_text="How soon a refund shows on the client's statement, as told in the call: "
        '"3 to 5 business days".',
    )
    surprise_limit = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=DEFAULT_SURPRISE_LIMIT,
        help_text="A service-recovery surprise may cost up to this much, in the store's currency "
        "(or a fifth of the price of the item it goes with, when that is more).",
    )

    class Meta:
        verbose_name_plural = "store rules"

    def __str__(self) -> str:
        return f"Rules of {self.store}"


class ActionKind(models.TextChoices):
    """What moment an action answers; each kind has its own detector module."""

    NEW_ARRIVAL_MATCH = "new_arrival_match", "New arrival for them"
    IMPORTANT_DATE = "important_date", "Important date"
    BUYING_SEASON = "buying_season", "Their buying season"
    ORDER_CHECK_IN = "order_check_in", "Online order check-in"
    CANCELLATION_COURTESY = "cancellation_courtesy", "Cancellation courtesy call"
    SERVICE_RECOVERY = "service_recovery", "Service recovery"
    AT_RISK = "at_risk", "Valued client slipping away"
    HANDOVER = "handover", "Handover: introduce yourself"
    PROBLEM_FOLLOW_UP = "problem_follow_up", "Follow-up after a problem"
    DETRACTOR_RECOVERY = "detractor_recovery", "Unhappy survey answer"
    REFERRAL_THANKS = "referral_thanks", "Thank them for a referral"
    INTRODUCTION = "introduction", "Introduce two clients"
    REFERRAL_ASK = "referral_ask", "Ask a happy client for a referral"
    GESTURE = "gesture", "Weekly plan: a gesture that matters"
    SALE_PREVIEW = "sale_preview", "Sale preview for them"


# Service kinds answer something the client did or met; they are never capped or held out.
SERVICE_KINDS = frozenset(
    {
        ActionKind.ORDER_CHECK_IN,
        ActionKind.CANCELLATION_COURTESY,
        ActionKind.SERVICE_RECOVERY,
        ActionKind.HANDOVER,
        ActionKind.PROBLEM_FOLLOW_UP,
        ActionKind.DETRACTOR_RECOVERY,
        ActionKind.REFERRAL_THANKS,
        ActionKind.INTRODUCTION,
    }
)


class ActionPurpose(models.TextChoices):
    """Marketing contacts are capped and held out; service contacts are not."""

    MARKETING = "marketing", "Marketing"
    SERVICE = "service", "Service"


class ActionState(models.TextChoices):
    """Where an action is; held-out and suppressed actions are recorded but never shown."""

    OPEN = "open", "Open"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"
    SNOOZED = "snoozed", "Snoozed"
    EXPIRED = "expired", "Expired"
    WITHDRAWN = "withdrawn", "Withdrawn (no longer applies)"
    HELD_OUT = "held_out", "Held out (control group)"
    SUPPRESSED = "suppressed", "Suppressed by a rule"


class ActionChannel(models.TextChoices):
    """How the associate is advised to reach the client."""

    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PHONE = "phone", "Phone call"


class Action(models.Model):
    """Something one associate should do for one client, with the reason and a ready draft."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="actions")
    associate = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="actions",
    )
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=32, choices=ActionKind.choices)
    purpose = models.CharField(max_length=16, choices=ActionPurpose.choices)
    reason = models.TextField(help_text="In plain words, for the associate.")
    evidence = models.JSONField(default=dict, help_text="The data behind the reason.")
    # Several reasons to contact one client are merged into one action; each keeps its key.
    reasons = models.JSONField(default=list, help_text="[{kind, reason, evidence}] merged in.")
    due_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    priority = models.FloatField(default=0.0, db_index=True)
    # Each eligible marketing action's fixed draw in [0, 1) (extramile.engine.holdout): it is
    # held out when the draw falls below the store's share, so the split can be checked later.
    holdout_draw = models.FloatField(null=True, blank=True)
    channel = models.CharField(max_length=16, choices=ActionChannel.choices)
    subject = models.CharField(max_length=200, blank=True)
    draft = models.TextField(blank=True, help_text="The message, or the call script.")
    surprise = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    surprise_note = models.CharField(max_length=255, blank=True)
    products: models.ManyToManyField[Product, ActionProduct] = models.ManyToManyField(
        Product, through="ActionProduct", blank=True, related_name="actions"
    )
    state = models.CharField(max_length=16, choices=ActionState.choices, default="open")
    state_reason = models.CharField(max_length=255, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-priority", "due_at", "id"]
        indexes = [
            models.Index(fields=["associate", "state", "-priority"]),
            models.Index(fields=["client", "state"]),
            # The attribution sweep's first contact of all (done, or held out) is read from these.
            models.Index(fields=["state", "completed_at"], name="action_state_completed"),
            models.Index(fields=["state", "due_at"], name="action_state_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.client}"


class ActionProduct(models.Model):
    """A product shown with an action (a new arrival, an alternative), in order."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="action_products")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["action_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["action", "product"], name="action_product_once")
        ]

    def __str__(self) -> str:
        return f"{self.product} for action {self.action_id}"


class ActionKey(models.Model):
    """The identity of one moment (kind, client, occasion); a second run finds it and adds none."""

    key = models.CharField(max_length=200, unique=True)
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="keys")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.key


class Attribution(models.Model):
    """An order linked to the action that preceded it, for contacted and held-out clients alike.

    The contact time is when the action was done, or for a held-out action when it would have
    been due; an order placed by the client within the store's attribution window after it is
    linked to the latest such action. Comparing the two groups measures the lift.
    """

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="attributions")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="attributions")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="attributions")
    kind = models.CharField(max_length=32, choices=ActionKind.choices)
    held_out = models.BooleanField(help_text="The action was held out: nobody contacted them.")
    window_days = models.PositiveSmallIntegerField()
    attributed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-attributed_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["action", "order"], name="attribution_once")]

    def __str__(self) -> str:
        return f"{self.order} after action {self.action_id}"


class AttributionCheck(models.Model):
    """An order the attribution sweep has looked at, linked to a contact or not.

    Each order is looked at once, so a sweep reads only the orders that came in since the
    last one, however long the history grows.
    """

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="attribution_check")
    checked_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.order} checked {self.checked_at:%Y-%m-%d %H:%M}"
