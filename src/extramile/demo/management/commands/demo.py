"""`extramile demo`: load the demo boutique, print the logins and the stories, then serve it."""

from __future__ import annotations

import datetime as dt
import sys
import time
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from extramile.accounts.management.commands.stats import collect_stats
from extramile.accounts.models import Role
from extramile.demo.generator import STORE_TZ, spoken_date
from extramile.demo.server import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    prepare_database_and_static,
    serve_forever,
)
from extramile.demo.services import (
    DEFAULT_CLIENTS,
    DEFAULT_SEED,
    demo_is_loaded,
    demo_logins,
    load_demo,
    reset_demo,
    story_clients,
    upcoming_birthdays,
)


def _parse_now(raw: str | None) -> dt.datetime:
    if not raw:
        return timezone.now()
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise CommandError(f"--now {raw!r} is not an ISO date and time ({exc}).") from exc
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class Command(BaseCommand):
    """Load the demo store once (or again with --reset), describe it, and serve it."""

    help = (
        "Load a demo boutique (two stores, eight logins, ~500 clients, three years of orders, "
        "the stories), print the logins, and serve http://127.0.0.1:8000. Running it again "
        "keeps the data as it is; --reset deletes the demo stores and logins and rebuilds them."
    )

    def add_arguments(self, parser: Any) -> None:
        """Accept the options of the demo and of the server."""
        parser.add_argument("--no-serve", action="store_true", help="load and print, then exit")
        parser.add_argument(
            "--reset", action="store_true", help="delete the demo data first, then rebuild it"
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
        parser.add_argument(
            "--clients", type=int, default=DEFAULT_CLIENTS, help="number of clients (500)"
        )
        parser.add_argument("--now", help="pretend it is this time (ISO 8601), for reproducibility")
        parser.add_argument("--host", default=DEFAULT_HOST, help="address to serve on (127.0.0.1)")
        parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (8000)")
        parser.add_argument("--no-progress", action="store_true", help="hide progress bars")

    def handle(self, *args: Any, **options: Any) -> None:
        """Migrate, load or keep the demo, print the summary, serve."""
        if options["clients"] < 10:
            raise CommandError("--clients must be at least 10 (the story clients alone are 10).")
        now = _parse_now(options["now"])
        progress = not options["no_progress"] and sys.stderr.isatty()
        started = time.monotonic()
        prepare_database_and_static()
        if demo_is_loaded() and not options["reset"]:
            self.stdout.write(
                "The demo store is already loaded (its stores or logins exist): nothing added. "
                "Run `extramile demo --reset` to delete it and build it again.\n"
            )
        else:
            if options["reset"]:
                reset_demo()
            load_demo(seed=options["seed"], now=now, clients=options["clients"], progress=progress)
            self.stdout.write(
                f"Loaded the demo store in {time.monotonic() - started:.1f} s "
                f"(seed {options['seed']}, as of {now:%Y-%m-%d %H:%M} UTC).\n"
            )
        self.print_summary(now=now, url=f"http://{options['host']}:{options['port']}/")
        if not options["no_serve"]:
            serve_forever(host=options["host"], port=options["port"], threads=8, out=self.stdout)

    def print_summary(self, *, now: dt.datetime, url: str) -> None:
        """Print the counts, the story clients, the coming birthdays and the logins."""
        write = self.stdout.write
        write("\nIn the database\n")
        for key, value in collect_stats().items():
            write(f"  {key.replace('_', ' '):<12} {value:>8,}\n")

        write("\nThe stories — search the client book for the tag\n")
        for story in story_clients():
            write(f"  {story.about}\n")
            write(f"      {story.name} · {story.store} · {story.associate} · {story.tag}\n")

        today = now.astimezone(ZoneInfo(STORE_TZ)).date()
        birthdays = upcoming_birthdays(today=today, days=7)
        if birthdays:
            names = ", ".join(f"{c.full_name} ({c.store.name})" for c in birthdays[:8])
            more = f" and {len(birthdays) - 8} more" if len(birthdays) > 8 else ""
            write(f"\nBirthdays in the next 7 days: {names}{more}\n")

        write("\nLogins (demo passwords, printed for this local demo only)\n")
        write(f"  {'username':<10} {'password':<20} {'role':<10} store\n")
        for spec, user in demo_logins():
            if user is None:
                continue
            store = user.store.name if user.store else "all stores"
            extra = f"  — leaving on {spoken_date(user.leaving_on)}" if user.leaving_on else ""
            role = Role(user.role).label.lower()
            write(f"  {spec.username:<10} {spec.password:<20} {role:<10} {store}{extra}\n")
        write(f"\nOpen {url} and sign in.\n")
