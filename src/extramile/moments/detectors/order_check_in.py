"""Order check-in: a call within ten minutes of an online order by a known client, with a fit check.

The ordered items are checked against the client's open needs and likes (extramile.engine.
fitcheck). When an item fits poorly, in-stock items of the same category in the size ordered
(else the client's size for it), within 10% of its price either way and never more than 10%
pricier, are checked too, and the best that fits clearly better is offered in the script: a
better choice, never an upsell. The call is due ten minutes after the order and expires two
days after it; the rules move it out of the client's quiet hours.

An order cancelled (or refunded in full) before the call is made ends the moment: the open
check-in is withdrawn (`withdrawn_by`), and the cancellation courtesy call takes its place.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Exists, OuterRef

from extramile.catalog.models import Product, ProductStatus, Stock
from extramile.clients.models import Client
from extramile.engine.fitcheck import (
    PRICE_BAND,
    Alternative,
    FitResult,
    ItemAttributes,
    StatedNeed,
    Taste,
    better_alternatives,
    check_fit,
)
from extramile.moments.candidates import Candidate, ShownProduct
from extramile.moments.detectors.service_calls import (
    associate_first_name,
    clock_time,
    first_name,
    money,
    order_for_event,
    render_draft,
    sentence,
    spoken_date,
    store_zone,
)
from extramile.moments.models import ActionChannel, ActionKind, Event
from extramile.orders.models import Order, OrderChannel, OrderLine, OrderStatus

EVENT_TYPES = ("order.placed",)
WITHDRAWN_BY = ("order.cancelled", "order.refunded")
CALL_WITHIN = dt.timedelta(minutes=10)
EXPIRES_AFTER = dt.timedelta(days=2)
# The detector's score: a poor fit with a better choice in stock matters most.
SCORE_POOR_FIT_WITH_CHOICE = 0.9
SCORE_CHECK_IN = 0.8
MAX_ALTERNATIVES = 2


def on_event(event: Event, *, now: dt.datetime) -> list[Candidate]:
    """Propose a check-in call for an online order by a known client."""
    order = order_for_event(event)
    if order is None or order.channel != OrderChannel.ONLINE or order.client is None:
        return []
    if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        return []
    expires_at = order.placed_at + EXPIRES_AFTER
    if now >= expires_at:
        return []  # the moment has passed: a check-in days later is no longer one
    return [_check_in(order, order.client, expires_at=expires_at)]


def withdrawn_by(event: Event) -> list[tuple[str, str]]:
    """Name the check-in an order's cancellation (or full refund) ends, with the reason why."""
    order = order_for_event(event)
    if order is None or order.status not in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        return []
    zone = store_zone(order.store)
    if order.status == OrderStatus.CANCELLED:
        at = order.cancelled_at or event.occurred_at
        reason = f"Order cancelled: {order.external_ref} was cancelled {clock_time(at, zone)}."
    else:
        at = order.refunded_at or event.occurred_at
        when = clock_time(at, zone)
        reason = f"Order refunded: {order.external_ref} was refunded in full {when}."
    return [(_key(order), reason)]


def _key(order: Order) -> str:
    return f"order_check_in:{order.pk}"


def _attributes(product: Product) -> ItemAttributes:
    return ItemAttributes(
        key=product.pk,
        title=product.title,
        category=product.category,
        brand=product.brand,
        colour=product.colour,
        material=product.material,
        style_tags=tuple(str(tag) for tag in product.style_tags or ()),
        price=product.price,
    )


def _size_for(line: OrderLine, client: Client) -> str:
    """The size ordered, else the size the client wears in the category, else "" (any)."""
    if line.variant is not None and line.variant.size:
        return line.variant.size
    product = line.product
    assert product is not None
    size = client.sizes.filter(category=product.category).values_list("size", flat=True).first()
    return size or ""


def _in_stock_candidates(
    line: OrderLine, order: Order, client: Client, exclude: set[int]
) -> list[Product]:
    """Products of the ordered item's category, about its price, in stock in the size wanted."""
    product = line.product
    assert product is not None
    assert product.price is not None
    stock = Stock.objects.filter(store=order.store, quantity__gt=0, variant__product=OuterRef("pk"))
    size = _size_for(line, client)
    if size:
        stock = stock.filter(variant__size=size)
    return list(
        Product.objects.filter(
            category=product.category,
            status=ProductStatus.ACTIVE,
            price__gte=product.price * (1 - PRICE_BAND),
            price__lte=product.price * (1 + PRICE_BAND),
        )
        .exclude(pk__in=exclude)
        .filter(Exists(stock))
        .order_by("pk")
    )


def _check_in(order: Order, client: Client, *, expires_at: dt.datetime) -> Candidate:
    lines = [
        line
        for line in order.lines.select_related("product", "variant").order_by("id")
        if line.product is not None
    ]
    needs = [
        StatedNeed(text=need.text, budget=need.budget)
        for need in client.needs.filter(met_at__isnull=True).order_by("-stated_at", "-id")
    ]
    tastes = [
        Taste(dimension=p.dimension, value=p.value, likes=p.likes)
        for p in client.preferences.order_by("dimension", "value")
    ]
    known = list(
        Product.objects.filter(status=ProductStatus.ACTIVE)
        .exclude(category="")
        .values_list("category", flat=True)
        .distinct()
    )
    ordered_ids = {line.product_id for line in lines if line.product_id is not None}
    checked: list[tuple[OrderLine, FitResult, list[Alternative]]] = []
    for line in lines:
        assert line.product is not None
        item = _attributes(line.product)
        fit = check_fit(item, needs=needs, tastes=tastes, known_categories=known)
        alternatives: list[Alternative] = []
        if fit.poor and line.product.price is not None:
            pool = [_attributes(p) for p in _in_stock_candidates(line, order, client, ordered_ids)]
            alternatives = better_alternatives(
                item, fit, pool, needs=needs, tastes=tastes, known_categories=known
            )[:MAX_ALTERNATIVES]
        checked.append((line, fit, alternatives))
    products = {
        p.pk: p
        for p in Product.objects.filter(pk__in=[a.item.key for _, _, alts in checked for a in alts])
    }
    # The item the call is about: the worst fit, the first ordered on ties.
    focus = min(checked, key=lambda c: c[1].score) if checked else None
    best = products[int(focus[2][0].item.key)] if focus and focus[2] else None
    shown: dict[int, ShownProduct] = {}
    for line, _, _ in checked:
        assert line.product is not None
        shown.setdefault(line.product.pk, ShownProduct(line.product, note="Ordered"))
    for _, _, alternatives in checked:
        for alt in alternatives:
            product = products[int(alt.item.key)]
            shown.setdefault(product.pk, ShownProduct(product, note=_alternative_note(alt, order)))
    return Candidate(
        kind=ActionKind.ORDER_CHECK_IN,
        client=client,
        key=_key(order),
        occasion=f"order:{order.external_ref}",
        reason=sentence(_reason(order, client, lines, focus, best)),
        due_at=order.placed_at + CALL_WITHIN,
        expires_at=expires_at,
        score=SCORE_POOR_FIT_WITH_CHOICE if best is not None else SCORE_CHECK_IN,
        evidence=_evidence(order, checked, products),
        channel=ActionChannel.PHONE,
        draft=_draft(order, client, lines, focus, best),
        products=list(shown.values()),
    )


def _alternative_note(alternative: Alternative, order: Order) -> str:
    change = alternative.price_change
    price = money(alternative.item.price, order.currency)
    if change == 0:
        return f"Fits better, same price ({price})"
    direction = "less" if change < 0 else "more"
    return f"Fits better, {price} ({money(abs(change), order.currency)} {direction})"


def _titles(order: Order, lines: list[OrderLine]) -> str:
    """Name what was ordered: "the Navy Suit", "the Navy Suit and 2 more items"."""
    lines = lines or list(order.lines.order_by("id"))  # items not in the catalog: their titles
    if not lines:
        return f"order {order.external_ref}"
    first = f"the {lines[0].product.title if lines[0].product else lines[0].title}"
    extra = len(lines) - 1
    return first if extra == 0 else f"{first} and {extra} more item{'s' if extra > 1 else ''}"


def _reason(
    order: Order,
    client: Client,
    lines: list[OrderLine],
    focus: tuple[OrderLine, FitResult, list[Alternative]] | None,
    best: Product | None,
) -> str:
    name = first_name(client)
    placed = clock_time(order.placed_at, store_zone(order.store))
    opening = f"{name} ordered {_titles(order, lines)} online {placed}"
    if focus is None:
        return f"{opening}: a thank-you call, and ask how they will use it."
    line, fit, _ = focus
    assert line.product is not None
    if not fit.poor:
        if fit.need is not None:
            return (
                f"{opening}; it fits what {name} told us (\u201c{fit.need.text}\u201d): "
                "a thank-you call, and ask how they will use it."
            )
        return f"{opening}: a thank-you call, and ask how they will use it."
    it = f"the {line.product.title}" if len(lines) > 1 else "it"
    why = "; ".join(fit.conflicts)
    if fit.need is not None:
        poor = (
            f"{opening}; {name} told us \u201c{fit.need.text}\u201d, and {it} fits poorly ({why})."
        )
    else:
        poor = f"{opening}, and {it} fits {name}'s stated likes poorly ({why})."
    if best is None:
        return (
            f"{poor} Nothing in stock at about the same price fits better — ask how they will "
            "use it."
        )
    price = money(best.price, order.currency)
    return f"{poor} The {best.title} at {price} fits better and is in stock."


def _evidence(
    order: Order,
    checked: list[tuple[OrderLine, FitResult, list[Alternative]]],
    products: dict[int, Product],
) -> dict[str, Any]:
    return {
        "order": {
            "id": order.pk,
            "ref": order.external_ref,
            "channel": order.channel,
            "placed_at": order.placed_at.isoformat(),
            "total": str(order.total),
        },
        "items": [
            {
                "product_id": line.product_id,
                "title": line.product.title if line.product else line.title,
                "price": str(line.product.price) if line.product and line.product.price else None,
                "size": line.variant.size if line.variant else "",
                "fit": fit.score,
                "poor": fit.poor,
                "need": fit.need.text if fit.need else None,
                "conflicts": list(fit.conflicts),
                "matches": list(fit.matches),
                "alternatives": [
                    {
                        "product_id": int(alt.item.key),
                        "title": products[int(alt.item.key)].title,
                        "price": str(alt.item.price),
                        "price_change": str(alt.price_change),
                        "fit": alt.fit.score,
                        "matches": list(alt.fit.matches),
                        "conflicts": list(alt.fit.conflicts),
                    }
                    for alt in alternatives
                ],
            }
            for line, fit, alternatives in checked
        ],
    }


def _draft(
    order: Order,
    client: Client,
    lines: list[OrderLine],
    focus: tuple[OrderLine, FitResult, list[Alternative]] | None,
    best: Product | None,
) -> str:
    alternative = None
    if focus is not None and best is not None:
        line = focus[0]
        alternative = {
            "title": best.title,
            "price": money(best.price, order.currency),
            "instead_of": line.product.title if line.product else line.title,
            "described": ", ".join(v for v in (best.colour, best.material) if v),
        }
    return render_draft(
        ActionKind.ORDER_CHECK_IN,
        {
            "client_first": first_name(client),
            "associate_first": associate_first_name(client, now=order.placed_at),
            "store_name": order.store.name,
            "ordered": _titles(order, lines),
            "placed_on": spoken_date(order.placed_at, store_zone(order.store)),
            "order_ref": order.external_ref,
            "need": focus[1].need.text if focus and focus[1].need else "",
            "alternative": alternative,
        },
    )
