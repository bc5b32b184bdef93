"""`extramile duplicates [--store CODE] [--merge] [--json]`: find and merge duplicate clients."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from extramile.accounts.models import Store
from extramile.clients.duplicates import (
    DuplicateGroup,
    MergeError,
    find_duplicate_groups,
    merge_duplicate_groups,
)
from extramile.clients.models import Client


def _render_group(number: int, group: DuplicateGroup) -> list[str]:
    lines = [f"Group {number} — store {group.store_code} — shared: {', '.join(group.shared)}"]
    for member in group.members:
        role = "keep " if member is group.keep else "merge"
        orders = f"{member.order_count} order" + ("" if member.order_count == 1 else "s")
        lines.append(
            f"  {role}  #{member.id:<7} {member.name or '(no name)':<28} "
            f"{', '.join(member.emails) or '-':<36} {', '.join(member.phones) or '-':<18} "
            f"{orders:>10}  since {member.created_at:%Y-%m-%d}"
        )
    return lines


class Command(BaseCommand):
    """List groups of clients sharing an email or phone; merge them with --merge."""

    help = "Find clients of one store sharing an email or a phone; --merge merges each group."

    def add_arguments(self, parser: Any) -> None:
        """Accept --store, --merge and --json."""
        parser.add_argument("--store", help="only the clients of the store with this code")
        parser.add_argument(
            "--merge", action="store_true", help="merge each group into its kept client"
        )
        parser.add_argument("--json", action="store_true", help="print the groups as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        """Find the groups, merge them if asked, and print them."""
        clients = Client.objects.all()
        if options["store"]:
            store = Store.objects.filter(code=options["store"]).first()
            if store is None:
                codes = ", ".join(Store.objects.values_list("code", flat=True)) or "none yet"
                raise CommandError(f"No store with code {options['store']!r} (stores: {codes}).")
            clients = clients.filter(store=store)
        groups = find_duplicate_groups(clients)
        merged = 0
        if options["merge"]:
            try:
                merged = merge_duplicate_groups(groups, by=None)
            except MergeError as exc:
                raise CommandError(f"Merge stopped: {exc}") from exc
        if options["json"]:
            payload = {"groups": [group.as_dict() for group in groups], "merged": merged}
            self.stdout.write(json.dumps(payload, indent=2))
            return
        for number, group in enumerate(groups, start=1):
            self.stdout.write("\n".join(_render_group(number, group)))
        involved = sum(len(group.members) for group in groups)
        to_merge = involved - len(groups)
        if not groups:
            self.stdout.write("No duplicate clients found.")
        elif options["merge"]:
            self.stdout.write(
                f"Merged {merged} client records into {len(groups)} "
                f"({len(groups)} group(s), {involved} clients)."
            )
        else:
            self.stdout.write(
                f"{len(groups)} group(s), {involved} clients: {to_merge} would be merged "
                "into the kept ones. Run with --merge to merge them."
            )
