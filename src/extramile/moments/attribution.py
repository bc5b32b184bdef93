"""Attribution: a purchase soon after a contact is linked to the contact that preceded it.

The contact time of an action is when it was done; for a held-out action, which nobody made,
it is when the action would have been due. An order the client placed after a contact and
within the store's `attribution_days` of it is linked to the latest such contact, once, whether
the client was contacted or held out: comparing the two groups measures the lift. Cancelled and
refunded orders are not purchases.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Q

from extramile.accounts.models import Store
from extramile.moments.governance import rules_for
from extramile.moments.models import Action, ActionState, Attribution
from extramile.orders.models import Order, OrderStatus


@dataclass(frozen=True, order=True)
class _Contact:
    at: dt.datetime
    action_id: int
    kind: str
    held_out: bool
    window_days: int


def attribute_orders(*, now: dt.datetime) -> int:
    """Link each unattributed order to the latest contact before it within the window."""
    contacted = Action.objects.filter(
        Q(state=ActionState.DONE, completed_at__isnull=False) | Q(state=ActionState.HELD_OUT)
    )
    rows = list(
        contacted.values_list(
            "id", "client_id", "store_id", "kind", "state", "completed_at", "due_at"
        )
    )
    if not rows:
        return 0
    windows = {
        store.pk: rules_for(store).attribution_days
        for store in Store.objects.filter(pk__in={row[2] for row in rows})
    }
    contacts: dict[int, list[_Contact]] = defaultdict(list)
    for action_id, client_id, store_id, kind, state, completed_at, due_at in rows:
        held_out = state == ActionState.HELD_OUT
        at = due_at if held_out else completed_at
        assert at is not None  # done actions are filtered on a completion time
        contacts[client_id].append(_Contact(at, action_id, kind, held_out, windows[store_id]))
    for found in contacts.values():
        found.sort()
    times = {client_id: [contact.at for contact in found] for client_id, found in contacts.items()}
    earliest = min(found[0] for found in times.values())

    orders = (
        Order.objects.filter(
            client_id__in=contacted.values("client_id"),
            placed_at__gt=earliest,
            placed_at__lte=now,
        )
        .exclude(status__in=[OrderStatus.CANCELLED, OrderStatus.REFUNDED])
        .exclude(attributions__isnull=False)
        .values_list("id", "client_id", "placed_at")
    )
    links = []
    for order_id, client_id, placed_at in orders:
        found = contacts[client_id]
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
    # A concurrent run links the same order to the same action; the unique pair keeps one.
    Attribution.objects.bulk_create(links, ignore_conflicts=True)
    return len(links)
