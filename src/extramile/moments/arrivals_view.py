"""Arrivals page: what came in lately, in stock in the store, and which clients it is going to.

A product is listed when it arrived within the last 7, 30 or 90 days (the store's calendar)
and has units in stock in the store. Its matches are read from the new-arrival reasons of the
store's actions: an action made for new arrivals, or any action a new-arrival reason was
merged into (extramile.moments.proposals keeps each merged reason with its evidence in
`Action.reasons`). Each reason's evidence lists the products offered, with the size and fit.

Who sees what follows the one rule (accounts.access): an associate or manager sees their own
store, an admin picks one; an action can be opened when `visible_actions` says so (never a
held-out or suppressed one). A fixed number of queries, however many products and clients.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode

from extramile.accounts.access import can_access_store, scope_to_user, signed_in_staff
from extramile.accounts.models import Role, Store, User
from extramile.catalog.models import Product, ProductStatus, Stock
from extramile.clients.models import Client
from extramile.moments.models import Action, ActionKey, ActionKind, ActionState
from extramile.moments.today import store_zone, visible_actions

DAY_CHOICES = (7, 30, 90)
DEFAULT_DAYS = 30
# The newest this many products are shown; a longer list says how many more there are.
MAX_PRODUCTS = 100
ARRIVAL = ActionKind.NEW_ARRIVAL_MATCH.value
KEY_PREFIX = f"{ARRIVAL}:"

# How each state of a match is counted on a product's card.
TALLY = {
    ActionState.OPEN: "to_contact",
    ActionState.SNOOZED: "to_contact",
    ActionState.DONE: "contacted",
    ActionState.HELD_OUT: "held_out",
    ActionState.SKIPPED: "closed",
    ActionState.EXPIRED: "closed",
    ActionState.WITHDRAWN: "closed",
    ActionState.SUPPRESSED: "stopped",
}
# How each state of a match reads in the list of clients.
STATE_WORDS = {
    ActionState.OPEN: "To contact",
    ActionState.SNOOZED: "Snoozed",
    ActionState.DONE: "Contacted",
    ActionState.HELD_OUT: "Held out: not contacted, on purpose",
    ActionState.SKIPPED: "Skipped",
    ActionState.EXPIRED: "Expired",
    ActionState.WITHDRAWN: "Withdrawn",
    ActionState.SUPPRESSED: "Not contacted: a rule stopped it",
}


@dataclass(frozen=True)
class Match:
    """One client an arrival was offered to, through one action."""

    client: Client
    action: Action
    size: str
    colour: str
    fit: float | None
    can_open: bool
    mine: bool

    @property
    def state(self) -> str:
        """The state of the action that carries the offer."""
        return self.action.state

    @property
    def state_words(self) -> str:
        """The state as the list says it."""
        return STATE_WORDS.get(ActionState(self.state), self.state)


@dataclass
class Tally:
    """How many of a product's matched clients are in each part of their way."""

    to_contact: int = 0
    contacted: int = 0
    held_out: int = 0
    closed: int = 0
    stopped: int = 0


@dataclass
class ArrivalCard:
    """One product on the page: its picture, stock here by size, and its matched clients."""

    product: Product
    photo_url: str
    stock: list[tuple[str, int]]
    matches: list[Match] = field(default_factory=list)

    @property
    def units(self) -> int:
        """Units in stock in the store, every size together."""
        return sum(quantity for _, quantity in self.stock)

    @property
    def tally(self) -> Tally:
        """The matched clients counted by state."""
        tally = Tally()
        for match in self.matches:
            part = TALLY.get(ActionState(match.state))
            if part is not None:
                setattr(tally, part, getattr(tally, part) + 1)
        return tally


@dataclass
class ArrivalsPage:
    """What the page shows for one store and period."""

    store: Store | None
    days: int
    since: dt.date | None = None
    cards: list[ArrivalCard] = field(default_factory=list)
    more: int = 0
    matched_any: bool = False


def _days(value: str | None) -> int:
    """The period asked for, one of DAY_CHOICES; anything else is the default."""
    return int(value) if value in {str(d) for d in DAY_CHOICES} else DEFAULT_DAYS


def _pick_store(user: User, code: str | None) -> tuple[Store | None, list[Store]]:
    """The store to show and, for an admin, the stores to choose from.

    An admin sees the store asked for, else the first by name; anyone else sees their own,
    and a store they may not see is a 404, as if it did not exist.
    """
    if user.role == Role.ADMIN:
        stores = list(Store.objects.order_by("name"))
        chosen = next((s for s in stores if s.code == code), None) if code else None
        if code and chosen is None:
            raise Http404(f"No store {code!r}.")
        return chosen or (stores[0] if stores else None), stores
    store = user.store
    if code and (store is None or store.code != code or not can_access_store(user, store.pk)):
        raise Http404(f"No store {code!r}.")
    return store, []


def arrival_products(store: Store, *, since: dt.date, until: dt.date) -> QuerySet[Product]:
    """Return the active products arrived in [since, until] with units in stock in the store."""
    in_stock = Stock.objects.filter(store=store, quantity__gt=0).values("variant__product_id")
    return Product.objects.filter(
        status=ProductStatus.ACTIVE,
        arrived_on__gte=since,
        arrived_on__lte=until,
        pk__in=in_stock,
    ).order_by("-arrived_on", "-pk")


def arrival_actions(store: Store, user: User, *, since: dt.datetime) -> QuerySet[Action]:
    """Return the store's actions that carry a new-arrival reason recorded since `since`.

    An action made for new arrivals, or one a new-arrival candidate was merged into: each
    merge records its key ("new_arrival_match:<client>:<products>") on the action. Each is
    marked `can_open` when the user may open it (`visible_actions`).
    """
    merged = ActionKey.objects.filter(key__startswith=KEY_PREFIX, created_at__gte=since)
    openable = visible_actions(user).filter(pk=OuterRef("pk"))
    return (
        scope_to_user(Action.objects.all(), user)
        .filter(store=store)
        .filter(Q(kind=ARRIVAL, created_at__gte=since) | Q(pk__in=merged.values("action_id")))
        .select_related("client", "associate")
        .defer("draft", "subject", "outcome", "surprise_note")
        .annotate(can_open=Exists(openable))
    )


def offered_products(action: Action) -> list[dict[str, Any]]:
    """The products the action's new-arrival reasons offered, each once, as their evidence says.

    An action keeps every reason merged into it in `reasons`, its own first; one made before
    reasons were kept has only its own evidence.
    """
    reasons = action.reasons if isinstance(action.reasons, list) else []
    evidences = [
        entry.get("evidence")
        for entry in reasons
        if isinstance(entry, dict) and entry.get("kind") == ARRIVAL
    ]
    if not reasons and action.kind == ARRIVAL:
        evidences = [action.evidence]
    offered: dict[int, dict[str, Any]] = {}
    for evidence in evidences:
        items = evidence.get("products") if isinstance(evidence, dict) else None
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and isinstance(item.get("product_id"), int):
                offered.setdefault(item["product_id"], item)
    return list(offered.values())


def _fit(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _is_mine(action: Action, user: User) -> bool:
    return user.pk in (action.associate_id, action.client.primary_associate_id)


def matches_by_product(actions: QuerySet[Action], user: User) -> dict[int, list[Match]]:
    """Read each action's offers into matches per product, the best fit first."""
    found: dict[int, list[Match]] = defaultdict(list)
    for action in actions:
        for item in offered_products(action):
            found[item["product_id"]].append(
                Match(
                    client=action.client,
                    action=action,
                    size=str(item.get("size") or ""),
                    colour=str(item.get("colour") or ""),
                    fit=_fit(item.get("fit")),
                    can_open=bool(getattr(action, "can_open", False)),
                    mine=_is_mine(action, user),
                )
            )
    for matches in found.values():
        matches.sort(key=lambda m: (-(m.fit or 0.0), str(m.client).lower(), m.action.pk))
    return found


def _stock_by_product(store: Store, products: list[Product]) -> dict[int, list[tuple[str, int]]]:
    """Units per size in the store, for each product, sizes in the variants' order.

    A variant's colour is named only when it is not the product's own ("40R", "40R sand").
    """
    colours = {p.pk: p.colour.casefold() for p in products}
    rows = (
        Stock.objects.filter(store=store, quantity__gt=0, variant__product_id__in=list(colours))
        .select_related("variant")
        .order_by("variant__product_id", "variant_id")
    )
    stock: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for row in rows:
        variant = row.variant
        colour = variant.colour if variant.colour.casefold() != colours[variant.product_id] else ""
        label = " ".join(v for v in (variant.size, colour) if v) or "One size"
        stock[variant.product_id].append((label, row.quantity))
    return stock


def build_arrivals(
    store: Store, user: User, *, days: int, only_mine: bool, now: dt.datetime
) -> ArrivalsPage:
    """Gather the store's recent arrivals in stock and the clients each one went to."""
    today = now.astimezone(store_zone(store)).date()
    since = today - dt.timedelta(days=days)
    # A match is recorded on or after its product's arrival day; a day's margin covers zones.
    since_time = dt.datetime.combine(since, dt.time(0, 0), tzinfo=store_zone(store))
    matches = matches_by_product(
        arrival_actions(store, user, since=since_time - dt.timedelta(days=1)), user
    )
    if only_mine:
        matches = {
            pk: mine for pk, found in matches.items() if (mine := [m for m in found if m.mine])
        }
    products = arrival_products(store, since=since, until=today)
    if only_mine:
        products = products.filter(pk__in=list(matches))
    total = products.count()
    shown = list(products.prefetch_related("photos")[:MAX_PRODUCTS])
    stock = _stock_by_product(store, shown)
    cards = []
    for product in shown:
        photos = list(product.photos.all())
        cards.append(
            ArrivalCard(
                product=product,
                photo_url=photos[0].url if photos else "",
                stock=stock.get(product.pk, []),
                matches=matches.get(product.pk, []),
            )
        )
    return ArrivalsPage(
        store=store,
        days=days,
        since=since,
        cards=cards,
        more=max(0, total - len(shown)),
        matched_any=any(card.matches for card in cards),
    )


def _link(**params: Any) -> str:
    return "?" + urlencode({key: value for key, value in params.items() if value})


@login_required
def arrivals(request: HttpRequest) -> HttpResponse:
    """List the store's new arrivals in stock and, under each, the clients it was offered to."""
    user = signed_in_staff(request)
    days = _days(request.GET.get("days"))
    only_mine = request.GET.get("mine") == "1" and user.role != Role.ADMIN
    store, stores = _pick_store(user, request.GET.get("store"))
    if store is None:
        page = ArrivalsPage(store=None, days=days)
    else:
        page = build_arrivals(store, user, days=days, only_mine=only_mine, now=timezone.now())
    code = store.code if store is not None and stores else ""
    mine = "1" if only_mine else ""
    context = {
        "page": page,
        "stores": stores,
        "only_mine": only_mine,
        "can_filter_mine": user.role != Role.ADMIN,
        "day_links": [(d, _link(store=code, days=d, mine=mine)) for d in DAY_CHOICES],
        "mine_link": _link(store=code, days=days, mine="" if only_mine else "1"),
    }
    with timezone.override(store_zone(store)):
        response = render(request, "moments/arrivals.html", context)
    patch_vary_headers(response, ("HX-Request",))
    return response
