"""The REST API under /api/v1: one NinjaAPI that gathers each app's router.

Token-only by design: every route needs `Authorization: Bearer <token>` (ApiTokenAuth) and no
route accepts the session cookie, so a browser cannot be tricked into calling it and CSRF
checks have nothing to protect. The docs (/api/v1/docs) and the schema (/api/v1/openapi.json)
are public; they describe the routes, never data.
"""

from ninja import NinjaAPI

from extramile.accounts.api import ApiTokenAuth
from extramile.catalog.api import router as products_router
from extramile.clients.api import router as clients_router
from extramile.orders.api import router as orders_router

api = NinjaAPI(
    title="extramile API",
    version="1",
    description="Clients, products and orders of the stores you may see. "
    "Authenticate with `Authorization: Bearer <token>` (see `extramile createtoken`). "
    "Lists are paged: `?page=1&page_size=50` (at most 500), answering `{items, count}`.",
    auth=ApiTokenAuth(),
    urls_namespace="api",
)
api.add_router("/clients", clients_router)
api.add_router("/products", products_router)
api.add_router("/orders", orders_router)
api.add_router("/events", "extramile.moments.api.events_router")
api.add_router("/associates", "extramile.accounts.api.associates_router")
api.add_router("/programs", "extramile.programs.api.router")
api.add_router("/loyalty", "extramile.loyalty.api.router")
api.add_router("/insights", "extramile.insight.api.router")
api.add_router("/problems", "extramile.care.api.problems_router")
api.add_router("/promises", "extramile.care.api.promises_router")
