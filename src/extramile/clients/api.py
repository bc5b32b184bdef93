"""REST routes of the client book: list and search, read, create and change clients.

Every route needs a bearer token (see extramile.api); what a token may see is decided by
extramile.accounts.access.scope_to_user, so another store's client answers 404 and never shows
in a list. Associates and managers create clients only in their own store: a body naming
another store is refused with 403 (not silently moved), so an integrator notices the mistake.
An associate who creates a client without naming a primary associate becomes it. A new client
may name who sent them (`referred_by`, read as extramile.loyalty.services.find_referrer reads
it): the referral is recorded with the client, and the referrer gets a thank-you action. The
store of an existing client is not changed through the API.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate
from pydantic import field_validator

from extramile.accounts.access import scope_to_user
from extramile.accounts.models import Role, Store, User
from extramile.api_support import (
    ErrorOut,
    Pagination,
    ValidationErrorOut,
    api_user,
    aware,
    field_error,
    raise_field_errors,
)
from extramile.clients import services
from extramile.clients.models import Channel, Client, ClientStatus, Consent
from extramile.loyalty.models import ReferralSource
from extramile.loyalty.services import find_referrer, record_referral

router = Router(tags=["clients"])


class SizeOut(Schema):
    """The size worn in one category."""

    category: str
    size: str


class PreferenceOut(Schema):
    """A like or a dislike."""

    dimension: str
    value: str
    likes: bool
    source: str


class ImportantDateOut(Schema):
    """A yearly date; the year may be unknown."""

    kind: str
    label: str
    month: int
    day: int
    year: int | None


class NeedOut(Schema):
    """A need in the client's words."""

    id: int
    text: str
    budget: Decimal | None
    stated_at: dt.datetime
    met_at: dt.datetime | None


class ConsentOut(Schema):
    """The consent decision in force on one channel."""

    channel: str
    granted: bool
    recorded_at: dt.datetime
    source: str


class ContactPointOut(Schema):
    """A further email, phone or address."""

    kind: str
    value: str
    label: str


class ClientOut(Schema):
    """A client with everything the book knows about them, except the timeline."""

    id: int
    store: str = Field(..., description="Store code.")
    primary_associate: str | None = Field(..., description="Username, or null.")
    first_name: str
    last_name: str
    email: str
    phone: str = Field(..., description="E.164.")
    address: str
    language: str
    time_zone: str
    status: str
    merged_into_id: int | None
    external_ref: str
    tags: list[str]
    sizes: list[SizeOut]
    preferences: list[PreferenceOut]
    important_dates: list[ImportantDateOut]
    needs: list[NeedOut]
    consents: list[ConsentOut] = Field(..., description="The decision in force per channel.")
    contact_points: list[ContactPointOut]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_store(obj: Client) -> str:
        """Give the store's code."""
        return obj.store.code

    @staticmethod
    def resolve_primary_associate(obj: Client) -> str | None:
        """Give the primary associate's username."""
        return obj.primary_associate.username if obj.primary_associate else None

    @staticmethod
    def resolve_tags(obj: Client) -> list[str]:
        """Give the tag names."""
        return [tag.name for tag in obj.tags.all()]

    @staticmethod
    def resolve_consents(obj: Client) -> list[Consent]:
        """Give the latest decision per channel, from the prefetched rows."""
        # Same rule as services.current_consents, which would run one query per client.
        latest: dict[str, Consent] = {}
        for consent in obj.consents.all():  # prefetched newest first
            latest.setdefault(consent.channel, consent)
        return sorted(latest.values(), key=lambda consent: consent.channel)


class ClientIn(Schema):
    """A new client. Email is lower-cased and the phone turned into E.164."""

    store: str | None = Field(
        None, description="Store code; by default your own store. Admins without one must set it."
    )
    first_name: str = Field("", max_length=100)
    last_name: str = Field("", max_length=100)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=64)
    address: str = ""
    language: str = Field("en", max_length=16)
    time_zone: str = Field("", max_length=64, description="IANA name; by default the store's.")
    status: ClientStatus = ClientStatus.ACTIVE
    primary_associate: str | None = Field(
        None, description="Username of a colleague of the client's store."
    )
    tags: list[str] = Field(default_factory=list)
    consents: dict[Channel, bool] = Field(
        default_factory=dict, description='Consent given now, per channel: {"email": true}.'
    )
    referred_by: str | None = Field(
        None,
        max_length=200,
        description="The client of the same store who sent them, as on the profile's referral "
        "form: a name, an email, a phone or #id (extramile's id). They get a thank-you action. "
        "A name that matches no client, or several, is refused (422) and nothing is created.",
    )


NOT_NULL_FIELDS = ("first_name", "last_name", "email", "phone", "address", "language")


class ClientPatch(Schema):
    """Fields to change; those left out stay as they are."""

    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=64)
    address: str | None = None
    language: str | None = Field(None, max_length=16)
    time_zone: str | None = Field(None, max_length=64)
    status: ClientStatus | None = None
    primary_associate: str | None = Field(None, description="Username, or null to clear.")
    tags: list[str] | None = Field(None, description="The full list; replaces the tags.")
    consents: dict[Channel, bool] | None = None

    @field_validator(*NOT_NULL_FIELDS, "time_zone", "status", "tags", "consents")
    @classmethod
    def refuse_null(cls, value: Any) -> Any:
        """Refuse an explicit null where only primary_associate may be cleared."""
        if value is None:
            raise ValueError("may not be null; leave the field out to keep it")
        return value


class ClientFilters(Schema):
    """Narrowing of the client list."""

    q: str = Field("", description="Words matching name, email, tag or phone digits.")
    tag: str | None = None
    status: ClientStatus | None = Field(None, description="By default, all but merged.")
    primary_associate: str | None = Field(None, description="Username.")
    store: str | None = Field(
        None, description="Store code; only admins see more than their own store."
    )
    updated_since: dt.datetime | None = Field(
        None, description="ISO 8601; without an offset, read in the server's time zone."
    )


def _with_details(queryset: QuerySet[Client]) -> QuerySet[Client]:
    return queryset.select_related("store", "primary_associate").prefetch_related(
        "tags",
        "sizes",
        "preferences",
        "important_dates",
        "needs",
        "contact_points",
        Prefetch("consents", queryset=Consent.objects.order_by("-recorded_at", "-id")),
    )


def _visible_client(user: User, client_id: int) -> Client:
    return get_object_or_404(_with_details(scope_to_user(Client.objects.all(), user)), pk=client_id)


def _associate_named(username: str | None) -> User | None:
    if username is None:
        return None
    associate = User.objects.filter(username=username, is_active=True).first()
    if associate is None:
        raise field_error("primary_associate", f"No active member of staff {username!r}.")
    return associate


def _referrer_named(store: Store, said: str | None) -> Client | None:
    if said is None or not said.strip():
        return None
    try:
        return find_referrer(store, said)
    except ValidationError as exc:
        raise field_error("referred_by", " ".join(exc.messages)) from exc


def _record_referral(*, referrer: Client, referred: Client, by: User) -> None:
    try:
        record_referral(referrer=referrer, referred=referred, source=ReferralSource.API, by=by)
    except ValidationError as exc:
        raise ValidationError({"referred_by": exc.messages}) from exc


def _store_for_new_client(user: User, code: str | None) -> Store:
    if user.role != Role.ADMIN:
        if user.store is None:
            raise HttpError(403, "You have no home store, so you cannot create clients.")
        if code is not None and code != user.store.code:
            raise HttpError(
                403, f"You may create clients only in your own store ({user.store.code})."
            )
        return user.store
    if code is None:
        if user.store is None:
            raise field_error("store", "Give the store code of the new client.")
        return user.store
    store = Store.objects.filter(code=code).first()
    if store is None:
        raise field_error("store", f"No store with code {code!r}.")
    return store


def _tag_names(names: list[str]) -> list[str]:
    # Same cleaning as the web form: "#VIP " and "vip" are one tag, blanks are dropped.
    return services.parse_tags(",".join(name.replace(",", " ") for name in names))


def _record_consents(client: Client, consents: dict[Channel, bool] | None, *, by: User) -> None:
    for channel, granted in (consents or {}).items():
        services.record_consent(client, channel=channel, granted=granted, source="api", by=by)


@router.get("", response=list[ClientOut], summary="List and search clients")
@paginate(Pagination)
def list_clients(request: Any, filters: Query[ClientFilters]) -> QuerySet[Client]:
    """List the clients you may see, searched and filtered."""
    user = api_user(request)
    if filters.status is None:
        clients = scope_to_user(Client.objects.current(), user)
    else:
        clients = scope_to_user(Client.objects.filter(status=filters.status), user)
    if filters.tag:
        clients = clients.filter(tags__name__iexact=filters.tag)
    if filters.primary_associate:
        clients = clients.filter(primary_associate__username=filters.primary_associate)
    if filters.store:
        clients = clients.filter(store__code=filters.store)
    if filters.updated_since:
        clients = clients.filter(updated_at__gte=aware(filters.updated_since))
    if filters.q.strip():
        clients = services.search_clients(clients, filters.q)
    return _with_details(clients)


@router.get("/{int:client_id}", response={200: ClientOut, 404: ErrorOut}, summary="Read a client")
def read_client(request: Any, client_id: int) -> Client:
    """Read one client of a store you may see."""
    return _visible_client(api_user(request), client_id)


@router.post(
    "",
    response={201: ClientOut, 403: ErrorOut, 422: ValidationErrorOut},
    summary="Create a client",
)
def create_client(request: Any, payload: ClientIn) -> Status[Client]:
    """Create a client in your store (admins: in the store named)."""
    user = api_user(request)
    store = _store_for_new_client(user, payload.store)
    if "primary_associate" in payload.model_fields_set:
        associate = _associate_named(payload.primary_associate)
    else:
        associate = user if user.role == Role.ASSOCIATE else None
    referrer = _referrer_named(store, payload.referred_by)
    try:
        with transaction.atomic():
            client = services.create_client(
                store=store,
                first_name=payload.first_name,
                last_name=payload.last_name,
                email=payload.email,
                phone=payload.phone,
                address=payload.address,
                language=payload.language,
                time_zone=payload.time_zone,
                status=payload.status,
                primary_associate=associate,
            )
            services.set_tags(client, _tag_names(payload.tags))
            _record_consents(client, payload.consents, by=user)
            if referrer is not None:
                _record_referral(referrer=referrer, referred=client, by=user)
    except ValidationError as exc:
        raise_field_errors(exc)
    return Status(201, _visible_client(user, client.pk))


@router.patch(
    "/{int:client_id}",
    response={200: ClientOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="Change a client",
)
def update_client(request: Any, client_id: int, payload: ClientPatch) -> Client:
    """Change the fields given; the others keep their value."""
    user = api_user(request)
    client = _visible_client(user, client_id)
    given = payload.model_fields_set
    values = {
        name: getattr(payload, name) if name in given else getattr(client, name)
        for name in (*NOT_NULL_FIELDS, "time_zone", "status")
    }
    if "primary_associate" in given:
        associate = _associate_named(payload.primary_associate)
    else:
        associate = client.primary_associate
    try:
        with transaction.atomic():
            services.update_client(client, primary_associate=associate, **values)
            if payload.tags is not None:
                services.set_tags(client, _tag_names(payload.tags))
            _record_consents(client, payload.consents, by=user)
    except ValidationError as exc:
        raise_field_errors(exc)
    return _visible_client(user, client.pk)
