"""`extramile events load FILE.jsonl`: record the events of a file, one a line (docs/events.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    """Work with events; `load` records a JSON Lines file and exits 1 when lines were refused."""

    help = "Events in. `events load FILE.jsonl` records one event per line; see docs/events.md."

    def add_arguments(self, parser: Any) -> None:
        """Accept the subcommand and its arguments."""
        subcommands = parser.add_subparsers(dest="subcommand", required=True)
        load = subcommands.add_parser("load", help="record the events of a JSON Lines file")
        load.add_argument("file", help="one event per line")
        load.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        """Load the file and print what was recorded and refused."""
        from extramile.moments.events import load_events_file

        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        progress = not options["no_progress"] and sys.stderr.isatty()
        try:
            report = load_events_file(path, progress=progress)
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path}: not a UTF-8 text file ({exc.reason}).") from exc
        self.stdout.write(report.render())
        if not report.ok:
            sys.exit(1)
