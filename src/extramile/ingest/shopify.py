"""Shopify in: verified webhooks and files of orders, refunds, products and customers, upserted."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import html
import json
import re
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.html import strip_tags
from pydantic import AwareDatetime, BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from extramile.accounts.models import Store
from extramile.catalog.models import Photo, Product, ProductStatus, Stock, Variant
from extramile.clients.models import Channel, Client, ClientStatus
from extramile.clients.services import (
    InvalidContact,
    normalize_email,
    normalize_phone,
    parse_tags,
    record_consent,
    set_tags,
)
from extramile.ingest.changes import assign_changes
from extramile.ingest.models import InboundEvent
from extramile.ingest.report import ImportReport
from extramile.orders.models import Order, OrderChannel, OrderLine, OrderStatus, Refund

SOURCE = "shopify"
SHOPIFY_TOPICS = frozenset(
    {
        "orders/create",
        "orders/updated",
        "orders/cancelled",
        "refunds/create",
        "products/create",
        "products/update",
        "customers/create",
        "customers/update",
    }
)
# The store created for Shopify records when the database has no store at all.
ONLINE_STORE_CODE = "online"
ONLINE_STORE_NAME = "Online shop"

# A file's wrapper key ({"order": {...}}) names the kind of its objects; a file is imported
# under the topic that upserts that kind without assuming it is new.
_WRAPPER_KINDS = {
    "order": "orders",
    "orders": "orders",
    "refund": "refunds",
    "refunds": "refunds",
    "product": "products",
    "products": "products",
    "customer": "customers",
    "customers": "customers",
}
_FILE_TOPICS = {
    "orders": "orders/updated",
    "refunds": "refunds/create",
    "products": "products/update",
    "customers": "customers/update",
}
_CENT = Decimal("0.01")


class ShopifyPayloadError(ValueError):
    """A payload that cannot be applied as a whole; nothing of it is stored."""

    def __init__(self, message: str, *, field: str = "(payload)") -> None:
        super().__init__(message)
        self.field = field


class ShopifyBodyError(ShopifyPayloadError):
    """A webhook body that is not a JSON object."""


class ShopifyConfigError(RuntimeError):
    """The settings do not let Shopify data be stored, such as an unknown SHOPIFY_STORE_CODE."""


# --- The payloads, as far as extramile reads them (every other key is ignored) -------------------


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ShopifyAddress(_Payload):
    """A customer's address."""

    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province: str | None = None
    province_code: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class ShopifyMarketingConsent(_Payload):
    """The newer form of email marketing consent (replaces accepts_marketing)."""

    state: str | None = None
    consent_updated_at: AwareDatetime | None = None


class ShopifyCustomer(_Payload):
    """A customers/* body, or the customer embedded in an order."""

    id: int
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    tags: str | list[str] | None = None
    accepts_marketing: bool | None = None
    accepts_marketing_updated_at: AwareDatetime | None = None
    email_marketing_consent: ShopifyMarketingConsent | None = None
    updated_at: AwareDatetime | None = None
    default_address: ShopifyAddress | None = None


class ShopifyLineItem(_Payload):
    """One line of an order."""

    id: int
    variant_id: int | None = None
    product_id: int | None = None
    sku: str | None = None
    title: str | None = None
    name: str | None = None
    quantity: int = 1
    price: Decimal = Decimal(0)


class ShopifyTransaction(_Payload):
    """A payment movement; refunds are those of kind "refund"."""

    kind: str | None = None
    status: str | None = None
    amount: Decimal | None = None


class ShopifyRefundLineItem(_Payload):
    """A line given back in a refund."""

    quantity: int = 0
    subtotal: Decimal | None = None
    line_item: ShopifyLineItem | None = None


class ShopifyRefund(_Payload):
    """A refunds/create body, or a refund embedded in an order."""

    id: int
    order_id: int | None = None
    created_at: AwareDatetime | None = None
    note: str | None = None
    transactions: list[ShopifyTransaction] = []
    refund_line_items: list[ShopifyRefundLineItem] = []


class ShopifyFulfillment(_Payload):
    """A shipment of an order."""

    status: str | None = None
    created_at: AwareDatetime | None = None


class ShopifyOrder(_Payload):
    """An orders/* body."""

    id: int
    email: str | None = None
    created_at: AwareDatetime | None = None
    processed_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    closed_at: AwareDatetime | None = None
    cancelled_at: AwareDatetime | None = None
    cancel_reason: str | None = None
    currency: str | None = None
    total_price: Decimal | None = None
    financial_status: str | None = None
    fulfillment_status: str | None = None
    source_name: str | None = None
    note: str | None = None
    customer: ShopifyCustomer | None = None
    billing_address: ShopifyAddress | None = None
    # None when the payload leaves the lines out: the stored lines are then left as they are.
    line_items: list[ShopifyLineItem] | None = None
    fulfillments: list[ShopifyFulfillment] = []
    refunds: list[ShopifyRefund] = []


class ShopifyVariant(_Payload):
    """A buyable version of a product."""

    id: int
    sku: str | None = None
    price: Decimal | None = None
    option1: str | None = None
    option2: str | None = None
    option3: str | None = None
    barcode: str | None = None
    inventory_quantity: int | None = None


class ShopifyImage(_Payload):
    """A product picture, held by Shopify."""

    src: str
    position: int | None = None
    alt: str | None = None


class ShopifyOption(_Payload):
    """The name of a product option, such as Size or Color, in the order of option1..3."""

    name: str = ""
    position: int | None = None


class ShopifyProduct(_Payload):
    """A products/* body."""

    id: int
    title: str | None = None
    vendor: str | None = None
    product_type: str | None = None
    tags: str | list[str] | None = None
    body_html: str | None = None
    status: str | None = None
    created_at: AwareDatetime | None = None
    published_at: AwareDatetime | None = None
    variants: list[ShopifyVariant] = []
    options: list[ShopifyOption] = []
    # None when the payload leaves the images out: the stored photos are then left as they are.
    images: list[ShopifyImage] | None = None


_Parsed = ShopifyOrder | ShopifyRefund | ShopifyProduct | ShopifyCustomer
_PAYLOAD_MODELS: dict[str, type[_Parsed]] = {
    "orders": ShopifyOrder,
    "refunds": ShopifyRefund,
    "products": ShopifyProduct,
    "customers": ShopifyCustomer,
}


def parse_shopify_payload(topic: str, payload: object) -> _Parsed:
    """Validate a payload for its topic; raise ShopifyPayloadError naming the bad fields."""
    if topic not in SHOPIFY_TOPICS:
        raise ShopifyPayloadError(
            f"{topic!r} is not a Shopify topic extramile handles", field="topic"
        )
    model = _PAYLOAD_MODELS[topic.split("/")[0]]
    try:
        return model.model_validate(payload)
    except PydanticValidationError as exc:
        problems = exc.errors()
        where = ".".join(str(part) for part in problems[0]["loc"]) or "(payload)"
        message = "; ".join(
            f"{'.'.join(str(p) for p in problem['loc']) or 'payload'}: {problem['msg']}"
            for problem in problems[:3]
        )
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ShopifyPayloadError(
            f"not a valid {topic} payload: {message}{more}", field=where
        ) from exc


# --- Verifying and receiving a delivery ----------------------------------------------------------


def verify_shopify_signature(body: bytes, signature: str, *, secret: str) -> bool:
    """Tell whether the signature is base64(HMAC-SHA256(secret, body)), in constant time."""
    if not secret or not signature:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace"))


def delivery_key(topic: str, body: bytes) -> str:
    """Return the idempotency key of a delivery that carries no webhook id."""
    return hashlib.sha256(topic.encode() + b"\n" + body).hexdigest()


@dataclass(frozen=True)
class Delivery:
    """What became of one Shopify payload: its inbound event, and whether it was a repeat."""

    event: InboundEvent
    duplicate: bool
    report: ImportReport


def receive_shopify_webhook(*, topic: str, body: bytes, webhook_id: str | None) -> Delivery:
    """Parse a verified webhook body and receive it; raise ShopifyPayloadError when unusable."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ShopifyBodyError(f"the body is not JSON ({exc})", field="(body)") from exc
    if not isinstance(payload, dict):
        raise ShopifyBodyError("the body is not a JSON object", field="(body)")
    key = (webhook_id or "").strip()
    if not key or len(key) > 200:
        key = delivery_key(topic, body)
    return receive_shopify_event(
        topic=topic, payload=payload, idempotency_key=key, file=f"webhook {topic}"
    )


def receive_shopify_event(
    *,
    topic: str,
    payload: dict[str, Any],
    idempotency_key: str,
    file: str,
    row: int | None = None,
    replay: bool = False,
) -> Delivery:
    """Record one Shopify payload as an inbound event and apply it: both, or neither.

    A key already recorded is a repeat: it is acknowledged and changes nothing. With replay
    (files on the command line) a repeat is applied again instead, which changes nothing that
    already matches, reports the same refusals, and refreshes the event's summary. Row-level
    problems (an invalid phone, a clashing SKU) are kept in the summary; a payload that cannot
    be applied at all raises ShopifyPayloadError and stores nothing.
    """
    parsed = parse_shopify_payload(topic, payload)
    report = ImportReport(source=SOURCE)
    started = time.perf_counter()
    with transaction.atomic():
        try:
            # Inserting the event first takes the unique key: a concurrent twin waits for this
            # transaction and then finds the key taken.
            with transaction.atomic():
                event = InboundEvent.objects.create(
                    source=SOURCE, topic=topic, idempotency_key=idempotency_key, payload=payload
                )
        except IntegrityError:
            event = InboundEvent.objects.get(idempotency_key=idempotency_key)
            if not replay:
                return Delivery(event=event, duplicate=True, report=report)
            duplicate = True
        else:
            duplicate = False
        run = _Run(report=report, file=file, row=row)
        record = _apply(run, topic, parsed)
        _record_events(run, topic, parsed, record)
        report.seconds = time.perf_counter() - started
        event.summary = report.as_dict()
        event.save(update_fields=["summary"])
    return Delivery(event=event, duplicate=duplicate, report=report)


# --- Files on the command line -------------------------------------------------------------------


def import_shopify_file(path: Path, *, topic: str | None) -> ImportReport:
    """Import the Shopify payloads in a JSON file as webhooks; a re-import applies them again."""
    started = time.perf_counter()
    report = ImportReport(source=SOURCE)
    name = path.name
    try:
        data = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        report.error(file=name, row=None, field="(file)", message=f"not a JSON file: {exc}")
        return report
    try:
        file_topic, objects, listed = unwrap_shopify_file(data, topic=topic)
    except ShopifyPayloadError as exc:
        report.error(file=name, row=None, field=exc.field, message=str(exc))
        return report
    for index, obj in enumerate(objects, start=1):
        row = index if listed else None
        if not isinstance(obj, dict):
            report.error(file=name, row=row, field="(payload)", message="not a JSON object")
            continue
        canonical = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
        try:
            delivery = receive_shopify_event(
                topic=file_topic,
                payload=obj,
                idempotency_key=delivery_key(file_topic, canonical),
                file=name,
                row=row,
                replay=True,
            )
        except ShopifyPayloadError as exc:
            report.error(file=name, row=row, field=exc.field, message=str(exc))
            continue
        except ShopifyConfigError as exc:
            report.error(file=name, row=row, field="SHOPIFY_STORE_CODE", message=str(exc))
            break
        _absorb(report, delivery.report)
    report.seconds = time.perf_counter() - started
    return report


def unwrap_shopify_file(data: object, *, topic: str | None) -> tuple[str, list[Any], bool]:
    """Return the topic, the payload objects of a file, and whether the file held a list.

    A file is a wrapped fixture ({"order": {...}}, {"products": [...]}) or a bare body (an
    object or a list of objects). Without a topic, the wrapper names it; a bare body is
    recognised by keys only its kind has (line_items, variants, refund_line_items…).
    """
    if topic is not None and topic not in SHOPIFY_TOPICS:
        raise ShopifyPayloadError(
            f"--topic {topic!r} is not one of {', '.join(sorted(SHOPIFY_TOPICS))}", field="topic"
        )
    kind: str | None
    if isinstance(data, dict) and "id" not in data:
        wrappers = [key for key in data if key in _WRAPPER_KINDS]
        if len(wrappers) != 1:
            raise ShopifyPayloadError(
                "cannot tell what the file holds: expected one key of "
                f"{', '.join(sorted(_WRAPPER_KINDS))}, or a bare Shopify object",
                field="(file)",
            )
        kind = _WRAPPER_KINDS[wrappers[0]]
        inner = data[wrappers[0]]
    else:
        inner = data
        kind = None
    listed = isinstance(inner, list)
    objects: list[Any] = list(inner) if isinstance(inner, list) else [inner]
    if not objects:
        raise ShopifyPayloadError("the file holds no Shopify object", field="(file)")
    if kind is None:
        shapes = {_shape_kind(obj) for obj in objects}
        kind = shapes.pop() if len(shapes) == 1 else None
    if topic is not None:
        if kind is not None and topic.split("/")[0] != kind:
            raise ShopifyPayloadError(
                f"--topic {topic} does not fit the file, which holds {kind}", field="topic"
            )
        return topic, objects, listed
    if kind is None:
        raise ShopifyPayloadError(
            'cannot infer the topic: wrap the payload ({"order": {...}}) or pass --topic, '
            "such as --topic orders/create",
            field="topic",
        )
    return _FILE_TOPICS[kind], objects, listed


def _shape_kind(obj: object) -> str | None:
    if not isinstance(obj, dict):
        return None
    if "refund_line_items" in obj or ("order_id" in obj and "transactions" in obj):
        return "refunds"
    if "line_items" in obj or "financial_status" in obj:
        return "orders"
    if "variants" in obj or "product_type" in obj:
        return "products"
    if {"default_address", "addresses", "accepts_marketing", "email_marketing_consent"} & set(obj):
        return "customers"
    return None


def _absorb(total: ImportReport, part: ImportReport) -> None:
    for kind, n in part.created.items():
        total.count_created(kind, n)
    for kind, n in part.updated.items():
        total.count_updated(kind, n)
    total.unchanged += part.unchanged
    total.errors.extend(part.errors)


# --- Applying a payload --------------------------------------------------------------------------


@dataclass
class _Run:
    """One payload being applied: where its problems are reported, and the Shopify store."""

    report: ImportReport
    file: str
    row: int | None
    _store: Store | None = field(default=None, repr=False)

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = _shopify_store(self.report)
        return self._store

    def error(self, field: str, message: str) -> None:
        self.report.error(file=self.file, row=self.row, field=field, message=message)


def shopify_store() -> Store | None:
    """Return the store Shopify records belong to, or None while there is no store at all."""
    code = settings.SHOPIFY_STORE_CODE
    if code:
        store = Store.objects.filter(code=code).first()
        if store is None:
            codes = ", ".join(Store.objects.values_list("code", flat=True)) or "none yet"
            raise ShopifyConfigError(
                f"SHOPIFY_STORE_CODE={code!r} names no store (stores: {codes})."
            )
        return store
    return Store.objects.order_by("id").first()


def _shopify_store(report: ImportReport) -> Store:
    store = shopify_store()
    if store is None:
        store = Store.objects.create(code=ONLINE_STORE_CODE, name=ONLINE_STORE_NAME)
        report.count_created("stores")
    return store


def _apply(run: _Run, topic: str, parsed: _Parsed) -> models.Model:
    if isinstance(parsed, ShopifyOrder):
        return _apply_order(run, parsed, cancelled=topic == "orders/cancelled")
    if isinstance(parsed, ShopifyRefund):
        return _apply_refund_event(run, parsed)
    if isinstance(parsed, ShopifyProduct):
        return _apply_product(run, parsed)
    return _apply_customer(run, parsed, field_prefix="")


def _record_events(run: _Run, topic: str, parsed: _Parsed, record: models.Model) -> None:
    """Record the documented event this delivery stands for (docs/events.md), once per id.

    The change is already written, so processing the event only runs the detectors.
    """
    from extramile.moments.event_schema import InvalidEvent
    from extramile.moments.events import order_event, record_event
    from extramile.moments.models import EventType

    if isinstance(record, Order):
        if topic == "orders/create":
            fields = order_event(record, type=EventType.ORDER_PLACED)
        elif topic == "orders/cancelled" and record.cancelled_at is not None:
            fields = order_event(record, type=EventType.ORDER_CANCELLED)
        elif topic == "orders/updated" and record.fulfilled_at is not None:
            topic = "orders/fulfilled"
            fields = order_event(record, type=EventType.ORDER_FULFILLED)
        else:
            return
    elif isinstance(record, Refund):
        fields = order_event(record.order, type=EventType.ORDER_REFUNDED, refund=record)
    elif isinstance(record, Product) and isinstance(parsed, ShopifyProduct):
        if topic != "products/create":
            return
        if not run.report.created.get("products"):
            return  # Shopify says it is new, but the catalog already had it
        fields = {
            "type": EventType.PRODUCT_ARRIVED,
            "occurred_at": parsed.created_at or timezone.now(),
            "data": {"product": {"id": record.external_ref}},
            "store": run.store,
        }
        if record.arrived_on is not None:
            fields["data"]["arrived_on"] = record.arrived_on.isoformat()
    else:
        return
    try:
        record_event(event_id=f"shopify:{topic}:{parsed.id}", source=SOURCE, **fields)
    except InvalidEvent as exc:
        run.error("(event)", f"{fields['type']} not recorded as an event: {exc}")


_M = TypeVar("_M", bound=models.Model)


def _put(run: _Run, kind: str, obj: _M, values: dict[str, Any]) -> _M:
    """Assign the values; save and count the row only when it is new or something changed."""
    created = obj._state.adding
    changed = assign_changes(obj, values)
    if created:
        obj.save()
        run.report.count_created(kind)
    elif changed:
        obj.save()
        run.report.count_updated(kind)
    else:
        run.report.unchanged += 1
    return obj


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(_CENT)


def _ref(shopify_id: int) -> str:
    return f"shopify-{shopify_id}"


def _text(value: str | None, limit: int) -> str:
    return (value or "").strip()[:limit]


def _tag_names(raw: str | list[str] | None) -> list[str]:
    if raw is None:
        return []
    return parse_tags(raw if isinstance(raw, str) else ",".join(raw))


# --- Customers → clients -------------------------------------------------------------------------


def _apply_customer(run: _Run, data: ShopifyCustomer, *, field_prefix: str) -> Client:
    store = run.store
    email = ""
    try:
        email = normalize_email(data.email or "")
    except InvalidContact as exc:
        run.error(f"{field_prefix}email", f"customer {data.id}: {exc}; email left out")
    client = _client_by_shopify_id(data.id)
    if client is None and email:
        client = _client_by_email(email, store=store, unlinked_only=True)
    if client is None:
        client = Client(store=store, time_zone=store.time_zone)
    values: dict[str, Any] = {}
    if client.shopify_id is None and not Client.objects.filter(shopify_id=data.id).exists():
        values["shopify_id"] = data.id
    for name in ("first_name", "last_name"):
        if text := _text(getattr(data, name), 100):
            values[name] = text
    if email:
        values["email"] = email
    address = data.default_address
    raw_phone = (data.phone or "").strip() or ((address.phone or "").strip() if address else "")
    if raw_phone:
        try:
            values["phone"] = normalize_phone(
                raw_phone, region=(address.country_code if address else None) or None
            )
        except InvalidContact as exc:
            run.error(f"{field_prefix}phone", f"customer {data.id}: {exc}; phone left out")
    if address is not None and (formatted := _format_address(address)):
        values["address"] = formatted
    _put(run, "clients", client, values)
    _add_tags(run, client, _tag_names(data.tags), field=f"{field_prefix}tags")
    _apply_email_consent(run, client, data)
    return client


def _client_by_shopify_id(shopify_id: int) -> Client | None:
    client = Client.objects.filter(shopify_id=shopify_id).first()
    # A client merged into another lives on in the one it was merged into.
    hops = 0
    while (
        client is not None
        and client.status == ClientStatus.MERGED
        and client.merged_into is not None
        and hops < 10
    ):
        client = client.merged_into
        hops += 1
    return client


def _client_by_email(email: str, *, store: Store, unlinked_only: bool) -> Client | None:
    clients = Client.objects.current().filter(email=email).order_by("id")
    if unlinked_only:
        # Another Shopify customer with this email is someone else (Shopify keeps emails unique).
        clients = clients.filter(shopify_id__isnull=True)
    return clients.filter(store=store).first() or clients.first()


def _format_address(address: ShopifyAddress) -> str:
    province = address.province_code or address.province
    region = " ".join(p.strip() for p in (province, address.zip) if p and p.strip())
    locality = ", ".join(p.strip() for p in (address.city, region) if p and p.strip())
    lines = (address.address1, address.address2, locality, address.country)
    return "\n".join(line.strip() for line in lines if line and line.strip())


def _add_tags(run: _Run, client: Client, names: list[str], *, field: str) -> None:
    """Add Shopify's tags to the client's; tags staff gave are kept."""
    have = [tag.name for tag in client.tags.all()]
    known = {name.lower() for name in have}
    missing = [name for name in names if name.lower() not in known]
    if not missing:
        return
    try:
        set_tags(client, have + missing)
    except DjangoValidationError as exc:
        run.error(field, f"client {client.pk}: {' '.join(exc.messages)}; tags left as they were")
        return
    run.report.count_created("client tags", len(missing))


def _email_consent(data: ShopifyCustomer) -> tuple[bool, dt.datetime | None] | None:
    """The email marketing decision in a customer payload and when it was taken, if any."""
    newer = data.email_marketing_consent
    if newer is not None and newer.state:
        granted = {"subscribed": True, "unsubscribed": False, "not_subscribed": False}.get(
            newer.state
        )
        if granted is None:  # pending, invalid, redacted: no decision to record
            return None
        return granted, newer.consent_updated_at or data.updated_at
    if data.accepts_marketing is None:
        return None
    return data.accepts_marketing, data.accepts_marketing_updated_at or data.updated_at


def _apply_email_consent(run: _Run, client: Client, data: ShopifyCustomer) -> None:
    decision = _email_consent(data)
    if decision is None:
        return
    granted, at = decision
    latest = client.consents.filter(channel=Channel.EMAIL).order_by("-recorded_at", "-id").first()
    if latest is not None and at is not None and latest.recorded_at >= at:
        return  # a later decision (in the store, or a later payload) stands
    if record_consent(client, channel=Channel.EMAIL, granted=granted, source=SOURCE, at=at):
        run.report.count_created("consents")


# --- Orders and refunds --------------------------------------------------------------------------


def _apply_order(run: _Run, data: ShopifyOrder, *, cancelled: bool) -> Order:
    client = _order_client(run, data)
    order = (
        Order.objects.filter(shopify_id=data.id).first()
        or Order.objects.filter(external_ref=_ref(data.id)).first()
    )
    created = order is None
    if order is None:
        order = Order(store=run.store, external_ref=_ref(data.id))
    before = None if created else _snapshot(order)
    values: dict[str, Any] = {
        "shopify_id": data.id,
        "channel": OrderChannel.STORE if data.source_name == "pos" else OrderChannel.ONLINE,
        "note": (data.note or "").strip(),
    }
    placed_at = data.created_at or data.processed_at
    if placed_at is not None:
        values["placed_at"] = placed_at
    if client is not None:
        values["client_id"] = client.pk
    if data.currency:
        values["currency"] = data.currency.strip().upper()[:3]
    if data.total_price is not None:
        values["total"] = _cents(data.total_price)
    if data.cancel_reason:
        values["cancel_reason"] = _text(data.cancel_reason, 255)
    # Shopify never un-cancels or un-fulfils: a late delivery of an older state keeps the times.
    if order.cancelled_at is None and (data.cancelled_at or cancelled):
        values["cancelled_at"] = data.cancelled_at or data.updated_at or timezone.now()
    if order.fulfilled_at is None and data.fulfillment_status == "fulfilled":
        values["fulfilled_at"] = _fulfilled_at(data)
    if assign_changes(order, values) or created:
        order.save()
    if data.line_items is not None:
        _sync_lines(run, order, data.line_items)
    for refund in data.refunds:
        _apply_refund(run, refund, order=order)
    if assign_changes(
        order,
        _order_state(
            order, refunded_in_full=data.financial_status == "refunded", at=data.updated_at
        ),
    ):
        order.save()
    if created:
        run.report.count_created("orders")
    elif before != _snapshot(order):
        run.report.count_updated("orders")
    else:
        run.report.unchanged += 1
    return order


def _snapshot(obj: models.Model) -> dict[str, Any]:
    return {
        f.attname: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if f.attname != "updated_at"
    }


def _order_client(run: _Run, data: ShopifyOrder) -> Client | None:
    if data.customer is not None:
        return _apply_customer(run, data.customer, field_prefix="customer.")
    try:
        email = normalize_email(data.email or "")
    except InvalidContact as exc:
        run.error("email", f"order {data.id}: {exc}; the order has no client")
        return None
    if not email:
        return None
    client = _client_by_email(email, store=run.store, unlinked_only=False)
    if client is not None:
        return client
    billing = data.billing_address
    guest = Client(
        store=run.store,
        time_zone=run.store.time_zone,
        email=email,
        first_name=_text(billing.first_name if billing else None, 100),
        last_name=_text(billing.last_name if billing else None, 100),
    )
    return _put(run, "clients", guest, {})


def _fulfilled_at(data: ShopifyOrder) -> dt.datetime:
    shipped = [f.created_at for f in data.fulfillments if f.status == "success" and f.created_at]
    return max(shipped, default=None) or data.closed_at or data.updated_at or timezone.now()


def _sync_lines(run: _Run, order: Order, items: list[ShopifyLineItem]) -> None:
    """Upsert the order's lines by Shopify line id, so a re-delivery never doubles them."""
    existing = {line.line_ref: line for line in order.lines.all() if line.line_ref}
    for item in items:
        ref = str(item.id)
        variant = _variant_for(item.variant_id, item.sku)
        if variant is not None:
            product_id: int | None = variant.product_id
        else:
            product = (
                Product.objects.filter(shopify_id=item.product_id).first()
                if item.product_id
                else None
            )
            product_id = product.pk if product else None
        line = existing.get(ref) or OrderLine(order=order, line_ref=ref)
        existing[ref] = _put(
            run,
            "order lines",
            line,
            {
                "variant_id": variant.pk if variant else None,
                "product_id": product_id,
                "title": _text(item.title or item.name, 255),
                "sku": _text(item.sku, 64),
                "quantity": item.quantity,
                "unit_price": _cents(item.price),
            },
        )


def _variant_for(shopify_id: int | None, sku: str | None) -> Variant | None:
    variant = Variant.objects.filter(shopify_id=shopify_id).first() if shopify_id else None
    if variant is None and sku and sku.strip():
        variant = Variant.objects.filter(sku=sku.strip()).first()
    return variant


def _apply_refund_event(run: _Run, data: ShopifyRefund) -> Refund:
    order = Order.objects.filter(shopify_id=data.order_id).first() if data.order_id else None
    if order is None:
        raise ShopifyPayloadError(
            f"refund {data.id} is for Shopify order {data.order_id}, which is not known yet: "
            "deliver or import the order first",
            field="order_id",
        )
    refund = _apply_refund(run, data, order=order)
    _put(run, "orders", order, _order_state(order, refunded_in_full=False, at=refund.created_at))
    return refund


def _apply_refund(run: _Run, data: ShopifyRefund, *, order: Order) -> Refund:
    ref = f"shopify-refund-{data.id}"
    refund = Refund.objects.filter(external_ref=ref).first() or Refund(
        external_ref=ref, created_at=data.created_at or timezone.now()
    )
    values: dict[str, Any] = {
        "order_id": order.pk,
        "amount": _refund_amount(data),
        "note": (data.note or "").strip(),
    }
    if data.created_at is not None:
        values["created_at"] = data.created_at
    return _put(run, "refunds", refund, values)


def _refund_amount(data: ShopifyRefund) -> Decimal:
    """The money given back: the successful refund transactions, else the lines' subtotals."""
    refunds = [t for t in data.transactions if t.kind == "refund"]
    if refunds:
        paid = (t.amount or Decimal(0) for t in refunds if t.status in (None, "success"))
        return _cents(sum(paid, Decimal(0)))
    total = Decimal(0)
    for item in data.refund_line_items:
        if item.subtotal is not None:
            total += item.subtotal
        elif item.line_item is not None:
            total += item.line_item.price * item.quantity
    return _cents(total)


def _order_state(order: Order, *, refunded_in_full: bool, at: dt.datetime | None) -> dict[str, Any]:
    """The refunded amount, refund time and status that follow from the order's refunds."""
    refunds = list(order.refunds.all())
    refunded = _cents(sum((r.amount for r in refunds), Decimal(0)))
    full = (
        refunded_in_full
        or order.status == OrderStatus.REFUNDED
        or (order.total > 0 and refunded >= order.total)
    )
    refunded_at = order.refunded_at
    if full and refunded_at is None:
        refunded_at = max((r.created_at for r in refunds), default=None) or at or timezone.now()
    if order.cancelled_at is not None:
        status = OrderStatus.CANCELLED
    elif full:
        status = OrderStatus.REFUNDED
    elif order.fulfilled_at is not None:
        status = OrderStatus.FULFILLED
    else:
        status = OrderStatus.PLACED
    return {"refunded_amount": refunded, "refunded_at": refunded_at, "status": status}


# --- Products → catalog --------------------------------------------------------------------------

_BLOCK_END = re.compile(r"<br\s*/?>|</(p|div|li|h[1-6]|tr)>", re.IGNORECASE)


def _plain_text(body_html: str | None) -> str:
    """The product description without markup; block ends become line breaks."""
    text = html.unescape(strip_tags(_BLOCK_END.sub("\n", body_html or "")))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _apply_product(run: _Run, data: ShopifyProduct) -> Product:
    product = (
        Product.objects.filter(shopify_id=data.id).first()
        or Product.objects.filter(external_ref=_ref(data.id)).first()
        or Product(external_ref=_ref(data.id))
    )
    values: dict[str, Any] = {
        "shopify_id": data.id,
        "title": _text(data.title, 255) or f"Shopify product {data.id}",
        "brand": _text(data.vendor, 100),
        "category": _text(data.product_type, 200),
        "style_tags": _tag_names(data.tags),
        "description": _plain_text(data.body_html),
        "status": ProductStatus.ARCHIVED if data.status == "archived" else ProductStatus.ACTIVE,
    }
    prices = [v.price for v in data.variants if v.price is not None]
    if prices:
        values["price"] = _cents(min(prices))
    arrived = data.published_at or data.created_at
    if product.arrived_on is None and arrived is not None:
        values["arrived_on"] = arrived.date()
    _put(run, "products", product, values)
    options = [
        option.name.strip().lower()
        for option in sorted(
            data.options, key=lambda o: o.position if o.position is not None else 99
        )
    ]
    for index, variant in enumerate(data.variants):
        _apply_variant(run, product, variant, options, field=f"variants.{index}")
    if data.images is not None:
        _sync_photos(run, product, data.images)
    return product


def _size_and_colour(data: ShopifyVariant, options: list[str]) -> tuple[str, str]:
    size = colour = ""
    for name, value in zip(options, (data.option1, data.option2, data.option3), strict=False):
        if not value:
            continue
        if "size" in name and not size:
            size = value.strip()[:32]
        elif ("colour" in name or "color" in name) and not colour:
            colour = value.strip()[:60]
    return size, colour


def _apply_variant(
    run: _Run, product: Product, data: ShopifyVariant, options: list[str], *, field: str
) -> None:
    sku = _text(data.sku, 64) or f"shopify-{data.id}"
    variant = Variant.objects.filter(shopify_id=data.id).select_related("product").first()
    if variant is None:
        variant = Variant.objects.filter(sku=sku).select_related("product").first()
        if variant is not None and variant.shopify_id not in (None, data.id):
            run.error(
                f"{field}.sku",
                f"SKU {sku!r} of Shopify variant {data.id} is already used by Shopify variant "
                f"{variant.shopify_id}; variant skipped",
            )
            return
    if variant is not None and variant.product_id != product.pk:
        run.error(
            f"{field}.id",
            f"Shopify variant {data.id} (SKU {variant.sku!r}) already belongs to product "
            f"{variant.product.external_ref!r}, not {product.external_ref!r}; variant skipped",
        )
        return
    if (
        variant is not None
        and variant.sku != sku
        and Variant.objects.filter(sku=sku).exclude(pk=variant.pk).exists()
    ):
        run.error(
            f"{field}.sku",
            f"SKU {sku!r} of Shopify variant {data.id} is already used by another variant; "
            "variant skipped",
        )
        return
    size, colour = _size_and_colour(data, options)
    values: dict[str, Any] = {"shopify_id": data.id, "sku": sku, "size": size, "colour": colour}
    if data.price is not None:
        values["price"] = _cents(data.price)
    if data.barcode:
        values["barcode"] = _text(data.barcode, 64)
    variant = _put(run, "variants", variant or Variant(product=product), values)
    if data.inventory_quantity is not None:
        stock = Stock.objects.filter(variant=variant, store=run.store).first() or Stock(
            variant=variant, store=run.store
        )
        _put(run, "stock", stock, {"quantity": data.inventory_quantity})


def _sync_photos(run: _Run, product: Product, images: list[ShopifyImage]) -> None:
    """Keep one photo per Shopify image address; drop address-only photos Shopify dropped."""
    photos = list(product.photos.all())
    by_url = {photo.source_url: photo for photo in reversed(photos) if photo.source_url}
    kept: set[str] = set()
    for index, image in enumerate(images, start=1):
        src = image.src.strip()[:500]
        if not src or src in kept:
            continue
        kept.add(src)
        photo = by_url.get(src) or Photo(product=product, source_url=src)
        _put(
            run,
            "photos",
            photo,
            {"position": image.position or index, "alt": _text(image.alt, 255)},
        )
    stale = [p.pk for p in photos if p.source_url and not p.image and p.source_url not in kept]
    if stale:
        Photo.objects.filter(pk__in=stale).delete()
        run.report.count_updated("photos removed", len(stale))
