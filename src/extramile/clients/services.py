"""Use cases of the client book: normalising contact points, consent, and the one timeline."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from extramile.accounts.models import Store, User, validate_time_zone
from extramile.clients.models import (
    Channel,
    Client,
    ClientStatus,
    Consent,
    DateKind,
    ImportantDate,
    Need,
    Note,
    Preference,
    PreferenceDimension,
    PreferenceSource,
    Size,
    Tag,
)
from extramile.orders.models import Order, Refund


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


# --- Writing the client record: the quick edits of the web app and the API ---------------------

_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$", re.IGNORECASE)


def validate_language(value: str) -> None:
    """Refuse a language that is not a BCP 47 style tag such as "en", "fr" or "pt-BR"."""
    if not _LANGUAGE_TAG.match(value or ""):
        raise ValidationError(f"{value!r} is not a language code (for example en, fr or pt-BR).")


def _check_primary_associate(store: Store, associate: User | None) -> None:
    if associate is not None and associate.store_id != store.pk:
        raise ValidationError(
            {"primary_associate": f"{associate.display_name} does not work at {store.name}."}
        )


def create_client(
    *,
    store: Store,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    phone: str = "",
    address: str = "",
    language: str = "en",
    time_zone: str = "",
    status: ClientStatus | str = ClientStatus.ACTIVE,
    primary_associate: User | None = None,
) -> Client:
    """Create a client of a store with normalised contact points; raise ValidationError."""
    return update_client(
        Client(store=store),
        first_name=first_name,
        last_name=last_name,
        email=email,
        phone=phone,
        address=address,
        language=language,
        time_zone=time_zone or store.time_zone,
        status=status,
        primary_associate=primary_associate,
    )


@transaction.atomic
def update_client(
    client: Client,
    *,
    first_name: str,
    last_name: str,
    email: str,
    phone: str,
    address: str,
    language: str,
    time_zone: str,
    status: ClientStatus | str,
    primary_associate: User | None,
) -> Client:
    """Change and save the main fields of a client; raise ValidationError naming the field."""
    values, errors = _normalized_contact(email=email, phone=phone)
    for field, value in values.items():
        setattr(client, field, value)
    for field, validate, value in (
        ("language", validate_language, language),
        ("time_zone", validate_time_zone, time_zone),
    ):
        try:
            validate(value)
        except ValidationError as exc:
            errors[field] = " ".join(exc.messages)
    if status not in ClientStatus.values:
        errors["status"] = f"{status!r} is not a client status."
    elif status == ClientStatus.MERGED and client.status != ClientStatus.MERGED:
        errors["status"] = "Clients are marked merged only by merging them into another."
    if not (first_name.strip() or last_name.strip() or email.strip() or phone.strip()):
        errors["first_name"] = "Give at least a name, an email or a phone number."
    if errors:
        raise ValidationError(errors)
    _check_primary_associate(client.store, primary_associate)
    client.first_name = first_name.strip()
    client.last_name = last_name.strip()
    client.address = address.strip()
    client.language = language
    client.time_zone = time_zone
    client.status = status
    client.primary_associate = primary_associate
    client.save()
    return client


def _normalized_contact(*, email: str, phone: str) -> tuple[dict[str, str], dict[str, str]]:
    """Return the email and phone that can be used, normalised, and why the others cannot."""
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for field, normalize, raw in (
        ("email", normalize_email, email),
        ("phone", normalize_phone, phone),
    ):
        try:
            values[field] = normalize(raw)
        except InvalidContact as exc:
            errors[field] = str(exc)
    return values, errors


def update_contact(client: Client, *, email: str, phone: str, address: str) -> Client:
    """Change the primary email, phone and address, normalised; raise ValidationError."""
    values, errors = _normalized_contact(email=email, phone=phone)
    if errors:
        raise ValidationError(errors)
    client.email = values["email"]
    client.phone = values["phone"]
    client.address = address.strip()
    client.save(update_fields=["email", "phone", "address", "updated_at"])
    return client


def add_note(
    client: Client, *, body: str, author: User | None, at: dt.datetime | None = None
) -> Note:
    """Write a note on the client, visible to every colleague who may see them."""
    text = body.strip()
    if not text:
        raise ValidationError({"body": "A note cannot be empty."})
    return Note.objects.create(
        client=client, author=author, body=text, created_at=at or timezone.now()
    )


def set_size(client: Client, *, category: str, size: str) -> Size:
    """Record the size the client wears in a category, replacing the one known before."""
    category, size = category.strip(), size.strip()
    if not category or not size:
        raise ValidationError({"category" if not category else "size": "This field is required."})
    existing = client.sizes.filter(category__iexact=category).first()
    if existing is None:
        return Size.objects.create(client=client, category=category, size=size)
    existing.category, existing.size = category, size
    existing.save(update_fields=["category", "size"])
    return existing


def add_preference(
    client: Client,
    *,
    dimension: PreferenceDimension | str,
    value: str,
    likes: bool = True,
    source: PreferenceSource | str = PreferenceSource.STATED,
    at: dt.datetime | None = None,
) -> Preference:
    """Record a like or dislike; the same dimension and value replaces the earlier one."""
    value = value.strip()
    if not value:
        raise ValidationError({"value": "This field is required."})
    if dimension not in PreferenceDimension.values:
        raise ValidationError({"dimension": f"{dimension!r} is not a preference dimension."})
    if source not in PreferenceSource.values:
        raise ValidationError({"source": f"{source!r} is not a preference source."})
    existing = client.preferences.filter(dimension=dimension, value__iexact=value).first()
    preference = existing or Preference(client=client, dimension=dimension)
    preference.value = value
    preference.likes = likes
    preference.source = source
    preference.recorded_at = at or timezone.now()
    preference.save()
    return preference


def add_important_date(
    client: Client,
    *,
    kind: DateKind | str,
    month: int,
    day: int,
    year: int | None = None,
    label: str = "",
) -> ImportantDate:
    """Remember a yearly date; refuse days the month does not have (29 Feb needs no year)."""
    if kind not in DateKind.values:
        raise ValidationError({"kind": f"{kind!r} is not a kind of date."})
    if not 1 <= month <= 12:
        raise ValidationError({"month": f"{month} is not a month (1-12)."})
    # A leap year stands in when the year is unknown, so 29 February is allowed.
    days_in_month = calendar.monthrange(year or 2000, month)[1]
    if not 1 <= day <= days_in_month:
        raise ValidationError(
            {
                "day": f"{calendar.month_name[month]} has no day {day}"
                + (f" in {year}." if year else ".")
            }
        )
    if year is not None and not 1900 <= year <= timezone.now().year + 10:
        raise ValidationError({"year": f"{year} is not a plausible year."})
    return ImportantDate.objects.create(
        client=client, kind=kind, month=month, day=day, year=year, label=label.strip()
    )


def remove_detail(detail: Size | Preference | ImportantDate) -> None:
    """Forget a size, a like or dislike, or an important date."""
    detail.delete()


def add_need(
    client: Client, *, text: str, budget: Decimal | None = None, at: dt.datetime | None = None
) -> Need:
    """Write down a need in the client's own words, with an optional budget."""
    text = text.strip()
    if not text:
        raise ValidationError({"text": "Say what the client needs."})
    if budget is not None and budget < 0:
        raise ValidationError({"budget": "A budget cannot be negative."})
    return Need.objects.create(
        client=client, text=text, budget=budget, stated_at=at or timezone.now()
    )


def mark_need_met(need: Need, *, at: dt.datetime | None = None) -> Need:
    """Mark a need as met (once; a second call keeps the first time)."""
    if need.met_at is None:
        need.met_at = at or timezone.now()
        need.save(update_fields=["met_at"])
    return need


def parse_tags(raw: str) -> list[str]:
    """Split "vip, wedding 2027, #vip" into distinct tag names, keeping their order."""
    names: dict[str, str] = {}
    for part in raw.split(","):
        name = " ".join(part.strip().lstrip("#").split())
        if name:
            names.setdefault(name.lower(), name)
    return list(names.values())


@transaction.atomic
def set_tags(client: Client, names: Iterable[str]) -> list[Tag]:
    """Make these the client's tags, creating the ones that do not exist yet."""
    tags: list[Tag] = []
    for name in names:
        if len(name) > 60:
            raise ValidationError({"tags": f"{name[:20]!r}… is longer than 60 characters."})
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        if tag not in tags:
            tags.append(tag)
    client.tags.set(tags)
    return tags


# --- The one timeline ------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened with a client, as every colleague sees it."""

    at: dt.datetime
    kind: str
    title: str
    detail: str = ""
    actor: str = ""
    link: str = ""
    lines: tuple[str, ...] = ()


TimelineSource = Callable[[Client], Iterable[TimelineEntry]]


def _money(amount: Decimal, currency: str) -> str:
    return f"{currency} {amount:,.2f}"


def _order_entries(client: Client) -> Iterable[TimelineEntry]:
    orders = (
        Order.objects.filter(client=client)
        .select_related("associate")
        .prefetch_related("lines")
        .annotate(refund_rows=Count("refunds"))
    )
    for order in orders:
        actor = order.associate.display_name if order.associate else ""
        ref = order.external_ref
        lines = tuple(
            f"{line.quantity} x {line.title or line.sku} — "
            f"{_money(line.line_total, order.currency)}"
            for line in order.lines.all()
        )
        items = sum(line.quantity for line in order.lines.all())
        yield TimelineEntry(
            at=order.placed_at,
            kind="order_placed",
            title=f"Order {ref} placed · {order.get_channel_display()}",
            detail=f"{items} item{'s' if items != 1 else ''} · "
            f"{_money(order.total, order.currency)}",
            actor=actor,
            lines=lines,
        )
        if order.fulfilled_at:
            yield TimelineEntry(
                at=order.fulfilled_at, kind="order_fulfilled", title=f"Order {ref} fulfilled"
            )
        if order.cancelled_at:
            yield TimelineEntry(
                at=order.cancelled_at,
                kind="order_cancelled",
                title=f"Order {ref} cancelled",
                detail=order.cancel_reason,
            )
        # Refund rows speak for themselves (see _refund_entries); the order's own refund stamp
        # is shown only when no rows exist, so one refund never appears twice.
        if order.refunded_at and not order.refund_rows:
            yield TimelineEntry(
                at=order.refunded_at,
                kind="order_refunded",
                title=f"Order {ref} refunded",
                detail=_money(order.refunded_amount, order.currency),
            )


def _refund_entries(client: Client) -> Iterable[TimelineEntry]:
    for refund in Refund.objects.filter(order__client=client).select_related("order"):
        yield TimelineEntry(
            at=refund.created_at,
            kind="refund",
            title=f"Refund {_money(refund.amount, refund.order.currency)} "
            f"on order {refund.order.external_ref}",
            detail=refund.note,
        )


def _note_entries(client: Client) -> Iterable[TimelineEntry]:
    for note in client.notes.select_related("author"):
        yield TimelineEntry(
            at=note.created_at,
            kind="note",
            title="Note",
            detail=note.body,
            actor=note.author.display_name if note.author else "",
        )


def _consent_entries(client: Client) -> Iterable[TimelineEntry]:
    for consent in client.consents.select_related("recorded_by"):
        verb = "given" if consent.granted else "withdrawn"
        yield TimelineEntry(
            at=consent.recorded_at,
            kind="consent",
            title=f"{consent.get_channel_display()} consent {verb}",
            detail=f"Source: {consent.source}",
            actor=consent.recorded_by.display_name if consent.recorded_by else "",
        )


def _need_entries(client: Client) -> Iterable[TimelineEntry]:
    currency = client.store.currency
    for need in client.needs.all():
        budget = f" · budget {_money(need.budget, currency)}" if need.budget is not None else ""
        yield TimelineEntry(
            at=need.stated_at, kind="need_stated", title="Need stated", detail=need.text + budget
        )
        if need.met_at:
            yield TimelineEntry(at=need.met_at, kind="need_met", title="Need met", detail=need.text)


def _outreach_entries(client: Client) -> Iterable[TimelineEntry]:
    """Messages to the client and calls logged with them (read lazily: outreach imports us)."""
    from extramile.outreach.models import AuditEntry, Message, MessageStatus

    words = {"email": "Email", "sms": "Text message"}
    for message in Message.objects.filter(client=client).select_related("sender"):
        what = words.get(message.channel, message.channel)
        about = f": {message.subject}" if message.subject else ""
        actor = message.sender.display_name if message.sender else ""
        if message.status == MessageStatus.SENT and message.sent_at:
            at, title, detail = message.sent_at, f"{what} sent{about}", message.body
        elif message.status == MessageStatus.REFUSED:
            at, title, detail = message.created_at, f"{what} not sent{about}", message.last_error
        elif message.status == MessageStatus.FAILED:
            at, title = message.created_at, f"{what} could not be delivered{about}"
            detail = message.last_error
        else:
            at, title, detail = message.created_at, f"{what} on its way{about}", message.body
        yield TimelineEntry(
            at=at, kind=f"message_{message.status}", title=title, detail=detail, actor=actor
        )
    calls = AuditEntry.objects.filter(client=client, verb="called").select_related("actor")
    for entry in calls:
        reached = bool(entry.detail.get("reached"))
        yield TimelineEntry(
            at=entry.at,
            kind="call",
            title="Call, reached" if reached else "Call, not reached",
            detail=str(entry.detail.get("outcome", "")),
            actor=entry.actor.display_name if entry.actor else "",
        )


# Each source turns one kind of record into entries; to show a new kind (messages, calls,
# problems, promises, surveys) write one more function like these and list it here.
TIMELINE_SOURCES: list[TimelineSource] = [
    _order_entries,
    _refund_entries,
    _note_entries,
    _consent_entries,
    _need_entries,
    _outreach_entries,
]


def client_timeline(client: Client) -> list[TimelineEntry]:
    """Return everything that happened with the client, newest first."""
    entries = [entry for source in TIMELINE_SOURCES for entry in source(client)]
    # sorted() is stable, so entries at the same moment keep the order of their sources.
    return sorted(entries, key=lambda entry: entry.at, reverse=True)
