"""Back office for stores, staff and API tokens, under the store rule of admin_scoping."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from extramile.accounts.admin_scoping import (
    ADD,
    CHANGE,
    DELETE,
    VIEW,
    ScopedModelAdmin,
    is_admin,
    is_manager,
)
from extramile.accounts.models import Absence, ApiToken, ClientHandover, Role, Store, User
from extramile.accounts.services import (
    DeactivationRefused,
    deactivate_associate,
    revoke_api_tokens,
)

admin.site.site_header = "extramile back office"
admin.site.site_title = "extramile"
admin.site.index_title = "Back office"
# The role decides what a member of staff may do (admin_scoping); groups are not used.
admin.site.unregister(Group)


@admin.register(Store)
class StoreAdmin(ScopedModelAdmin):
    """Stores: admins manage them; a manager sees their own."""

    list_display = ("code", "name", "time_zone", "currency", "phone")
    search_fields = ("code", "name")
    ordering = ("name",)
    manager_rights = frozenset({VIEW})

    def scope_queryset(self, queryset: QuerySet[Any], user: User) -> QuerySet[Any]:
        """Narrow stores to the manager's own."""
        return queryset.filter(pk=user.store_id)


@admin.register(User)
class UserAdmin(ScopedModelAdmin, DjangoUserAdmin):
    """Staff: admins manage everyone; a manager the associates and managers of their store.

    Django's is_staff and is_superuser follow the role (User.save), so they are not shown, and
    groups and permission rows are not used: the role decides.
    """

    list_display = ("username", "full_name", "email", "role", "store", "is_active", "last_login")
    list_filter = ("role", ("store", admin.RelatedOnlyFieldListFilter), "is_active")
    list_select_related = ("store",)
    search_fields = ("username", "first_name", "last_name", "email")
    ordering = ("username",)
    readonly_fields = ("last_login", "date_joined", "deactivated_at")
    filter_horizontal = ()
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email", "phone")}),
        ("Work", {"fields": ("role", "store", "is_active", "leaving_on", "deactivated_at")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "usable_password",
                    "password1",
                    "password2",
                    "role",
                    "store",
                    "first_name",
                    "last_name",
                    "email",
                ),
            },
        ),
    )
    manager_rights = frozenset({VIEW, ADD, CHANGE})

    @admin.display(description="name", ordering="last_name")
    def full_name(self, obj: User) -> str:
        """Show first and last name."""
        return obj.get_full_name()

    def scope_queryset(self, queryset: QuerySet[Any], user: User) -> QuerySet[Any]:
        """Narrow staff to the manager's store, never showing admins."""
        return super().scope_queryset(queryset, user).exclude(role=Role.ADMIN)

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        """Offer managers the associate and manager roles only."""
        if db_field.name == "role" and is_manager(request.user):
            kwargs["choices"] = [(v, label) for v, label in Role.choices if v != Role.ADMIN]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    actions = ("deactivate_and_hand_over",)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Refuse a manager's attempt to make an admin, then check the store rule.

        Unticking "active" deactivates through the one service, so the clients are handed over
        as from the Staff page (or, when nobody can take them, the save is refused).
        """
        if is_manager(request.user) and obj.role == Role.ADMIN:
            raise PermissionDenied("Managers cannot make admins.")
        leaving = change and "is_active" in form.changed_data and not obj.is_active
        if leaving:
            obj.is_active = True  # the service deactivates, once the rest is saved
        super().save_model(request, obj, form, change)
        if leaving:
            try:
                result = deactivate_associate(obj, by=_staff(request), source="admin")
            except DeactivationRefused as exc:
                self.message_user(request, f"{obj.username} is still active: {exc}", messages.ERROR)
            else:
                self.message_user(request, _deactivated_words(obj, result), messages.SUCCESS)

    def has_deactivate_permission(self, request: HttpRequest) -> bool:
        """Let admins, and managers for their store's staff, deactivate."""
        return is_admin(request.user) or self.manager_may(request, CHANGE)

    @admin.action(description="Deactivate and hand over clients", permissions=["deactivate"])
    def deactivate_and_hand_over(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Deactivate each selected member of staff and hand their clients to colleagues."""
        for user in queryset.select_related("store"):
            try:
                result = deactivate_associate(user, by=_staff(request), source="admin")
            except (DeactivationRefused, PermissionDenied) as exc:
                self.message_user(request, f"{user.username}: {exc}", messages.ERROR)
                continue
            self.message_user(request, _deactivated_words(user, result), messages.SUCCESS)


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # the admin site lets only staff in
    return request.user


def _deactivated_words(user: User, result: Any) -> str:
    if not result.changed:
        return f"{user.username} was already deactivated; nothing to hand over."
    takers = ", ".join(
        f"{colleague.username} {len(moves)}" for colleague, moves in result.plan.by_colleague()
    )
    return (
        f"{user.username} deactivated: {len(result.plan.moves)} client(s) handed over"
        f"{f' ({takers})' if takers else ''}, {result.moved_actions} open action(s) moved, "
        f"{len(result.handover_actions)} handover action(s) made. Nothing was deleted."
    )


@admin.register(Absence)
class AbsenceAdmin(ScopedModelAdmin):
    """Absences: while away, an associate's clients' service actions go to the backup."""

    list_display = ("user", "starts_on", "ends_on", "backup", "note")
    list_filter = (("user__store", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("user", "backup")
    search_fields = ("user__username", "backup__username", "note")
    date_hierarchy = "starts_on"
    fields = ("user", "starts_on", "ends_on", "backup", "note")
    store_field = "user__store"
    manager_rights = frozenset({VIEW, ADD, CHANGE, DELETE})

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Record who entered the absence."""
        if obj.created_by_id is None and isinstance(request.user, User):
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ClientHandover)
class ClientHandoverAdmin(ScopedModelAdmin):
    """Clients handed from an associate who left to a colleague: a record, never edited."""

    list_display = ("client", "from_associate", "to_associate", "why", "handed_over_at")
    list_filter = (("store", admin.RelatedOnlyFieldListFilter), "why")
    list_select_related = ("client", "from_associate", "to_associate")
    search_fields = ("client__last_name", "from_associate__username", "to_associate__username")
    fields = (*list_display, "handed_over_by")
    readonly_fields = fields
    manager_rights = frozenset({VIEW})

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Handovers are made by deactivating staff, never here."""
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(ScopedModelAdmin):
    """API tokens, read-only: only the prefix is shown; live tokens can be revoked."""

    list_display = ("prefix_shown", "name", "user", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    list_select_related = ("user",)
    search_fields = ("prefix", "name", "user__username")
    fields = ("prefix_shown", "name", "user", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    actions = ("revoke",)
    store_field = "user__store"
    manager_rights = frozenset({VIEW, "revoke"})

    @admin.display(description="token")
    def prefix_shown(self, obj: ApiToken) -> str:
        """Show the first characters only; the secret itself is never stored."""
        return f"{obj.prefix}…"

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Tokens are issued with `extramile createtoken`, never here."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Tokens are never edited."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Tokens are revoked, not deleted, so their use stays on record."""
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        """Let admins, and managers for their staff, revoke tokens."""
        return is_admin(request.user) or self.manager_may(request, "revoke")

    @admin.action(description="Revoke the selected tokens", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        """Revoke the selected live tokens."""
        count = revoke_api_tokens(queryset)
        self.message_user(request, f"{count} token(s) revoked.", messages.SUCCESS)
