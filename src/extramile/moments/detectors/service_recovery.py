"""Service recovery: a reported problem becomes an urgent call, with a small surprise to add.

The surprise is learnt from the store's own baskets (extramile.engine.complements): of the
products most often bought together with the item involved — or, when the problem names no item
or nothing fits, with the other items of the problem's order — the first that is cheap and in
stock in the store. Cheap means at most SURPRISE_SHARE (20%) of the price of the item it goes
with, or at most the store's own limit whatever that price (StoreRules.surprise_limit, $50 unless
the store says otherwise). A pair must have been bought together at least MIN_TOGETHER times,
with a lift above 1, to count.

The baskets are the store's orders of the last two years (cancelled and refunded ones left
out). Their matrix is built once and kept per store in this process while the store's orders
stay the same (same count, last id and last change), so a burst of problems costs one build.

The action is due at once, the most urgent of all (score 1), and expires after two days: a
recovery not made by then has missed its moment, though the problem itself stays open in care.
An urgent problem's call is due at once even in the client's quiet hours: they reported it and
are waiting (a broken-down car on a Saturday night).

Who makes the call (extramile.care.rota.route_problem): an urgent problem reported while the store
is closed goes to the associate on call, and the reason says so ("Reported at 22:05 on Saturday
21 November, after closing; you are on call"); with nobody on call, to the store manager, and
the reason says no one was. Otherwise the problem's owner, else the client's own associate.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from django.db.models import Count, Max, Q, QuerySet, Sum

from extramile.accounts.models import Store, User
from extramile.care.models import Problem, ProblemKind, ProblemStatus, Urgency
from extramile.care.rota import route_problem
from extramile.catalog.models import Product, ProductStatus
from extramile.engine.complements import BasketMatrix, Complement
from extramile.moments.candidates import Candidate, ShownProduct
from extramile.moments.detectors.service_calls import (
    associate_first_name,
    clock_time,
    first_name,
    money,
    problem_for_event,
    render_draft,
    sentence,
    spoken_date,
    store_zone,
)
from extramile.moments.governance import rules_for
from extramile.moments.models import ActionChannel, ActionKind, Event
from extramile.orders.models import Order, OrderLine, OrderStatus

EVENT_TYPES = ("problem.reported",)
BASKET_WINDOW = dt.timedelta(days=730)
SURPRISE_SHARE = Decimal("0.20")
MIN_TOGETHER = 2
COMPLEMENTS_READ = 50  # per item: enough to find a cheap one in stock among the best
EXPIRES_AFTER = dt.timedelta(days=2)
SCORE = 1.0

# Per store: (fingerprint of its orders in the window, their basket matrix).
_MATRICES: dict[int, tuple[tuple[Any, ...], BasketMatrix]] = {}


@dataclass(frozen=True)
class Surprise:
    """A cheap product in stock, bought most often together with an item of the problem."""

    product: Product
    goes_with: Product
    complement: Complement
    baskets_with_item: int
    in_stock: int


def on_event(event: Event, *, now: dt.datetime) -> list[Candidate]:
    """Propose an urgent recovery call, with a surprise learnt from the store's baskets."""
    problem = problem_for_event(event)
    if problem is None:
        return []
    return candidates_for(problem, now=now)


def candidates_for(problem: Problem, *, now: dt.datetime) -> list[Candidate]:
    """Propose the recovery call of a problem not resolved yet, routed to who should answer it."""
    if problem.status == ProblemStatus.RESOLVED:
        return []
    client = problem.client
    items = _items(problem)
    surprise = suggest_surprise(
        store=problem.store, items=items, exclude={p.pk for p in items}, now=now
    )
    name = first_name(client)
    item = problem.product
    words = _words(problem, item, name=name)
    reason = words["reason"]
    if surprise is not None:
        reason += " — " + _surprise_sentence(surprise, item, currency=problem.store.currency)
    reason += "."
    routing = route_problem(
        problem, now=now, when=clock_time(problem.reported_at, store_zone(problem.store))
    )
    if routing.why:
        reason = f"{routing.why}. {sentence(reason)}"
    evidence = _evidence(problem, surprise)
    evidence["routing"] = {
        "urgency": problem.urgency,
        "out_of_hours": routing.out_of_hours,
        "on_call": routing.on_call,
        "to": routing.associate.username if routing.associate else None,
    }
    return [
        Candidate(
            kind=ActionKind.SERVICE_RECOVERY,
            client=client,
            key=f"service_recovery:{problem.pk}",
            reason=sentence(reason),
            due_at=now,
            expires_at=now + EXPIRES_AFTER,
            score=SCORE,
            evidence=evidence,
            channel=ActionChannel.PHONE,
            draft=render_draft(
                ActionKind.SERVICE_RECOVERY,
                {
                    "client_first": name,
                    "associate_first": _caller_first_name(routing.associate)
                    or associate_first_name(client, now=now),
                    "store_name": problem.store.name,
                    "headline": words["headline"],
                    "opening": words["opening"],
                    "fix": words["fix"],
                    "surprise": surprise.product.title if surprise else "",
                },
            ),
            products=[ShownProduct(item, note="The item involved")] if item else [],
            surprise=surprise.product if surprise else None,
            surprise_note=_surprise_note(surprise, problem.store.currency) if surprise else "",
            associate=routing.associate,
            urgent=problem.urgency == Urgency.URGENT,
        )
    ]


def _caller_first_name(user: User | None) -> str:
    return (user.first_name or user.get_username()) if user is not None else ""


def _items(problem: Problem) -> list[Product]:
    """The item involved first, then the other items of the problem's order, each once."""
    items: list[Product] = [problem.product] if problem.product else []
    if problem.order_id is not None:
        lines = OrderLine.objects.filter(order_id=problem.order_id, product__isnull=False)
        for line in lines.select_related("product").order_by("id"):
            assert line.product is not None
            if all(line.product.pk != p.pk for p in items):
                items.append(line.product)
    return items


def _window_orders(store: Store, now: dt.datetime) -> tuple[QuerySet[Order], dt.date]:
    start = (now - BASKET_WINDOW).date()
    since = dt.datetime.combine(start, dt.time(0), tzinfo=dt.UTC)
    orders = Order.objects.filter(store=store, placed_at__gte=since, placed_at__lte=now).exclude(
        status__in=[OrderStatus.CANCELLED, OrderStatus.REFUNDED]
    )
    return orders, start


def store_baskets(store: Store, *, now: dt.datetime) -> BasketMatrix:
    """Return the store's baskets of the last two years as a matrix, built once while unchanged."""
    orders, start = _window_orders(store, now)
    stamp = orders.aggregate(count=Count("id"), last=Max("id"), changed=Max("updated_at"))
    fingerprint = (start, stamp["count"], stamp["last"], stamp["changed"])
    cached = _MATRICES.get(store.pk)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    pairs = (
        OrderLine.objects.filter(order__in=orders, product__isnull=False)
        .values_list("order_id", "product_id")
        .iterator(chunk_size=20_000)
    )
    flat = np.fromiter(itertools.chain.from_iterable(pairs), dtype=np.int64).reshape(-1, 2)
    matrix = BasketMatrix.from_lines(flat[:, 0], flat[:, 1])
    _MATRICES[store.pk] = (fingerprint, matrix)
    return matrix


def surprise_cap(price: Decimal | None, *, limit: Decimal) -> Decimal:
    """The most a surprise may cost next to an item of this price, under the store's limit."""
    share = (price * SURPRISE_SHARE) if price is not None else Decimal(0)
    return max(share, limit)


def suggest_surprise(
    *, store: Store, items: list[Product], exclude: set[int], now: dt.datetime
) -> Surprise | None:
    """Return the cheap in-stock product most often bought with the first item that has one."""
    if not items:
        return None
    matrix = store_baskets(store, now=now)
    limit = rules_for(store).surprise_limit
    for item in items:
        found = matrix.complements(
            item.pk, top=COMPLEMENTS_READ, min_together=MIN_TOGETHER, exclude=exclude
        )
        if not found:
            continue
        stocked = Sum(
            "variants__stock__quantity",
            filter=Q(variants__stock__store=store, variants__stock__quantity__gt=0),
        )
        affordable = {
            p.pk: p
            for p in Product.objects.filter(
                pk__in=[c.product_id for c in found],
                status=ProductStatus.ACTIVE,
                price__isnull=False,
                price__lte=surprise_cap(item.price, limit=limit),
            ).annotate(in_stock=stocked)
            if p.in_stock
        }
        for complement in found:
            product = affordable.get(complement.product_id)
            if product is not None:
                return Surprise(
                    product=product,
                    goes_with=item,
                    complement=complement,
                    baskets_with_item=matrix.baskets_with(item.pk),
                    in_stock=int(product.in_stock),
                )
    return None


def _words(problem: Problem, item: Product | None, *, name: str) -> dict[str, str]:
    """The reason, the script's headline, opening line and fix, for the kind of problem.

    Days and times are written out in the store's time zone ("on Wednesday 17 June"), never
    "yesterday": the reason and the script are read later than they are written.
    """
    zone = store_zone(problem.store)
    what = f"the {item.title}" if item else "something"
    yours = f"your {item.title}" if item else "something"
    detail = f": {problem.description.strip()}" if problem.description.strip() else ""
    if problem.kind == ProblemKind.LEFT_BEHIND:
        left = problem.order.placed_at if problem.order else problem.reported_at
        when = f"on {spoken_date(left, zone)}"
        return {
            "reason": f"{name} left {what} at the store {when}. Get it back to {name} as soon "
            "as you can",
            "headline": f"{what} was left at the store {when}",
            "opening": f"You left {yours} with us {when} — it's safe "
            "here, and I'd love to bring it to you today. When and where suits you?",
            "fix": "Agree on a delivery time today (or hold it at the till if they would rather "
            "collect it).",
        }
    when = clock_time(problem.reported_at, zone)
    if problem.kind == ProblemKind.DEFECT:
        return {
            "reason": f"{name} reported a defect in {what} {when}{detail}. Call now and put it "
            "right",
            "headline": f"a defect in {what}",
            "opening": f"I'm so sorry about {yours}. Can you tell me what happened?",
            "fix": "Offer a repair or a replacement, whichever they prefer, and collect it from "
            "them if you can.",
        }
    if problem.kind == ProblemKind.LATE_DELIVERY:
        ref = f"order {problem.order.external_ref}" if problem.order else "an order"
        return {
            "reason": f"{name}'s {ref} was reported late {when}{detail}. Call now with where it "
            "stands and a date you can keep",
            "headline": f"{ref} is late",
            "opening": "Your order is running late, and I'm sorry. Here is exactly where it "
            "stands.",
            "fix": "Give a date you are sure to keep, and offer to bring it yourself if that is "
            "faster.",
        }
    return {
        "reason": f"{name} reported a problem {when}{detail}. Call now and put it right",
        "headline": "a problem they reported",
        "opening": "I heard what happened, and I'm sorry. I'd like to put it right.",
        "fix": "Agree on what happens next and by when, and keep to it.",
    }


def _surprise_sentence(surprise: Surprise, item: Product | None, *, currency: str) -> str:
    goes_with = surprise.goes_with
    which = f"the {goes_with.title}"
    if item is None or goes_with.pk != item.pk:
        which += " (from the same order)"
    price = money(surprise.product.price, currency)
    return (
        f"clients who buy {which} most often also take the {surprise.product.title} "
        f"({price}, in stock): add one as a thank-you"
    )


def _surprise_note(surprise: Surprise, currency: str) -> str:
    c = surprise.complement
    return (
        f"Bought with the {surprise.goes_with.title} in {c.together} of "
        f"{surprise.baskets_with_item} baskets (lift {c.lift:.1f}); "
        f"{money(surprise.product.price, currency)}, {surprise.in_stock} in stock"
    )


def _evidence(problem: Problem, surprise: Surprise | None) -> dict[str, Any]:
    evidence: dict[str, Any] = {
        "problem": {
            "id": problem.pk,
            "kind": problem.kind,
            "description": problem.description,
            "reported_at": problem.reported_at.isoformat(),
            "urgency": problem.urgency,
            "promised_by": problem.promised_by.isoformat() if problem.promised_by else None,
            "owner": problem.owner.username if problem.owner else None,
            "ref": problem.external_ref,
            "order_ref": problem.order.external_ref if problem.order else None,
            "product_id": problem.product_id,
        },
        "surprise": None,
    }
    if surprise is not None:
        c = surprise.complement
        evidence["surprise"] = {
            "product_id": surprise.product.pk,
            "title": surprise.product.title,
            "price": str(surprise.product.price),
            "in_stock": surprise.in_stock,
            "goes_with_id": surprise.goes_with.pk,
            "goes_with": surprise.goes_with.title,
            "together": c.together,
            "baskets_with_item": surprise.baskets_with_item,
            "support": round(c.support, 6),
            "confidence": round(c.confidence, 4),
            "lift": round(c.lift, 3),
        }
    return evidence
