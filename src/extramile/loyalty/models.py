"""Loyalty: NPS surveys, referrals, loyalty-stage snapshots and the weekly extra-mile plan."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from extramile.accounts.models import Store
from extramile.care.models import Problem
from extramile.clients.models import Client
from extramile.moments.models import Action
from extramile.orders.models import Order
from extramile.outreach.models import Message


class LoyaltyRules(models.Model):
    """How one store runs its surveys and weekly plans; defaults fit a small boutique."""

    store = models.OneToOneField(Store, on_delete=models.CASCADE, related_name="loyalty_rules")
    survey_rest_days = models.PositiveSmallIntegerField(
        default=90, help_text="A client is asked for a survey at most once in this many days."
    )
    survey_link_days = models.PositiveSmallIntegerField(
        default=30, help_text="How long a survey link can be answered."
    )
    plan_size = models.PositiveSmallIntegerField(
        default=3, help_text="Clients in each associate's weekly extra-mile plan."
    )

    class Meta:
        verbose_name_plural = "loyalty rules"

    def __str__(self) -> str:
        return f"Loyalty rules of {self.store}"


class SurveyTrigger(models.TextChoices):
    """What the survey asks about."""

    PURCHASE = "purchase", "After a purchase"
    PROBLEM = "problem", "After a problem was resolved"
    EXTERNAL = "external", "Answered elsewhere (API or event)"


class Survey(models.Model):
    """One NPS question to one client: sent by a signed link, answered once (0 to 10)."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="surveys")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="surveys")
    trigger = models.CharField(max_length=16, choices=SurveyTrigger.choices)
    order = models.OneToOneField(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="survey"
    )
    problem = models.OneToOneField(
        Problem, null=True, blank=True, on_delete=models.SET_NULL, related_name="survey"
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    score = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    comment = models.TextField(blank=True)
    event_id = models.CharField(
        max_length=200, blank=True, help_text="The survey.answered event that recorded the answer."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["client", "sent_at"])]

    def __str__(self) -> str:
        answered = f"answered {self.score}" if self.score is not None else "not answered"
        return f"Survey of {self.client} ({answered})"


class ReferralSource(models.TextChoices):
    """Where the referral was told."""

    PROFILE = "profile", "Client profile"
    API = "api", "API"
    EVENT = "event", "Event"
    DEMO = "demo", "Demo"


class Referral(models.Model):
    """A client who came because another client sent them; a client is referred once."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="referrals")
    referrer = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="referrals_made")
    referred = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="referred_by")
    recorded_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=16, choices=ReferralSource.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.referred} referred by {self.referrer}"


class StageChoice(models.TextChoices):
    """The loyalty ladder (extramile.engine.loyalty.Stage)."""

    NEW = "new", "New"
    NEUTRAL = "neutral", "Neutral"
    PROMOTER = "promoter", "Promoter"
    ADVOCATE = "advocate", "Advocate"
    AT_RISK = "at_risk", "At risk"
    LAPSED = "lapsed", "Lapsed"


class StageSnapshot(models.Model):
    """A client's loyalty stage in one month (the store's), kept up to date while it runs."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="stage_snapshots")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="stage_snapshots")
    month = models.DateField(help_text="The first day of the month.")
    stage = models.CharField(max_length=16, choices=StageChoice.choices)
    facts = models.JSONField(default=dict, help_text="What the stage rested on.")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-month", "client_id"]
        constraints = [
            models.UniqueConstraint(fields=["client", "month"], name="stage_once_a_month")
        ]
        indexes = [models.Index(fields=["store", "month"])]

    def __str__(self) -> str:
        return f"{self.client} {self.month:%Y-%m}: {self.stage}"


class PlanWhyChoice(models.TextChoices):
    """Why a client is in a weekly plan (extramile.engine.loyalty.PlanWhy)."""

    NEWLY_AT_RISK = "newly_at_risk", "Newly at risk"
    VALUABLE_NEUTRAL = "valuable_neutral", "Valuable but neutral"
    ADVOCATE_TO_THANK = "advocate_to_thank", "An advocate to thank"
    PROMOTER_TO_GROW = "promoter_to_grow", "A promoter to grow"


class PlanState(models.TextChoices):
    """Where a plan item is: planned, done (what was done), outcome recorded."""

    PLANNED = "planned", "Planned"
    DONE = "done", "Done"
    OUTCOME = "outcome", "Outcome recorded"
    HELD_OUT = "held_out", "Held out (control group)"


class PlanOutcome(models.TextChoices):
    """What came of a gesture."""

    DELIGHTED = "delighted", "Delighted"
    BOUGHT = "bought", "Came back and bought"
    REFERRED = "referred", "Sent us someone"
    NO_RESPONSE = "no_response", "No response yet"
    NOT_WELCOME = "not_welcome", "Not welcome"


class PlanItem(models.Model):
    """One client in one associate's weekly extra-mile plan, with the reason and gesture ideas."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="plan_items")
    associate = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="plan_items"
    )
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="plan_items")
    week = models.DateField(help_text="The Monday the week starts on, in the store's time zone.")
    rank = models.PositiveSmallIntegerField(default=0)
    why = models.CharField(max_length=24, choices=PlanWhyChoice.choices)
    stage = models.CharField(max_length=16, choices=StageChoice.choices)
    reason = models.TextField()
    ideas = models.JSONField(default=list, help_text="Gesture ideas, each in plain words.")
    evidence = models.JSONField(default=dict)
    score = models.FloatField(default=0.0)
    action = models.ForeignKey(
        Action, null=True, blank=True, on_delete=models.SET_NULL, related_name="plan_items"
    )
    state = models.CharField(max_length=12, choices=PlanState.choices, default="planned")
    done_at = models.DateTimeField(null=True, blank=True)
    done_note = models.TextField(blank=True, help_text="What was done.")
    outcome = models.CharField(max_length=16, choices=PlanOutcome.choices, blank=True)
    outcome_note = models.TextField(blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["week", "associate_id", "rank", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["associate", "week", "client"], name="plan_client_once_a_week"
            )
        ]
        indexes = [models.Index(fields=["store", "week"])]

    def __str__(self) -> str:
        return f"{self.client} in {self.associate}'s plan of {self.week}"
