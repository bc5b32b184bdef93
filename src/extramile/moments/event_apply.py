"""Apply one documented event to the domain: clients, catalog, stock, orders, problems, staff.

Each type has one function here. Every function is an upsert keyed by the references the event
carries (a client's id, an order's id, a SKU), so applying the same event twice changes nothing
the second time. A reference that cannot be resolved (an unknown SKU, an order of another
store) raises EventApplyError naming the field; the caller rolls the event's writes back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q

from extramile.accounts.models import Store, User
from extramile.accounts.services import hand_over_clients
from extramile.care.models import Problem, ProblemStatus, Promise
from extramile.catalog.models import Product, Stock, Variant
from extramile.clients.models import (
    Channel,
    Client,
    ClientStatus,
    ContactKind,
    DateKind,
)
from extramile.clients.services import (
    add_important_date,
    add_preference,
    create_client,
    normalize_email,
    normalize_phone,
    record_consent,
    set_size,
    set_tags,
    update_client,
)
from extramile.ingest.changes import assign_changes
from extramile.ingest.fields import parse_month_day
from extramile.moments.models import Event, EventType
from extramile.orders.models import Order, OrderLine, OrderStatus, Refund

CENT = Decimal("0.01")


class EventApplyError(ValueError):
    """An event that follows the format but cannot be applied: the field and the reason."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def apply_event(event: Event) -> None:
    """Write what the event says into the domain; raise EventApplyError when it cannot."""
    APPLIERS[event.type](event)


# --- Looking records up ----------------------------------------------------------------------


def _store(event: Event) -> Store:
    if event.store is None:
        raise EventApplyError("store", "is required: this type of event belongs to a store")
    return event.store


def _amount(value: str | float | int) -> Decimal:
    return Decimal(str(value).strip()).quantize(CENT)


def _survivor(client: Client) -> Client:
    """Follow merges to the client record still in use."""
    seen = {client.pk}
    while client.status == ClientStatus.MERGED and client.merged_into_id not in (None, *seen):
        assert client.merged_into is not None
        client = client.merged_into
        seen.add(client.pk)
    return client


def find_client(store: Store, *, ref: str = "", email: str = "", phone: str = "") -> Client | None:
    """Find a store's client by your id for them, else by email, else by phone.

    The rule of the importers (extramile.ingest.clientbook.ClientIndex): an email or phone only
    matches a client without an id or with the same one, so two POS records stay two clients.
    """
    if ref:
        found = Client.objects.filter(store=store, external_ref=ref).first()
        if found is not None:
            return _survivor(found)
    for field, kind, value in (
        ("email", ContactKind.EMAIL, email),
        ("phone", ContactKind.PHONE, phone),
    ):
        if not value:
            continue
        candidates = (
            Client.objects.current()
            .filter(store=store)
            .filter(Q(**{field: value}) | Q(contact_points__kind=kind, contact_points__value=value))
            .distinct()
            .order_by("id")
        )
        for client in candidates:
            if not ref or not client.external_ref or client.external_ref == ref:
                return client
    return None


def _client_for(store: Store, data: dict[str, Any], *, path: str) -> Client:
    ref = data.get("id", "")
    email = normalize_email(data.get("email", ""))
    phone = normalize_phone(data.get("phone", ""))
    client = find_client(store, ref=ref, email=email, phone=phone)
    if client is None:
        said = ", ".join(f"{key} {value!r}" for key, value in data.items())
        raise EventApplyError(
            path, f"no client with {said} in store {store.code} (send client.upserted first)"
        )
    return client


def _order_for(store: Store, ref: str, *, path: str) -> Order:
    order = Order.objects.filter(external_ref=ref).select_related("store").first()
    if order is None:
        raise EventApplyError(path, f"no order {ref!r} is known (send order.placed first)")
    if order.store_id != store.pk:
        raise EventApplyError(path, f"order {ref!r} belongs to store {order.store.code}")
    return order


def _staff(username: str, *, store: Store | None, path: str) -> User:
    user = User.objects.select_related("store").filter(username=username).first()
    if user is None:
        raise EventApplyError(path, f"no member of staff has the username {username!r}")
    if store is not None and user.store_id != store.pk and not user.is_admin:
        where = user.store.code if user.store else "no store"
        raise EventApplyError(path, f"{username!r} works at {where}, not {store.code}")
    return user


def _active_staff(username: str, *, store: Store, path: str) -> User:
    user = _staff(username, store=store, path=path)
    if not user.is_active or user.deactivated_at is not None:
        raise EventApplyError(path, f"{username!r} is deactivated")
    return user


def _variant(sku: str, *, path: str) -> Variant:
    variant = Variant.objects.select_related("product").filter(sku=sku).first()
    if variant is None:
        raise EventApplyError(path, f"unknown sku {sku!r} (send product.upserted first)")
    return variant


def _save(obj: Any, values: dict[str, Any]) -> bool:
    """Set the values that differ and save the record if any did; say whether it changed."""
    changed = assign_changes(obj, values)
    if obj._state.adding:
        obj.save()
        return True
    if changed:
        obj.save()
    return bool(changed)


def _local_date(moment: dt.datetime, store: Store | None) -> dt.date:
    zone = ZoneInfo(store.time_zone if store and store.time_zone else settings.TIME_ZONE)
    return moment.astimezone(zone).date()


# --- client.upserted -------------------------------------------------------------------------

_CLIENT_FIELDS = ("first_name", "last_name", "email", "phone", "address", "language", "time_zone")


def _apply_client(event: Event) -> None:
    store = _store(event)
    data: dict[str, Any] = event.data["client"]
    ref = data.get("id", "")
    given: dict[str, Any] = {name: data[name] for name in _CLIENT_FIELDS if name in data}
    if "email" in given:
        given["email"] = normalize_email(given["email"])
    if "phone" in given:
        given["phone"] = normalize_phone(given["phone"])
    if "status" in data:
        given["status"] = data["status"]
    client = find_client(store, ref=ref, email=given.get("email", ""), phone=given.get("phone", ""))
    if "associate" in data:
        given["primary_associate"] = _active_staff(
            data["associate"], store=store, path="data.client.associate"
        )
    if client is None:
        client = _service(lambda: create_client(store=store, **given))
        if ref:
            client.external_ref = ref
            client.save(update_fields=["external_ref", "updated_at"])
    else:
        current = {name: getattr(client, name) for name in (*_CLIENT_FIELDS, "status")}
        current["primary_associate"] = client.primary_associate
        if any(current[name] != value for name, value in given.items()):
            values = {**current, **given}
            _service(lambda: update_client(client, **values))
        if ref and not client.external_ref:
            client.external_ref = ref
            client.save(update_fields=["external_ref", "updated_at"])
    _client_details(event, client, data)
    if "referred_by" in data:
        _record_referral(event, store=store, referred=client, said=data["referred_by"])


def _record_referral(event: Event, *, store: Store, referred: Client, said: dict[str, Any]) -> None:
    """Record who sent the client; the same referrer again changes nothing."""
    # Imported here: loyalty's services record events, so they import this module's caller.
    from extramile.loyalty.models import ReferralSource
    from extramile.loyalty.services import record_referral

    path = "data.client.referred_by"
    referrer = _client_for(store, said, path=path)
    try:
        record_referral(
            referrer=referrer,
            referred=referred,
            source=ReferralSource.EVENT,
            now=event.occurred_at,
        )
    except ValidationError as exc:
        raise EventApplyError(path, " ".join(exc.messages)) from exc


def _service(call: Callable[[], Client]) -> Client:
    """Run a client-book service; turn its ValidationError into one naming the event's field."""
    try:
        return call()
    except ValidationError as exc:
        by_field = exc.message_dict if hasattr(exc, "error_dict") else {"client": exc.messages}
        field, messages = next(iter(by_field.items()))
        path = "data.client" if field in ("client", "__all__") else f"data.client.{field}"
        raise EventApplyError(path, " ".join(messages)) from exc


def _client_details(event: Event, client: Client, data: dict[str, Any]) -> None:
    if data.get("tags"):
        have = [tag.name for tag in client.tags.all()]
        known = {name.lower() for name in have}
        missing = [name for name in dict.fromkeys(data["tags"]) if name.lower() not in known]
        if missing:
            set_tags(client, have + missing)
    for channel, granted in data.get("consents", {}).items():
        latest = client.consents.filter(channel=channel).order_by("-recorded_at", "-id").first()
        if latest is not None and latest.recorded_at >= event.occurred_at:
            continue  # a later decision stands
        record_consent(
            client,
            channel=Channel(channel),
            granted=granted,
            source=f"event {event.event_id}"[:120],
            at=event.occurred_at,
        )
    sizes = {size.category.lower(): size.size for size in client.sizes.all()}
    for category, size in data.get("sizes", {}).items():
        if sizes.get(category.lower()) != size:
            set_size(client, category=category, size=size)
    if "birthday" in data:
        month, day, year = parse_month_day("data.client.birthday", data["birthday"])
        birthday = client.important_dates.filter(kind=DateKind.BIRTHDAY).order_by("id").first()
        if birthday is None:
            add_important_date(client, kind=DateKind.BIRTHDAY, month=month, day=day, year=year)
        else:
            _save(birthday, {"month": month, "day": day, "year": year})
    likes = {(p.dimension, p.value.lower()): p.likes for p in client.preferences.all()}
    for preference in data.get("preferences", []):
        dimension, value = preference["dimension"], preference["value"]
        wanted = preference.get("likes", True)
        if likes.get((dimension, value.lower())) != wanted:
            add_preference(
                client, dimension=dimension, value=value, likes=wanted, at=event.occurred_at
            )


# --- product.upserted, stock.upserted, product.arrived ----------------------------------------

_PRODUCT_TEXT = ("title", "brand", "category", "colour", "material", "description", "currency")


def _apply_product(event: Event) -> None:
    data: dict[str, Any] = event.data["product"]
    product = Product.objects.filter(external_ref=data["id"]).first() or Product(
        external_ref=data["id"]
    )
    values: dict[str, Any] = {name: data[name] for name in _PRODUCT_TEXT if name in data}
    for name in ("price", "cost"):
        if name in data:
            values[name] = _amount(data[name])
    if "style_tags" in data:
        values["style_tags"] = list(dict.fromkeys(data["style_tags"]))
    if "arrived_on" in data:
        values["arrived_on"] = dt.date.fromisoformat(data["arrived_on"])
    if "status" in data:
        values["status"] = data["status"]
    _save(product, values)
    for index, item in enumerate(data.get("variants", [])):
        path = f"data.product.variants.{index}.sku"
        variant = Variant.objects.select_related("product").filter(sku=item["sku"]).first()
        if variant is None:
            variant = Variant(product=product, sku=item["sku"])
        elif variant.product_id != product.pk:
            raise EventApplyError(
                path,
                f"{item['sku']!r} belongs to product {variant.product.external_ref!r}, "
                f"not {product.external_ref!r}",
            )
        variant_values: dict[str, Any] = {
            name: item[name] for name in ("size", "colour", "barcode") if name in item
        }
        for name in ("price", "cost"):
            if name in item:
                variant_values[name] = _amount(item[name])
        _save(variant, variant_values)


def _set_stock(
    store: Store, items: list[dict[str, Any]], *, path: str, product: Product | None = None
) -> None:
    for index, item in enumerate(items):
        variant = _variant(item["sku"], path=f"{path}.{index}.sku")
        if product is not None and variant.product_id != product.pk:
            raise EventApplyError(
                f"{path}.{index}.sku",
                f"{item['sku']!r} is a variant of {variant.product.external_ref!r}, "
                f"not of {product.external_ref!r}",
            )
        stock = Stock.objects.filter(variant=variant, store=store).first() or Stock(
            variant=variant, store=store
        )
        _save(stock, {"quantity": item["quantity"]})


def _apply_stock(event: Event) -> None:
    _set_stock(_store(event), event.data["stock"], path="data.stock")


def _apply_arrival(event: Event) -> None:
    ref = event.data["product"]["id"]
    product = Product.objects.filter(external_ref=ref).first()
    if product is None:
        raise EventApplyError(
            "data.product.id", f"no product {ref!r} is known (send product.upserted first)"
        )
    if "arrived_on" in event.data:
        arrived_on = dt.date.fromisoformat(event.data["arrived_on"])
    else:
        arrived_on = _local_date(event.occurred_at, event.store)
    _save(product, {"arrived_on": arrived_on})
    if "stock" in event.data:
        _set_stock(_store(event), event.data["stock"], path="data.stock", product=product)


# --- order.placed, fulfilled, cancelled, refunded --------------------------------------------


def _apply_order_placed(event: Event) -> None:
    store = _store(event)
    data: dict[str, Any] = event.data["order"]
    order = Order.objects.filter(external_ref=data["id"]).select_related("store").first()
    if order is not None and order.store_id != store.pk:
        raise EventApplyError(
            "data.order.id", f"order {data['id']!r} belongs to store {order.store.code}"
        )
    lines = _order_lines(data["lines"])
    values: dict[str, Any] = {
        "channel": data["channel"],
        "placed_at": dt.datetime.fromisoformat(data["placed_at"])
        if "placed_at" in data
        else event.occurred_at,
        "total": _amount(data["total"])
        if "total" in data
        else sum((line["unit_price"] * line["quantity"] for line in lines), Decimal("0.00")),
    }
    if "client" in data:
        values["client_id"] = _client_for(store, data["client"], path="data.order.client").pk
    if "associate" in data:
        values["associate_id"] = _staff(
            data["associate"], store=store, path="data.order.associate"
        ).pk
    if "currency" in data:
        values["currency"] = data["currency"]
    elif order is None:
        values["currency"] = store.currency
    if "note" in data:
        values["note"] = data["note"]
    if order is None:
        order = Order(store=store, external_ref=data["id"], status=OrderStatus.PLACED)
    _save(order, values)
    _sync_lines(order, lines)


def _order_lines(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lines = []
    for index, item in enumerate(items):
        path = f"data.order.lines.{index}"
        variant = _variant(item["sku"], path=f"{path}.sku") if "sku" in item else None
        if "unit_price" in item:
            price = _amount(item["unit_price"])
        elif variant is not None and variant.effective_price is not None:
            price = variant.effective_price
        else:
            raise EventApplyError(f"{path}.unit_price", "is required: the item has no price")
        product = variant.product if variant is not None else None
        lines.append(
            {
                "variant_id": variant.pk if variant is not None else None,
                "product_id": product.pk if product is not None else None,
                "sku": item.get("sku", ""),
                "title": item.get("title") or (product.title[:255] if product else ""),
                "quantity": item["quantity"],
                "unit_price": price,
                "unit_cost": None
                if variant is None
                else (variant.cost if variant.cost is not None else variant.product.cost),
            }
        )
    return lines


def _sync_lines(order: Order, lines: list[dict[str, Any]]) -> None:
    """Make the order's lines these; a line is matched on (sku or title, its occurrence)."""
    old: dict[tuple[str, int], OrderLine] = {}
    seen: dict[str, int] = {}
    for line in order.lines.order_by("id"):
        name = line.sku or line.title
        seen[name] = seen.get(name, 0) + 1
        old[(name, seen[name])] = line
    seen = {}
    for values in lines:
        name = values["sku"] or values["title"]
        seen[name] = seen.get(name, 0) + 1
        key = (name, seen[name])
        line = old.pop(key) if key in old else OrderLine(order=order)
        _save(line, values)
    if old:
        OrderLine.objects.filter(pk__in=[line.pk for line in old.values()]).delete()


def _apply_order_fulfilled(event: Event) -> None:
    order = _order_for(_store(event), event.data["order"]["id"], path="data.order.id")
    values: dict[str, Any] = {}
    if order.fulfilled_at is None:
        values["fulfilled_at"] = event.occurred_at
    if order.status == OrderStatus.PLACED:
        values["status"] = OrderStatus.FULFILLED
    _save(order, values)


def _apply_order_cancelled(event: Event) -> None:
    order = _order_for(_store(event), event.data["order"]["id"], path="data.order.id")
    values: dict[str, Any] = {"status": OrderStatus.CANCELLED}
    if order.cancelled_at is None:
        values["cancelled_at"] = event.occurred_at
    if "reason" in event.data:
        values["cancel_reason"] = event.data["reason"]
    _save(order, values)


def default_refund_ref(event_id: str) -> str:
    """A refund reference made from the event id, short enough for the refund's column."""
    ref = f"event-{event_id}"
    if len(ref) <= 64:
        return ref
    return "event-" + hashlib.sha256(event_id.encode()).hexdigest()[:40]


def _apply_order_refunded(event: Event) -> None:
    order = _order_for(_store(event), event.data["order"]["id"], path="data.order.id")
    ref = event.data.get("refund_id") or default_refund_ref(event.event_id)
    refund = Refund.objects.filter(external_ref=ref).select_related("order").first()
    if refund is not None and refund.order_id != order.pk:
        raise EventApplyError(
            "data.refund_id", f"refund {ref!r} is on order {refund.order.external_ref!r}"
        )
    others = sum((r.amount for r in order.refunds.exclude(external_ref=ref)), start=Decimal("0.00"))
    left = max(order.total - others, Decimal("0.00"))
    if "amount" in event.data:
        amount = _amount(event.data["amount"])
        if amount > left:
            raise EventApplyError(
                "data.amount",
                f"{amount} is more than what is left to refund on the order ({left})",
            )
    else:
        amount = left
    values: dict[str, Any] = {"order_id": order.pk, "amount": amount}
    if "note" in event.data:
        values["note"] = event.data["note"]
    if refund is None:
        refund = Refund(external_ref=ref, created_at=event.occurred_at)
    _save(refund, values)
    refunded = others + amount
    order_values: dict[str, Any] = {"refunded_amount": refunded}
    if refunded >= order.total:
        if order.refunded_at is None:
            order_values["refunded_at"] = event.occurred_at
        if order.cancelled_at is None:
            order_values["status"] = OrderStatus.REFUNDED
    _save(order, order_values)


# --- problem.reported, problem.resolved ------------------------------------------------------


def _apply_problem_reported(event: Event) -> None:
    store = _store(event)
    data: dict[str, Any] = event.data["problem"]
    client = _client_for(store, data["client"], path="data.problem.client")
    values: dict[str, Any] = {
        "store_id": store.pk,
        "client_id": client.pk,
        "kind": data["kind"],
        "description": data.get("description", ""),
        "reported_at": event.occurred_at,
    }
    if "order" in data:
        order = _order_for(store, data["order"]["id"], path="data.problem.order.id")
        values["order_id"] = order.pk
    item = data.get("item", {})
    if "sku" in item:
        values["product_id"] = _variant(item["sku"], path="data.problem.item.sku").product_id
    elif "product" in item:
        product = Product.objects.filter(external_ref=item["product"]).first()
        if product is None:
            raise EventApplyError(
                "data.problem.item.product", f"no product {item['product']!r} is known"
            )
        values["product_id"] = product.pk
    if "reported_by" in data:
        values["reported_by_id"] = _staff(
            data["reported_by"], store=store, path="data.problem.reported_by"
        ).pk
    if "urgency" in data:
        values["urgency"] = data["urgency"]
    if "promised_by" in data:
        values["promised_by"] = dt.datetime.fromisoformat(data["promised_by"])
    if "owner" in data:
        values["owner_id"] = _active_staff(data["owner"], store=store, path="data.problem.owner").pk
    problem = Problem.objects.filter(external_ref=event.event_id).first() or Problem(
        external_ref=event.event_id
    )
    _save(problem, values)


def _apply_problem_resolved(event: Event) -> None:
    store = _store(event)
    ref = event.data["problem"]["id"]
    problem = Problem.objects.filter(external_ref=ref).select_related("store").first()
    if problem is None:
        raise EventApplyError("data.problem.id", f"no problem was reported by event {ref!r}")
    if problem.store_id != store.pk:
        raise EventApplyError(
            "data.problem.id", f"problem {ref!r} belongs to store {problem.store.code}"
        )
    values: dict[str, Any] = {"status": ProblemStatus.RESOLVED}
    if problem.resolved_at is None:
        values["resolved_at"] = event.occurred_at
    if "resolution" in event.data:
        values["resolution"] = event.data["resolution"]
    if "resolved_by" in event.data:
        values["resolved_by_id"] = _staff(
            event.data["resolved_by"], store=store, path="data.resolved_by"
        ).pk
    _save(problem, values)


# --- promise.made ----------------------------------------------------------------------------


def _apply_promise_made(event: Event) -> None:
    store = _store(event)
    data: dict[str, Any] = event.data["promise"]
    client = _client_for(store, data["client"], path="data.promise.client")
    due_at = dt.datetime.fromisoformat(data["due_at"])
    if due_at <= event.occurred_at:
        raise EventApplyError("data.promise.due_at", "is not after occurred_at, when it was made")
    values: dict[str, Any] = {
        "store_id": store.pk,
        "client_id": client.pk,
        "text": data["text"],
        "due_at": due_at,
        "made_at": event.occurred_at,
    }
    if "made_by" in data:
        values["made_by_id"] = _staff(data["made_by"], store=store, path="data.promise.made_by").pk
    if "problem" in data:
        ref = data["problem"]["id"]
        problem = Problem.objects.filter(external_ref=ref, store=store).first()
        if problem is None:
            raise EventApplyError(
                "data.promise.problem.id", f"no problem of store {store.code} has the id {ref!r}"
            )
        if problem.client_id != client.pk:
            raise EventApplyError("data.promise.problem.id", f"problem {ref!r} is another client's")
        values["problem_id"] = problem.pk
    promise = Promise.objects.filter(external_ref=event.event_id).first() or Promise(
        external_ref=event.event_id
    )
    _save(promise, values)


# --- associate.deactivated -------------------------------------------------------------------


def _apply_associate_deactivated(event: Event) -> None:
    username = event.data["associate"]["username"]
    user = _staff(username, store=event.store, path="data.associate.username")
    values: dict[str, Any] = {"is_active": False}
    if user.deactivated_at is None:
        values["deactivated_at"] = event.occurred_at
    _save(user, values)
    # Their clients go to colleagues of the same store; the handover detector then gives each
    # new owner a handover action. A second run finds no client left and changes nothing.
    hand_over_clients(user, at=event.occurred_at)


# --- survey.answered ---------------------------------------------------------------------------


def _apply_survey_answered(event: Event) -> None:
    # Imported here: loyalty's services record events, so they import this module's caller.
    from extramile.loyalty.models import Survey
    from extramile.loyalty.services import answer_from_event

    store = _store(event)
    client = _client_for(store, event.data["client"], path="data.client")
    survey = None
    if "survey" in event.data:
        uid = event.data["survey"]["id"]
        survey = Survey.objects.filter(uid=uid).first()
        if survey is None or survey.store_id != store.pk:
            raise EventApplyError("data.survey.id", f"no survey {uid!r} was sent by {store.code}")
        if survey.client_id != client.pk:
            raise EventApplyError("data.client", "is not the client the survey was sent to")
    answer_from_event(event, store=store, client=client, survey=survey)


APPLIERS: dict[str, Callable[[Event], None]] = {
    EventType.CLIENT_UPSERTED: _apply_client,
    EventType.PRODUCT_UPSERTED: _apply_product,
    EventType.STOCK_UPSERTED: _apply_stock,
    EventType.ORDER_PLACED: _apply_order_placed,
    EventType.ORDER_FULFILLED: _apply_order_fulfilled,
    EventType.ORDER_CANCELLED: _apply_order_cancelled,
    EventType.ORDER_REFUNDED: _apply_order_refunded,
    EventType.PRODUCT_ARRIVED: _apply_arrival,
    EventType.PROBLEM_REPORTED: _apply_problem_reported,
    EventType.PROBLEM_RESOLVED: _apply_problem_resolved,
    EventType.ASSOCIATE_DEACTIVATED: _apply_associate_deactivated,
    EventType.PROMISE_MADE: _apply_promise_made,
    EventType.SURVEY_ANSWERED: _apply_survey_answered,
}
