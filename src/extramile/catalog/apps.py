"""App configuration for the catalog."""

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    """Products, variants, stock and photos."""

    name = "extramile.catalog"
    label = "catalog"
    verbose_name = "Catalog and stock"
