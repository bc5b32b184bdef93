"""Time the clients CSV import: `python -m extramile.ingest.bench_import [ROWS]`.

Writes a clients CSV with every column filled, imports it twice into a fresh SQLite database
in a temporary folder (or the database at DATABASE_URL with --here), and prints the timings.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

FIRST = ["Ana", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Hugo", "Iris", "Jonas"]
LAST = ["Smith", "Okafor", "Marchetti", "Becker", "Lee", "Kim", "Osei", "Laurent", "Raman"]


def write_clients_csv(path: Path, rows: int, *, seed: int = 7) -> None:
    """Write a realistic clients CSV of `rows` rows for the stores uptown and harbour."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(
            [
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
        )
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


def main(argv: list[str] | None = None) -> None:
    """Generate the file, import it twice and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("rows", nargs="?", type=int, default=20_000)
    parser.add_argument("--here", action="store_true", help="use DATABASE_URL as it is")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="extramile-bench-"))
    if not args.here:
        os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "extramile.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from extramile.accounts.models import Role, Store, User
    from extramile.ingest.csv_import import import_clients_csv

    call_command("migrate", verbosity=0)
    for code, username in (("uptown", "ana"), ("harbour", "ben")):
        store, _ = Store.objects.get_or_create(code=code, defaults={"name": code.title()})
        User.objects.get_or_create(
            username=username, defaults={"role": Role.ASSOCIATE, "store": store}
        )
    path = folder / "clients.csv"
    write_clients_csv(path, args.rows)
    for run in ("first import", "same file again"):
        started = time.perf_counter()
        report = import_clients_csv(path, store=None, progress=sys.stderr.isatty())
        took = time.perf_counter() - started
        sys.stdout.write(f"{run}: {took:.1f} s ({args.rows / took:,.0f} rows/s)\n")
        sys.stdout.write(report.render().splitlines()[0] + "\n")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
