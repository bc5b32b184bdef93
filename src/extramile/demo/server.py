"""Serve the web app with waitress: static files through WhiteNoise, product photos by Django."""

from __future__ import annotations

import ipaddress
import os
from io import TextIOBase

from django.core.management import call_command
from django.core.management.base import CommandError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def prepare_database_and_static() -> None:
    """Apply migrations and collect static files into STATIC_ROOT, both quietly."""
    call_command("migrate", interactive=False, verbosity=0)
    # WhiteNoise indexes STATIC_ROOT when the app starts, so collect before building it.
    call_command("collectstatic", interactive=False, verbosity=0)


def public_url_for(host: str, port: int, *, configured: str | None) -> str | None:
    """The address links in messages should use when PUBLIC_URL is not set, else None.

    Served on another port than the default, the links must follow it; a PUBLIC_URL set by
    the operator always wins.
    """
    if configured:
        return None
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def is_loopback(host: str) -> bool:
    """Say whether the address only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_forever(*, host: str, port: int, threads: int, out: TextIOBase) -> None:
    """Serve the WSGI app with waitress until interrupted."""
    from django.core.wsgi import get_wsgi_application
    from waitress import serve

    from extramile.tasks import PeriodicRunner, uses_celery

    application = get_wsgi_application()
    url = public_url_for(host, port, configured=os.environ.get("PUBLIC_URL"))
    if url is not None:
        from django.conf import settings

        settings.PUBLIC_URL = url
    if not uses_celery():
        # The embedded default has no Celery beat: the engine sweep and the outbox run here.
        PeriodicRunner().start()
    if not is_loopback(host):
        out.write(f"Warning: {host} is reachable from other machines.\n")
    out.write(f"Serving extramile on http://{host}:{port}/ — press Ctrl+C to stop.\n")
    out.flush()
    try:
        serve(application, host=host, port=port, threads=threads, ident="extramile")
    except OSError as exc:
        raise CommandError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.") from exc
    except KeyboardInterrupt:
        out.write("\nStopped.\n")
