"""App configuration for the moments engine."""

from django.apps import AppConfig


class MomentsConfig(AppConfig):
    """Events, actions and the rules that govern them."""

    name = "extramile.moments"
    label = "moments"
    verbose_name = "Moments and actions"
