"""The client's loyalty section, rendered into the client profile by one include."""

from __future__ import annotations

from typing import Any

from django import template

from extramile.clients.models import Client
from extramile.loyalty.views import section_context

register = template.Library()


@register.inclusion_tag("loyalty/_client_loyalty.html", takes_context=True)
def client_loyalty_section(context: template.Context, client: Client) -> dict[str, Any]:
    """Render the client's stage, surveys and referrals, with the referral form."""
    return {**section_context(client), "csrf_token": context.get("csrf_token")}
