"""Forms of the Today pages: the draft, a call's outcome, snooze, skip, and the team's store."""

from __future__ import annotations

from typing import Any

from django import forms

from extramile.accounts.models import Store
from extramile.moments.lifecycle import SNOOZE_CHOICES


class DraftForm(forms.Form):
    """The message as it will go out, or the call script."""

    subject = forms.CharField(max_length=200, required=False)
    body = forms.CharField(
        label="Message", widget=forms.Textarea(attrs={"rows": 8}), max_length=5000
    )

    def clean_body(self) -> str:
        """Keep line ends as one newline; browsers send a textarea's as CR LF."""
        return self.cleaned_data["body"].replace("\r\n", "\n")


class SendForm(DraftForm):
    """The draft and the channel to send it by."""

    channel = forms.ChoiceField(choices=[("email", "Email"), ("sms", "SMS")])


class CallOutcomeForm(forms.Form):
    """What came of a call."""

    reached = forms.TypedChoiceField(
        label="Did you reach them?",
        choices=[("yes", "Reached"), ("no", "Not reached")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    outcome = forms.CharField(
        label="What was said",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        required=False,
        help_text="For a missed call: voicemail, wrong number, call back later…",
    )

    def clean(self) -> dict[str, Any]:
        """Ask for what was said when the call reached the client."""
        data: dict[str, Any] = super().clean() or {}
        if data.get("reached") and not (data.get("outcome") or "").strip():
            self.add_error("outcome", "Write a line about what was said.")
        return data


class SnoozeForm(forms.Form):
    """How long to put an action away."""

    until = forms.ChoiceField(choices=list(SNOOZE_CHOICES.items()))


SKIP_REASONS = [
    ("already_in_touch", "Already in touch"),
    ("not_relevant", "Not right for this client"),
    ("bad_timing", "Bad timing"),
    ("asked_not_to", "Client asked not to be contacted"),
    ("other", "Other"),
]


class SkipForm(forms.Form):
    """Why an action is skipped: a short reason and, if need be, a few words."""

    reason = forms.ChoiceField(choices=SKIP_REASONS)
    note = forms.CharField(
        label="A few words", max_length=200, required=False, widget=forms.TextInput()
    )

    def clean(self) -> dict[str, Any]:
        """Ask for the words when the reason is "Other"."""
        data: dict[str, Any] = super().clean() or {}
        if data.get("reason") == "other" and not (data.get("note") or "").strip():
            self.add_error("note", "Say why in a few words.")
        return data

    def reason_text(self) -> str:
        """The reason as it is recorded: the choice, then the words."""
        label = dict(SKIP_REASONS)[self.cleaned_data["reason"]]
        note = self.cleaned_data["note"].strip()
        if self.cleaned_data["reason"] == "other":
            return note
        return f"{label}: {note}" if note else label


class TeamStoreForm(forms.Form):
    """The store an admin looks at on the team board."""

    store = forms.ModelChoiceField(queryset=Store.objects.all(), empty_label=None)
