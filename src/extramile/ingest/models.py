"""The log of every inbound event and import, keyed so a replay changes nothing."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class EventStatus(models.TextChoices):
    """What became of an inbound event."""

    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"


class InboundEvent(models.Model):
    """One thing that arrived from outside: a webhook, an API call, a file imported."""

    source = models.CharField(max_length=32, help_text="shopify, csv, vcard, tafeng, api…")
    topic = models.CharField(max_length=64, help_text="orders/create, clients, …")
    idempotency_key = models.CharField(max_length=200, unique=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=EventStatus.choices, default="processed")
    summary = models.JSONField(default=dict, blank=True, help_text="Counts and row errors.")

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.source} {self.topic} {self.idempotency_key[:16]}"
