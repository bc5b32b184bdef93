"""Back office for the client book: a client with everything known about them, and tags."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from extramile.accounts.admin_scoping import (
    ADD,
    ALL_RIGHTS,
    CHANGE,
    VIEW,
    ScopedModelAdmin,
    ScopedTabularInline,
)
from extramile.accounts.models import Role, User
from extramile.clients.forms import normalized_or_error
from extramile.clients.models import (
    Client,
    Consent,
    ContactPoint,
    ImportantDate,
    Need,
    Note,
    Preference,
    Relation,
    Size,
    Tag,
)
from extramile.clients.services import normalize_email, normalize_phone


class ClientAdminForm(forms.ModelForm):
    """The client form, with email and phone normalised as everywhere else."""

    class Meta:
        model = Client
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose what is shown

    def clean_email(self) -> str:
        """Lower-case the email, or say why it is refused."""
        return normalized_or_error(normalize_email, self.cleaned_data.get("email", ""))

    def clean_phone(self) -> str:
        """Turn the phone into E.164, or say why it is refused."""
        return normalized_or_error(normalize_phone, self.cleaned_data.get("phone", ""))


class ClientPartInline(ScopedTabularInline):
    """Rows that belong to one client, which a manager edits freely."""

    store_field = "client__store"
    manager_rights = ALL_RIGHTS
    extra = 0


class ContactPointInline(ClientPartInline):
    """Further emails, phones and addresses."""

    model = ContactPoint


class SizeInline(ClientPartInline):
    """Sizes per category."""

    model = Size


class PreferenceInline(ClientPartInline):
    """Likes and dislikes."""

    model = Preference
    fields = ("dimension", "value", "likes", "source", "recorded_at")


class ImportantDateInline(ClientPartInline):
    """Birthdays and other yearly dates."""

    model = ImportantDate


class NeedInline(ClientPartInline):
    """Needs in the client's words."""

    model = Need
    fields = ("text", "budget", "stated_at", "met_at")


class RelationInline(ClientPartInline):
    """Household ties and referrals."""

    model = Relation
    fk_name = "client"
    fields = ("kind", "other", "label", "created_at")
    autocomplete_fields = ("other",)


class ConsentInline(ClientPartInline):
    """The consent log: decisions are added, never rewritten; the latest per channel rules."""

    model = Consent
    fields = ("channel", "granted", "source", "recorded_at", "recorded_by")
    readonly_fields = ("recorded_by",)
    manager_rights = frozenset({VIEW, ADD})

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Keep past decisions as they were, for everyone."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Keep past decisions, for everyone."""
        return False


class NoteInline(ClientPartInline):
    """Notes by staff; managers add notes, only admins edit or delete them."""

    model = Note
    fields = ("body", "author", "created_at")
    readonly_fields = ("author",)
    manager_rights = frozenset({VIEW, ADD})


@admin.register(Client)
class ClientAdmin(ScopedModelAdmin):
    """Clients of the stores you may see."""

    form = ClientAdminForm
    list_display = (
        "__str__",
        "email",
        "phone",
        "store",
        "primary_associate",
        "status",
        "updated_at",
    )
    list_filter = (
        "status",
        ("store", admin.RelatedOnlyFieldListFilter),
        ("primary_associate", admin.RelatedOnlyFieldListFilter),
        ("tags", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("store", "primary_associate")
    search_fields = ("first_name", "last_name", "email", "phone", "external_ref")
    readonly_fields = ("merged_into", "shopify_id", "created_at", "updated_at")
    autocomplete_fields = ("tags",)
    fieldsets = (
        (None, {"fields": ("store", "primary_associate", "status", "merged_into")}),
        ("Person", {"fields": ("first_name", "last_name", "language", "time_zone", "tags")}),
        ("Contact", {"fields": ("email", "phone", "address")}),
        ("Origin", {"fields": ("external_ref", "shopify_id", "created_at", "updated_at")}),
    )
    inlines = (
        ContactPointInline,
        ConsentInline,
        SizeInline,
        PreferenceInline,
        ImportantDateInline,
        NeedInline,
        NoteInline,
        RelationInline,
    )
    manager_rights = frozenset({VIEW, ADD, CHANGE})

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """Start a manager's new client in their store."""
        initial: dict[str, Any] = dict(super().get_changeform_initial_data(request))
        user = request.user
        if isinstance(user, User) and user.role != Role.ADMIN and user.store_id is not None:
            initial.setdefault("store", user.store_id)
        return initial

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Sign new notes and consent decisions with the member of staff who wrote them."""
        user = request.user
        assert isinstance(user, User)
        for inline_form in formset.forms:
            instance = inline_form.instance
            if instance.pk is None and inline_form.has_changed():
                if isinstance(instance, Note):
                    instance.author = user
                elif isinstance(instance, Consent):
                    instance.recorded_by = user
        super().save_formset(request, form, formset, change)


@admin.register(Tag)
class TagAdmin(ScopedModelAdmin):
    """Tags are shared by every store: managers may add one, only admins rename or delete."""

    list_display = ("name",)
    search_fields = ("name",)
    store_field = None
    manager_rights = frozenset({VIEW, ADD})
