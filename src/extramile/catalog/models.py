"""Products with variants, attributes, prices, stock per store, photos; the sales a store runs."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
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


MAX_PERCENT_OFF = 90
MAX_PREVIEW_DAYS = 30


def _path(category: str) -> list[str]:
    return [part.strip().lower() for part in category.split("/") if part.strip()]


class Sale(models.Model):
    """A sale a store announces ahead: its days, what is reduced and by how much.

    A sale covers the products listed and every product whose category starts with one of
    `category_prefixes`, level by level ("Men/Suits" covers "Men/Suits" and "Men/Suits/Tweed",
    not "Men/Suitcases"). Clients whose interests match hear of it `preview_days` before it
    opens (extramile.moments.detectors.sale_preview).
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="sales")
    name = models.CharField(max_length=120, help_text='As clients will read it: "Winter Sale".')
    starts_on = models.DateField(help_text="The first day of the sale, in the store's time zone.")
    ends_on = models.DateField(help_text="The last day of the sale.")
    preview_days = models.PositiveSmallIntegerField(
        default=3,
        validators=[MaxValueValidator(MAX_PREVIEW_DAYS)],
        help_text="How many days before it opens matching clients hear of it.",
    )
    percent_off = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_PERCENT_OFF)],
        help_text=f"The reduction, from 1 to {MAX_PERCENT_OFF} percent.",
    )
    products = models.ManyToManyField(Product, blank=True, related_name="sales")
    category_prefixes = models.JSONField(
        default=list,
        blank=True,
        help_text='Categories reduced, with everything under them: ["Men/Suits", "Men/Knitwear"].',
    )
    note = models.TextField(blank=True, help_text="For the team; clients do not see it.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-starts_on", "name"]
        indexes = [models.Index(fields=["store", "starts_on"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="sale_ends_after_it_starts",
            ),
            models.CheckConstraint(
                condition=models.Q(percent_off__gte=1, percent_off__lte=MAX_PERCENT_OFF),
                name="sale_percent_off_1_to_90",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.starts_on} to {self.ends_on})"

    def clean(self) -> None:
        """Order the dates, bound the reduction and check the categories are a list of paths."""
        super().clean()
        errors: dict[str, str] = {}
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            errors["ends_on"] = (
                f"The sale ends on {self.ends_on} before it starts on {self.starts_on}."
            )
        if self.percent_off is not None and not 1 <= self.percent_off <= MAX_PERCENT_OFF:
            errors["percent_off"] = (
                f"A sale takes 1 to {MAX_PERCENT_OFF} percent off, not {self.percent_off}."
            )
        prefixes = self.category_prefixes
        if not isinstance(prefixes, list) or not all(
            isinstance(p, str) and _path(p) for p in prefixes
        ):
            errors["category_prefixes"] = (
                'Give the categories as a list of paths, such as ["Men/Suits", "Men/Knitwear"].'
            )
        if errors:
            raise ValidationError(errors)

    @property
    def preview_opens_on(self) -> dt.date:
        """The first day clients hear of the sale."""
        return self.starts_on - dt.timedelta(days=self.preview_days)

    def covers_category(self, category: str) -> bool:
        """Say whether a product of this category is in the sale by its category."""
        path = _path(category)
        for prefix in self.category_prefixes or []:
            wanted = _path(prefix) if isinstance(prefix, str) else []
            if wanted and path[: len(wanted)] == wanted:
                return True
        return False

    def sale_price(self, price: Decimal) -> Decimal:
        """The price in the sale, to the cent."""
        reduced = price * (100 - self.percent_off) / 100
        return reduced.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
