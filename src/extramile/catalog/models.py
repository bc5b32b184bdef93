"""Products with variants, attributes, prices, stock per variant per store, photos, arrival date."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone

from extramile.accounts.models import Store


class ProductStatus(models.TextChoices):
    """Whether a product is on sale."""

    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"


class Product(models.Model):
    """A product as the client sees it; sizes and colours are its variants."""

    external_ref = models.CharField(max_length=64, unique=True, help_text="Style code or SKU root.")
    shopify_id = models.BigIntegerField(null=True, blank=True, unique=True)
    title = models.CharField(max_length=255)
    brand = models.CharField(max_length=100, blank=True, db_index=True)
    category = models.CharField(
        max_length=200, blank=True, db_index=True, help_text='A path, such as "Apparel/Suits".'
    )
    colour = models.CharField(max_length=60, blank=True)
    material = models.CharField(max_length=100, blank=True)
    style_tags = models.JSONField(default=list, blank=True, help_text='["classic", "wool"]')
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    cost = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    arrived_on = models.DateField(null=True, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=ProductStatus.choices, default="active")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Variant(models.Model):
    """One buyable version of a product: a size and a colour, with its own SKU and price."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64, unique=True)
    shopify_id = models.BigIntegerField(null=True, blank=True, unique=True)
    size = models.CharField(max_length=32, blank=True)
    colour = models.CharField(max_length=60, blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    cost = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    barcode = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["product_id", "id"]

    def __str__(self) -> str:
        extras = " / ".join(v for v in (self.size, self.colour) if v)
        return f"{self.product.title} ({extras})" if extras else self.product.title

    @property
    def effective_price(self) -> Decimal | None:
        """The variant's own price, else the product's."""
        return self.price if self.price is not None else self.product.price


class Stock(models.Model):
    """Units of one variant on hand in one store."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="stock")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="stock")
    quantity = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["variant", "store"], name="one_stock_row_per_store")
        ]

    def __str__(self) -> str:
        return f"{self.variant.sku} @ {self.store.code}: {self.quantity}"


def photo_path(instance: Photo, filename: str) -> str:
    """Store photos under the product they show."""
    return f"products/{instance.product_id}/{filename}"


class Photo(models.Model):
    """A picture of a product: a file we hold, or the address of one held elsewhere."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to=photo_path, blank=True)
    source_url = models.URLField(max_length=500, blank=True)
    alt = models.CharField(max_length=255, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["product_id", "position", "id"]

    def __str__(self) -> str:
        return self.alt or f"Photo of {self.product_id}"

    @property
    def url(self) -> str:
        """Where a browser can fetch the picture."""
        return self.image.url if self.image else self.source_url
