"""`extramile plan build [--week YYYY-MM-DD] [--store CODE] [--now ISO]`: the weekly plans."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from extramile.accounts.models import Store
from extramile.loyalty.plans import build_plans
from extramile.moments.management.commands.engine import parse_now


class Command(BaseCommand):
    """Build the weekly extra-mile plan of every associate who has none for the week."""

    help = "build: each associate's weekly extra-mile plan (a rerun keeps plans already made)."

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the subcommand and its options."""
        parser.add_argument("what", choices=["build"])
        parser.add_argument(
            "--week", help="The Monday of the week, YYYY-MM-DD (default: this week)."
        )
        parser.add_argument("--store", help="Only this store's code (default: every store).")
        parser.add_argument("--now", help="Build as if it were this ISO time.")

    def handle(self, *args: Any, **options: Any) -> None:
        """Build the plans and say what came of them, store by store."""
        now = parse_now(options.get("now"))
        week = None
        if options.get("week"):
            try:
                week = dt.date.fromisoformat(options["week"])
            except ValueError as exc:
                raise CommandError(f"--week {options['week']!r} is not a date YYYY-MM-DD.") from exc
            if week.weekday() != 0:
                raise CommandError(f"--week {week} is a {week:%A}; give the Monday of the week.")
        stores = Store.objects.order_by("code")
        if options.get("store"):
            stores = stores.filter(code=options["store"])
            if not stores.exists():
                raise CommandError(f"No store {options['store']!r}.")
        for store in stores:
            try:
                build = build_plans(store=store, now=now, week=week)
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
            kept = f", kept {len(build.kept)} existing" if build.kept else ""
            self.stdout.write(
                f"{store.code}: week of {build.week}: {len(build.items)} gestures planned, "
                f"{build.held_out} held out, {build.passed_over} passed over by the rules{kept}."
            )
            for item in build.items:
                self.stdout.write(
                    f"  {item.associate.username}: {item.client.full_name} — "
                    f"{item.get_why_display()}"
                )
