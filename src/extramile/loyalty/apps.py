"""App configuration for loyalty."""

from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    """Loyalty: NPS surveys and loyalty stages, referrals, introductions between clients."""

    name = "extramile.loyalty"
    label = "loyalty"
    verbose_name = "Loyalty, referrals and introductions"

    def ready(self) -> None:
        """Show surveys and referrals on the client's shared timeline."""
        from extramile.clients.services import TIMELINE_SOURCES
        from extramile.loyalty.services import referral_timeline, survey_timeline

        for source in (survey_timeline, referral_timeline):
            if source not in TIMELINE_SOURCES:
                TIMELINE_SOURCES.append(source)
