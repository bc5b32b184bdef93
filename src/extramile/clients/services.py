"""Use cases of the client book: normalising contact points, consent, and the one timeline."""

from __future__ import annotations

import datetime as dt
import re

import phonenumbers
from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from extramile.accounts.models import User
from extramile.clients.models import Channel, Client, Consent


class InvalidContact(ValueError):
    """A phone number or email that cannot be used, with the reason in plain words."""


def normalize_email(raw: str) -> str:
    """Return the email trimmed and lower-cased, or raise InvalidContact."""
    value = (raw or "").strip().lower()
    if not value:
        return ""
    local, _, domain = value.partition("@")
    if not local or "." not in domain or " " in value:
        raise InvalidContact(f"{raw!r} is not an email address")
    return value


def normalize_phone(raw: str, *, region: str | None = None) -> str:
    """Return the number in E.164 (+14155550123), or raise InvalidContact.

    Uses Google's libphonenumber rules (the `phonenumbers` package); numbers without a country
    code are read in `region`, by default settings.DEFAULT_PHONE_REGION.
    """
    value = (raw or "").strip()
    if not value:
        return ""
    try:
        parsed = phonenumbers.parse(value, region or settings.DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise InvalidContact(f"{raw!r} is not a phone number ({exc})") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidContact(f"{raw!r} is not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def current_consents(client: Client) -> dict[str, Consent]:
    """Return the consent in force per channel (the latest decision)."""
    found: dict[str, Consent] = {}
    for consent in client.consents.order_by("-recorded_at", "-id"):
        found.setdefault(consent.channel, consent)
    return found


def record_consent(
    client: Client,
    *,
    channel: Channel | str,
    granted: bool,
    source: str,
    at: dt.datetime | None = None,
    by: User | None = None,
) -> Consent | None:
    """Record a consent decision unless it repeats the one in force; return the new row."""
    latest = client.consents.filter(channel=channel).order_by("-recorded_at", "-id").first()
    if latest is not None and latest.granted == granted:
        return None
    return Consent.objects.create(
        client=client,
        channel=channel,
        granted=granted,
        source=source,
        recorded_at=at or timezone.now(),
        recorded_by=by,
    )


def search_clients(queryset: QuerySet[Client], query: str) -> QuerySet[Client]:
    """Narrow clients to those matching every word of the query.

    Each word may match a first or last name, the email, a tag, or — when it holds digits —
    the phone number, compared on digits alone so "555 0123" finds "+14155550123".
    """
    for word in query.split():
        digits = re.sub(r"\D", "", word)
        condition = (
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email__icontains=word)
            | Q(tags__name__iexact=word.lstrip("#"))
        )
        if len(digits) >= 3:
            condition |= Q(phone__contains=digits)
        queryset = queryset.filter(condition)
    return queryset.distinct() if query.strip() else queryset
