"""New arrivals matched to the clients who will want them, in stock in their size (first version).

Arrivals are the active products that arrived within the store's `arrival_days` and are in
stock there. Each client is scored against each in-stock variant with the taste fit of
extramile.engine.taste (stated likes and dislikes, what they bought, their price band), moved a
little by the purchase-history fit of extramile.engine.arrivals, the model proven on Ta-Feng
(recency-weighted lines over the category path, brand, colour and price; its drivers are kept
in the evidence; see arrival_fit.py). A
variant may be offered only with the client's size on file for its category and that size in
stock in the client's store (a one-size variant fits everyone), when it matches their taste (a
stated like, or purchases in its category or brand; a dislike excludes it), and not when they
bought that product before.

Scarce stock goes to the best-fitting clients first (extramile.engine.allocation): each variant
is offered to at most 2 clients per unit in stock, best fit first. Clients are scored a block
at a time against every arrival with numpy, so tens of thousands of clients take seconds.

A client told of arrivals lately (a new-arrival action done less than the store's
`arrival_message_days`, default 7, ago) hears of no more until then.

One candidate per client: its products are the matched arrivals, best fit first (three shown).
Candidates come best score first, so when an associate's day is full the best go first.

The key lists the ids of the products the candidate offers: "new_arrival_match:42:17-23".
Before proposing, the products already offered to the client by an earlier candidate (read
back from those keys, which the rules record even when they merge, hold out or suppress the
action) are set aside; they still take their place in the allocation, so a rerun reaches the
same clients and adds nothing, while a later arrival, or a restock that frees a place, makes a
new candidate with only the new products. A key holds at most about twenty ids (200
characters); a client matching more arrivals at once gets the rest in a later sweep.

Due the next local morning; expires when the newest shown product stops being new. Score: 0.8 x
the best fit + 0.2 x the client's value (rank by net spend in the last year, in their store).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import Q

from extramile.accounts.models import Store
from extramile.engine.allocation import Offers, allocate, best_variant_per_product
from extramile.engine.arrivals import due_for_message
from extramile.engine.occasions import due_before, local_midnight
from extramile.engine.taste import Explanation, TasteModel, top_category
from extramile.moments.candidates import Candidate, ShownProduct
from extramile.moments.detectors.arrival_fit import PurchaseFit, history_lines, purchase_fit
from extramile.moments.detectors.calendar_support import (
    BoughtIndex,
    ClientRow,
    StockTable,
    add_purchases,
    bought_pairs,
    category_noun,
    client_instances,
    client_rows,
    count_word,
    product_context,
    product_instances,
    render_message,
    sender_for,
    sizes_of,
    spend_ranks,
    spoken_date,
    stated_tastes,
    stock_note,
    stock_table,
    taste_model,
    zone_named,
)
from extramile.moments.governance import rules_for
from extramile.moments.models import Action, ActionKey, ActionKind, ActionState, StoreRules

KEY_PREFIX = "new_arrival_match"
KEY_LENGTH = 200  # ActionKey.key
SHOWN = 3
FIT_WEIGHT = 0.8
VALUE_WEIGHT = 0.2
CLIENT_BLOCK = 20_000  # clients scored at once
# How far the purchase-history fit (extramile.engine.arrivals) moves a taste fit, in all: less
# than the smallest stated like (a category, 0.1), so what a client said still comes first.
HISTORY_WEIGHT = 0.08


@dataclass(frozen=True)
class Match:
    """One arrival offered to one client: its stock row, fit and why it fits."""

    product_id: int
    row: int
    fit: float
    why: Explanation | None = None


def detect(*, now: dt.datetime, stores: Iterable[Store]) -> list[Candidate]:
    """Propose to each client the new arrivals that fit them, in stock in their size."""
    stores = list(stores)
    if not stores:
        return []
    rules = {store.pk: rules_for(store) for store in stores}
    windows = {store.pk: _window(now, store, rules[store.pk].arrival_days) for store in stores}
    earliest = min(start for start, _ in windows.values())
    latest = max(end for _, end in windows.values())
    table = stock_table(stores, product_filter=Q(arrived_on__gte=earliest, arrived_on__lte=latest))
    table = _within_windows(table, windows)
    if len(table) == 0:
        return []
    clients = client_rows(stores)
    ids = sorted(clients)
    if not ids:
        return []
    arrivals = table.products.values()
    # One read of their order lines feeds both the observed taste and the arrival model.
    lines = history_lines(stores, now=now, client_ids=ids)
    tastes = stated_tastes(ids, stores=stores)
    add_purchases(
        tastes,
        ((line[0], line[3], line[4], line[6]) for line in lines),
        categories={top_category(p.category) for p in arrivals},
        brands={p.brand for p in arrivals},
    )
    sizes = sizes_of(ids, stores=stores)
    bought = bought_pairs(ids, table.products, stores=stores)
    model = taste_model(ids, table, tastes)
    history = purchase_fit(
        stores,
        now=now,
        client_ids=ids,
        arrivals=[(p.id, p.category, p.brand, p.colour, p.price) for p in arrivals],
        lines=lines,
    )
    offers = match_arrivals_to_clients(
        ids,
        clients=clients,
        table=table,
        model=model,
        sizes=sizes,
        bought=bought,
        history=history,
    )
    longest = max(r.arrival_days for r in rules.values())
    offered = offered_before(stores, since=now - dt.timedelta(days=longest + 2))
    resting = recently_messaged(stores, clients=clients, rules=rules, now=now)
    by_client: dict[int, list[Match]] = defaultdict(list)
    for i in np.lexsort((offers.product, -offers.fit, offers.client)).tolist():
        client_id = ids[int(offers.client[i])]
        product_id = int(offers.product[i])
        if (client_id, product_id) in offered or client_id in resting:
            continue
        by_client[client_id].append(
            Match(product_id=product_id, row=int(offers.variant[i]), fit=float(offers.fit[i]))
        )
    if not by_client:
        return []
    row_of = {pk: i for i, pk in enumerate(ids)}
    ranks = spend_ranks(stores, now=now)
    instances = client_instances(by_client)
    products = product_instances(
        {m.product_id for matches in by_client.values() for m in matches[:SHOWN]}
    )
    covered_by_client = {pk: _covered(pk, matches) for pk, matches in by_client.items()}
    pairs = [(pk, m) for pk, covered in sorted(covered_by_client.items()) for m in covered[:SHOWN]]
    explained = model.explain_pairs(
        np.array([row_of[pk] for pk, _ in pairs], dtype=np.int64),
        np.array([m.row for _, m in pairs], dtype=np.int64),
    )
    shown_by_client: dict[int, list[Match]] = defaultdict(list)
    for (pk, m), why in zip(pairs, explained, strict=True):
        shown_by_client[pk].append(Match(m.product_id, m.row, m.fit, why))
    candidates: list[Candidate] = []
    for client_id, covered in sorted(covered_by_client.items()):
        shown = shown_by_client[client_id]
        client = clients[client_id]
        instance = instances[client_id]
        today = now.astimezone(client.zone).date()
        newest = max(table.products[m.product_id].arrived_on or today for m in shown)
        arrival_days = rules[client.store_id].arrival_days
        expires = local_midnight(newest + dt.timedelta(days=arrival_days + 1), client.zone)
        score = FIT_WEIGHT * min(1.0, shown[0].fit) + VALUE_WEIGHT * ranks.get(client_id, 0.0)
        subject, draft = _draft(client, instance=instance, shown=shown, table=table)
        candidates.append(
            Candidate(
                kind=ActionKind.NEW_ARRIVAL_MATCH,
                client=instance,
                key=_key(client_id, covered),
                reason=reason_for(
                    client,
                    shown,
                    table=table,
                    brands_liked=_brands_liked(tastes, client_id),
                    today=today,
                ),
                due_at=due_before(now, client.zone, deadline=expires),
                expires_at=expires,
                score=round(score, 3),
                evidence={
                    "products": [_evidence(m, table) for m in covered],
                    "history_drivers": history.drivers(row_of[client_id], shown[0].product_id),
                    "spend_rank_in_store": round(ranks.get(client_id, 0.0), 3),
                },
                subject=subject,
                draft=draft,
                products=[
                    ShownProduct(products[m.product_id], note=stock_note(table, m.row))
                    for m in shown
                ],
            )
        )
    return sorted(candidates, key=lambda c: (-c.score, c.key))


def _window(now: dt.datetime, store: Store, days: int) -> tuple[dt.date, dt.date]:
    today = now.astimezone(zone_named(store.time_zone)).date()
    return today - dt.timedelta(days=days), today


def _within_windows(table: StockTable, windows: dict[int, tuple[dt.date, dt.date]]) -> StockTable:
    """Keep the rows whose product arrived within their own store's window."""
    keep = np.array(
        [
            (arrived := table.products[p].arrived_on) is not None
            and windows[s][0] <= arrived <= windows[s][1]
            for p, s in zip(table.product.tolist(), table.store.tolist(), strict=True)
        ],
        dtype=bool,
    )
    if keep.all():
        return table
    return table.subset(np.flatnonzero(keep))


def match_arrivals_to_clients(
    client_ids: list[int],
    *,
    clients: dict[int, ClientRow],
    table: StockTable,
    model: TasteModel,
    sizes: dict[int, dict[str, str]],
    bought: set[tuple[int, int]],
    history: PurchaseFit | None = None,
) -> Offers:
    """Return the offers after allocation: client numbers (rows of `client_ids`), stock rows.

    Only pairs with some signal are scored (`TasteModel.candidate_pairs`), a block of clients
    at a time; each block keeps only its own best offers per variant, which is exact (the best
    clients of all blocks include the best clients overall), and the blocks' offers are then
    allocated once more together. With `history`, the arrival model's fit of each pair moves
    its taste fit by up to HISTORY_WEIGHT / 2 either way: it orders clients who said the same,
    never above one who said they like more.
    """
    store = np.array([clients[pk].store_id for pk in client_ids], dtype=np.int64)
    size_codes = table.client_sizes(client_ids, sizes)
    bought_index = BoughtIndex(client_ids, table, bought)
    parts = []
    for start in range(0, len(client_ids), CLIENT_BLOCK):
        rows = np.arange(start, min(start + CLIENT_BLOCK, len(client_ids)))
        pairs = model.candidate_pairs(rows)
        who, what = pairs.clients, pairs.items
        ok = (
            pairs.matches(model.weights)
            & table.eligible_pairs(store[who], size_codes[who], what)
            & ~bought_index.pairs(who, what)
        )
        fit = pairs.fit[ok]
        if history is not None:
            fit = fit + HISTORY_WEIGHT * (history.pairs(who[ok], table.product[what[ok]]) - 0.5)
        offers = Offers(client=who[ok], variant=what[ok], product=table.product[what[ok]], fit=fit)
        parts.append(allocate(best_variant_per_product(offers), table.quantity))
    return allocate(Offers.concatenate(parts), table.quantity)


def recently_messaged(
    stores: list[Store],
    *,
    clients: dict[int, ClientRow],
    rules: dict[int, StoreRules],
    now: dt.datetime,
) -> set[int]:
    """Return the clients told of arrivals too recently to hear of more (the store's rule).

    A new-arrival action done (its message sent or its call made) on a day less than
    `arrival_message_days` before today, in the client's zone, rests the client; their offers
    keep their place in the allocation and come back in a later sweep, while still new.
    """
    longest = max(r.arrival_message_days for r in rules.values())
    if longest == 0:
        return set()
    done = Action.objects.filter(
        store__in=stores,
        kind=ActionKind.NEW_ARRIVAL_MATCH,
        state=ActionState.DONE,
        completed_at__gte=now - dt.timedelta(days=longest + 1),
    ).values_list("client_id", "completed_at")
    last: dict[int, int] = {}
    for client_id, completed_at in done:
        row = clients.get(client_id)
        if row is not None and completed_at is not None:
            day = completed_at.astimezone(row.zone).date().toordinal()
            last[client_id] = max(last.get(client_id, -1), day)
    if not last:
        return set()
    ids = list(last)
    due = due_for_message(
        np.array([last[pk] for pk in ids]),
        np.array([now.astimezone(clients[pk].zone).date().toordinal() for pk in ids]),
        every_days=np.array([rules[clients[pk].store_id].arrival_message_days for pk in ids]),
    )
    return {pk for pk, ok in zip(ids, due.tolist(), strict=True) if not ok}


def offered_before(stores: list[Store], *, since: dt.datetime) -> set[tuple[int, int]]:
    """Return the (client, product) pairs an earlier new-arrival candidate already offered."""
    pairs: set[tuple[int, int]] = set()
    keys = ActionKey.objects.filter(
        key__startswith=f"{KEY_PREFIX}:", action__store__in=stores, created_at__gte=since
    ).values_list("key", flat=True)
    for key in keys:
        parts = key.split(":")
        if len(parts) != 3 or not parts[1].isdigit():
            continue
        client_id = int(parts[1])
        pairs.update((client_id, int(p)) for p in parts[2].split("-") if p.isdigit())
    return pairs


def _covered(client_id: int, matches: list[Match]) -> list[Match]:
    """The matches the key can name, best first: all of them unless the key would overflow."""
    room = KEY_LENGTH - len(f"{KEY_PREFIX}:{client_id}:")
    covered: list[Match] = []
    for match in matches:
        if len("-".join(str(m.product_id) for m in [*covered, match])) > room:
            break
        covered.append(match)
    return covered


def _key(client_id: int, covered: list[Match]) -> str:
    ids = "-".join(str(p) for p in sorted(m.product_id for m in covered))
    return f"{KEY_PREFIX}:{client_id}:{ids}"


def _evidence(match: Match, table: StockTable) -> dict[str, Any]:
    product = table.products[match.product_id]
    return {
        "product_id": product.id,
        "title": product.title,
        "arrived_on": product.arrived_on.isoformat() if product.arrived_on else None,
        "size": table.size[match.row],
        "colour": table.colour[match.row],
        "units_in_stock": int(table.quantity[match.row]),
        "fit": round(match.fit, 3),
    }


def _brands_liked(tastes: dict[int, Any], client_id: int) -> int:
    taste = tastes.get(client_id)
    return sum(1 for dimension, _ in taste.likes if dimension == "brand") if taste else 0


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


class _Who:
    """Names the client the first time, then says "they": no guess at anyone's gender."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.named = False

    def subject(self, verb: str, singular: str = "") -> str:
        """Say who does it: "Evelyn likes" the first time, "they like" after."""
        if self.named:
            return f"they {verb}"
        self.named = True
        return f"{self.name} {singular or verb + 's'}"

    def possessive(self) -> str:
        """Say whose: "Evelyn's" the first time, "their" after."""
        if self.named:
            return "their"
        self.named = True
        return f"{self.name}'s"


def reason_for(
    client: ClientRow,
    shown: list[Match],
    *,
    table: StockTable,
    brands_liked: int,
    today: dt.date,
) -> str:
    """Say why these arrivals are for this client, in plain words.

    "Two new dresses from Maison Lavande, Evelyn's favourite brand, arrived today in emerald,
    a colour they like, and in their size, 6."
    """
    who = _Who(client.name)
    products = [table.products[m.product_id] for m in shown]
    why = [m.why for m in shown if m.why is not None]
    nouns = {category_noun(p.category).plural for p in products}
    n = len(shown)
    if len(nouns) == 1:
        what = category_noun(products[0].category).counted(n, "new")
    else:
        what = "a new piece" if n == 1 else f"{count_word(n)} new pieces"
    text = what[0].upper() + what[1:]
    brands = {p.brand for p in products if p.brand}
    said_why = False
    if len(brands) == 1:
        brand = next(iter(brands))
        text += f" from {brand}"
        if why and all(("brand", brand) in w.liked for w in why):
            if brands_liked == 1:
                text += f", {who.possessive()} favourite brand,"
            else:
                text += f", a brand {who.subject('like')},"
            said_why = True
        elif why and all(w.bought_in_brand >= 2 for w in why):
            times = int(min(w.bought_in_brand for w in why))
            text += f", a brand {who.subject('have', 'has')} bought {_times(times)},"
            said_why = True
    else:
        liked_brands: list[str] = []
        for w in why:
            liked_brands += [v for d, v in w.liked if d == "brand" and v not in liked_brands]
        if liked_brands:
            kind = "a brand" if len(liked_brands) == 1 else "brands"
            named = f"{_and(liked_brands)} ({kind} {who.subject('like')})"
            text += f" from {named}" if set(liked_brands) == brands else f", including {named},"
            said_why = True
    arrived = sorted({p.arrived_on for p in products if p.arrived_on})
    if len(arrived) == 1:
        text += f" arrived on {spoken_date(arrived[0])}"
    elif arrived:
        text += f" arrived between {spoken_date(arrived[0])} and {spoken_date(arrived[-1])}"
    colours: list[str] = []
    for w in why:
        colours += [v for d, v in w.liked if d == "colour" and v not in colours]
    if colours:
        kind = "a colour" if len(colours) == 1 else "colours"
        text += f" in {_and(colours)}, {kind} {who.subject('like')}"
        said_why = True
    styled = False
    if not said_why:
        styles = sorted({v for w in why for d, v in w.liked if d == "style"})
        if styles:
            kind = "a style" if len(styles) == 1 else "styles"
            text += f", in {kind} {who.subject('like')} ({_and(styles)})"
            said_why = styled = True
    sizes = sorted({table.size[m.row] for m in shown if table.size[m.row]})
    joint = ", and" if colours or styled else ""
    if len(sizes) == 1:
        text += f"{joint} in {who.possessive()} size, {sizes[0]}"
    elif sizes:
        text += f"{joint} in {who.possessive()} sizes"
    if not said_why:
        text += _bought_words(who, products, why)
    return text + "."


def _bought_words(who: _Who, products: list[Any], why: list[Explanation]) -> str:
    """Say what the match rests on: "; they have bought knitwear here three times"."""
    best = max(range(len(why)), key=lambda i: (why[i].bought_in_category, why[i].bought_in_brand))
    explanation, product = why[best], products[best]
    if explanation.bought_in_category >= explanation.bought_in_brand:
        times, what = explanation.bought_in_category, category_noun(product.category).plural
    else:
        times, what = explanation.bought_in_brand, product.brand
    if not times:
        return ""
    return f"; {who.subject('have', 'has')} bought {what} here {_times(int(times))}"


def _times(n: int) -> str:
    return "once" if n == 1 else "twice" if n == 2 else f"{count_word(n)} times"


def _draft(
    client: ClientRow, *, instance: Any, shown: list[Match], table: StockTable
) -> tuple[str, str]:
    sender = sender_for(instance)
    products = [
        product_context(
            table.products[m.product_id], size=table.size[m.row], colour=table.colour[m.row]
        )
        for m in shown
    ]
    brands = {p["brand"] for p in products if p["brand"]}
    context = {
        "first_name": client.name,
        "products": products,
        "brand": next(iter(brands)) if len(brands) == 1 else "",
        "all_sized": all(p["size"] for p in products),
        "scarce": any(int(table.quantity[m.row]) <= 2 for m in shown),
        "sender": sender.first_name,
        "store_name": sender.store_name,
    }
    return render_message(ActionKind.NEW_ARRIVAL_MATCH.value, context)
