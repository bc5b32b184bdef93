"""App configuration for outreach."""

from django.apps import AppConfig


class OutreachConfig(AppConfig):
    """Messages, their delivery, and the audit log of every contact."""

    name = "extramile.outreach"
    label = "outreach"
    verbose_name = "Outreach"
