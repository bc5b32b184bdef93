"""App configuration for programs."""

from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    """Relationship programs: the weekly extra-mile plan, the story log, calendar feeds."""

    name = "extramile.programs"
    label = "programs"
    verbose_name = "Relationship programs"
