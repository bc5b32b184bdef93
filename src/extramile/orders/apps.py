"""App configuration for orders."""

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    """Orders, lines and refunds."""

    name = "extramile.orders"
    label = "orders"
    verbose_name = "Orders"
