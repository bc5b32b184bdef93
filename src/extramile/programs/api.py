"""REST routes of programs, under /api/v1."""

from ninja import Router

router = Router(tags=["programs"])
