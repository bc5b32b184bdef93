"""Back office for orders with their lines and refunds, under the store rule."""

from __future__ import annotations

from django.contrib import admin

from extramile.accounts.admin_scoping import (
    ADD,
    ALL_RIGHTS,
    CHANGE,
    VIEW,
    ScopedModelAdmin,
    ScopedTabularInline,
)
from extramile.orders.models import Order, OrderLine, Refund


class OrderLineInline(ScopedTabularInline):
    """The products of an order."""

    model = OrderLine
    store_field = "order__store"
    fields = ("product", "variant", "title", "sku", "quantity", "unit_price", "unit_cost")
    autocomplete_fields = ("product", "variant")
    manager_rights = ALL_RIGHTS
    extra = 0


class RefundInline(ScopedTabularInline):
    """Money given back on an order."""

    model = Refund
    store_field = "order__store"
    fields = ("external_ref", "amount", "note", "created_at")
    manager_rights = ALL_RIGHTS
    extra = 0


@admin.register(Order)
class OrderAdmin(ScopedModelAdmin):
    """Orders of the stores you may see."""

    list_display = ("external_ref", "placed_at", "store", "client", "channel", "status", "total")
    list_filter = ("channel", "status", ("store", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("store", "client")
    search_fields = ("external_ref", "client__last_name", "client__email")
    date_hierarchy = "placed_at"
    autocomplete_fields = ("client",)
    readonly_fields = ("shopify_id", "updated_at")
    inlines = (OrderLineInline, RefundInline)
    manager_rights = frozenset({VIEW, ADD, CHANGE})
