"""`extramile associates list [--json]` and `extramile associates deactivate USERNAME [--to U]`."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from extramile.accounts.models import Role, Store, User
from extramile.accounts.services import (
    DeactivationRefused,
    deactivate_associate,
    plan_handover,
    staff_overview,
)


def _member(username: str, *, option: str = "") -> User:
    user = User.objects.select_related("store").filter(username=username).first()
    if user is None:
        where = f" ({option})" if option else ""
        raise CommandError(f"No member of staff has the username {username!r}{where}.")
    return user


class Command(BaseCommand):
    """List staff with their state and clients; deactivate one and hand their clients over."""

    help = (
        "associates list [--json] [--store CODE]: each associate's store, state "
        "(active, away, deactivated) and number of clients. associates deactivate USERNAME "
        "[--to USERNAME]: deactivate them and hand each client to a colleague of the store."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Two subcommands: list and deactivate."""
        sub = parser.add_subparsers(dest="subcommand", required=True)
        listing = sub.add_parser("list", help="each associate with store, state and clients")
        listing.add_argument("--json", action="store_true", help="print a JSON array")
        listing.add_argument("--store", help="only this store (its code)")
        listing.add_argument(
            "--all-roles", action="store_true", help="managers and admins too, not only associates"
        )
        leave = sub.add_parser("deactivate", help="deactivate and hand their clients over")
        leave.add_argument("username")
        leave.add_argument("--to", help="give every client to this colleague")
        leave.add_argument(
            "--dry-run",
            action="store_true",
            help="show who would take which clients",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the subcommand."""
        if options["subcommand"] == "list":
            self._list(options)
        else:
            self._deactivate(options)

    def _list(self, options: dict[str, Any]) -> None:
        staff = User.objects.all()
        if not options["all_roles"]:
            staff = staff.filter(role=Role.ASSOCIATE)
        store = None
        if options["store"]:
            store = Store.objects.filter(code=options["store"]).first()
            if store is None:
                codes = ", ".join(Store.objects.values_list("code", flat=True)) or "none yet"
                raise CommandError(f"No store with code {options['store']!r} (stores: {codes}).")
            staff = staff.filter(store=store)
        rows = staff_overview(staff, today=timezone.localdate())
        if options["json"]:
            self.stdout.write(json.dumps([row.as_json() for row in rows], indent=2))
            return
        if not rows:
            self.stdout.write("No associates.")
            return
        header = ("username", "name", "store", "state", "clients")
        table = [
            (
                row.user.username,
                row.user.get_full_name(),
                row.user.store.code if row.user.store else "-",
                row.state,
                str(row.clients),
            )
            for row in rows
        ]
        widths = [max(len(header[i]), *(len(r[i]) for r in table)) for i in range(len(header))]
        for line in (header, *table):
            self.stdout.write("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))

    def _deactivate(self, options: dict[str, Any]) -> None:
        leaver = _member(options["username"])
        to = _member(options["to"], option="--to") if options["to"] else None
        if options["dry_run"]:
            try:
                plan = plan_handover(leaver, to=to)
            except DeactivationRefused as exc:
                raise CommandError(str(exc)) from exc
            for colleague, moves in plan.by_colleague():
                names = ", ".join(m.client.full_name or str(m.client) for m in moves)
                self.stdout.write(f"{colleague.username} would take {len(moves)}: {names}")
            if plan.unplaced:
                self.stdout.write(f"Nobody can take {len(plan.unplaced)} client(s).")
            return
        self.stdout.write(f"Deactivating {leaver.username} and handing their clients over…")
        try:
            result = deactivate_associate(leaver, to=to, source="cli")
        except DeactivationRefused as exc:
            raise CommandError(str(exc)) from exc
        if not result.changed:
            self.stdout.write(f"{leaver.username} was already deactivated; nothing to hand over.")
            return
        for colleague, moves in result.plan.by_colleague():
            self.stdout.write(f"  {colleague.username} takes {len(moves)} client(s)")
        self.stdout.write(
            f"{leaver.username} deactivated: {len(result.plan.moves)} client(s) handed over, "
            f"{result.moved_actions} open action(s) moved, "
            f"{len(result.handover_actions)} handover action(s) made. Nothing was deleted."
        )
