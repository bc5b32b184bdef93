"""`extramile actions list [--json] [--associate USERNAME] [--store CODE] [--all-states]`."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError
from django.db.models import QuerySet

from extramile.accounts.models import Store, User
from extramile.moments.models import Action, ActionState


def list_actions(
    *, associate: str | None = None, store: str | None = None, all_states: bool = False
) -> QuerySet[Action]:
    """Return the actions to list, by priority: open ones unless all states are asked for."""
    actions = Action.objects.select_related("client", "associate", "store")
    if not all_states:
        actions = actions.filter(state=ActionState.OPEN)
    if associate:
        user = User.objects.filter(username=associate).first()
        if user is None:
            raise CommandError(f"No member of staff with username {associate!r}.")
        actions = actions.filter(associate=user)
    if store:
        found = Store.objects.filter(code=store).first()
        if found is None:
            codes = ", ".join(Store.objects.values_list("code", flat=True)) or "none yet"
            raise CommandError(f"No store with code {store!r} (stores: {codes}).")
        actions = actions.filter(store=found)
    return actions.order_by("-priority", "due_at", "id")


def action_row(action: Action) -> dict[str, Any]:
    """Shape one action as a JSON-ready object."""
    return {
        "id": action.pk,
        "kind": action.kind,
        "purpose": action.purpose,
        "state": action.state,
        "client": action.client.full_name or str(action.client),
        "client_id": action.client_id,
        "associate": action.associate.username if action.associate else None,
        "store": action.store.code,
        "due": action.due_at.isoformat(),
        "expires": action.expires_at.isoformat() if action.expires_at else None,
        "priority": action.priority,
        "channel": action.channel,
        "reason": action.reason,
        "state_reason": action.state_reason,
    }


def render_table(actions: list[Action]) -> str:
    """Lay the actions out for a person: one line each, reason last."""
    if not actions:
        return "No actions."
    header = ("prio", "due (store time)", "kind", "client", "associate", "channel", "state")
    rows = []
    for action in actions:
        local = action.due_at.astimezone(ZoneInfo(action.store.time_zone or "UTC"))
        rows.append(
            (
                f"{action.priority:.1f}",
                f"{local:%a %d %b %H:%M}",
                action.kind,
                action.client.full_name or str(action.client),
                action.associate.username if action.associate else "-",
                action.channel or "-",
                action.state,
                action.reason,
            )
        )
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + "  reason"]
    lines.extend(
        "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in rows
    )
    return "\n".join(lines)


class Command(BaseCommand):
    """List actions: open ones by priority, for one associate or store if asked."""

    help = "List actions. Usage: actions list [--json] [--associate USERNAME] [--store CODE]"

    def add_arguments(self, parser: Any) -> None:
        """Accept the subcommand and the filters."""
        parser.add_argument("subcommand", choices=["list"])
        parser.add_argument("--json", action="store_true", help="print one JSON array")
        parser.add_argument("--associate", help="only this associate's actions (username)")
        parser.add_argument("--store", help="only this store's actions (store code)")
        parser.add_argument(
            "--all-states",
            action="store_true",
            help="include done, skipped, snoozed, expired, withdrawn, held-out and suppressed "
            "actions",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Print the actions."""
        actions = list(
            list_actions(
                associate=options["associate"],
                store=options["store"],
                all_states=options["all_states"],
            )
        )
        if options["json"]:
            self.stdout.write(json.dumps([action_row(action) for action in actions]))
        else:
            self.stdout.write(render_table(actions))
