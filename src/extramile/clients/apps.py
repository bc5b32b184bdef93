"""App configuration for the client book."""

from django.apps import AppConfig


class ClientsConfig(AppConfig):
    """The client book."""

    name = "extramile.clients"
    label = "clients"
    verbose_name = "Client book"
