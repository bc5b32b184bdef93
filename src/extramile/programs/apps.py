"""App configuration for programs."""

from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    """Relationship programs: introductions, the story log, calendar feeds."""

    name = "extramile.programs"
    label = "programs"
    verbose_name = "Relationship programs"

    def ready(self) -> None:
        """Show introductions and stories on the client's timeline."""
        from extramile.clients.services import TIMELINE_SOURCES
        from extramile.programs.timeline import introduction_entries, story_entries

        for source in (introduction_entries, story_entries):
            if source not in TIMELINE_SOURCES:
                TIMELINE_SOURCES.append(source)
