"""App configuration for care."""

from django.apps import AppConfig


class CareConfig(AppConfig):
    """Problems reported by or for clients, and their resolution."""

    name = "extramile.care"
    label = "care"
    verbose_name = "Care and service recovery"
