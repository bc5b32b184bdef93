"""Orders with their lines, channel and life: placed, fulfilled, cancelled, refunded."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from extramile.accounts.models import Store
from extramile.catalog.models import Product, Variant
from extramile.clients.models import Client


class OrderChannel(models.TextChoices):
    """Where the order was placed."""

    STORE = "store", "In store"
    ONLINE = "online", "Online"
    PHONE = "phone", "By phone"


class OrderStatus(models.TextChoices):
    """Where the order is in its life."""

    PLACED = "placed", "Placed"
    FULFILLED = "fulfilled", "Fulfilled"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"


class Order(models.Model):
    """A purchase by a client (or a walk-in) in one store, on one channel."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="orders")
    client = models.ForeignKey(
        Client, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    associate = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sales",
    )
    external_ref = models.CharField(max_length=64, unique=True, help_text="Receipt or order id.")
    shopify_id = models.BigIntegerField(null=True, blank=True, unique=True)
    channel = models.CharField(max_length=16, choices=OrderChannel.choices, default="store")
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default="placed")
    currency = models.CharField(max_length=3, default="USD")
    total = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    placed_at = models.DateTimeField(default=timezone.now, db_index=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=255, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    refunded_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    note = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        indexes = [models.Index(fields=["client", "-placed_at"])]

    def __str__(self) -> str:
        return f"Order {self.external_ref}"


class OrderLine(models.Model):
    """One product in an order, with the quantity and price paid."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="order_lines"
    )
    variant = models.ForeignKey(
        Variant, null=True, blank=True, on_delete=models.SET_NULL, related_name="order_lines"
    )
    title = models.CharField(max_length=255, blank=True)
    sku = models.CharField(max_length=64, blank=True)
    quantity = models.IntegerField(default=1)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    unit_cost = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    line_ref = models.CharField(max_length=64, blank=True, help_text="Line id in the source.")

    class Meta:
        ordering = ["order_id", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.title or self.sku}"

    @property
    def line_total(self) -> Decimal:
        """Quantity times unit price."""
        return self.unit_price * self.quantity


class Refund(models.Model):
    """Money given back on an order."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    external_ref = models.CharField(max_length=64, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Refund {self.external_ref} on {self.order}"
