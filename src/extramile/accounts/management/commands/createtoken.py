"""`extramile createtoken`: issue an API token."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from extramile.accounts.models import ApiToken, User


class Command(BaseCommand):
    """Issue a bearer token for the REST API and print it once."""

    help = "Issue an API token for a member of staff; it is printed once and stored hashed."

    def add_arguments(self, parser: Any) -> None:
        """Accept the username and a token name."""
        parser.add_argument("username")
        parser.add_argument("--name", default="default", help="what the token is for")

    def handle(self, *args: Any, **options: Any) -> None:
        """Issue and print the token."""
        user = User.objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {options['username']!r}.")
        _, raw = ApiToken.issue(user, name=options["name"])
        self.stdout.write(raw)
