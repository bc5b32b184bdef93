"""One store rule for the back office: admins see all, managers their store, associates nothing.

Every ModelAdmin and inline of the project derives from ScopedModelAdmin or a Scoped…Inline.
Admins (role admin, hence Django superusers) keep Django's defaults. Managers get their rights
from their role, declared per admin in `manager_rights`, instead of Django permission rows;
what they see is narrowed with extramile.accounts.access.scope_to_user along `store_field`, the
choices of every foreign key to a store, a member of staff, a client or an order are narrowed
to their store, and a save that would still point outside it is refused with 403. Associates
are not staff (User.save), so the admin site sends them to its login page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.options import BaseModelAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import ForeignKey, Model, QuerySet
from django.http import HttpRequest

from extramile.accounts.access import scope_to_user
from extramile.accounts.models import Role, Store, User

VIEW, ADD, CHANGE, DELETE = "view", "add", "change", "delete"
ALL_RIGHTS = frozenset({VIEW, ADD, CHANGE, DELETE})


def is_admin(user: Any) -> bool:
    """Say whether the user is an active admin, who keeps Django's defaults."""
    return bool(user.is_active and user.is_superuser and getattr(user, "role", None) == Role.ADMIN)


def is_manager(user: Any) -> bool:
    """Say whether the user is an active store manager with a home store."""
    return bool(
        user.is_active and getattr(user, "role", None) == Role.MANAGER and user.store_id is not None
    )


def store_choices(model: type[Model], user: User) -> QuerySet[Any] | None:
    """Return the rows of `model` a manager may pick in a form, or None when not scoped."""
    if user.store_id is None:
        return model._default_manager.none()
    if model is Store:
        return Store.objects.filter(pk=user.store_id)
    if model is User:
        return User.objects.filter(store_id=user.store_id).exclude(role=Role.ADMIN)
    if any(field.name == "store" for field in model._meta.get_fields()):
        return scope_to_user(model._default_manager.all(), user)
    return None


def check_choices(request: HttpRequest, instance: Model, changed: list[str]) -> None:
    """Refuse (403) a foreign key set in this form that points outside the manager's store."""
    user = request.user
    assert isinstance(user, User)
    for field in instance._meta.concrete_fields:
        if not isinstance(field, ForeignKey) or field.name not in changed:
            continue
        value_id = getattr(instance, field.attname)
        allowed = store_choices(field.related_model, user)  # type: ignore[arg-type]
        if (
            value_id is not None
            and allowed is not None
            and not allowed.filter(pk=value_id).exists()
        ):
            raise PermissionDenied(f"{field.verbose_name} is outside your store.")


def store_id_along(obj: Model, path: str) -> int | None:
    """Follow a path such as "store" or "user__store" from a row to its store's id."""
    *hops, last = path.split("__")
    target: Any = obj
    for hop in hops:
        target = getattr(target, hop, None)
        if target is None:
            return None
    return getattr(target, f"{last}_id", None)


class StoreScopedMixin(BaseModelAdmin):
    """Narrow rows, rights and foreign-key choices to the manager's store."""

    # The path from the model to its store, for scope_to_user; None for shared rows such as
    # products, which every manager may see.
    store_field: str | None = "store"
    # What a manager may do with rows of their store.
    manager_rights: frozenset[str] = frozenset({VIEW})

    def scope_queryset(self, queryset: QuerySet[Any], user: User) -> QuerySet[Any]:
        """Narrow a queryset to the manager's store (override for the store itself, staff…)."""
        if self.store_field is None:
            return queryset
        return scope_to_user(queryset, user, store_field=self.store_field)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        """Give admins every row, managers their store's, anyone else none."""
        queryset = super().get_queryset(request)
        if is_admin(request.user):
            return queryset
        if is_manager(request.user) and self.manager_rights:
            assert isinstance(request.user, User)
            return self.scope_queryset(queryset, request.user)
        return queryset.none()

    def manager_may(self, request: HttpRequest, right: str, obj: Model | None = None) -> bool:
        """Say whether the user is a manager with this right on this row of their store."""
        if not is_manager(request.user) or right not in self.manager_rights:
            return False
        if obj is None or obj.pk is None:
            return True
        assert isinstance(request.user, User)
        rows = type(obj)._default_manager.filter(pk=obj.pk)
        return self.scope_queryset(rows, request.user).exists()

    def has_module_permission(self, request: HttpRequest) -> bool:
        """Show the app to admins, and to managers with any right on it."""
        if is_admin(request.user):
            return super().has_module_permission(request)
        return is_manager(request.user) and bool(self.manager_rights)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Let managers view rows they may view or change."""
        if is_admin(request.user):
            return super().has_view_permission(request, obj)
        return self.manager_may(request, VIEW, obj) or self.manager_may(request, CHANGE, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Let managers change rows of their store when the admin grants it."""
        if is_admin(request.user):
            return super().has_change_permission(request, obj)
        return self.manager_may(request, CHANGE, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Let managers delete rows of their store when the admin grants it."""
        if is_admin(request.user):
            return super().has_delete_permission(request, obj)
        return self.manager_may(request, DELETE, obj)

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField[Any] | None:
        """Offer a manager only the stores, staff, clients and orders of their store."""
        if is_manager(request.user):
            assert isinstance(request.user, User)
            allowed = store_choices(db_field.related_model, request.user)  # type: ignore[arg-type]
            if allowed is not None:
                kwargs["queryset"] = allowed
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ScopedModelAdmin(StoreScopedMixin, admin.ModelAdmin):
    """A ModelAdmin under the store rule; saves are checked as well as the choices offered."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Let managers add rows when the admin grants it."""
        if is_admin(request.user):
            return super().has_add_permission(request)
        return self.manager_may(request, ADD)

    def check_store(self, request: HttpRequest, obj: Model, form: forms.ModelForm[Any]) -> None:
        """Refuse (403) a manager's save of a row that would leave their store."""
        if not is_manager(request.user):
            return
        check_choices(request, obj, list(form.changed_data))
        if self.store_field is not None:
            assert isinstance(request.user, User)
            if store_id_along(obj, self.store_field) != request.user.store_id:
                raise PermissionDenied("This record would belong to another store.")

    def save_model(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm[Any], change: bool
    ) -> None:
        """Check the store rule, then save."""
        self.check_store(request, obj, form)
        super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Check every changed inline row's foreign keys, then save them."""
        if is_manager(request.user):
            for inline_form in formset.forms:
                if inline_form.has_changed() and inline_form not in formset.deleted_forms:
                    check_choices(request, inline_form.instance, list(inline_form.changed_data))
        super().save_formset(request, form, formset, change)


class ScopedInlineMixin(StoreScopedMixin):
    """Inline rights: `obj` is the parent row, which the parent admin has already scoped."""

    def manager_may(self, request: HttpRequest, right: str, obj: Model | None = None) -> bool:
        """Say whether the user is a manager with this right on these inline rows."""
        return is_manager(request.user) and right in self.manager_rights

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Let managers add inline rows when the inline grants it."""
        if is_admin(request.user):
            return super().has_add_permission(request, obj)  # type: ignore[call-arg]
        return self.manager_may(request, ADD, obj)


class ScopedTabularInline(ScopedInlineMixin, admin.TabularInline):
    """A tabular inline under the store rule."""


class ScopedStackedInline(ScopedInlineMixin, admin.StackedInline):
    """A stacked inline under the store rule."""
