"""Demo data for the insight dashboard: past contacts, their holdout, and what followed.

THIS IS DEMO DATA, made up so that the dashboard has something to show on a fresh demo. The
demo's generated orders know nothing of contacts, so without this part every number would be
empty. It writes, for each demo store:

- one past marketing action (birthday, buying season, new arrival, slipping away) for a share
  of the clients, due over the last four months, split by the real holdout draw at the store's
  share; the shown ones were mostly done, some skipped;
- a SIMULATED purchase after some of the contacts made (about one in eight, labelled "demo:"
  in the order's note), so that the lift chart shows an effect to read — an assumption of the
  demo, not a measurement;
- a done check-in call after each past online order of a known client, 4 to 45 minutes later.

Then it runs the real attribution sweep. A fixed seed makes it the same on every load.
"""

from __future__ import annotations

import datetime as dt
import random

from extramile.accounts.models import Role, Store, User
from extramile.catalog.models import Variant
from extramile.clients.models import Client, Size
from extramile.demo.generator import DEMO_STORE_CODES
from extramile.engine.holdout import holdout_draw
from extramile.moments.attribution import attribute_orders
from extramile.moments.governance import rules_for
from extramile.moments.models import Action, ActionKey, ActionKind, ActionState
from extramile.orders.models import Order, OrderChannel, OrderLine, OrderStatus

SEED = 5
SHARE_OF_CLIENTS = 0.8
DAYS_BACK = 120
DONE_SHARE = 0.85
SIMULATED_PURCHASE = 0.12  # demo: extra buyers among the contacted, on top of the generated orders
KINDS = {
    ActionKind.IMPORTANT_DATE: "Their birthday was coming up.",
    ActionKind.BUYING_SEASON: "Their buying season was about to open.",
    ActionKind.NEW_ARRIVAL_MATCH: "A new arrival in their size and colours came in.",
    ActionKind.AT_RISK: "A valued client who had not been in for a while.",
}


def load(*, now: dt.datetime) -> None:
    """Write the demo's past contacts, holdout and follow-up purchases, then attribute them."""
    rng = random.Random(SEED)
    for store in Store.objects.filter(code__in=DEMO_STORE_CODES).order_by("code"):
        _past_contacts(store, rng=rng, now=now)
        _check_ins(store, rng=rng, now=now)
    attribute_orders(now=now)


def _past_contacts(store: Store, *, rng: random.Random, now: dt.datetime) -> None:
    share = float(rules_for(store).holdout_share)
    staff = list(User.objects.filter(store=store, role=Role.ASSOCIATE).order_by("username"))
    if not staff:
        return
    clients = list(
        Client.objects.filter(store=store).order_by("pk").values_list("pk", "external_ref")
    )
    kinds = list(KINDS)
    actions: list[Action] = []
    orders: list[Order] = []
    variants = list(
        Variant.objects.filter(stock__store=store, product__price__gt=0)
        .select_related("product")
        .order_by("pk")
    )
    bought: list[Variant] = []
    # A simulated purchase is in the client's own size where the demo records one.
    worn = {
        (client_id, category): size
        for client_id, category, size in Size.objects.filter(client__store=store).values_list(
            "client_id", "category", "size"
        )
    }
    for client_id, ref in clients:
        if rng.random() > SHARE_OF_CLIENTS:
            continue
        kind = rng.choice(kinds)
        due = now - dt.timedelta(days=rng.uniform(15, DAYS_BACK))
        own = f"ref:{ref}" if ref else f"id:{client_id}"
        draw = holdout_draw(f"{kind.value}|{store.code}:{own}|demo:{due:%Y-%m}")
        associate = rng.choice(staff)
        if draw < share:
            state, completed = ActionState.HELD_OUT, None
        elif rng.random() < DONE_SHARE:
            state, completed = ActionState.DONE, due + dt.timedelta(hours=rng.uniform(0, 6))
        else:
            state, completed = ActionState.SKIPPED, due + dt.timedelta(hours=rng.uniform(0, 6))
        actions.append(
            Action(
                store=store,
                associate=associate,
                client_id=client_id,
                kind=kind.value,
                purpose="marketing",
                reason=KINDS[kind],
                due_at=due,
                holdout_draw=draw,
                channel="email",
                state=state,
                state_reason="Held out (demo)." if state == ActionState.HELD_OUT else "",
                completed_at=completed,
                completed_by=associate if completed else None,
                outcome="Demo: contact made." if state == ActionState.DONE else "",
                created_at=due - dt.timedelta(days=1),
            )
        )
        if state == ActionState.DONE and rng.random() < SIMULATED_PURCHASE:
            assert completed is not None
            placed = completed + dt.timedelta(days=rng.uniform(0.5, 12))
            fitting = [
                v for v in variants if worn.get((client_id, v.product.category), v.size) == v.size
            ]
            if placed < now and fitting:
                variant = rng.choice(fitting)
                price = variant.effective_price
                assert price is not None  # the query keeps priced products only
                bought.append(variant)
                orders.append(
                    Order(
                        store=store,
                        client_id=client_id,
                        associate=associate,
                        external_ref=f"DEMO-LIFT-{store.code}-{client_id}",
                        channel=OrderChannel.STORE,
                        status=OrderStatus.FULFILLED,
                        currency=store.currency,
                        total=price,
                        placed_at=placed,
                        fulfilled_at=placed,
                        note="demo: a simulated purchase after a contact (insight demo data)",
                    )
                )
    Action.objects.bulk_create(actions, batch_size=500)
    Order.objects.bulk_create(orders, batch_size=500)
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                variant=variant,
                product=variant.product,
                title=variant.product.title,
                quantity=1,
                unit_price=order.total,
            )
            for order, variant in zip(orders, bought, strict=True)
        ],
        batch_size=500,
    )


def _check_ins(store: Store, *, rng: random.Random, now: dt.datetime) -> None:
    """A done check-in call after each online order of a known client more than two days old."""
    taken = set(
        ActionKey.objects.filter(key__startswith="order_check_in:").values_list("key", flat=True)
    )
    staff = {
        user.pk: user
        for user in User.objects.filter(store=store, role=Role.ASSOCIATE).order_by("pk")
    }
    if not staff:
        return
    fallback = next(iter(staff.values()))
    orders = (
        Order.objects.filter(
            store=store,
            channel=OrderChannel.ONLINE,
            client__isnull=False,
            placed_at__lt=now - dt.timedelta(days=2),
            placed_at__gte=now - dt.timedelta(days=DAYS_BACK),
        )
        .order_by("pk")
        .values_list("pk", "client_id", "client__primary_associate_id", "placed_at")
    )
    pending: list[tuple[str, Action]] = []
    for order_id, client_id, associate_id, placed_at in orders:
        key = f"order_check_in:{order_id}"
        if key in taken:
            continue
        associate = staff.get(associate_id, fallback)
        done = placed_at + dt.timedelta(minutes=rng.uniform(4, 45))
        action = Action(
            store=store,
            associate=associate,
            client_id=client_id,
            kind=ActionKind.ORDER_CHECK_IN,
            purpose="service",
            reason="Demo: a call after their online order.",
            due_at=placed_at + dt.timedelta(minutes=10),
            channel="phone",
            state=ActionState.DONE,
            outcome="Demo: they were happy with the order.",
            completed_at=done,
            completed_by=associate,
            created_at=placed_at,
        )
        pending.append((key, action))
    created = Action.objects.bulk_create([action for _, action in pending], batch_size=500)
    keys = [key for key, _ in pending]
    ActionKey.objects.bulk_create(
        [ActionKey(key=key, action=action) for key, action in zip(keys, created, strict=True)],
        batch_size=500,
    )
