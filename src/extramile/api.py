"""The REST API under /api/v1: one NinjaAPI that gathers each app's router."""

from ninja import NinjaAPI

from extramile.accounts.api import ApiTokenAuth

api = NinjaAPI(
    title="extramile API",
    version="1",
    description="Clients, products and orders of the stores you may see. "
    "Authenticate with `Authorization: Bearer <token>` (see `extramile createtoken`).",
    auth=ApiTokenAuth(),
    urls_namespace="api",
)
