"""Does going the extra mile pay: one store's (or one associate's) numbers over a period.

Everything here is read with aggregated queries (counts and sums per kind or per associate, or
one row of plain values per action or order), never by walking ORM objects client by client.

The definitions, as the page states them:

- **Done / skipped**: actions closed in the period (by completion time), by their owner.
  **Held out**: eligible marketing actions the draw kept back, by when they would have been due.
- **Response rate**: the share of contacts made (done actions) that the client answered — a call
  that reached them, or a purchase within the store's attribution window after the contact.
  Emails and texts carry no read receipts, so a purchase is the answer we can see.
- **Minutes to first contact**: from an online order by a known client to the first done action
  about that order (the check-in call, or the courtesy call if it was cancelled).
- **Purchases and revenue within the window**: orders linked by the attribution sweep
  (extramile.moments.attribution) to a contact made in the period.
- **Lift against the holdout**: eligible marketing actions (those given a holdout draw) due in
  the period whose attribution window has closed; treated = shown (whatever came of them),
  control = held out; the outcome is an order by the client within `attribution_days` after the
  action's due time, the revenue its total (extramile.engine.lift explains the intervals). The
  due time is the one moment both groups share, so the comparison stays fair.
- **Cohorts**: clients by the month of their first purchase (the store's time zone); the share
  buying again in each of the six months after it, and the share who ever bought again.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.apps import apps
from django.core.exceptions import FieldError
from django.db.models import (
    CharField,
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Concat, TruncMonth

from extramile.accounts.models import Store, User
from extramile.engine.lift import Group, Lift, incremental_lift
from extramile.moments.governance import rules_for
from extramile.moments.models import (
    Action,
    ActionKey,
    ActionKind,
    ActionPurpose,
    ActionState,
    Attribution,
)
from extramile.orders.models import Order, OrderChannel, OrderStatus
from extramile.outreach.models import AuditEntry

DEFAULT_DAYS = 90
COHORT_MONTHS = 12  # cohorts shown: the months of first purchase up to the period's end
RETENTION_MONTHS = 6
NOT_PURCHASES = (OrderStatus.CANCELLED, OrderStatus.REFUNDED)
PROMISE_OUTCOMES = ("kept_early", "kept_on_time", "kept_late", "broken")
PROMISE_LABELS = {
    "kept_early": "Kept early",
    "kept_on_time": "Kept on time",
    "kept_late": "Kept late",
    "broken": "Broken",
    "open": "Not yet due or open",
}


@dataclass(frozen=True)
class Period:
    """The days looked at, inclusive, in the store's time zone, and their bounds in time."""

    first_day: dt.date
    last_day: dt.date
    zone: ZoneInfo

    @property
    def since(self) -> dt.datetime:
        """The period's first instant."""
        return dt.datetime.combine(self.first_day, dt.time(0), tzinfo=self.zone)

    @property
    def until(self) -> dt.datetime:
        """The instant after the period (midnight after its last day)."""
        return dt.datetime.combine(
            self.last_day + dt.timedelta(days=1), dt.time(0), tzinfo=self.zone
        )


def default_period(store: Store, *, now: dt.datetime) -> Period:
    """The last 90 days up to today, in the store's time zone."""
    zone = store_zone(store)
    today = now.astimezone(zone).date()
    return Period(today - dt.timedelta(days=DEFAULT_DAYS - 1), today, zone)


def store_zone(store: Store) -> ZoneInfo:
    """The store's time zone (UTC when it has none)."""
    return ZoneInfo(store.time_zone or "UTC")


@dataclass(frozen=True)
class KindRow:
    """Actions of one kind: what was done with them and what followed."""

    kind: str
    label: str
    done: int
    skipped: int
    held_out: int
    responded: int
    purchases: int
    revenue: Decimal

    @property
    def response_rate(self) -> float | None:
        """Responded contacts over contacts made."""
        return self.responded / self.done if self.done else None


@dataclass(frozen=True)
class AssociateRow:
    """One associate's work in the period."""

    associate_id: int | None
    name: str
    done: int
    skipped: int
    responded: int
    purchases: int
    revenue: Decimal
    first_contacts: int
    median_minutes: float | None

    @property
    def response_rate(self) -> float | None:
        """Responded contacts over contacts made."""
        return self.responded / self.done if self.done else None


@dataclass(frozen=True)
class LiftRow:
    """The lift of one kind of marketing action (or of all of them) against its holdout."""

    kind: str
    label: str
    lift: Lift | None
    treated: Group
    control: Group


@dataclass(frozen=True)
class FirstContact:
    """How fast online orders were followed by a first contact."""

    orders: int
    contacted: int
    median_minutes: float | None
    p90_minutes: float | None


@dataclass(frozen=True)
class CohortRow:
    """Clients who first bought in one month, and how many bought again month by month."""

    month: dt.date
    clients: int
    repeat: int
    returned: list[int | None]  # per month after the first; None: that month has not ended

    @property
    def repeat_share(self) -> float | None:
        """Share of the cohort who bought again, at any time so far."""
        return self.repeat / self.clients if self.clients else None

    @property
    def shares(self) -> list[float | None]:
        """Share of the cohort buying in each month after the first."""
        return [None if n is None else n / self.clients for n in self.returned]


@dataclass(frozen=True)
class MovementRow:
    """Clients who moved from one loyalty stage to another in the period."""

    from_stage: str | None  # None: the client had no stage yet when the period began
    to_stage: str
    clients: int


@dataclass(frozen=True)
class PromiseRow:
    """Promises due in the period that ended one way."""

    outcome: str
    count: int

    @property
    def label(self) -> str:
        """The outcome in words."""
        return PROMISE_LABELS.get(self.outcome, self.outcome)


@dataclass
class Insight:
    """Every number of the dashboard, for one store (or one associate) and one period."""

    store: Store
    period: Period
    associate: User | None
    attribution_days: int
    now: dt.datetime
    kinds: list[KindRow] = field(default_factory=list)
    associates: list[AssociateRow] = field(default_factory=list)
    lift: list[LiftRow] = field(default_factory=list)
    first_contact: FirstContact | None = None
    cohorts: list[CohortRow] = field(default_factory=list)
    loyalty: list[MovementRow] | None = None  # None: loyalty stages are not available
    promises: list[PromiseRow] | None = None  # None: promises are not available

    @property
    def totals(self) -> KindRow:
        """All kinds together."""
        return KindRow(
            kind="all",
            label="All kinds",
            done=sum(row.done for row in self.kinds),
            skipped=sum(row.skipped for row in self.kinds),
            held_out=sum(row.held_out for row in self.kinds),
            responded=sum(row.responded for row in self.kinds),
            purchases=sum(row.purchases for row in self.kinds),
            revenue=sum((row.revenue for row in self.kinds), Decimal("0")),
        )


def build_insight(
    store: Store, *, period: Period, associate: User | None = None, now: dt.datetime
) -> Insight:
    """Gather the dashboard's numbers for a store, optionally one associate, over a period."""
    window = rules_for(store).attribution_days
    insight = Insight(
        store=store, period=period, associate=associate, attribution_days=window, now=now
    )
    insight.kinds = kinds_table(store, period=period, associate=associate, window=window)
    insight.associates = associates_table(store, period=period, associate=associate, window=window)
    insight.lift = lift_table(store, period=period, associate=associate, window=window, now=now)
    insight.first_contact = first_contact(store, period=period, associate=associate)
    insight.cohorts = cohorts_table(store, period=period, associate=associate, now=now)
    insight.loyalty = loyalty_movement(store, period=period) if associate is None else None
    insight.promises = promises_kept(store, period=period, associate=associate)
    return insight


# --- Actions, responses and attributed purchases ----------------------------------------------


def _actions(store: Store, associate: User | None) -> QuerySet[Action]:
    actions = Action.objects.filter(store=store)
    if associate is not None:
        actions = actions.filter(associate=associate)
    return actions


def _window_after(field_name: str, window: int) -> ExpressionWrapper:
    return ExpressionWrapper(
        OuterRef(field_name) + dt.timedelta(days=window), output_field=DateTimeField()
    )


def _purchases_after(field_name: str, window: int) -> QuerySet[Order]:
    """The client's purchases in the window after the outer action's time in `field_name`."""
    return Order.objects.filter(
        client=OuterRef("client_id"),
        placed_at__gt=OuterRef(field_name),
        placed_at__lte=_window_after(field_name, window),
    ).exclude(status__in=NOT_PURCHASES)


def _responded(window: int) -> Q:
    reached = AuditEntry.objects.filter(action=OuterRef("pk"), verb="called", detail__reached=True)
    return Q(Exists(reached)) | Q(Exists(_purchases_after("completed_at", window)))


def _counts_by(
    store: Store, *, period: Period, associate: User | None, window: int, by: str
) -> dict[Any, dict[str, int]]:
    closed = Q(completed_at__gte=period.since, completed_at__lt=period.until)
    done = Q(state=ActionState.DONE) & closed
    rows = (
        _actions(store, associate)
        .filter(
            (Q(state__in=[ActionState.DONE, ActionState.SKIPPED]) & closed)
            | Q(state=ActionState.HELD_OUT, due_at__gte=period.since, due_at__lt=period.until)
        )
        .values(by)
        .annotate(
            done=Count("id", filter=done),
            skipped=Count("id", filter=Q(state=ActionState.SKIPPED) & closed),
            held_out=Count("id", filter=Q(state=ActionState.HELD_OUT)),
            responded=Count("id", filter=done & _responded(window)),
        )
        .order_by()
    )
    return {row[by]: row for row in rows}


def _attributed_by(
    store: Store, *, period: Period, associate: User | None, by: str
) -> dict[Any, dict[str, Any]]:
    links = Attribution.objects.filter(
        action__store=store,
        held_out=False,
        action__completed_at__gte=period.since,
        action__completed_at__lt=period.until,
    )
    if associate is not None:
        links = links.filter(action__associate=associate)
    rows = (
        links.values(by)
        .annotate(purchases=Count("order", distinct=True), revenue=Sum("order__total"))
        .order_by()
    )
    return {row[by]: row for row in rows}


def kinds_table(
    store: Store, *, period: Period, associate: User | None, window: int
) -> list[KindRow]:
    """Actions done, skipped and held out by kind, with responses and attributed purchases."""
    counts = _counts_by(store, period=period, associate=associate, window=window, by="kind")
    bought = _attributed_by(store, period=period, associate=associate, by="kind")
    rows = []
    for kind in ActionKind:
        count = counts.get(kind.value, {})
        link = bought.get(kind.value, {})
        if not count and not link:
            continue
        rows.append(
            KindRow(
                kind=kind.value,
                label=str(kind.label),
                done=count.get("done", 0),
                skipped=count.get("skipped", 0),
                held_out=count.get("held_out", 0),
                responded=count.get("responded", 0),
                purchases=link.get("purchases", 0),
                revenue=link.get("revenue") or Decimal("0"),
            )
        )
    return rows


def associates_table(
    store: Store, *, period: Period, associate: User | None, window: int
) -> list[AssociateRow]:
    """Each associate's actions, responses, attributed purchases and speed of first contact."""
    counts = _counts_by(store, period=period, associate=associate, window=window, by="associate")
    bought = _attributed_by(store, period=period, associate=associate, by="action__associate")
    minutes = _first_contact_minutes(store, period=period, associate=associate)
    by_maker: dict[int | None, list[float]] = defaultdict(list)
    for maker, value in minutes:
        by_maker[maker].append(value)
    ids: set[int] = {int(pk) for pk in (*counts, *bought, *by_maker) if pk is not None}
    if associate is not None:
        ids = {associate.pk}
    people = {user.pk: user for user in User.objects.filter(pk__in=ids)}
    rows = []
    for user_id in sorted(ids, key=lambda pk: people[pk].display_name.lower()):
        rows.append(_associate_row(user_id, people[user_id].display_name, counts, bought, by_maker))
    if associate is None and (None in counts or None in bought):
        rows.append(_associate_row(None, "Not assigned", counts, bought, by_maker))
    return rows


def _associate_row(
    user_id: int | None,
    name: str,
    counts: dict[Any, dict[str, int]],
    bought: dict[Any, dict[str, Any]],
    minutes: dict[int | None, list[float]],
) -> AssociateRow:
    count = counts.get(user_id, {})
    link = bought.get(user_id, {})
    theirs = minutes.get(user_id, []) if user_id is not None else []
    return AssociateRow(
        associate_id=user_id,
        name=name,
        done=count.get("done", 0),
        skipped=count.get("skipped", 0),
        responded=count.get("responded", 0),
        purchases=link.get("purchases", 0),
        revenue=link.get("revenue") or Decimal("0"),
        first_contacts=len(theirs),
        median_minutes=float(np.median(theirs)) if theirs else None,
    )


# --- Lift against the holdout -----------------------------------------------------------------


def lift_table(
    store: Store, *, period: Period, associate: User | None, window: int, now: dt.datetime
) -> list[LiftRow]:
    """The lift of each kind of marketing action against its holdout, and of all together."""
    matured = min(period.until, now - dt.timedelta(days=window))
    purchases = _purchases_after("due_at", window)
    revenue = purchases.order_by().values("client").annotate(total=Sum("total")).values("total")
    rows = (
        _actions(store, associate)
        .filter(
            purpose=ActionPurpose.MARKETING,
            due_at__gte=period.since,
            due_at__lt=matured,
        )
        .filter(Q(holdout_draw__isnull=False) | Q(state=ActionState.HELD_OUT))
        .exclude(state=ActionState.SUPPRESSED)
        .annotate(
            bought=Exists(purchases),
            revenue=Coalesce(
                Subquery(revenue, output_field=DecimalField(max_digits=14, decimal_places=2)),
                Value(Decimal("0")),
                output_field=DecimalField(max_digits=14, decimal_places=2),
            ),
        )
        .values_list("kind", "state", "bought", "revenue")
        .order_by()
    )
    outcomes: dict[tuple[str, bool], tuple[list[bool], list[float]]] = defaultdict(lambda: ([], []))
    for kind, state, bought, amount in rows:
        held = state == ActionState.HELD_OUT
        for key in ((kind, held), ("all", held)):
            outcomes[key][0].append(bool(bought))
            outcomes[key][1].append(float(amount or 0))
    table = []
    labels = {kind.value: str(kind.label) for kind in ActionKind}
    for kind in [k.value for k in ActionKind] + ["all"]:
        if (kind, False) not in outcomes and (kind, True) not in outcomes:
            continue
        treated = Group.of(*outcomes.get((kind, False), ([], [])))
        control = Group.of(*outcomes.get((kind, True), ([], [])))
        table.append(
            LiftRow(
                kind=kind,
                label=labels.get(kind, "All marketing"),
                lift=incremental_lift(treated, control),
                treated=treated,
                control=control,
            )
        )
    return table


# --- From an online order to the first contact ------------------------------------------------


def _order_key(prefix: str) -> Concat:
    return Concat(Value(prefix), Cast(OuterRef(OuterRef("pk")), output_field=CharField()))


def _first_contact_minutes(
    store: Store, *, period: Period, associate: User | None
) -> list[tuple[int | None, float]]:
    """(who made the first contact, minutes after the order) per contacted online order."""
    return [
        (maker, minutes)
        for maker, minutes in _online_orders(store, period=period, associate=associate)
        if minutes is not None
    ]


def _online_orders(
    store: Store, *, period: Period, associate: User | None
) -> list[tuple[int | None, float | None]]:
    """Each online order of a known client in the period: who contacted first, minutes after."""
    keys = ActionKey.objects.filter(action=OuterRef("pk")).filter(
        Q(key=_order_key("order_check_in:")) | Q(key=_order_key("cancellation_courtesy:"))
    )
    first = (
        Action.objects.filter(client=OuterRef("client_id"), state=ActionState.DONE)
        .filter(Exists(keys))
        .order_by("completed_at", "pk")
    )
    orders = Order.objects.filter(
        store=store,
        channel=OrderChannel.ONLINE,
        client__isnull=False,
        placed_at__gte=period.since,
        placed_at__lt=period.until,
    )
    if associate is not None:
        orders = orders.filter(client__primary_associate=associate)
    rows = orders.annotate(
        contact_at=Subquery(first.values("completed_at")[:1]),
        contact_by=Subquery(first.values("completed_by")[:1]),
    ).values_list("placed_at", "contact_at", "contact_by")
    found: list[tuple[int | None, float | None]] = []
    for placed_at, contact_at, contact_by in rows:
        if contact_at is None:
            found.append((None, None))
        else:
            found.append((contact_by, max(0.0, (contact_at - placed_at).total_seconds() / 60)))
    return found


def first_contact(store: Store, *, period: Period, associate: User | None) -> FirstContact:
    """Median and 90th percentile of the minutes from an online order to the first contact."""
    orders = _online_orders(store, period=period, associate=associate)
    minutes = np.array([value for _, value in orders if value is not None], dtype=np.float64)
    return FirstContact(
        orders=len(orders),
        contacted=int(minutes.size),
        median_minutes=float(np.median(minutes)) if minutes.size else None,
        p90_minutes=float(np.percentile(minutes, 90)) if minutes.size else None,
    )


# --- Cohorts ----------------------------------------------------------------------------------


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _month_of(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


def cohorts_table(
    store: Store, *, period: Period, associate: User | None, now: dt.datetime
) -> list[CohortRow]:
    """Clients by month of first purchase: who bought again in each of the next six months."""
    purchases = Order.objects.filter(store=store, client__isnull=False).exclude(
        status__in=NOT_PURCHASES
    )
    if associate is not None:
        purchases = purchases.filter(client__primary_associate=associate)
    months = (
        purchases.annotate(month=TruncMonth("placed_at", tzinfo=period.zone))
        .values_list("client_id", "month")
        .distinct()
        .order_by()
    )
    counts = dict(
        purchases.values("client_id")
        .annotate(n=Count("id"))
        .values_list("client_id", "n")
        .order_by()
    )
    bought_in: dict[int, set[int]] = defaultdict(set)
    for client_id, month in months:
        day = month.date() if isinstance(month, dt.datetime) else month
        bought_in[client_id].add(_month_index(day))
    last = _month_index(period.last_day)
    current = _month_index(now.astimezone(period.zone).date())
    first_months = range(last - COHORT_MONTHS + 1, last + 1)
    cohort_of = {client_id: min(found) for client_id, found in bought_in.items()}
    members: dict[int, list[int]] = defaultdict(list)
    for client_id, first in cohort_of.items():
        if first in first_months:
            members[first].append(client_id)
    rows = []
    for first in first_months:
        clients = members.get(first, [])
        if not clients:
            continue
        returned: list[int | None] = []
        for offset in range(1, RETENTION_MONTHS + 1):
            month = first + offset
            # A month counts once it has ended; the current month is still open.
            if month >= current:
                returned.append(None)
            else:
                returned.append(sum(1 for c in clients if month in bought_in[c]))
        rows.append(
            CohortRow(
                month=_month_of(first),
                clients=len(clients),
                repeat=sum(1 for c in clients if counts.get(c, 0) > 1),
                returned=returned,
            )
        )
    return rows


# --- Loyalty movement and promises (from other apps, when they exist) ------------------------


def loyalty_movement(store: Store, *, period: Period) -> list[MovementRow] | None:
    """Moves between loyalty stages in the period; None when stages are not available."""
    try:
        loyalty = importlib.import_module("extramile.loyalty.services")
    except ModuleNotFoundError:
        return None
    movement = getattr(loyalty, "stage_movement", None)
    if movement is None:
        return None
    return [
        MovementRow(
            from_stage=None if before is None else str(before),
            to_stage=str(after),
            clients=int(count),
        )
        for before, after, count in movement(store, period.first_day, period.last_day)
    ]


def promises_kept(
    store: Store, *, period: Period, associate: User | None
) -> list[PromiseRow] | None:
    """Promises due in the period by how they ended; None when promises are not available."""
    try:
        promise_model = apps.get_model("care", "Promise")
    except LookupError:
        return None
    try:
        promises = promise_model.objects.filter(
            store=store, due_at__gte=period.since, due_at__lt=period.until
        )
        if associate is not None:
            promises = promises.filter(made_by=associate)
        counts = Counter(
            dict(
                promises.values("outcome")
                .annotate(n=Count("id"))
                .values_list("outcome", "n")
                .order_by()
            )
        )
    except FieldError:
        return None
    open_count = sum(n for outcome, n in counts.items() if outcome not in PROMISE_OUTCOMES)
    rows = [PromiseRow(outcome, counts.get(outcome, 0)) for outcome in PROMISE_OUTCOMES]
    rows.append(PromiseRow("open", open_count))
    return rows
