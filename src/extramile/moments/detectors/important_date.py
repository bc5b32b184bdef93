"""Important dates: a birthday, anniversary or other date of a client's within the store's lead.

For every contactable client with a date falling from today to `date_lead_days` ahead — in the
client's own time zone, across the new year, a 29 February on the 28th in a common year — one
candidate keyed by client, kind and the year it occurs, so the same date is proposed once a
year. It is due the next local morning and expires when the day after the date begins. Its
score weighs closeness (a date tomorrow before one next week) at 0.55 and the client's value
(their rank by net spend in the last year, within their store) at 0.45.

The draft wishes them well in the associate's voice. With it: up to three products in stock in
their sizes that have something they said they like, and a small surprise — an item among the
cheapest tenth of the store's stock, in a category they buy (or said they like), in stock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from extramile.accounts.models import Store
from extramile.clients.models import DateKind, ImportantDate
from extramile.engine.occasions import closeness, due_before, local_midnight, next_occurrence
from extramile.engine.taste import Taste, top_category
from extramile.moments.candidates import Candidate, ShownProduct
from extramile.moments.detectors.calendar_support import (
    CONTACTABLE,
    MAX_SHOWN,
    Chooser,
    ClientRow,
    PairView,
    Pick,
    StockTable,
    arrival_ordinals,
    best_products,
    bought_pairs,
    client_instances,
    client_rows,
    last_purchases,
    net_spend,
    product_context,
    product_instances,
    render_message,
    sender_for,
    sizes_of,
    spend_ranks,
    spoken_date,
    stock_note,
    stock_table,
    taste_model,
    tastes_of,
)
from extramile.moments.governance import rules_for
from extramile.moments.models import ActionKind

CLOSENESS_WEIGHT = 0.55
VALUE_WEIGHT = 0.45
SURPRISE_PRICE_QUANTILE = 0.10  # a surprise costs no more than the cheapest tenth of the stock
DEFAULT_NOUN = {
    DateKind.BIRTHDAY: "birthday",
    DateKind.ANNIVERSARY: "anniversary",
    DateKind.OTHER: "special date",
}


@dataclass(frozen=True)
class DateAhead:
    """One client's date that falls within the lead."""

    client: ClientRow
    kind: str
    label: str
    occurs_on: dt.date
    days_ahead: int
    year: int | None
    lead_days: int

    @property
    def key(self) -> str:
        """The moment: this client's date of this kind in this year."""
        return f"important_date:{self.client.id}:{self.kind}:{self.occurs_on.year}"

    @property
    def years(self) -> int | None:
        """Age at a birthday, years married at an anniversary, when the year is known."""
        if self.year is None or self.kind == DateKind.OTHER:
            return None
        years = self.occurs_on.year - self.year
        return years if years > 0 else None


def detect(*, now: dt.datetime, stores: Iterable[Store]) -> list[Candidate]:
    """Propose a contact for each client date falling within the store's lead."""
    stores = list(stores)
    if not stores:
        return []
    leads = {store.pk: rules_for(store).date_lead_days for store in stores}
    clients = client_rows(stores)
    dates = dates_ahead(clients, leads=leads, now=now)
    if not dates:
        return []
    ids = sorted({d.client.id for d in dates})
    ranks = spend_ranks(stores, now=now)
    spent = net_spend(ids, now=now)
    last = last_purchases(ids, now=now)
    table = stock_table(stores)
    tastes = tastes_of(ids, now=now)
    sizes = sizes_of(ids)
    bought = bought_pairs(ids, table.products)
    model = taste_model(ids, table, tastes)
    related = best_products(
        ids,
        clients=clients,
        table=table,
        tastes=tastes,
        sizes=sizes,
        choose=_liked,
        bought=bought,
        model=model,
    )
    surprises = best_products(
        ids,
        clients=clients,
        table=table,
        tastes=tastes,
        sizes=sizes,
        choose=_surprise_chooser(table, tastes),
        limit=MAX_SHOWN + 1,
        bought=bought,
        model=model,
    )
    instances = client_instances(ids)
    shown_ids = {p.product_id for picks in (*related.values(), *surprises.values()) for p in picks}
    products = product_instances(shown_ids)
    candidates = []
    for date in dates:
        client = instances[date.client.id]
        picks = related.get(client.pk, [])
        shown = {p.product_id for p in picks}
        surprise = next(
            (p for p in surprises.get(client.pk, []) if p.product_id not in shown), None
        )
        score = CLOSENESS_WEIGHT * closeness(
            date.days_ahead, lead_days=date.lead_days
        ) + VALUE_WEIGHT * ranks.get(client.pk, 0.0)
        expires = local_midnight(date.occurs_on + dt.timedelta(days=1), date.client.zone)
        subject, draft = _draft(date, client=client, picks=picks, table=table, surprise=surprise)
        candidates.append(
            Candidate(
                kind=ActionKind.IMPORTANT_DATE,
                client=client,
                key=date.key,
                reason=reason_for(date),
                occasion=f"{date.kind}:{date.occurs_on.year}",
                due_at=due_before(now, date.client.zone, deadline=expires),
                expires_at=expires,
                score=round(score, 3),
                evidence={
                    "date": date.occurs_on.isoformat(),
                    "kind": date.kind,
                    "label": date.label,
                    "days_ahead": date.days_ahead,
                    "years": date.years,
                    "spend_last_year": round(spent.get(client.pk, 0.0), 2),
                    "spend_rank_in_store": round(ranks.get(client.pk, 0.0), 3),
                    "last_purchase": last.get(client.pk),
                },
                subject=subject,
                draft=draft,
                products=[
                    ShownProduct(products[p.product_id], note=stock_note(table, p.row))
                    for p in picks
                ],
                surprise=products[surprise.product_id] if surprise else None,
                surprise_note=_surprise_note(date, table, surprise) if surprise else "",
            )
        )
    return sorted(candidates, key=lambda c: (-c.score, c.key))


def dates_ahead(
    clients: dict[int, ClientRow], *, leads: dict[int, int], now: dt.datetime
) -> list[DateAhead]:
    """Return the dates falling within each store's lead, soonest first, one per moment."""
    if not clients or not leads:
        return []
    longest = max(leads.values())
    rows = ImportantDate.objects.filter(
        client__store_id__in=list(leads), client__status__in=CONTACTABLE
    )
    if longest < 300:
        # Only the months the lead can reach, seen from any time zone (a day either side).
        first = now.date() - dt.timedelta(days=1)
        months = {(first + dt.timedelta(days=n)).month for n in range(longest + 3)}
        rows = rows.filter(month__in=sorted(months))
    found: dict[str, DateAhead] = {}
    for client_id, kind, label, month, day, year in rows.values_list(
        "client_id", "kind", "label", "month", "day", "year"
    ).order_by("client_id", "id"):
        client = clients.get(client_id)
        if client is None:
            continue
        today = now.astimezone(client.zone).date()
        occurs_on = next_occurrence(month, day, today=today)
        days_ahead = (occurs_on - today).days
        lead = leads[client.store_id]
        if days_ahead > lead:
            continue
        date = DateAhead(
            client=client,
            kind=kind,
            label=label.strip(),
            occurs_on=occurs_on,
            days_ahead=days_ahead,
            year=year,
            lead_days=lead,
        )
        # Two dates of one kind in one year (two "other" dates) are one moment: the sooner.
        if date.key not in found or date.days_ahead < found[date.key].days_ahead:
            found[date.key] = date
    return sorted(found.values(), key=lambda d: (d.days_ahead, d.client.id, d.kind))


def occasion_noun(date: DateAhead) -> str:
    """Name the occasion in a sentence: "birthday", "wedding anniversary", "son's graduation"."""
    return occasion_word(date.kind, date.label)


def occasion_word(kind: str, label: str) -> str:
    """Name a date of this kind and label in a sentence, lower-case unless an acronym."""
    label = label.strip()
    if not label:
        return DEFAULT_NOUN.get(DateKind(kind), "special date")
    if len(label) > 1 and label[1].isupper():
        return label  # an acronym keeps its capitals
    return label[0].lower() + label[1:]


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def reason_for(date: DateAhead) -> str:
    """Say the moment with its date: "Maya's birthday is on Saturday 28 November.".

    Never "tomorrow": the reason is stored, and read on later days too.
    """
    noun = occasion_noun(date)
    years = date.years
    counted = date.kind == DateKind.ANNIVERSARY or (years is not None and years % 10 == 0)
    if years is not None and counted and "'" not in noun:
        noun = f"{_ordinal(years)} {noun}"
    return f"{date.client.name}'s {noun} is on {spoken_date(date.occurs_on)}."


def coming_day_words(days_ahead: int, day: dt.date) -> str:
    """Say a coming day as in a note to the client: "today", "tomorrow", "on Saturday"."""
    if days_ahead == 0:
        return "today"
    if days_ahead == 1:
        return "tomorrow"
    if days_ahead < 7:
        return f"on {spoken_date(day).split()[0]}"
    return f"on {spoken_date(day)}"


def _liked(view: PairView) -> tuple[np.ndarray, np.ndarray]:
    """Products that have something the client said they like, not bought before; best first."""
    arrived = arrival_ordinals(view.table)
    return (view.stated > 0) & ~view.bought, view.fit + 1e-3 * arrived[view.rows]


def _surprise_chooser(table: StockTable, tastes: dict[int, Taste]) -> Chooser:
    """A cheap product in a category the client buys or likes; most-bought category first."""
    price = np.array(
        [
            np.nan if table.products[p].price is None else table.products[p].price
            for p in table.product.tolist()
        ]
    )
    cheap = np.zeros(len(table), dtype=bool)
    for store in set(table.store.tolist()):
        in_store = (table.store == store) & ~np.isnan(price)
        if in_store.any():
            # One price per product, so many sizes of a suit do not pull the line up.
            per_product = {p: price[i] for i, p in enumerate(table.product.tolist()) if in_store[i]}
            limit = np.quantile(
                list(per_product.values()), SURPRISE_PRICE_QUANTILE, method="higher"
            )
            cheap |= in_store & (price <= limit)
    categories = [top_category(table.products[p].category) for p in table.product.tolist()]
    said = {
        (pk, top_category(value))
        for pk, taste in tastes.items()
        for dimension, value in taste.likes
        if dimension == "category"
    }
    safe_price = np.nan_to_num(price, nan=0.0)
    top_price = max(float(safe_price.max()), 1.0) if safe_price.size else 1.0

    def choose(view: PairView) -> tuple[np.ndarray, np.ndarray]:
        liked_category = np.array(
            [
                (pk, categories[row]) in said
                for pk, row in zip(view.client_ids.tolist(), view.rows.tolist(), strict=True)
            ],
            dtype=bool,
        )
        mask = cheap[view.rows] & (liked_category | (view.category_lines > 0))
        score = (
            np.minimum(view.category_lines, 99) * 1000
            + (~view.bought) * 100
            + np.minimum(view.stated, 9) * 10
            - safe_price[view.rows] / top_price
        )
        return mask, score

    return choose


def _surprise_note(date: DateAhead, table: StockTable, pick: Pick) -> str:
    product = table.products[pick.product_id]
    price = product_context(product)["price"]
    cost = f" ({price})" if price else ""
    return (
        f"A small {occasion_noun(date)} gift on the house{cost}: "
        f"{date.client.name} has bought from {product.category} before."
    )


def _draft(
    date: DateAhead, *, client: Any, picks: list[Pick], table: StockTable, surprise: Pick | None
) -> tuple[str, str]:
    sender = sender_for(client)
    context = {
        "first_name": date.client.name,
        "kind": date.kind,
        "occasion": occasion_noun(date),
        "days_ahead": date.days_ahead,
        "when": coming_day_words(date.days_ahead, date.occurs_on),
        "sender": sender.first_name,
        "store_name": sender.store_name,
        "products": [
            product_context(
                table.products[p.product_id], size=table.size[p.row], colour=table.colour[p.row]
            )
            for p in picks
        ],
        "surprise": bool(surprise),
    }
    return render_message(ActionKind.IMPORTANT_DATE.value, context)
