"""Template tags of care: the promise panel shown on an action's page."""

from __future__ import annotations

from typing import Any

from django import template

from extramile.moments.models import Action

register = template.Library()


@register.inclusion_tag("care/_promises.html", takes_context=True)
def promise_panel(context: template.Context, action: Action) -> dict[str, Any]:
    """Show the action's promises and the form to record one."""
    from extramile.care.views import promise_panel as panel

    return {
        **panel(action=action),
        "csrf_token": context.get("csrf_token"),
        "request": context.get("request"),
    }
