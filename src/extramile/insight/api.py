"""REST routes of insight, under /api/v1."""

from ninja import Router

router = Router(tags=["insight"])
