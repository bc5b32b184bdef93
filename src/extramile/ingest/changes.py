"""Copy incoming values onto a record and say which changed, so importing twice changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import models


def assign_changes(obj: models.Model, values: Mapping[str, Any]) -> list[str]:
    """Set each value that differs from the record's; return the names of those fields."""
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, values[name])
    return changed
