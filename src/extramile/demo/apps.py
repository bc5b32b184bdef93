"""App configuration for the demo store."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo store generator."""

    name = "extramile.demo"
    label = "demo"
    verbose_name = "Demo store"
