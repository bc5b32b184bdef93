"""One side of an import benchmark, run by `python -m bench` in a subprocess of its own.

`python -m bench.imports clients-csv {extramile,peer} --db DB --csv FILE`
`python -m bench.imports tafeng {extramile,peer} --db DB --file FILE [--once]`
`python -m bench.imports tafeng-file --out DIR [--lines N]`

Each prints one JSON line on stdout (timings and row counts); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tqdm import tqdm

from bench.harness import emit, record_counts, say, setup_django, show_bars, timed_seconds

FIRST = ["Ana", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Hugo", "Iris", "Jonas"]
LAST = ["Smith", "Okafor", "Marchetti", "Becker", "Lee", "Kim", "Osei", "Laurent", "Raman"]
CLIENT_COLUMNS = [
    "store",
    "client_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "language",
    "time_zone",
    "birthday",
    "sizes",
    "likes",
    "dislikes",
    "tags",
    "consent_email",
    "consent_sms",
    "consent_date",
    "consent_source",
    "associate",
    "note",
    "status",
]
STAFF = (("uptown", "ana"), ("harbour", "ben"))


# --- Clients CSV --------------------------------------------------------------------------------


def write_clients_csv(path: Path, rows: int, *, seed: int = 7) -> None:
    """Write a realistic clients CSV of `rows` rows for the stores uptown and harbour."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(CLIENT_COLUMNS)
        for n in range(rows):
            uptown = n % 2 == 1
            out.writerow(
                [
                    "uptown" if uptown else "harbour",
                    f"P{n:06d}",
                    rng.choice(FIRST),
                    rng.choice(LAST),
                    f"client{n}@example.com",
                    f"+1212{5550000 + n:07d}"[:12] if n % 3 else "",
                    "en",
                    "America/New_York",
                    f"19{rng.randint(50, 99)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    f"suits={rng.choice(['38R', '40R', '42L'])}; shoes={rng.randint(7, 12)}",
                    f"brand:{rng.choice(['Canali', 'Zegna', 'Max Mara'])}; "
                    f"colour:{rng.choice(['navy', 'grey', 'camel'])}",
                    "colour:pink" if n % 5 == 0 else "",
                    rng.choice(["vip", "", "wedding 2026", "vip; gift"]),
                    rng.choice(["yes", "no"]),
                    rng.choice(["yes", "no", ""]),
                    "2024-05-01",
                    "pos",
                    "ana" if uptown else "ben",
                    "Met at the autumn trunk show." if n % 4 == 0 else "",
                    "active",
                ]
            )


def _create_stores_and_staff() -> None:
    from extramile.accounts.models import Role, Store, User

    for code, username in STAFF:
        store = Store.objects.create(code=code, name=code.title())
        User.objects.create(username=username, role=Role.ASSOCIATE, store=store)


def clients_csv_extramile(path: Path) -> list[dict[str, Any]]:
    """Import the file twice with extramile's clients CSV importer; return both runs."""
    from extramile.ingest.csv_import import import_clients_csv

    runs = []
    for what in ("first import", "same file again"):
        say(f"  extramile: {what}")
        started = time.perf_counter()
        report = import_clients_csv(path, store=None, progress=show_bars())
        runs.append(
            {"what": what, "seconds": timed_seconds(started), "report": report.render()[:400]}
        )
    return runs


def clients_csv_peer(path: Path) -> list[dict[str, Any]]:
    """Import the file twice the obvious Django way: update_or_create per row, basic fields."""
    from extramile.accounts.models import Store
    from extramile.clients.models import Client
    from extramile.clients.services import normalize_email, normalize_phone

    runs = []
    for what in ("first import", "same file again"):
        say(f"  peer: {what}")
        started = time.perf_counter()
        stores = {store.code: store for store in Store.objects.all()}
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        created = 0
        for row in tqdm(rows, desc=what, unit=" rows", leave=False, disable=not show_bars()):
            _, made = Client.objects.update_or_create(
                store=stores[row["store"]],
                external_ref=row["client_id"],
                defaults={
                    "first_name": row["first_name"],
                    "last_name": row["last_name"],
                    "email": normalize_email(row["email"]),
                    "phone": normalize_phone(row["phone"]),
                },
            )
            created += made
        runs.append(
            {
                "what": what,
                "seconds": timed_seconds(started),
                "report": f"{created:,} created, {len(rows) - created:,} updated",
            }
        )
    return runs


# --- Ta-Feng ------------------------------------------------------------------------------------


def tafeng_file(out: Path, lines: int | None) -> dict[str, Any]:
    """Find the Ta-Feng file; with `lines`, write its first lines to a CSV in `out`."""
    from django.core.management.base import CommandError

    from extramile.ingest.tafeng import locate_ta_feng, read_ta_feng_bytes

    try:
        path = locate_ta_feng()
    except CommandError as exc:
        return {"path": None, "reason": str(exc)}
    _, data = read_ta_feng_bytes(path)
    total = data.count(b"\n") - 1  # the header, and the last line ends with a newline
    if lines is None or lines >= total:
        return {"path": str(path), "lines": total, "of": total}
    head = b"\n".join(data.split(b"\n", lines + 1)[: lines + 1]) + b"\n"
    target = out / f"ta_feng_first_{lines}.csv"
    target.write_bytes(head)
    return {"path": str(target), "lines": lines, "of": total}


def tafeng_extramile(path: Path, *, once: bool = False) -> list[dict[str, Any]]:
    """Import the file twice (or once) with extramile's Ta-Feng importer; return the runs."""
    from extramile.ingest.tafeng import import_ta_feng

    runs = []
    for what in ("first import",) if once else ("first import", "same file again"):
        say(f"  extramile: {what}")
        started = time.perf_counter()
        report = import_ta_feng(path=path, progress=show_bars())
        runs.append(
            {"what": what, "seconds": timed_seconds(started), "report": report.render()[:400]}
        )
    return runs


def tafeng_peer(path: Path) -> list[dict[str, Any]]:
    """Import the file once the straightforward ORM way: bulk_create per table, one transaction.

    The file is read by extramile's own parser, so both sides write the same rows and differ
    only in how they write them; order and line references reuse its helpers for the same reason.
    """
    from django.db import transaction

    from extramile.accounts.models import Store
    from extramile.catalog.models import Product, Variant
    from extramile.clients.models import Client, Tag
    from extramile.ingest.report import ImportReport
    from extramile.ingest.tafeng import (
        PREFIX,
        STORE_CODE,
        STORE_DEFAULTS,
        _client_tags,
        _line_refs,
        _order_refs,
        parse_ta_feng,
        read_ta_feng_bytes,
    )
    from extramile.orders.models import Order, OrderChannel, OrderLine, OrderStatus

    say("  peer: first import (bulk_create)")
    started = time.perf_counter()
    report = ImportReport(source="tafeng (peer)")
    file, data = read_ta_feng_bytes(path)
    parsed = parse_ta_feng(data, file=file, report=report, progress=show_bars())
    del data
    with transaction.atomic():
        store = Store.objects.create(code=STORE_CODE, **STORE_DEFAULTS)
        client_tags = {c: _client_tags(*age_pin) for c, age_pin in parsed.clients.items()}
        names = sorted({name for names in client_tags.values() for name in names})
        tags = {tag.name: tag for tag in Tag.objects.bulk_create(Tag(name=n) for n in names)}
        clients = {
            client.external_ref: client
            for client in Client.objects.bulk_create(
                Client(store=store, external_ref=c, time_zone=store.time_zone)
                for c in parsed.clients
            )
        }
        Client.tags.through.objects.bulk_create(
            Client.tags.through(client=clients[c], tag=tags[name])
            for c, names in client_tags.items()
            for name in names
        )
        products = {
            product.external_ref: product
            for product in Product.objects.bulk_create(
                Product(
                    external_ref=PREFIX + product_id,
                    title=f"Ta-Feng {product_id}",
                    currency=store.currency,
                    category=stats.category,
                    price=stats.price,
                    cost=stats.cost,
                    arrived_on=stats.first_sold,
                )
                for product_id, stats in parsed.products.items()
            )
        }
        variants = {
            variant.sku: variant
            for variant in Variant.objects.bulk_create(
                Variant(product=products[PREFIX + p], sku=PREFIX + p, barcode=p)
                for p in parsed.products
            )
        }
        noon = dt.time(12, tzinfo=ZoneInfo(store.time_zone))
        refs = _order_refs(parsed.orders)
        orders = Order.objects.bulk_create(
            Order(
                store=store,
                client=clients[customer],
                external_ref=ref,
                total=sum(sale[4] for sale in lines),
                placed_at=dt.datetime.combine(day, noon),
                fulfilled_at=dt.datetime.combine(day, noon),
                channel=OrderChannel.STORE,
                status=OrderStatus.FULFILLED,
                currency=store.currency,
            )
            for ref, ((customer, day), lines) in zip(refs, parsed.orders.items(), strict=True)
        )
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                product=products[PREFIX + product],
                variant=variants[PREFIX + product],
                title=products[PREFIX + product].title,
                sku=PREFIX + product,
                quantity=quantity,
                unit_price=price,
                unit_cost=cost,
                line_ref=line_ref,
            )
            for order, lines in zip(orders, parsed.orders.values(), strict=True)
            for (product, quantity, price, cost, _), line_ref in zip(
                lines, _line_refs(lines), strict=True
            )
        )
    return [
        {
            "what": "first import",
            "seconds": timed_seconds(started),
            "report": f"{parsed.rows:,} lines, {len(report.errors)} refused",
        }
    ]


# --- Entry point --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run one side of one benchmark and print its result as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("benchmark", choices=["clients-csv", "tafeng", "tafeng-file"])
    parser.add_argument("side", nargs="?", choices=["extramile", "peer"])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--csv", type=Path, help="clients-csv: the file to import")
    parser.add_argument("--file", type=Path, help="tafeng: the file to import")
    parser.add_argument("--once", action="store_true", help="tafeng extramile: no second run")
    parser.add_argument("--out", type=Path, help="tafeng-file: where to write a shortened copy")
    parser.add_argument("--lines", type=int, help="tafeng-file: keep only the first N lines")
    args = parser.parse_args(argv)
    setup_django(args.db)
    if args.benchmark == "tafeng-file":
        emit(tafeng_file(args.out, args.lines))
        return
    if args.benchmark == "clients-csv":
        _create_stores_and_staff()
        side = clients_csv_extramile if args.side == "extramile" else clients_csv_peer
        runs = side(args.csv)
    elif args.side == "extramile":
        runs = tafeng_extramile(args.file, once=args.once)
    else:
        runs = tafeng_peer(args.file)
    emit({"runs": runs, "counts": record_counts()})


if __name__ == "__main__":
    main(sys.argv[1:])
