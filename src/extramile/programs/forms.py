"""Forms of the programs: they parse and check input; the services write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from extramile.clients.models import Client
from extramile.programs.models import HowAsked

HOW_CHOICES = [("", "How?"), *HowAsked.choices]


class OfferForm(forms.Form):
    """What a client offers other clients."""

    text = forms.CharField(
        label="Offers", max_length=200, help_text="A trade or a service: caterer, florist…"
    )
    keywords = forms.CharField(
        label="Other words", max_length=200, required=False, help_text="Optional: catering, chef…"
    )


class AnswerForm(forms.Form):
    """One side's answer to "may we introduce you?", and how it was given."""

    answer = forms.ChoiceField(choices=[("agreed", "Agreed"), ("declined", "Declined")])
    how = forms.ChoiceField(choices=HOW_CHOICES)
    note = forms.CharField(max_length=255, required=False)


class AskedForm(forms.Form):
    """That one side was asked, and how."""

    how = forms.ChoiceField(choices=HOW_CHOICES, required=False)


class MakeForm(forms.Form):
    """How the introduction was made."""

    how = forms.ChoiceField(choices=HOW_CHOICES)
    note = forms.CharField(max_length=255, required=False)


class DismissForm(forms.Form):
    """Why a suggestion is not a good match."""

    reason = forms.CharField(max_length=255, required=False)


class StoryForm(forms.Form):
    """A gesture to record in the story log."""

    what_happened = forms.CharField(
        label="What happened", widget=forms.Textarea(attrs={"rows": 4}), max_length=4000
    )
    happened_on = forms.DateField(label="When", widget=forms.DateInput(attrs={"type": "date"}))
    client = forms.ModelChoiceField(
        queryset=Client.objects.none(), required=False, empty_label="(no client)"
    )

    def __init__(self, *args: Any, clients: QuerySet[Client] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if clients is not None:
            field = self.fields["client"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = clients


class RecogniseForm(forms.Form):
    """A manager's word of recognition."""

    note = forms.CharField(max_length=255, required=False)
