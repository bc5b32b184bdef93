"""`extramile serve`: migrate quietly, then serve the web app, the API and the admin."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from extramile.demo.server import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    prepare_database_and_static,
    serve_forever,
)


class Command(BaseCommand):
    """Serve extramile with waitress on 127.0.0.1 unless told otherwise."""

    help = (
        "Migrate, collect static files, and serve the app with waitress (default 127.0.0.1:8000)."
    )

    def add_arguments(self, parser: Any) -> None:
        """Accept the address to listen on."""
        parser.add_argument("--host", default=DEFAULT_HOST, help="address to bind (127.0.0.1)")
        parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (8000)")
        parser.add_argument("--threads", type=int, default=8, help="worker threads (8)")

    def handle(self, *args: Any, **options: Any) -> None:
        """Prepare the database and static files, then serve."""
        prepare_database_and_static()
        serve_forever(
            host=options["host"], port=options["port"], threads=options["threads"], out=self.stdout
        )
