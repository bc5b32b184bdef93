"""App configuration for care."""

from django.apps import AppConfig


class CareConfig(AppConfig):
    """Problems and their recovery, promises to clients, opening hours and the on-call rota."""

    name = "extramile.care"
    label = "care"
    verbose_name = "Care and service recovery"

    def ready(self) -> None:
        """Put problems and promises on the client's timeline."""
        from extramile.care.timeline import problem_entries, promise_entries
        from extramile.clients.services import TIMELINE_SOURCES

        for source in (problem_entries, promise_entries):
            if source not in TIMELINE_SOURCES:
                TIMELINE_SOURCES.append(source)
