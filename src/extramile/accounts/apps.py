"""App configuration for stores, staff and access."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Stores, staff users, roles and API tokens."""

    name = "extramile.accounts"
    label = "accounts"
    verbose_name = "Stores and staff"
