"""Template tags of the programs: the offers section of the client profile."""

from __future__ import annotations

from typing import Any

from django import template

from extramile.clients.models import Client

register = template.Library()


@register.inclusion_tag("programs/_offers_section.html", takes_context=True)
def offers_section(context: template.Context, client: Client) -> dict[str, Any]:
    """Render what the client offers other clients, with the form to add one."""
    from extramile.programs.views import offers_context

    return {**offers_context(client), "csrf_token": context.get("csrf_token"), "notice": ""}
