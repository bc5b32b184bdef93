"""Problems a client met and their resolution, promises made to clients, and who is on call.

A problem moves open → in progress → resolved; open and in progress both count as unresolved
(marketing stays silent). A promise ends in one of four outcomes, judged in the store's time zone
(see Promise). Opening hours and on-call shifts say who answers an urgent problem out of hours.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from extramile.accounts.models import Store
from extramile.catalog.models import Product
from extramile.clients.models import Client
from extramile.orders.models import Order


class ProblemKind(models.TextChoices):
    """What went wrong."""

    LEFT_BEHIND = "left_behind", "Item left behind"
    DEFECT = "defect", "Defect"
    LATE_DELIVERY = "late_delivery", "Late delivery"
    OTHER = "other", "Other"


class ProblemStatus(models.TextChoices):
    """Where the problem stands: open, in progress (someone is on it), resolved."""

    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    RESOLVED = "resolved", "Resolved"


# Both count as "not resolved yet": marketing stays silent, the problem is listed first.
UNRESOLVED = (ProblemStatus.OPEN, ProblemStatus.IN_PROGRESS)


class Urgency(models.TextChoices):
    """How soon the problem must be answered; urgent ones reach the on-call associate."""

    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    URGENT = "urgent", "Urgent"


class Problem(models.Model):
    """A problem reported by or for a client; open problems silence marketing to them."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="problems")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="problems")
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="problems"
    )
    product = models.ForeignKey(
        Product,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="problems",
        help_text="The item involved, when there is one.",
    )
    kind = models.CharField(max_length=20, choices=ProblemKind.choices)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=ProblemStatus.choices, default="open")
    urgency = models.CharField(max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_problems",
        help_text="The member of staff who sees it through.",
    )
    promised_by = models.DateTimeField(
        null=True, blank=True, help_text="When the client was told it would be put right."
    )
    reported_at = models.DateTimeField(default=timezone.now)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    started_at = models.DateTimeField(null=True, blank=True, help_text="When work on it began.")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="resolved_problems",
    )
    resolution = models.TextField(blank=True)
    external_ref = models.CharField(
        max_length=200, unique=True, null=True, blank=True, help_text="The reporting event's id."
    )

    class Meta:
        ordering = ["-reported_at"]
        indexes = [models.Index(fields=["client", "status"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.client}"

    @property
    def is_resolved(self) -> bool:
        """Whether the problem has been put right."""
        return self.status == ProblemStatus.RESOLVED


class PromiseOutcome(models.TextChoices):
    """How a promise ended (see Promise for the rule)."""

    KEPT_EARLY = "kept_early", "Kept early"
    KEPT_ON_TIME = "kept_on_time", "Kept on time"
    KEPT_LATE = "kept_late", "Kept late"
    BROKEN = "broken", "Broken"


KEPT_OUTCOMES = (PromiseOutcome.KEPT_EARLY, PromiseOutcome.KEPT_ON_TIME, PromiseOutcome.KEPT_LATE)


class Promise(models.Model):
    """Something a member of staff told a client would happen by a time ("call you by Friday").

    The outcome is judged in the store's time zone, once, when the promise is kept or broken:

    - kept early: kept on a day before the due day;
    - kept on time: kept on the due day, no later than due_at;
    - kept late: kept after due_at, but less than a full day after it;
    - broken: not kept within a full day after due_at. The hourly sweep marks it so
      (broken_at = due_at + one day); keeping it later records kept_at, but the outcome stays
      broken — the client waited past the promise and the day of grace.

    A promise given as a day only ("by the 12th") is due at the end of that day.
    """

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="promises")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="promises")
    action = models.ForeignKey(
        "moments.Action",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="promises",
        help_text="The action it was made on, if any.",
    )
    problem = models.ForeignKey(
        Problem, null=True, blank=True, on_delete=models.SET_NULL, related_name="promises"
    )
    text = models.CharField(max_length=300, help_text="What was promised, in plain words.")
    due_at = models.DateTimeField(db_index=True)
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="promises_made",
    )
    made_at = models.DateTimeField(default=timezone.now)
    kept_at = models.DateTimeField(null=True, blank=True)
    kept_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="promises_kept",
    )
    broken_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=PromiseOutcome.choices, blank=True)
    external_ref = models.CharField(
        max_length=200, unique=True, null=True, blank=True, help_text="The promise.made event's id."
    )

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["made_by", "outcome", "due_at"]),
            models.Index(fields=["client", "due_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.text} ({self.client})"

    @property
    def is_open(self) -> bool:
        """Whether the promise still waits to be kept (neither kept nor broken)."""
        return not self.outcome


class OpeningHours(models.Model):
    """When a store is open on one day of the week (0 Monday … 6 Sunday), in its time zone.

    A day without a row is a closed day; a store with no rows at all is treated as always open
    (nothing is "out of hours" until the manager says when the store opens).
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(
        choices=[
            (0, "Monday"),
            (1, "Tuesday"),
            (2, "Wednesday"),
            (3, "Thursday"),
            (4, "Friday"),
            (5, "Saturday"),
            (6, "Sunday"),
        ]
    )
    opens_at = models.TimeField()
    closes_at = models.TimeField()

    class Meta:
        ordering = ["store", "weekday", "opens_at"]
        verbose_name_plural = "opening hours"

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M} to {self.closes_at:%H:%M}"

    def clean(self) -> None:
        """Require the store to close after it opens."""
        if (
            self.opens_at is not None
            and self.closes_at is not None
            and self.closes_at <= self.opens_at
        ):
            raise ValidationError({"closes_at": "Closing time must come after opening time."})


class OnCallShift(models.Model):
    """An associate who answers urgent problems for a store between two moments."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="on_call_shifts")
    associate = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="on_call_shifts"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["store", "starts_at"]
        indexes = [models.Index(fields=["store", "starts_at", "ends_at"])]

    def __str__(self) -> str:
        return f"{self.associate} on call {self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%H:%M}"

    def clean(self) -> None:
        """Require the shift to end after it starts, for someone of the store."""
        errors = {}
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = "The shift must end after it starts."
        associate = getattr(self, "associate", None) if self.associate_id else None
        if associate is not None and self.store_id and associate.store_id != self.store_id:
            errors["associate"] = "The associate must work at this store."
        if errors:
            raise ValidationError(errors)


def unresolved_first(problems: models.QuerySet[Problem]) -> models.QuerySet[Problem]:
    """Order problems: unresolved first, then urgent before normal before low, newest first."""
    return problems.annotate(
        resolved_rank=models.Case(
            models.When(status=ProblemStatus.RESOLVED, then=models.Value(1)),
            default=models.Value(0),
            output_field=models.IntegerField(),
        ),
        urgency_rank=models.Case(
            models.When(urgency=Urgency.URGENT, then=models.Value(0)),
            models.When(urgency=Urgency.NORMAL, then=models.Value(1)),
            default=models.Value(2),
            output_field=models.IntegerField(),
        ),
    ).order_by("resolved_rank", "urgency_rank", "-reported_at", "-id")
