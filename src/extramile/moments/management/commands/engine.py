"""`extramile engine run [--now ISO-TIME] [--json]`: run the moments engine once and report."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from extramile.moments.engine_run import EngineReport, run_engine


def parse_now(raw: str | None) -> dt.datetime:
    """Read --now as an ISO time; a time without an offset is read in the server's time zone."""
    if not raw:
        return timezone.now()
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise CommandError(
            f"--now {raw!r} is not an ISO time (for example 2026-10-01T09:30:00+02:00)."
        ) from exc
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def render_report(report: EngineReport) -> str:
    """Lay the report out as a two-column table."""
    summary = report.summary()
    rows: list[tuple[str, object]] = [
        ("expired", summary["expired"]),
        ("woken from snooze", summary["woken"]),
        ("events processed", summary["events_processed"]),
        ("events failed", summary["events_failed"]),
    ]
    if report.events_waiting:
        rows.append(("events waiting (no event processing)", report.events_waiting))
    rows.append(("calendar candidates", summary["calendar_candidates"]))
    rows.append(("created", summary["created"]))
    by_kind = summary["created_by_kind"]
    assert isinstance(by_kind, dict)
    rows.extend((f"  {kind}", count) for kind, count in by_kind.items())
    rows.extend(
        [
            ("merged into an open action", summary["merged"]),
            ("updated (a later event)", summary["updated"]),
            ("duplicates (already there)", summary["duplicates"]),
            ("held out", summary["held_out"]),
            ("suppressed", summary["suppressed"]),
            ("orders looked at for attribution", summary["orders_checked"]),
            ("orders attributed", summary["attributed"]),
        ]
    )
    width = max(len(label) for label, _ in rows)
    lines = [f"Engine run at {report.now.isoformat()}"]
    lines.extend(f"{label:<{width}}  {value:>6}" for label, value in rows)
    return "\n".join(lines)


class Command(BaseCommand):
    """Run the engine once: expire, wake, events, calendar detectors, proposals, attribution."""

    help = "Run the moments engine once. Usage: engine run [--now ISO-TIME] [--json]"

    def add_arguments(self, parser: Any) -> None:
        """Accept the subcommand, --now and --json."""
        parser.add_argument("subcommand", choices=["run"])
        parser.add_argument(
            "--now",
            help="run as if it were this time (ISO 8601; without an offset: server time zone)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the engine and print what it did."""
        report = run_engine(now=parse_now(options["now"]))
        if options["json"]:
            self.stdout.write(json.dumps(report.summary()))
        else:
            self.stdout.write(render_report(report))
