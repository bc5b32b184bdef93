"""One side of the duplicate-finding benchmark, run by `python -m bench` in its own subprocess.

`python -m bench.duplicates generate --db DB --clients N`   fill DB with N clients, planted pairs
`python -m bench.duplicates analyze --db DB`                 gather SQLite's planner statistics
`python -m bench.duplicates find {extramile,peer} --db DB [--sample N]`

Each prints one JSON line on stdout (timings, groups found); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

from scipy.cluster.hierarchy import DisjointSet
from tqdm import tqdm

from bench.harness import emit, say, setup_django, show_bars, timed_seconds

# Planted duplicates per 30,000 clients, as in clients/tests/test_duplicates.py: pairs by email
# (case and spaces differ), pairs by phone (formatted differently), chains of three.
EMAIL_PAIRS, PHONE_PAIRS, CHAINS = 500, 250, 100
PER = 30_000


def generate(clients: int) -> dict[str, Any]:
    """Create `clients` clients in two stores with planted duplicates, contact points, orders.

    As in the scale test of find_duplicate_groups, but with one order per client on average
    rather than two: bulk_create spends most of this setup preparing fields.
    """
    from extramile.accounts.models import Store
    from extramile.clients.models import Client, ContactKind, ContactPoint
    from extramile.orders.models import Order

    rng = random.Random(7)
    scale = clients / PER
    stores = [Store.objects.create(code=code, name=code.title()) for code in ("north", "south")]
    planted: list[list[Client]] = []
    for n in range(round(EMAIL_PAIRS * scale)):
        store = stores[n % 2]
        planted.append(
            [
                Client(store=store, email=f"dup{n}@example.com", phone=""),
                Client(store=store, email=f" DUP{n}@Example.com", phone=""),
            ]
        )
    for n in range(round(PHONE_PAIRS * scale)):
        store = stores[n % 2]
        planted.append(
            [
                Client(store=store, email="", phone=f"+1646{3000000 + n:07d}"),
                Client(store=store, email="", phone=f"(646) {300 + n // 10000:03d}-{n:04d}"),
            ]
        )
    for n in range(round(CHAINS * scale)):
        store = stores[n % 2]
        planted.append(
            [
                Client(store=store, email=f"chain{n}@example.com", phone=""),
                Client(store=store, email=f"chain{n}@example.com", phone=f"+1718{4000000 + n:07d}"),
                Client(store=store, email="", phone=f"718-{400 + n // 10000:03d}-{n:04d}"),
            ]
        )
    rows = [client for group in planted for client in group]
    singles = [
        Client(
            store=stores[n % 2],
            first_name=f"F{n}",
            email=f"client{n}@example.com",
            phone=f"+1212{2000000 + n:07d}",
        )
        for n in range(clients - len(rows))
    ]
    rows.extend(singles)
    rng.shuffle(rows)
    Client.objects.bulk_create(rows, batch_size=2000)
    ContactPoint.objects.bulk_create(
        ContactPoint(client=client, kind=ContactKind.PHONE, value=f"+1917{5000000 + n:07d}")
        for n, client in enumerate(singles[: clients // 6])
    )
    Order.objects.bulk_create(
        (
            Order(store=client.store, client=client, external_ref=f"R{n}")
            for n, client in enumerate(rng.choices(rows, k=clients))
        ),
        batch_size=2000,
    )
    return {
        "clients": len(rows),
        "planted": sorted(sorted(client.pk for client in group) for group in planted),
    }


def find_extramile() -> list[list[int]]:
    """Find the groups with extramile's find_duplicate_groups."""
    from extramile.clients.duplicates import find_duplicate_groups
    from extramile.clients.models import Client

    groups = find_duplicate_groups(Client.objects.all())
    return sorted(sorted(member.id for member in group.members) for group in groups)


def find_naive(sample: int | None) -> tuple[list[list[int]], int, int]:
    """Find groups the naive way: per client, one query for others with the same email or phone.

    Values are compared as stored (no normalising), blank ones are skipped. With `sample`, only
    the first `sample` clients (by id) are examined. Returns the groups, the clients examined and
    the queries sent.
    """
    from django.db.models import Q

    from extramile.clients.models import Client, ClientStatus

    current = Client.objects.exclude(status=ClientStatus.MERGED)
    clients = list(current.order_by("id").values_list("id", "store_id", "email", "phone"))
    if sample is not None:
        clients = clients[:sample]
    links: DisjointSet = DisjointSet()
    queries = 0
    for client_id, store_id, email, phone in tqdm(
        clients, desc="naive look-ups", unit=" clients", leave=False, disable=not show_bars()
    ):
        same = Q()
        if email:
            same |= Q(email=email)
        if phone:
            same |= Q(phone=phone)
        if not same:
            continue
        others = current.filter(same, store_id=store_id).exclude(pk=client_id)
        queries += 1
        for other_id in others.values_list("id", flat=True):
            links.add(client_id)
            links.add(other_id)
            links.merge(client_id, other_id)
    groups = sorted(sorted(subset) for subset in links.subsets())
    return groups, len(clients), queries


def main(argv: list[str] | None = None) -> None:
    """Run one step of the benchmark and print its result as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("step", choices=["generate", "analyze", "find"])
    parser.add_argument("side", nargs="?", choices=["extramile", "peer"])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--clients", type=int, default=PER)
    parser.add_argument("--sample", type=int, help="peer: look up only the first N clients")
    args = parser.parse_args(argv)
    setup_django(args.db)
    if args.step == "generate":
        say(f"  generating {args.clients:,} clients with planted duplicates")
        emit(generate(args.clients))
        return
    if args.step == "analyze":
        from django.db import connection

        say("  ANALYZE")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        emit({"analyzed": str(args.db)})
        return
    from extramile.clients.models import Client

    total = Client.objects.count()
    say(f"  {args.side}: finding duplicates among {total:,} clients")
    started = time.perf_counter()
    if args.side == "extramile":
        groups, examined, queries = find_extramile(), total, None
    else:
        groups, examined, queries = find_naive(args.sample)
    emit(
        {
            "seconds": timed_seconds(started),
            "clients": total,
            "examined": examined,
            "queries": queries,
            "groups": groups,
        }
    )


if __name__ == "__main__":
    main(sys.argv[1:])
