"""What the benchmarks share: Django on a given SQLite file, sides as subprocesses, tables."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Wall-clock start of `python -m bench`, handed down to the sides so that their progress lines
# count from the same moment.
STARTED = float(os.environ.setdefault("BENCH_STARTED_AT", str(time.time())))
_NUMBER = re.compile(r"^[~]?[0-9][0-9.,]*x?$")


def say(message: str) -> None:
    """Write a progress line to stderr, with the time since `python -m bench` started."""
    elapsed = int(time.time() - STARTED)
    sys.stderr.write(f"[bench {elapsed // 60}:{elapsed % 60:02d}] {message}\n")
    sys.stderr.flush()


def show_bars() -> bool:
    """Say whether progress bars are worth drawing (stderr is a terminal)."""
    return sys.stderr.isatty()


def setup_django(db: Path) -> None:
    """Point Django at the SQLite file `db` (DEBUG off, as in production) and set it up."""
    # Both DEBUG and the database must be in the environment before the settings are read.
    # DEBUG off: with it on, Django keeps every query and re-quotes every parameter on SQLite
    # to log it, which would slow the ORM-heavy peers more than extramile.
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ["DEBUG"] = "0"
    os.environ["DJANGO_SETTINGS_MODULE"] = "extramile.settings"
    import django

    django.setup()


def migrate_template(db: Path) -> None:
    """Create an empty, migrated database at `db` (run in a subprocess of its own)."""
    setup_django(db)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        # Fold the WAL into the main file so that copying the file copies the whole database.
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


def fresh_database(template: Path, db: Path) -> Path:
    """Copy the migrated template to `db` and return it."""
    shutil.copyfile(template, db)
    return db


def emit(result: dict[str, Any]) -> None:
    """Hand a side's result to the parent: one JSON line on stdout."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def run_side(module: str, *args: str) -> dict[str, Any]:
    """Run `python -m <module> <args>` and return the JSON it printed last on stdout.

    Its stderr (progress) goes straight to ours; a failure stops the benchmark with its exit code.
    """
    command = [sys.executable, "-m", module, *args]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command[2:])} failed with exit code {done.returncode}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if not lines:
        raise SystemExit(f"bench: {' '.join(command[2:])} printed no result")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def timed_seconds(started: float) -> float:
    """Seconds since `started` (a perf_counter reading), rounded for the tables."""
    return round(time.perf_counter() - started, 2)


def speed_up(extramile: float | None, peer: float | None) -> str:
    """How many times faster extramile was than the peer, as '3.1x'."""
    if not extramile or not peer:
        return "-"
    return f"{peer / extramile:.1f}x"


def seconds(value: float | None) -> str:
    """A duration for a table cell."""
    return "-" if value is None else f"{value:.2f}"


@dataclass
class Table:
    """A plain-text table with a title and notes, printed with aligned columns."""

    title: str
    header: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        """Append a row; cells are turned into text."""
        self.rows.append([str(cell) for cell in cells])

    def as_dict(self) -> dict[str, Any]:
        """The table as data, for the JSON file of results."""
        return {
            "title": self.title,
            "header": list(self.header),
            "rows": self.rows,
            "notes": self.notes,
        }

    def render(self) -> str:
        """The table as text: title, header, rule, rows, then the notes."""
        widths = [len(name) for name in self.header]
        for row in self.rows:
            widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]

        def line(cells: Sequence[str]) -> str:
            return " | ".join(
                cell.rjust(width) if _NUMBER.match(cell) else cell.ljust(width)
                for cell, width in zip(cells, widths, strict=True)
            )

        out = [self.title, "", line(self.header), "-+-".join("-" * width for width in widths)]
        out.extend(line(row) for row in self.rows)
        if self.notes:
            out.append("")
            out.extend(
                textwrap.fill(note, width=100, initial_indent="  ", subsequent_indent="    ")
                for note in self.notes
            )
        return "\n".join(line.rstrip() for line in out) + "\n"


def record_counts() -> dict[str, int]:
    """Count the rows of the tables the imports write (call after setup_django)."""
    from django.db.models import Model

    from extramile.catalog.models import Product, Variant
    from extramile.clients.models import (
        Client,
        Consent,
        ContactPoint,
        ImportantDate,
        Note,
        Preference,
        Size,
    )
    from extramile.orders.models import Order, OrderLine

    models: dict[str, type[Model]] = {
        "clients": Client,
        "client tags": Client.tags.through,
        "contact points": ContactPoint,
        "dates": ImportantDate,
        "sizes": Size,
        "preferences": Preference,
        "consents": Consent,
        "notes": Note,
        "products": Product,
        "variants": Variant,
        "orders": Order,
        "order lines": OrderLine,
    }
    return {name: model._default_manager.count() for name, model in models.items()}


if __name__ == "__main__":
    # `python -m bench.harness migrate DB`: the migrated template every fresh database copies.
    if sys.argv[1:2] != ["migrate"] or len(sys.argv) != 3:
        raise SystemExit("usage: python -m bench.harness migrate DB")
    migrate_template(Path(sys.argv[2]))
    emit({"migrated": sys.argv[2]})
