"""Forms of the Staff pages: an absence with its backup, and a named successor."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from extramile.accounts.models import Role, User, absence_problems


def colleagues_choice(member: User) -> QuerySet[User]:
    """The active colleagues of the member's store who may cover for or succeed them."""
    if member.store_id is None:
        return User.objects.none()
    return (
        User.objects.filter(
            store_id=member.store_id,
            is_active=True,
            deactivated_at__isnull=True,
            role__in=[Role.ASSOCIATE, Role.MANAGER],
        )
        .exclude(pk=member.pk)
        .order_by("first_name", "username")
    )


class StaffChoiceField(forms.ModelChoiceField):
    """A colleague shown by name."""

    def label_from_instance(self, obj: Any) -> str:
        """Show the name, and the role of a manager."""
        suffix = " (manager)" if obj.role == Role.MANAGER else ""
        return f"{obj.display_name}{suffix}"


class AbsenceForm(forms.Form):
    """When the associate is away, and who covers for them."""

    starts_on = forms.DateField(label="First day away", widget=forms.DateInput({"type": "date"}))
    ends_on = forms.DateField(label="Last day away", widget=forms.DateInput({"type": "date"}))
    backup = StaffChoiceField(queryset=User.objects.none(), label="Backup")
    note = forms.CharField(max_length=200, required=False, label="Note (optional)")

    def __init__(self, *args: Any, member: User, **kwargs: Any) -> None:
        """Offer the member's active colleagues as backups."""
        super().__init__(*args, **kwargs)
        self.member = member
        self.fields["backup"].queryset = colleagues_choice(member)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        """Check the dates' order and the backup, as the model does."""
        data = super().clean() or {}
        problems = absence_problems(
            user=self.member,
            backup=data.get("backup"),
            starts_on=data.get("starts_on"),
            ends_on=data.get("ends_on"),
        )
        for field, message in problems.items():
            self.add_error(field if field in self.fields else None, message)
        return data


class SuccessorForm(forms.Form):
    """Optionally, the one colleague who takes every client."""

    to = StaffChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Give every client to",
        empty_label="Share them out: who served them, else fewest clients",
    )

    def __init__(self, *args: Any, member: User, **kwargs: Any) -> None:
        """Offer the member's active colleagues."""
        super().__init__(*args, **kwargs)
        self.fields["to"].queryset = colleagues_choice(member)  # type: ignore[attr-defined]
