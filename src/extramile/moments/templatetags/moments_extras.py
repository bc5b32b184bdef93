"""Template filters of the Today pages: when an action is due, in the store's own words."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def due_label(value: dt.datetime | None) -> str:
    """Say when something is due: "14:30" today, "yesterday 16:00", else "Mon 2 Mar, 16:00"."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    today = timezone.localdate()
    clock = f"{local:%H:%M}"
    if local.date() == today:
        return clock
    if local.date() == today - dt.timedelta(days=1):
        return f"yesterday {clock}"
    if local.date() == today + dt.timedelta(days=1):
        return f"tomorrow {clock}"
    return f"{local:%a} {local.day} {local:%b}, {clock}"
