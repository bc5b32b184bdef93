"""App configuration for ingest."""

from django.apps import AppConfig


class IngestConfig(AppConfig):
    """Imports and inbound events."""

    name = "extramile.ingest"
    label = "ingest"
    verbose_name = "Imports and inbound events"
