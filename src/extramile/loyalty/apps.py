"""App configuration for loyalty."""

from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    """Loyalty: NPS surveys and loyalty stages, referrals, introductions between clients."""

    name = "extramile.loyalty"
    label = "loyalty"
    verbose_name = "Loyalty, referrals and introductions"
