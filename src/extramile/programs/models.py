"""Relationship programs: clients' offers and introductions, the story log, calendar feeds."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from extramile.accounts.models import Store
from extramile.clients.models import Client, Need


class Offer(models.Model):
    """What a client can do for other clients: a trade or a service ("caterer")."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="offers")
    text = models.CharField(max_length=200, help_text='What they offer: "caterer", "florist".')
    keywords = models.CharField(
        max_length=200, blank=True, help_text="Further words to match needs on, space-separated."
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.text

    @property
    def match_text(self) -> str:
        """The words the matcher reads: the offer and its keywords."""
        return f"{self.text} {self.keywords}".strip()


class HowAsked(models.TextChoices):
    """How the associate asked or made the introduction."""

    IN_PERSON = "in_person", "In person"
    PHONE = "phone", "Phone call"
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"


class IntroductionState(models.TextChoices):
    """Where an introduction is: it is made only after both sides agreed."""

    SUGGESTED = "suggested", "Suggested"
    ASKED = "asked", "Asking both sides"
    AGREED = "agreed", "Both agreed: make it"
    MADE = "made", "Made"
    DECLINED = "declined", "Declined"
    DISMISSED = "dismissed", "Dismissed (not a good match)"
    WITHDRAWN = "withdrawn", "Withdrawn (offer or need gone)"


OPEN_INTRODUCTION_STATES = (
    IntroductionState.SUGGESTED,
    IntroductionState.ASKED,
    IntroductionState.AGREED,
)


class Introduction(models.Model):
    """A suggested introduction of a client who offers something to one who needs it."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="introductions")
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="introductions")
    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="introductions")
    offering_client = models.ForeignKey(
        Client, on_delete=models.CASCADE, related_name="introductions_offering"
    )
    needing_client = models.ForeignKey(
        Client, on_delete=models.CASCADE, related_name="introductions_needing"
    )
    state = models.CharField(
        max_length=16, choices=IntroductionState.choices, default=IntroductionState.SUGGESTED
    )
    score = models.FloatField(help_text="Share of the offer's words the need mentions.")
    shared_words = models.JSONField(default=list, help_text="The concepts offer and need share.")
    suggested_at = models.DateTimeField(default=timezone.now)
    made_at = models.DateTimeField(null=True, blank=True)
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    made_how = models.CharField(max_length=16, choices=HowAsked.choices, blank=True)
    made_note = models.CharField(max_length=255, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="Declined or dismissed.")
    closed_reason = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-suggested_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["offer", "need"], name="introduction_once_per_pair"),
            models.CheckConstraint(
                condition=~models.Q(offering_client=models.F("needing_client")),
                name="introduction_not_to_self",
            ),
        ]
        indexes = [models.Index(fields=["store", "state"])]

    def __str__(self) -> str:
        return f"{self.offering_client} ({self.offer}) → {self.needing_client}"


class Side(models.TextChoices):
    """The two clients of an introduction."""

    OFFERING = "offering", "Offers"
    NEEDING = "needing", "Needs"


class Answer(models.TextChoices):
    """A side's answer to "may we introduce you?"."""

    PENDING = "pending", "Not answered"
    AGREED = "agreed", "Agreed"
    DECLINED = "declined", "Declined"


class IntroductionConsent(models.Model):
    """One side's consent to an introduction: when asked, the answer, who recorded it and how."""

    introduction = models.ForeignKey(
        Introduction, on_delete=models.CASCADE, related_name="consents"
    )
    side = models.CharField(max_length=16, choices=Side.choices)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    asked_at = models.DateTimeField(null=True, blank=True)
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answer = models.CharField(max_length=16, choices=Answer.choices, default=Answer.PENDING)
    answered_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    how = models.CharField(max_length=16, choices=HowAsked.choices, blank=True)
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["introduction_id", "side"]
        constraints = [
            models.UniqueConstraint(fields=["introduction", "side"], name="one_consent_per_side")
        ]

    def __str__(self) -> str:
        return f"{self.client}: {self.answer}"


class Story(models.Model):
    """An extra-mile gesture an associate made, which a manager can recognise."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="stories")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="stories"
    )
    client = models.ForeignKey(
        Client, null=True, blank=True, on_delete=models.SET_NULL, related_name="stories"
    )
    happened_on = models.DateField()
    what_happened = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    recognised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recognised_at = models.DateTimeField(null=True, blank=True)
    recognition_note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-happened_on", "-created_at", "-id"]
        verbose_name_plural = "stories"
        indexes = [models.Index(fields=["store", "-happened_on"])]

    def __str__(self) -> str:
        return self.what_happened[:60]


class CalendarFeed(models.Model):
    """An associate's private calendar feed; its URL carries a token signed over `nonce`.

    The token is the user id, the nonce and an HMAC of both under the project's secret key, so
    the database alone never reveals a working URL. Regenerating draws a new nonce (the old URL
    stops working); revoking stops the feed until it is regenerated.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    nonce = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_read_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Calendar of {self.user}"
