"""Problems a client met (an item left behind, a defect, a late delivery) and their resolution."""

from __future__ import annotations

from django.conf import settings
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
    """Whether the problem is still open."""

    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


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
    reported_at = models.DateTimeField(default=timezone.now)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    external_ref = models.CharField(
        max_length=200, unique=True, null=True, blank=True, help_text="The reporting event's id."
    )

    class Meta:
        ordering = ["-reported_at"]
        indexes = [models.Index(fields=["client", "status"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.client}"
