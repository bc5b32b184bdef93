"""App configuration for insight."""

from django.apps import AppConfig


class InsightConfig(AppConfig):
    """Insight: whether going the extra mile pays, measured against the holdout."""

    name = "extramile.insight"
    label = "insight"
    verbose_name = "Insight"
