"""Attribution: a purchase soon after a contact is linked to the contact that preceded it.

The contact time of an action is when it was done; for a held-out action, which nobody made,
it is when the action would have been due. An order the client placed after a contact and
within the store's `attribution_days` of it is linked to the latest such contact, once, whether
the client was contacted or held out: comparing the two groups measures the lift. Cancelled and
refunded orders are not purchases.

The sweep is incremental. Each order is looked at once and then marked (AttributionCheck),
linked or not, so a sweep reads only the orders recorded since the last one — never the whole
history of actions and orders — and a second sweep straight after finds nothing to do. For the
new orders it reads only their clients' contacts in the windows before them (indexed on client,
state and time). A contact always exists before the orders it can be credited with are
recorded (an action is done, or held out, before the client buys after it), so looking at an
order once is enough. Orders placed before the first contact of all can never be linked and are
not looked at; orders placed after `now` wait for a later sweep.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, Min, OuterRef, Q

from extramile.accounts.models import Store
from extramile.moments.governance import rules_for
from extramile.moments.models import Action, ActionState, Attribution, AttributionCheck
from extramile.orders.models import Order, OrderStatus

BATCH = 500  # orders a transaction (and clients a query, under SQLite's variable limit)
NOT_PURCHASES = (OrderStatus.CANCELLED, OrderStatus.REFUNDED)


@dataclass(frozen=True, order=True)
class _Contact:
    at: dt.datetime
    action_id: int
    kind: str
    held_out: bool
    window_days: int


@dataclass
class AttributionReport:
    """What one sweep did: orders looked at for the first time, and links made."""

    checked: int = 0
    linked: int = 0


def attribute_orders(*, now: dt.datetime) -> AttributionReport:
    """Link each order not looked at yet to the latest contact before it within the window."""
    report = AttributionReport()
    earliest = _first_contact()
    if earliest is None:
        return report
    new_orders = (
        Order.objects.filter(client__isnull=False, placed_at__gt=earliest, placed_at__lte=now)
        .filter(~Exists(AttributionCheck.objects.filter(order=OuterRef("pk"))))
        .order_by("pk")
        .values_list("id", "client_id", "placed_at", "status")
    )
    rows = list(new_orders)
    if not rows:
        return report
    windows = _windows()
    longest = dt.timedelta(days=max(windows.values(), default=0))
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        with transaction.atomic():
            contacts = _contacts_before(batch, windows=windows, longest=longest)
            links = _links(batch, contacts, now=now)
            # A concurrent sweep may look at the same orders: the unique rows keep one of each.
            AttributionCheck.objects.bulk_create(
                [AttributionCheck(order_id=row[0], checked_at=now) for row in batch],
                ignore_conflicts=True,
            )
            Attribution.objects.bulk_create(links, ignore_conflicts=True)
        report.checked += len(batch)
        report.linked += len(links)
    return report


def _first_contact() -> dt.datetime | None:
    """The time of the earliest contact of all (done, or held out), or None when there is none."""
    done = Action.objects.filter(state=ActionState.DONE).aggregate(at=Min("completed_at"))["at"]
    held = Action.objects.filter(state=ActionState.HELD_OUT).aggregate(at=Min("due_at"))["at"]
    times = [at for at in (done, held) if at is not None]
    return min(times) if times else None


def _windows() -> dict[int, int]:
    """Each store's attribution window, in days."""
    return {store.pk: rules_for(store).attribution_days for store in Store.objects.all()}


def _contacts_before(
    batch: list[tuple[int, int, dt.datetime, str]],
    *,
    windows: dict[int, int],
    longest: dt.timedelta,
) -> dict[int, list[_Contact]]:
    """The contacts of the batch's clients that may precede its orders, per client, in order."""
    clients = sorted({client_id for _, client_id, _, _ in batch})
    start = min(placed for _, _, placed, _ in batch) - longest
    end = max(placed for _, _, placed, _ in batch)
    found: dict[int, list[_Contact]] = defaultdict(list)
    rows = Action.objects.filter(
        Q(state=ActionState.DONE, completed_at__gte=start, completed_at__lt=end)
        | Q(state=ActionState.HELD_OUT, due_at__gte=start, due_at__lt=end),
        client_id__in=clients,
    ).values_list("id", "client_id", "store_id", "kind", "state", "completed_at", "due_at")
    for action_id, client_id, store_id, kind, state, completed_at, due_at in rows:
        held_out = state == ActionState.HELD_OUT
        at = due_at if held_out else completed_at
        assert at is not None  # done actions are filtered on a completion time
        found[client_id].append(_Contact(at, action_id, kind, held_out, windows.get(store_id, 0)))
    for contacts in found.values():
        contacts.sort()
    return found


def _links(
    batch: list[tuple[int, int, dt.datetime, str]],
    contacts: dict[int, list[_Contact]],
    *,
    now: dt.datetime,
) -> list[Attribution]:
    links = []
    times = {client_id: [contact.at for contact in found] for client_id, found in contacts.items()}
    for order_id, client_id, placed_at, status in batch:
        found = contacts.get(client_id)
        if not found or status in NOT_PURCHASES:
            continue
        # The latest contact strictly before the order (ties in time: the later action).
        index = bisect.bisect_left(times[client_id], placed_at) - 1
        if index < 0:
            continue
        contact = found[index]
        if placed_at > contact.at + dt.timedelta(days=contact.window_days):
            continue
        links.append(
            Attribution(
                action_id=contact.action_id,
                order_id=order_id,
                client_id=client_id,
                kind=contact.kind,
                held_out=contact.held_out,
                window_days=contact.window_days,
                attributed_at=now,
            )
        )
    return links
