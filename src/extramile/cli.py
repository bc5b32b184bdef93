"""The `extramile` command: Django's management commands under the product's own names."""

from __future__ import annotations

import os
import sys

USAGE = """usage: extramile COMMAND [ARGS]

  migrate                     create or update the database at DATABASE_URL
  demo [--no-serve]           load the demo store, print the logins, serve http://127.0.0.1:8000
  serve [--port N]            serve the web app, the API and the admin
  import KIND [FILE]          KIND: clients, products, orders, vcard, shopify, ta-feng
  duplicates [--merge]        find clients sharing an email or phone; merge them
  events load FILE.jsonl      load events in the documented format (docs/events.md)
  engine run [--now ISO]      turn events and the calendar into actions, once; reruns add none
  actions list [--json]       the open actions (--associate USERNAME, --store CODE)
  stats --json                counts of stores, staff, clients, products, variants, orders, lines
  createuser USERNAME         add a member of staff (--role, --store, --password)
  createtoken USERNAME        issue an API token for a member of staff
  associates list [--json]    each associate's store, state (active/away/deactivated), clients
  associates deactivate USER  deactivate; hand each client to a colleague (--to USERNAME)
  evaluate TASK --dataset D   models beside baselines on public data (docs/evaluation.md)
  worker [--beat]             run a Celery worker (needs CELERY_BROKER_URL); --beat: periodic too

Any other Django management command works too (extramile help lists them).
"""

# Product command names that differ from their Django management command.
ALIASES = {"import": "import_data", "duplicates": "find_duplicates"}


def main(argv: list[str] | None = None) -> None:
    """Run one extramile command."""
    args = list(sys.argv if argv is None else argv)
    if len(args) < 2 or args[1] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return
    if args[1] == "evaluate":
        # Pure numpy work on files shipped by packages: no settings, no database.
        from extramile.engine.evaluation.cli import main as evaluate

        evaluate(args[2:])
        return
    args[1] = ALIASES.get(args[1], args[1])
    args[0] = "extramile"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "extramile.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(args)


if __name__ == "__main__":
    main()
