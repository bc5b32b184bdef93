"""Clients with their contact points, consent, dates, sizes, tastes, needs, notes and relations."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from extramile.accounts.models import Store, validate_time_zone


class ClientStatus(models.TextChoices):
    """Where a client stands with the store."""

    ACTIVE = "active", "Active"
    LAPSED = "lapsed", "Lapsed"
    ARCHIVED = "archived", "Archived"
    MERGED = "merged", "Merged into another client"


class Tag(models.Model):
    """A free label on clients, such as "vip" or "wedding 2027"."""

    name = models.CharField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ClientQuerySet(models.QuerySet["Client"]):
    """Common narrowing of the client book."""

    def current(self) -> ClientQuerySet:
        """Leave out clients that were merged into another record."""
        return self.exclude(status=ClientStatus.MERGED)


class Client(models.Model):
    """A person the store serves; belongs to one store and usually one primary associate."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="clients")
    primary_associate = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="primary_clients",
    )
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    # The primary contact points; further ones are ContactPoint rows.
    email = models.EmailField(blank=True, db_index=True, help_text="Stored lower-case.")
    phone = models.CharField(max_length=32, blank=True, db_index=True, help_text="E.164.")
    address = models.TextField(blank=True)
    language = models.CharField(max_length=16, default="en")
    time_zone = models.CharField(max_length=64, blank=True, validators=[validate_time_zone])
    status = models.CharField(max_length=16, choices=ClientStatus.choices, default="active")
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="clients")
    # Identity in the systems it came from; imports match on these to stay idempotent.
    external_ref = models.CharField(max_length=64, blank=True, help_text="POS or import id.")
    shopify_id = models.BigIntegerField(null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ClientQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "external_ref"],
                condition=~models.Q(external_ref=""),
                name="client_unique_external_ref_per_store",
            )
        ]
        indexes = [models.Index(fields=["store", "last_name", "first_name"])]

    def __str__(self) -> str:
        return self.full_name or self.email or self.phone or f"Client {self.pk}"

    @property
    def full_name(self) -> str:
        """First and last name, as far as known."""
        return f"{self.first_name} {self.last_name}".strip()


class ContactKind(models.TextChoices):
    """Ways to reach a client."""

    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    ADDRESS = "address", "Postal address"


class ContactPoint(models.Model):
    """A further email, phone or address of a client, beyond the primary ones."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="contact_points")
    kind = models.CharField(max_length=16, choices=ContactKind.choices)
    value = models.CharField(max_length=255, help_text="Normalised: email lower-case, phone E.164.")
    label = models.CharField(max_length=40, blank=True, help_text="home, work, mobile…")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "kind", "value"], name="contact_point_once")
        ]
        indexes = [models.Index(fields=["kind", "value"])]

    def __str__(self) -> str:
        return f"{self.kind}: {self.value}"


class Channel(models.TextChoices):
    """Channels a client can consent to be contacted on."""

    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PHONE = "phone", "Phone call"
    MAIL = "mail", "Post"


class Consent(models.Model):
    """One consent decision for one channel; the latest per channel is in force."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    granted = models.BooleanField()
    recorded_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=120, help_text="How it was given: form, shopify, call…")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["client", "channel", "-recorded_at"])]

    def __str__(self) -> str:
        return f"{self.channel} {'yes' if self.granted else 'no'} ({self.source})"


class DateKind(models.TextChoices):
    """Kinds of dates worth remembering."""

    BIRTHDAY = "birthday", "Birthday"
    ANNIVERSARY = "anniversary", "Anniversary"
    OTHER = "other", "Other"


class ImportantDate(models.Model):
    """A yearly date in the client's life; the year is optional."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="important_dates")
    kind = models.CharField(max_length=16, choices=DateKind.choices, default=DateKind.BIRTHDAY)
    label = models.CharField(max_length=100, blank=True)
    month = models.PositiveSmallIntegerField()
    day = models.PositiveSmallIntegerField()
    year = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["month", "day"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(month__gte=1, month__lte=12, day__gte=1, day__lte=31),
                name="important_date_valid_month_day",
            )
        ]

    def __str__(self) -> str:
        return f"{self.label or self.get_kind_display()} {self.month:02d}-{self.day:02d}"


class Size(models.Model):
    """The size a client wears in one category (suits 40R, shoes 9, dresses M)."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="sizes")
    category = models.CharField(max_length=100)
    size = models.CharField(max_length=32)

    class Meta:
        ordering = ["category"]
        constraints = [
            models.UniqueConstraint(fields=["client", "category"], name="one_size_per_category")
        ]

    def __str__(self) -> str:
        return f"{self.category}: {self.size}"


class PreferenceSource(models.TextChoices):
    """Whether the client said it or we saw it in what they bought."""

    STATED = "stated", "Stated by the client"
    OBSERVED = "observed", "Observed in purchases"


class PreferenceDimension(models.TextChoices):
    """What a like or dislike is about."""

    BRAND = "brand", "Brand"
    COLOUR = "colour", "Colour"
    STYLE = "style", "Style"
    CATEGORY = "category", "Category"
    MATERIAL = "material", "Material"
    PRICE_BAND = "price_band", "Price band"
    OTHER = "other", "Other"


class Preference(models.Model):
    """A like or dislike, stated by the client or observed."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="preferences")
    dimension = models.CharField(max_length=16, choices=PreferenceDimension.choices)
    value = models.CharField(max_length=100)
    likes = models.BooleanField(default=True, help_text="False for a dislike.")
    source = models.CharField(max_length=16, choices=PreferenceSource.choices, default="stated")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["dimension", "value"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "dimension", "value"], name="one_preference_per_value"
            )
        ]

    def __str__(self) -> str:
        return f"{'likes' if self.likes else 'dislikes'} {self.dimension} {self.value}"


class Need(models.Model):
    """A need in the client's own words, with an optional budget."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="needs")
    text = models.TextField()
    budget = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    stated_at = models.DateTimeField(default=timezone.now)
    met_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-stated_at"]

    def __str__(self) -> str:
        return self.text[:60]


class Note(models.Model):
    """A note by a member of staff, visible to every colleague who may see the client."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.body[:60]


class RelationKind(models.TextChoices):
    """How two clients are related."""

    HOUSEHOLD = "household", "Same household"
    REFERRED_BY = "referred_by", "Was referred by"


class Relation(models.Model):
    """A household tie or a referral between two clients."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="relations")
    other = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="relations_to")
    kind = models.CharField(max_length=16, choices=RelationKind.choices)
    label = models.CharField(max_length=60, blank=True, help_text="spouse, daughter, friend…")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "other", "kind"], name="relation_once"),
            models.CheckConstraint(
                condition=~models.Q(client=models.F("other")), name="relation_not_to_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client} {self.kind} {self.other}"
