"""Back office for the catalog: products, variants, photos, stock per store, and sales.

Products are shared by every store, so managers see them read-only (a change would reach every
store); stock and sales are per store, and a manager sees and changes their own store's rows only.
"""

from __future__ import annotations

from django.contrib import admin
from django.db import models

from extramile.accounts.admin_scoping import (
    ADD,
    CHANGE,
    DELETE,
    VIEW,
    ScopedModelAdmin,
    ScopedTabularInline,
)
from extramile.catalog.models import Photo, Product, Sale, Stock, Variant


class VariantInline(ScopedTabularInline):
    """The sizes and colours of a product; open one to see its stock."""

    model = Variant
    store_field = None
    fields = ("sku", "size", "colour", "price", "cost", "barcode", "shopify_id")
    show_change_link = True
    extra = 0


class PhotoInline(ScopedTabularInline):
    """Pictures of a product, in display order."""

    model = Photo
    store_field = None
    fields = ("image", "source_url", "alt", "position")
    # Photo addresses without a scheme are read as https (Django 6's default, chosen now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    extra = 0


class StockInline(ScopedTabularInline):
    """Units on hand per store; a manager sees their store's row only."""

    model = Stock
    fields = ("store", "quantity", "updated_at")
    readonly_fields = ("updated_at",)
    extra = 0


@admin.register(Product)
class ProductAdmin(ScopedModelAdmin):
    """The shared catalog."""

    list_display = ("title", "brand", "category", "price", "arrived_on", "status")
    list_filter = ("status", "arrived_on", "brand")
    search_fields = ("title", "brand", "category", "external_ref", "variants__sku")
    readonly_fields = ("created_at", "updated_at")
    date_hierarchy = "arrived_on"
    inlines = (VariantInline, PhotoInline)
    store_field = None


@admin.register(Variant)
class VariantAdmin(ScopedModelAdmin):
    """One buyable version of a product, with its stock per store."""

    list_display = ("sku", "product", "size", "colour", "price", "barcode")
    list_select_related = ("product",)
    search_fields = ("sku", "barcode", "product__title", "product__external_ref")
    autocomplete_fields = ("product",)
    inlines = (StockInline,)
    store_field = None


@admin.register(Stock)
class StockAdmin(ScopedModelAdmin):
    """Units on hand; managers keep their own store's counts."""

    list_display = ("variant", "store", "quantity", "updated_at")
    list_editable = ("quantity",)
    list_filter = (("store", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("variant__product", "store")
    search_fields = ("variant__sku", "variant__product__title")
    autocomplete_fields = ("variant",)
    manager_rights = frozenset({VIEW, ADD, CHANGE})


@admin.register(Sale)
class SaleAdmin(ScopedModelAdmin):
    """A store's announced sales; matching clients hear of each a few days before it opens."""

    list_display = ("name", "store", "starts_on", "ends_on", "percent_off", "preview_days")
    list_filter = (("store", admin.RelatedOnlyFieldListFilter), "starts_on")
    list_select_related = ("store",)
    search_fields = ("name", "note")
    date_hierarchy = "starts_on"
    fields = (
        "store",
        "name",
        ("starts_on", "ends_on"),
        "preview_days",
        "percent_off",
        "category_prefixes",
        "products",
        "note",
        "created_at",
    )
    readonly_fields = ("created_at",)
    autocomplete_fields = ("products",)
    manager_rights = frozenset({VIEW, ADD, CHANGE, DELETE})
