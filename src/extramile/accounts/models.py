"""Stores, staff users with a role and a home store, and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from zoneinfo import available_timezones

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


def validate_time_zone(value: str) -> None:
    """Refuse a time zone name that the IANA database does not know."""
    if value and value not in available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (for example Europe/Paris).")


class Store(models.Model):
    """A shop or branch; staff and clients belong to one."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    currency = models.CharField(max_length=3, default="USD")
    address = models.TextField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    """What a staff member may do: associates and managers work within one store."""

    ASSOCIATE = "associate", "Associate"
    MANAGER = "manager", "Manager"
    ADMIN = "admin", "Admin"


class User(AbstractUser):
    """A member of staff: an associate, a store manager or an admin."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ASSOCIATE)
    store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.PROTECT, related_name="staff"
    )
    phone = models.CharField(max_length=32, blank=True)
    leaving_on = models.DateField(
        null=True, blank=True, help_text="Last working day, when an associate is about to leave."
    )
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["username"]

    def clean(self) -> None:
        """Require a home store for associates and managers."""
        super().clean()
        if self.role != Role.ADMIN and self.store_id is None:
            raise ValidationError({"store": "Associates and managers need a home store."})

    def save(self, *args: object, **kwargs: object) -> None:
        """Keep Django's staff and superuser flags in line with the role."""
        self.is_staff = self.role in (Role.MANAGER, Role.ADMIN)
        self.is_superuser = self.role == Role.ADMIN
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def is_admin(self) -> bool:
        """Admins see every store."""
        return self.role == Role.ADMIN

    @property
    def display_name(self) -> str:
        """The name shown to colleagues and clients."""
        return self.get_full_name() or self.username


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    """Look-ups of tokens by their secret."""

    def active_for_secret(self, raw: str) -> ApiToken | None:
        """Return the live token for a raw secret, or None."""
        return (
            self.select_related("user", "user__store")
            .filter(key_hash=_hash_token(raw), revoked_at__isnull=True, user__is_active=True)
            .first()
        )


class ApiToken(models.Model):
    """A bearer token for the REST API; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=8, help_text="First characters, to tell tokens apart.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def issue(cls, user: User, name: str = "default") -> tuple[ApiToken, str]:
        """Create a token and return it with its raw secret, which is shown only once."""
        raw = "em_" + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, prefix=raw[:8], key_hash=_hash_token(raw))
        return token, raw


class Absence(models.Model):
    """A stretch of days an associate is away; their clients' service actions go to the backup."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="absences")
    starts_on = models.DateField()
    ends_on = models.DateField(help_text="The last day away.")
    backup = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        related_name="absences_covered",
        help_text="A colleague of the same store who takes their clients' service actions.",
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-starts_on", "id"]
        indexes = [models.Index(fields=["user", "ends_on"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="absence_ends_after_it_starts",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} away {self.starts_on} to {self.ends_on}"

    def clean(self) -> None:
        """Refuse a backup who is inactive, of another store or the same person; order the dates."""
        super().clean()
        errors = absence_problems(
            user=self.user if self.user_id else None,
            backup=self.backup if self.backup_id else None,
            starts_on=self.starts_on,
            ends_on=self.ends_on,
        )
        if errors:
            raise ValidationError(errors)

    def covers(self, day: dt.date) -> bool:
        """Say whether the associate is away on this day."""
        return self.starts_on <= day <= self.ends_on


def backup_on(absences: Iterable[Absence], day: dt.date) -> User | None:
    """The working colleague covering on this day, of one associate's absences, else None."""
    for absence in absences:
        if absence.covers(day) and is_working(absence.backup):
            return absence.backup
    return None


def absence_problems(
    *,
    user: User | None,
    backup: User | None,
    starts_on: dt.date | None,
    ends_on: dt.date | None,
) -> dict[str, str]:
    """Say what is wrong with an absence, field by field (empty when it is right)."""
    errors: dict[str, str] = {}
    if starts_on and ends_on and ends_on < starts_on:
        errors["ends_on"] = f"The last day ({ends_on:%d %b %Y}) comes before the first day."
    if user is None or backup is None:
        return errors
    if backup.pk == user.pk:
        errors["backup"] = f"{user.display_name} cannot be their own backup."
    elif not is_working(backup):
        errors["backup"] = f"{backup.display_name} is deactivated; choose an active colleague."
    elif backup.store_id != user.store_id:
        errors["backup"] = f"{backup.display_name} works at another store than {user.display_name}."
    return errors


def is_working(user: User) -> bool:
    """Say whether the member of staff is active: not deactivated."""
    return user.is_active and user.deactivated_at is None


class ClientHandover(models.Model):
    """A client handed from one associate to another, when the first left; kept for the record."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="handovers")
    client = models.ForeignKey("clients.Client", on_delete=models.CASCADE, related_name="handovers")
    from_associate = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="clients_handed_over"
    )
    to_associate = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="clients_taken_over"
    )
    why = models.CharField(max_length=255, help_text="Why this colleague took the client.")
    handed_over_at = models.DateTimeField(default=timezone.now)
    handed_over_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-handed_over_at", "id"]

    def __str__(self) -> str:
        return f"{self.client_id} from {self.from_associate} to {self.to_associate}"
