"""`extramile worker`: a Celery worker for the background work, optionally with the scheduler."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

NO_BROKER = (
    "background work runs in-process; set CELERY_BROKER_URL=redis://127.0.0.1:6379/0 to use workers"
)


class Command(BaseCommand):
    """Start a Celery worker for extramile.celery.app; refuse without a broker."""

    help = "Run a Celery worker for the background tasks (needs CELERY_BROKER_URL); --beat too."

    def add_arguments(self, parser: Any) -> None:
        """Accept the worker's options."""
        parser.add_argument(
            "--beat", action="store_true", help="also run the periodic tasks (Celery beat)"
        )
        parser.add_argument("--concurrency", type=int, help="worker processes (default: CPUs)")
        parser.add_argument(
            "--pool", choices=["prefork", "solo", "threads"], help="pool kind (prefork)"
        )
        parser.add_argument("--loglevel", default="info", help="log level (info)")
        parser.add_argument(
            "--schedule", help="file where beat keeps the last run times (celerybeat-schedule)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Hand the outbox's leftovers to the queue, then run the worker until stopped."""
        if not settings.CELERY_BROKER_URL:
            raise CommandError(NO_BROKER)
        from extramile.celery import app
        from extramile.outreach.services import deliver_due_messages

        # Messages a dead worker left (queued and due, or held under an expired lease) go back
        # on the queue now, rather than at the next sweep.
        resumed = deliver_due_messages()
        self.stdout.write(f"Outbox: {resumed} message(s) due for delivery handed to the queue.")
        argv = ["worker", f"--loglevel={options['loglevel']}"]
        if options["concurrency"]:
            argv.append(f"--concurrency={options['concurrency']}")
        if options["pool"]:
            argv.append(f"--pool={options['pool']}")
        if options["beat"]:
            argv.append("--beat")
            if options["schedule"]:
                argv.append(f"--schedule={options['schedule']}")
        app.worker_main(argv)
