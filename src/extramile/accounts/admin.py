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
    VIEW,
    ScopedModelAdmin,
    is_admin,
    is_manager,
)
from extramile.accounts.models import ApiToken, Role, Store, User
from extramile.accounts.services import revoke_api_tokens

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

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Refuse a manager's attempt to make an admin, then check the store rule."""
        if is_manager(request.user) and obj.role == Role.ADMIN:
            raise PermissionDenied("Managers cannot make admins.")
        super().save_model(request, obj, form, change)


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
