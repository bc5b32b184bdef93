"""`extramile createuser`: add a member of staff."""

import getpass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from extramile.accounts.models import Role, Store
from extramile.accounts.services import create_staff_user


class Command(BaseCommand):
    """Create an associate, manager or admin."""

    help = "Create a member of staff. The password is asked for unless --password is given."

    def add_arguments(self, parser: Any) -> None:
        """Accept the user's details."""
        parser.add_argument("username")
        parser.add_argument("--role", choices=[r.value for r in Role], default=Role.ASSOCIATE)
        parser.add_argument("--store", help="store code (required for associates and managers)")
        parser.add_argument("--password", help="password (asked for when omitted)")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        """Create the user."""
        store = None
        if options["store"]:
            store = Store.objects.filter(code=options["store"]).first()
            if store is None:
                codes = ", ".join(Store.objects.values_list("code", flat=True)) or "none yet"
                raise CommandError(f"No store with code {options['store']!r} (stores: {codes}).")
        password = options["password"]
        if password is None:
            password = getpass.getpass("Password: ")
        try:
            user = create_staff_user(
                username=options["username"],
                password=password,
                role=options["role"],
                store=store,
                first_name=options["first_name"],
                last_name=options["last_name"],
                email=options["email"],
            )
        except ValidationError as exc:
            details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            raise CommandError(f"Cannot create {options['username']!r}: {details}") from exc
        where = f" at {store.code}" if store else ""
        self.stdout.write(f"Created {user.role} {user.username}{where}.")
