"""How the dashboard writes its numbers: shares as percentages, differences in points, money."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()

DASH = "—"


@register.filter
def pct(value: float | None) -> str:
    """A share as a percentage: 0.1234 → 12.3%."""
    return DASH if value is None else f"{value * 100:.1f}%"


@register.filter
def pts(value: float | None) -> str:
    """A difference of shares in percentage points: 0.04 → +4.0 pts."""
    return DASH if value is None else f"{value * 100:+.1f} pts"


@register.filter
def signed_pct(value: float | None) -> str:
    """A relative change as a signed percentage: 0.5 → +50%."""
    return DASH if value is None else f"{value * 100:+.0f}%"


@register.filter
def money(value: Decimal | float | None) -> str:
    """An amount with thousands separators and cents: 1234.5 → 1,234.50."""
    return DASH if value is None else f"{float(value):,.2f}"


@register.filter
def signed_money(value: Decimal | float | None) -> str:
    """A signed amount: -12.5 → -12.50, 3 → +3.00."""
    return DASH if value is None else f"{float(value):+,.2f}"


@register.filter
def minutes(value: float | None) -> str:
    """Minutes to a tenth: 8.25 → 8.2 min."""
    return DASH if value is None else f"{value:,.1f} min"
