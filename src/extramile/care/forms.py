"""Forms of care: report a problem, change it, resolve it, record a promise."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from extramile.accounts.models import Role, Store, User
from extramile.care.models import ProblemKind, Urgency
from extramile.care.services import due_moment


def staff_of(store: Store) -> forms.ModelChoiceField:
    """A choice of the store's active associates and managers."""
    staff = User.objects.filter(
        store=store,
        is_active=True,
        deactivated_at__isnull=True,
        role__in=(Role.ASSOCIATE, Role.MANAGER),
    ).order_by("first_name", "last_name", "username")
    return StaffChoiceField(queryset=staff, required=False, empty_label="Nobody yet")


class StaffChoiceField(forms.ModelChoiceField):
    """Members of staff shown by their names."""

    def label_from_instance(self, obj: Any) -> str:
        """Show the name colleagues know them by."""
        return str(obj.display_name)


class _PromisedTime(forms.Form):
    """A day and an optional time, read in the store's zone; no time means the end of the day."""

    store: Store
    day_field = "promised_date"
    time_field = "promised_time"

    def moment(self) -> dt.datetime | None:
        """The moment the day and time name, in UTC, or None when no day was given."""
        day = self.cleaned_data.get(self.day_field)
        if day is None:
            return None
        return due_moment(day, self.cleaned_data.get(self.time_field), store=self.store)


class ProblemForm(_PromisedTime):
    """What went wrong, how urgent it is, who owns it and when it was promised to be put right."""

    kind = forms.ChoiceField(choices=ProblemKind.choices)
    urgency = forms.ChoiceField(choices=Urgency.choices, initial=Urgency.NORMAL)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="What happened"
    )
    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False)
    promised_date = forms.DateField(
        required=False,
        label="Promised resolution day",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    promised_time = forms.TimeField(
        required=False,
        label="by (time)",
        help_text="Leave empty for the end of the day.",
        widget=forms.TimeInput(attrs={"type": "time"}),
    )

    def __init__(self, *args: Any, store: Store, with_kind: bool = True, **kwargs: Any) -> None:
        """Offer the store's staff as owners; leave the kind out when changing a problem."""
        super().__init__(*args, **kwargs)
        self.store = store
        self.fields["owner"] = staff_of(store)
        if not with_kind:
            del self.fields["kind"]
            del self.fields["description"]


class ResolveForm(forms.Form):
    """How the problem was put right."""

    resolution = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), label="How it was put right", max_length=2000
    )


class PromiseForm(_PromisedTime):
    """A promise: what, by which day, and optionally by what time."""

    text = forms.CharField(
        max_length=300,
        label="I promised",
        widget=forms.TextInput(attrs={"placeholder": "Call you back about the repair"}),
    )
    promised_date = forms.DateField(label="by", widget=forms.DateInput(attrs={"type": "date"}))
    promised_time = forms.TimeField(
        required=False,
        label="at (time)",
        help_text="Leave empty for the end of the day.",
        widget=forms.TimeInput(attrs={"type": "time"}),
    )

    def __init__(self, *args: Any, store: Store, **kwargs: Any) -> None:
        """Read the day and time in this store's zone."""
        super().__init__(*args, **kwargs)
        self.store = store
