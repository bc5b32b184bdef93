"""Buying seasons: a client's yearly time to buy in a category, about to open again.

The client bought in a category in the same weeks of earlier years, and that season opens
within the store's `season_lead_days`.

Purchases are grouped by client and category (the product category's top two levels, such as
"Men/Suits") and read in the client's own time zone; extramile.engine.seasons finds the
seasons (purchases in at least two earlier years within ±14 days of one day of the year). A
season is proposed when it opens from today to `season_lead_days` ahead and the client has not
yet bought in that category this season. A category the client buys more than four times a
year has no season (buying it is routine). The key names client, category and the year of the
opening, so each season is proposed once a year. Seasons of one client opening within a week of
each other (a suit, a shirt and a tie each autumn) make one candidate about the dearest.

Only purchases that can matter are read, in a few aggregate queries: which clients, then which
of their categories, bought in at least two of the yearly windows around the coming weeks (the
last six years), how often they buy those categories at all, and only then the purchase days
of the pairs left (those windows and the days since two weeks before today). Ta-Feng's 32,266
clients and 817,741 lines take under a second.

With it: up to three products of that category in stock in the client's size at their store,
new arrivals first, then those with more of what they said they like, then the best fit; never
something they dislike or already bought. Due the next local morning, expiring when the
season's two weeks are over. Score: 0.6 x the season's confidence + 0.25 x the client's value
(rank by net spend in the last year, within their store) + 0.15 for new pieces in their size
(0.075 for older ones in stock).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import Case, Count, IntegerField, Min, Q, QuerySet, Sum, Value, When

from extramile.accounts.models import Store
from extramile.catalog.models import Variant
from extramile.engine.occasions import due_before, local_midnight, occurrence_in
from extramile.engine.seasons import Season, find_seasons_batch
from extramile.engine.taste import Taste, top_category
from extramile.moments.candidates import Candidate, ShownProduct
from extramile.moments.detectors.calendar_support import (
    CONTACTABLE,
    STANDING,
    Chooser,
    ClientRow,
    Noun,
    PairView,
    Pick,
    StockTable,
    arrival_ordinals,
    best_products_by_category,
    bought_pairs,
    category_noun,
    chunks,
    client_instances,
    client_rows,
    count_word,
    product_context,
    product_instances,
    products_in_categories,
    render_message,
    sender_for,
    sizes_of,
    spend_ranks,
    spoken_date,
    stock_note,
    stock_table,
    tastes_of,
)
from extramile.moments.governance import rules_for
from extramile.moments.models import ActionKind
from extramile.orders.models import Order, OrderLine

WINDOW_DAYS = 14  # a season: purchases within ±14 days of one day of the year
MIN_YEARS = 2
YEARS_BACK = 6
CONFIDENCE_WEIGHT = 0.6
VALUE_WEIGHT = 0.25
STOCK_WEIGHT = 0.15
SHOWN = 3
COUNTED = 50  # in-stock products counted for the reason
NEW_BONUS = 100.0  # in the ranking of products, a new arrival comes before any other
SAME_TRIP_DAYS = 7  # seasons opening within a week of each other make one contact
MAX_ORDERS_A_YEAR = 4  # a category bought more often is routine, not a season


@dataclass(frozen=True)
class SeasonAhead:
    """A client's season in one category that opens within the lead."""

    client: ClientRow
    category: str  # top two levels as the catalog writes them: "Men/Suits"
    season: Season
    days_ahead: int
    today: dt.date
    arrival_days: int

    @property
    def key(self) -> str:
        """The moment: this client's season in this category in the year it opens."""
        return f"buying_season:{self.client.id}:{self.category}:{self.season.next_start.year}"


def detect(*, now: dt.datetime, stores: Iterable[Store]) -> list[Candidate]:
    """Propose a contact for each client whose own season in a category is about to open."""
    stores = list(stores)
    if not stores:
        return []
    rules = {store.pk: rules_for(store) for store in stores}
    clients = client_rows(stores)
    lead = max(r.season_lead_days for r in rules.values())
    purchases, names = purchases_near(stores, clients=clients, now=now, lead_days=lead)
    since = first_orders({client_id for client_id, _ in purchases})
    keys = [key for key in sorted(purchases) if key[0] in clients]
    todays = {c.id: now.astimezone(c.zone).date() for c in (clients[pk] for pk, _ in keys)}
    found = find_seasons_batch(
        np.repeat(np.arange(len(keys)), [len(purchases[key]) for key in keys]),
        np.array([d.toordinal() for key in keys for d in purchases[key]], dtype=np.int64),
        today=np.array([todays[pk].toordinal() for pk, _ in keys], dtype=np.int64),
        observed_since=np.array(
            [since.get(pk, todays[pk]).toordinal() for pk, _ in keys], dtype=np.int64
        ),
        latest_start=np.array(
            [
                todays[pk].toordinal() + rules[clients[pk].store_id].season_lead_days
                for pk, _ in keys
            ],
            dtype=np.int64,
        ),
        window_days=WINDOW_DAYS,
        min_years=MIN_YEARS,
    )
    seasons: list[SeasonAhead] = []
    for number, found_seasons in sorted(found.items()):
        client_id, category = keys[number]
        client = clients[client_id]
        today = todays[client_id]
        store_rules = rules[client.store_id]
        for season in found_seasons:
            if not season.bought_this_season:
                seasons.append(
                    SeasonAhead(
                        client=client,
                        category=names[category],
                        season=season,
                        days_ahead=(season.next_start - today).days,
                        today=today,
                        arrival_days=store_rules.arrival_days,
                    )
                )
                break  # the soonest season of this category
    if not seasons:
        return []
    return _candidates(seasons, stores=stores, clients=clients, now=now)


def purchases_near(
    stores: list[Store], *, clients: dict[int, ClientRow], now: dt.datetime, lead_days: int
) -> tuple[dict[tuple[int, str], list[dt.date]], dict[str, str]]:
    """Return each client's purchase days per category near the coming weeks of past years.

    Read: the weeks around the coming `lead_days` in each of the last YEARS_BACK years, widened
    by two windows each side (a season's purchases lie within one window of its typical day,
    and that day within the lead), and the days since one window before today. Days are in
    the client's time zone; categories are keyed by their normalised top two levels, and the
    second dict gives each key as the catalog writes it.

    Two steps keep it fast on a long history: a first query says, per client and category,
    which of those past years hold a purchase (numbers only, no dates to read), and only the
    clients and categories with purchases in at least MIN_YEARS of them are read in full.
    """
    margin = dt.timedelta(days=2 * WINDOW_DAYS + 2)
    today = now.date()
    recent = Q(order__placed_at__gte=now - dt.timedelta(days=WINDOW_DAYS + 2))
    years: list[tuple[int, Q]] = []
    for back in range(1, YEARS_BACK + 1):
        centre = occurrence_in(today.year - back, today.month, today.day)
        start = dt.datetime.combine(centre, dt.time(0), tzinfo=dt.UTC) - margin
        end = start + margin * 2 + dt.timedelta(days=lead_days + 1)
        years.append((back, Q(order__placed_at__gte=start, order__placed_at__lt=end)))
    ranges = recent
    for _, during in years:
        ranges |= during
    lines = OrderLine.objects.filter(
        ranges,
        order__store__in=stores,
        order__status__in=STANDING,
        order__client__status__in=CONTACTABLE,
        order__placed_at__lte=now,
        product__isnull=False,
    )
    wanted = _clients_seen_in_enough_years(lines, years, lead_days=lead_days)
    wanted = _bought_occasionally(wanted, now=now)
    zones = {c.id: c.zone for c in clients.values()}
    found: dict[tuple[int, str], set[dt.date]] = defaultdict(set)
    names: dict[str, str] = {}
    for batch in chunks(sorted({client_id for client_id, _ in wanted if client_id in zones})):
        in_batch = lines.filter(order__client_id__in=batch)
        # Each order's day once (reading a time costs more than reading a number), then the
        # categories of its lines.
        days = {
            order_id: placed_at.astimezone(zones[client_id]).date()
            for order_id, client_id, placed_at in in_batch.values_list(
                "order_id", "order__client_id", "order__placed_at"
            ).distinct()
        }
        for order_id, client_id, category in in_batch.values_list(
            "order_id", "order__client_id", "product__category"
        ).distinct():
            key = top_category(category or "")
            if (client_id, key) not in wanted:
                continue
            if key not in names:
                names[key] = "/".join([p.strip() for p in category.split("/") if p.strip()][:2])
            found[(client_id, key)].add(days[order_id])
    return {k: sorted(v) for k, v in found.items() if len(v) >= MIN_YEARS}, names


def _clients_seen_in_enough_years(
    lines: QuerySet[OrderLine], years: list[tuple[int, Q]], *, lead_days: int
) -> set[tuple[int, str]]:
    """The (client, category) pairs with purchases in at least MIN_YEARS of the past windows.

    Each line gets a bit for its window (2^back; the recent days give bit 0), and the distinct
    bits are summed into a mask: first per client (a client who bought in fewer past windows
    than MIN_YEARS has no season at all), then, for the clients left, per client and category.
    Windows of different years never overlap while a window is shorter than a year; for a
    longer lead every pair that bought at all is kept.
    """
    overlap = lead_days + 4 * WINDOW_DAYS + 6 >= 365
    bit = Case(
        *(When(during, then=Value(2**back)) for back, during in years),
        default=Value(1),
        output_field=IntegerField(),
    )

    def enough(mask: int) -> bool:
        return overlap or (mask >> 1).bit_count() >= MIN_YEARS

    masks = lines.annotate(bit=bit)
    clients = [
        client_id
        for client_id, mask in masks.values("order__client_id")
        .annotate(mask=Sum("bit", distinct=True))
        .values_list("order__client_id", "mask")
        if enough(mask or 0)
    ]
    seen: dict[tuple[int, str], int] = defaultdict(int)
    for batch in chunks(clients):
        for client_id, category, mask in (
            masks.filter(order__client_id__in=batch)
            .values("order__client_id", "product__category")
            .annotate(mask=Sum("bit", distinct=True))
            .values_list("order__client_id", "product__category", "mask")
        ):
            key = top_category(category or "")
            if key:
                seen[(client_id, key)] |= mask or 0
    return {pair for pair, mask in seen.items() if enough(mask)}


def _bought_occasionally(pairs: set[tuple[int, str]], *, now: dt.datetime) -> set[tuple[int, str]]:
    """Keep the pairs whose category the client buys at most MAX_ORDERS_A_YEAR times a year.

    A category bought every month (shirts for some, milk at a grocer's) has no season: buying it
    is routine. The rate is the client's orders with that category over the years since their
    first order (at least one year).
    """
    clients = sorted({client_id for client_id, _ in pairs})
    orders: dict[tuple[int, str], int] = defaultdict(int)
    first: dict[int, dt.datetime] = {}
    for batch in chunks(clients):
        for client_id, category, count, earliest in (
            OrderLine.objects.filter(
                order__client_id__in=batch,
                order__status__in=STANDING,
                order__placed_at__lte=now,
                product__isnull=False,
            )
            .values("order__client_id", "product__category")
            .annotate(orders=Count("order", distinct=True), first=Min("order__placed_at"))
            .values_list("order__client_id", "product__category", "orders", "first")
        ):
            orders[(client_id, top_category(category or ""))] += count
            first[client_id] = min(earliest, first.get(client_id, earliest))
    kept = set()
    for client_id, category in pairs:
        years = max(1.0, (now - first.get(client_id, now)).days / 365.25)
        if orders[(client_id, category)] / years <= MAX_ORDERS_A_YEAR:
            kept.add((client_id, category))
    return kept


def first_orders(client_ids: Iterable[int]) -> dict[int, dt.date]:
    """Return the day of each client's first standing order: since when we know them."""
    first: dict[int, dt.date] = {}
    for batch in chunks(sorted(client_ids)):
        for client_id, at in (
            Order.objects.filter(client_id__in=batch, status__in=STANDING)
            .values("client_id")
            .annotate(first=Min("placed_at"))
            .values_list("client_id", "first")
        ):
            first[client_id] = at.date()
    return first


@dataclass(frozen=True)
class SeasonGroup:
    """A client's seasons that open within a week of each other: one contact for all of them.

    The main season is the one of the dearest category (what the client usually pays for it),
    so Edmund's yearly suit, shirt and tie are one call about a suit.
    """

    main: SeasonAhead
    others: tuple[SeasonAhead, ...]


def group_seasons(seasons: list[SeasonAhead], tastes: dict[int, Taste]) -> list[SeasonGroup]:
    """Group each client's seasons that open within SAME_TRIP_DAYS of the first of them."""
    by_client: dict[int, list[SeasonAhead]] = defaultdict(list)
    for ahead in seasons:
        by_client[ahead.client.id].append(ahead)
    groups = []
    for client_id, found in sorted(by_client.items()):
        found.sort(key=lambda a: (a.season.next_start, a.category))
        prices = tastes.get(client_id, Taste()).typical_prices
        while found:
            first = found[0].season.next_start
            trip = [a for a in found if (a.season.next_start - first).days <= SAME_TRIP_DAYS]
            found = [a for a in found if a not in trip]
            trip.sort(key=lambda a: (-prices.get(top_category(a.category), 0.0), a.category))
            groups.append(SeasonGroup(main=trip[0], others=tuple(trip[1:])))
    return groups


def _candidates(
    seasons: list[SeasonAhead],
    *,
    stores: list[Store],
    clients: dict[int, ClientRow],
    now: dt.datetime,
) -> list[Candidate]:
    ids = sorted({s.client.id for s in seasons})
    categories = {top_category(s.category) for s in seasons}
    table = stock_table(stores, product_ids=products_in_categories(categories))
    tastes = tastes_of(ids, now=now)
    sizes = sizes_of(ids)
    bought = bought_pairs(ids, table.products)
    ranks = spend_ranks(stores, now=now)
    row_category = np.array([top_category(table.products[p].category) for p in table.product])
    sized_categories = {
        top_category(category)
        for category in Variant.objects.exclude(size="")
        .values_list("product__category", flat=True)
        .distinct()
    }
    picks = best_products_by_category(
        ids,
        clients=clients,
        table=table,
        tastes=tastes,
        sizes=sizes,
        choose=_chooser(table, row_category, seasons),
        limit=COUNTED,
        bought=bought,
    )
    groups = group_seasons(seasons, tastes)
    shown_by_group = [_shown(group, picks) for group in groups]
    instances = client_instances(ids)
    products = product_instances({p.product_id for shown in shown_by_group for p in shown})
    candidates = []
    for group, shown in zip(groups, shown_by_group, strict=True):
        ahead = group.main
        client = instances[ahead.client.id]
        category = top_category(ahead.category)
        found = picks.get((client.pk, category), [])
        new_count = sum(1 for p in found if p.score >= NEW_BONUS)
        size = sizes.get(client.pk, {}).get(category)
        sized = category in sized_categories
        stock_part = 1.0 if new_count else 0.5 if found else 0.0
        score = (
            CONFIDENCE_WEIGHT * ahead.season.confidence
            + VALUE_WEIGHT * ranks.get(client.pk, 0.0)
            + STOCK_WEIGHT * stock_part
        )
        zone = ahead.client.zone
        opens = local_midnight(ahead.season.next_start, zone)
        stock = StockWords(new=new_count, in_stock=len(found), size=size, sized=sized)
        subject, draft = _draft(ahead, client=client, picks=shown, table=table, stock=stock)
        candidates.append(
            Candidate(
                kind=ActionKind.BUYING_SEASON,
                client=client,
                key=ahead.key,
                occasion=f"{ahead.category}:{ahead.season.next_start.year}",
                reason=reason_for(group, stock=stock),
                due_at=due_before(now, zone, deadline=opens + dt.timedelta(hours=12)),
                expires_at=local_midnight(
                    ahead.season.next_start + dt.timedelta(days=WINDOW_DAYS + 1), zone
                ),
                score=round(score, 3),
                evidence={
                    **_season_evidence(ahead),
                    "size": size,
                    "new_in_size": new_count,
                    "in_stock_in_size": len(found),
                    "spend_rank_in_store": round(ranks.get(client.pk, 0.0), 3),
                    "with": [_season_evidence(other) for other in group.others],
                },
                subject=subject,
                draft=draft,
                products=[
                    ShownProduct(products[p.product_id], note=stock_note(table, p.row))
                    for p in shown
                ],
            )
        )
    return sorted(candidates, key=lambda c: (-c.score, c.key))


def _season_evidence(ahead: SeasonAhead) -> dict[str, Any]:
    return {
        "category": ahead.category,
        "season_opens": ahead.season.next_start.isoformat(),
        "days_ahead": ahead.days_ahead,
        "years_seen": list(ahead.season.years_seen),
        "purchases": [d.isoformat() for d in ahead.season.purchases],
        "spread_days": ahead.season.spread_days,
        "confidence": ahead.season.confidence,
    }


def _shown(group: SeasonGroup, picks: dict[tuple[int, str], list[Pick]]) -> list[Pick]:
    """The main season's products first, then the others', SHOWN at most."""
    shown: list[Pick] = []
    for ahead in (group.main, *group.others):
        for pick in picks.get((ahead.client.id, top_category(ahead.category)), []):
            if len(shown) < SHOWN and pick.product_id not in {p.product_id for p in shown}:
                shown.append(pick)
    return shown


def _chooser(table: StockTable, row_category: np.ndarray, seasons: list[SeasonAhead]) -> Chooser:
    """Rows of the client's season categories not bought before: new, then likes, then fit."""
    arrived = np.array(
        [
            (table.products[p].arrived_on or dt.date(1970, 1, 1)).toordinal()
            for p in table.product.tolist()
        ],
        dtype=float,
    )
    recency = arrival_ordinals(table)
    new_since = {
        s.client.id: (s.today - dt.timedelta(days=s.arrival_days)).toordinal() for s in seasons
    }
    in_season = {(s.client.id, top_category(s.category)) for s in seasons}

    def choose(view: PairView) -> tuple[np.ndarray, np.ndarray]:
        clients = view.client_ids.tolist()
        since = np.array([new_since.get(pk, 0) for pk in clients], dtype=float)
        wanted = np.array(
            [
                (pk, row_category[row]) in in_season
                for pk, row in zip(clients, view.rows.tolist(), strict=True)
            ],
            dtype=bool,
        )
        new = arrived[view.rows] >= since
        score = (
            NEW_BONUS * new
            + 10.0 * np.minimum(view.stated, 9)
            + view.fit
            + 1e-3 * recency[view.rows]
        )
        return wanted & ~view.bought, score

    return choose


@dataclass(frozen=True)
class StockWords:
    """What is in stock for the main season, in the client's size."""

    new: int
    in_stock: int
    size: str | None
    sized: bool  # the category comes in sizes

    def sentence(self, noun: Noun) -> str:
        """Say it: "Two new suits arrived in size 42L." (empty when there is nothing to say)."""
        where = f" in size {self.size}" if self.size and self.sized else ""
        if self.new:
            return f"{_upper_first(noun.counted(self.new, 'new'))} arrived{where}."
        if self.in_stock:
            verb = "is" if self.in_stock == 1 else "are"
            return f"{_upper_first(noun.counted(self.in_stock))} {verb} in stock{where}."
        if self.sized and not self.size:
            return f"No {noun.singular} size on file: ask when you call."
        return ""


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def reason_for(group: SeasonGroup, *, stock: StockWords) -> str:
    """Say the season in plain words, with what is in stock for it."""
    ahead = group.main
    noun = category_noun(ahead.category)
    named = [category_noun(a.category).some() for a in (ahead, *group.others)]
    if len(named) > 3:
        named = [*named[:2], f"things from {count_word(len(named) - 2)} other categories"]
    things = _and(named)
    season = ahead.season
    years = list(season.years_seen)
    listed = ", ".join(str(y) for y in years)
    last_years = list(range(season.next_start.year - len(years), season.next_start.year))
    if years == last_years:
        span = f"each of the last {count_word(len(years))} years ({listed})"
    else:
        span = f"{count_word(len(years))} earlier years ({listed})"
    weeks = "week" if season.spread_days <= 7 else "weeks"
    # The date itself, never "next week": the reason is stored and read on later days.
    text = (
        f"{ahead.client.name} bought {things} in the same {weeks} of {span}; "
        f"that season opens on {spoken_date(season.next_start)}."
    )
    return f"{text} {stock.sentence(noun)}".strip()


def _draft(
    ahead: SeasonAhead, *, client: Any, picks: list[Pick], table: StockTable, stock: StockWords
) -> tuple[str, str]:
    noun = category_noun(ahead.category)
    sender = sender_for(client)
    thing = noun.counted(1, "new")
    in_size = " in your size" if stock.sized and stock.size else ""
    if stock.new:
        verb = "has" if stock.new == 1 else "have"
        news = f"{noun.counted(stock.new, 'new')} {verb} just arrived{in_size}"
    else:
        news = f"we have some lovely {noun.plural}{in_size}"
    context = {
        "first_name": ahead.client.name,
        "thing": thing,
        "noun": noun.singular,
        "plural": noun.plural,
        "news": news,
        "new_count": stock.new,
        "in_size": bool(in_size),
        "products": [
            product_context(
                table.products[p.product_id], size=table.size[p.row], colour=table.colour[p.row]
            )
            for p in picks
        ],
        "sender": sender.first_name,
        "store_name": sender.store_name,
    }
    return render_message(ActionKind.BUYING_SEASON.value, context)
