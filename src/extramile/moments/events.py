"""Events in: check each against the documented format, store it once, apply it, ask detectors.

Every way in — the REST API, the signed webhook, `extramile events load`, the Shopify webhook
and the CSV import — ends in record_event (docs/events.md). The event row is the idempotency
record: its id is unique, so sending an event again changes nothing. Processing (apply the
event to the domain, run the event-driven detectors, propose actions, mark it processed) runs
in one transaction on the locked event row, so two workers never process one event twice.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from tqdm import tqdm

from extramile.accounts.models import Store
from extramile.moments.detectors import run_event_detectors, run_event_withdrawals
from extramile.moments.event_apply import EventApplyError, apply_event
from extramile.moments.event_schema import EventProblem, InvalidEvent, Path_, event_problems
from extramile.moments.lifecycle import withdraw_moment
from extramile.moments.models import Event, EventType
from extramile.moments.proposals import ProposalResult, propose_actions
from extramile.orders.models import Order, Refund
from extramile.tasks import enqueue

logger = logging.getLogger(__name__)

# Events that extramile's own importers record after writing the change themselves: processing
# them runs the detectors only. Sources are set by the way in, never by the sender.
APPLIED_SOURCES = frozenset({"shopify", "import"})
MAX_BATCH = 1000
# How far back an import's changes still become events (the detectors' windows are shorter).
IMPORT_EVENT_DAYS = 7


@dataclass(frozen=True)
class EventIn:
    """An event that follows the documented format, ready to be recorded."""

    event_id: str
    type: str
    occurred_at: dt.datetime
    store: Store | None
    data: dict[str, Any]


def parse_event(
    raw: object, *, where: str = "", prefix: Path_ = (), default_store: Store | None = None
) -> EventIn:
    """Check one event (a decoded JSON object) and return it; raise InvalidEvent saying why.

    `default_store` fills in a missing "store" (the API: the poster's own store).
    """
    if isinstance(raw, dict) and default_store is not None and "store" not in raw:
        raw = {**raw, "store": default_store.code}
    problems = event_problems(raw, where=where)
    store = None
    if isinstance(raw, dict) and isinstance(raw.get("store"), str):
        store = Store.objects.filter(code=raw["store"]).first()
        if store is None and not any(p.path[:1] == ("store",) for p in problems):
            codes = ", ".join(Store.objects.order_by("code").values_list("code", flat=True))
            problems.append(
                EventProblem(
                    where=where,
                    path=("store",),
                    message=f"unknown store {raw['store']!r} (stores: {codes or 'none yet'})",
                )
            )
    if problems:
        raise InvalidEvent(
            [EventProblem(where=p.where, path=prefix + p.path, message=p.message) for p in problems]
        )
    assert isinstance(raw, dict)
    return EventIn(
        event_id=raw["id"],
        type=raw["type"],
        occurred_at=dt.datetime.fromisoformat(raw["occurred_at"]),
        store=store,
        data=raw["data"],
    )


def parse_event_batch(body: object, *, default_store: Store | None = None) -> list[EventIn]:
    """Read a request body: one event, {"events": [...]}, or a JSON array of events.

    Every event is checked; if any is wrong, InvalidEvent lists every problem, each with its
    path from the top of the body (["events", 2, "data", "order", "id"]) and nothing is kept.
    """
    prefix: Path_
    if isinstance(body, dict) and "events" in body:
        extra = sorted(set(body) - {"events"})
        if extra:
            raise InvalidEvent(
                [EventProblem("", (extra[0],), "is not a field here (a batch holds only events)")]
            )
        items, prefix = body["events"], ("events",)
        if not isinstance(items, list):
            raise InvalidEvent([EventProblem("", prefix, "is not a JSON array of events")])
    elif isinstance(body, list):
        items, prefix = body, ()
    else:
        return [parse_event(body, default_store=default_store)]
    if not items:
        raise InvalidEvent([EventProblem("", prefix, "holds no event")])
    if len(items) > MAX_BATCH:
        raise InvalidEvent(
            [EventProblem("", prefix, f"holds {len(items)} events; at most {MAX_BATCH} a request")]
        )
    parsed: list[EventIn] = []
    problems: list[EventProblem] = []
    for index, raw in enumerate(items):
        try:
            parsed.append(
                parse_event(
                    raw,
                    where=f"event {index}",
                    prefix=(*prefix, index),
                    default_store=default_store,
                )
            )
        except InvalidEvent as exc:
            problems.extend(exc.problems)
    if problems:
        raise InvalidEvent(problems)
    return parsed


class UnreadableBody(ValueError):
    """A request body that is not JSON at all."""


def decode_body(body: bytes) -> object:
    """Decode a request body as JSON; raise UnreadableBody when it is not."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableBody(f"The body is not JSON ({exc}).") from exc


def _envelope(
    *, event_id: str, type: str, occurred_at: dt.datetime, data: dict[str, Any], store: Store | None
) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": event_id,
        "type": type,
        "occurred_at": occurred_at.isoformat(),
        "data": data,
    }
    if store is not None:
        raw["store"] = store.code
    return raw


def store_event(
    *,
    event_id: str,
    type: str,
    occurred_at: dt.datetime,
    data: dict[str, Any],
    source: str,
    store: Store | None = None,
) -> tuple[Event, bool]:
    """Check an event and store it once, unprocessed; return it and whether it is new."""
    checked = parse_event(
        _envelope(event_id=event_id, type=type, occurred_at=occurred_at, data=data, store=store)
    )
    existing = Event.objects.filter(event_id=event_id).first()
    if existing is not None:
        return existing, False
    try:
        # The unique event_id settles a race: the loser's insert fails and it finds the winner.
        with transaction.atomic():
            event = Event.objects.create(
                event_id=checked.event_id,
                type=checked.type,
                occurred_at=checked.occurred_at,
                source=source,
                store=store,
                data=checked.data,
            )
    except IntegrityError:
        return Event.objects.get(event_id=event_id), False
    return event, True


def record_event(
    *,
    event_id: str,
    type: str,
    occurred_at: dt.datetime,
    data: dict[str, Any],
    source: str,
    store: Store | None = None,
) -> tuple[Event, bool]:
    """Check an event, store it once and process it once the transaction commits.

    Return the event and whether it is new; a replay (an id already stored) changes nothing.
    Raise InvalidEvent when it does not follow the documented format.
    """
    from extramile.moments.tasks import process_event_task

    event, created = store_event(
        event_id=event_id,
        type=type,
        occurred_at=occurred_at,
        data=data,
        source=source,
        store=store,
    )
    if created:
        enqueue(process_event_task, event_id=event.pk)
    return event, created


def record_events(events: Iterable[EventIn], *, source: str) -> list[tuple[Event, bool]]:
    """Record checked events in one transaction, in order; return each with whether it is new."""
    with transaction.atomic():
        return [
            record_event(
                event_id=event.event_id,
                type=event.type,
                occurred_at=event.occurred_at,
                data=event.data,
                source=source,
                store=event.store,
            )
            for event in events
        ]


def is_applied_at_source(event: Event) -> bool:
    """Say whether the change the event describes was written by the importer that recorded it."""
    return event.source in APPLIED_SOURCES


def process_event(event: Event, *, now: dt.datetime | None = None) -> ProposalResult | None:
    """Apply the event, run the detectors that answer it, propose actions; mark it processed.

    Return None for an event already processed (nothing changes). When the event cannot be
    applied, or a detector fails, every write of this attempt is undone, the error is stored on
    the event (which stays pending, so the engine sweep tries again) and the exception raised.
    """
    now = now or timezone.now()
    failure: Exception | None = None
    with transaction.atomic():
        locked = Event.objects.select_for_update().get(pk=event.pk)
        if locked.processed_at is not None:
            return None
        try:
            with transaction.atomic():
                if not is_applied_at_source(locked):
                    apply_event(locked)
                # Moments the event ends are withdrawn first, so nothing merges into them.
                for key, reason in run_event_withdrawals(locked):
                    withdraw_moment(key, reason=reason, now=now)
                result = propose_actions(run_event_detectors(locked, now=now), now=now)
        except Exception as exc:
            # Recorded, then raised again below, once the error is committed.
            failure = exc
            locked.error = _describe(exc)
            locked.save(update_fields=["error"])
        else:
            locked.processed_at = now
            locked.error = ""
            locked.save(update_fields=["processed_at", "error"])
    event.processed_at, event.error = locked.processed_at, locked.error
    if failure is not None:
        raise failure
    return result


def _describe(exc: Exception) -> str:
    if isinstance(exc, EventApplyError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


# --- Events recorded by extramile's own importers and the demo ---------------------------------


def order_event(order: Order, *, type: EventType, refund: Refund | None = None) -> dict[str, Any]:
    """Describe what happened to an order as an event's type, store, time and data.

    Pass the result with an event id and a source to record_event or store_event.
    """
    ref = {"id": order.external_ref}
    occurred_at: dt.datetime | None
    data: dict[str, Any]
    if type == EventType.ORDER_PLACED:
        occurred_at, data = order.placed_at, {"order": _order_placed_data(order)}
    elif type == EventType.ORDER_FULFILLED:
        occurred_at, data = order.fulfilled_at, {"order": ref}
    elif type == EventType.ORDER_CANCELLED:
        occurred_at, data = order.cancelled_at, {"order": ref}
        if order.cancel_reason:
            data["reason"] = order.cancel_reason
    elif type == EventType.ORDER_REFUNDED:
        if refund is not None:
            occurred_at = refund.created_at
            data = {"order": ref, "refund_id": refund.external_ref, "amount": str(refund.amount)}
            if refund.note:
                data["note"] = refund.note
        else:
            occurred_at = order.refunded_at
            data = {"order": ref, "amount": str(order.refunded_amount)}
    else:
        raise ValueError(f"{type} is not an order event")
    return {
        "type": str(type),
        "occurred_at": occurred_at or timezone.now(),
        "data": data,
        "store": order.store,
    }


def _order_placed_data(order: Order) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": order.external_ref,
        "channel": order.channel,
        "placed_at": order.placed_at.isoformat(),
        "currency": order.currency,
        "total": str(order.total),
    }
    client = order.client
    if client is not None:
        said = {"id": client.external_ref, "email": client.email, "phone": client.phone}
        first = next(((key, value) for key, value in said.items() if value), None)
        if first is not None:
            data["client"] = dict([first])
    if order.associate is not None:
        data["associate"] = order.associate.username
    if order.note:
        data["note"] = order.note
    lines = []
    for line in order.lines.all():
        item: dict[str, Any] = {"quantity": line.quantity, "unit_price": str(line.unit_price)}
        if line.sku:
            item["sku"] = line.sku
        if line.title:
            item["title"] = line.title
        if line.sku or line.title:
            lines.append(item)
    data["lines"] = lines
    return data


def record_imported_order_events(
    orders: Iterable[Order], *, source: str = "import", now: dt.datetime | None = None
) -> list[int]:
    """Record what an import did to each order lately (placed, fulfilled, cancelled, refunded).

    Only what happened in the last IMPORT_EVENT_DAYS becomes an event: an import of years of
    history writes the orders but no events, since no moment comes of a day-old check-in
    or a month-old cancellation. The ids are made from the order's reference (and the refunded
    amount), so importing the file again records nothing new. The new events are processed
    by one task once the transaction commits; return their ids.
    """
    from extramile.moments.tasks import process_events_task

    since = (now or timezone.now()) - dt.timedelta(days=IMPORT_EVENT_DAYS)
    wanted: dict[str, dict[str, Any]] = {}
    for order in orders:
        ref = order.external_ref
        happened = [
            (EventType.ORDER_PLACED, order.placed_at, f"{source}:order.placed:{ref}"),
            (EventType.ORDER_FULFILLED, order.fulfilled_at, f"{source}:order.fulfilled:{ref}"),
            (EventType.ORDER_CANCELLED, order.cancelled_at, f"{source}:order.cancelled:{ref}"),
        ]
        if order.refunded_amount > 0:
            happened.append(
                (
                    EventType.ORDER_REFUNDED,
                    order.refunded_at or order.updated_at,
                    f"{source}:order.refunded:{ref}:{order.refunded_amount}",
                )
            )
        for kind, at, event_id in happened:
            if at is not None and at >= since:
                wanted[event_id] = order_event(order, type=kind)
    ids = list(wanted)
    for start in range(0, len(ids), 900):  # well under SQLite's limit of variables a query
        for known in Event.objects.filter(event_id__in=ids[start : start + 900]).values_list(
            "event_id", flat=True
        ):
            wanted.pop(known)
    rows = []
    for event_id, fields in wanted.items():
        envelope = _envelope(event_id=event_id, **fields)
        problems = event_problems(envelope)
        if problems:
            # The order itself is imported; only its event is missing, so say so and go on.
            logger.warning("Event %s not recorded: %s", event_id, InvalidEvent(problems))
            continue
        rows.append(Event(event_id=event_id, source=source, **fields))
    try:
        with transaction.atomic():
            created = [event.pk for event in Event.objects.bulk_create(rows)]
    except IntegrityError:
        # A concurrent import recorded some of them first: take the rest one by one.
        created = []
        for row in rows:
            event, new = store_event(
                event_id=row.event_id,
                type=row.type,
                occurred_at=row.occurred_at,
                data=row.data,
                source=source,
                store=row.store,
            )
            if new:
                created.append(event.pk)
    if created:
        enqueue(process_events_task, event_ids=created)
    return created


# --- A file of events: `extramile events load FILE.jsonl` --------------------------------------


@dataclass
class LoadReport:
    """What loading a file of events did: counts, every refused line, and failed processing."""

    file: str
    created: int = 0
    duplicates: int = 0
    refused_lines: int = 0
    refused: list[str] = field(default_factory=list)
    not_applied: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no line was refused."""
        return not self.refused_lines

    def render(self) -> str:
        """A one-line summary, then each refused line and each event that could not be applied."""
        lines = [
            f"{self.file}: {self.created} events recorded, {self.duplicates} already known "
            f"(unchanged), {self.refused_lines} lines refused."
        ]
        lines.extend(f"  error: {message}" for message in self.refused)
        lines.extend(f"  not applied: {message}" for message in self.not_applied)
        return "\n".join(lines)


def load_events_file(path: Path, *, progress: bool = False) -> LoadReport:
    """Record the events of a JSON Lines file, each line on its own; bad lines are reported."""
    report = LoadReport(file=path.name)
    lines = path.read_text(encoding="utf-8").splitlines()
    recorded: list[tuple[int, Event]] = []
    for number, line in enumerate(
        tqdm(
            lines, desc=f"events {path.name}", unit=" line", file=sys.stderr, disable=not progress
        ),
        start=1,
    ):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            report.refused_lines += 1
            report.refused.append(f"{where}: not a JSON object on one line ({exc.msg})")
            continue
        try:
            event = parse_event(raw, where=where)
        except InvalidEvent as exc:
            report.refused_lines += 1
            report.refused.extend(str(problem) for problem in exc.problems)
            continue
        stored, created = record_events([event], source="file")[0]
        if created:
            report.created += 1
            recorded.append((number, stored))
        else:
            report.duplicates += 1
    # With the embedded default the events are processed as each line commits; say which failed.
    pending = Event.objects.filter(
        pk__in=[event.pk for _, event in recorded], processed_at__isnull=True
    )
    failed = dict(pending.exclude(error="").values_list("pk", "error"))
    report.not_applied = [
        f"{path.name}:{number}: {event.event_id}: {failed[event.pk]}"
        for number, event in recorded
        if event.pk in failed
    ]
    return report
