"""Which store, associate and days a user asks for, and may see.

One rule for the page, the CSV files and the API: an admin picks any store (the first by name
when none is asked for); a manager sees their own store and may narrow it to one associate of
it; an associate sees only their own numbers. Asking for another store, or another associate
than oneself as an associate, is answered as if it did not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from extramile.accounts.models import Role, Store, User
from extramile.insight.services import Period, default_period, store_zone

MAX_DAYS = 3 * 366


class NotVisible(LookupError):
    """The store or associate asked for does not exist for this user."""


class BadPeriod(ValueError):
    """The dates asked for are not a period."""


@dataclass(frozen=True)
class Filters:
    """What one dashboard shows: a store, maybe one associate, a period."""

    store: Store
    associate: User | None
    period: Period

    def query(self) -> dict[str, str]:
        """The filters as query parameters, for links to the CSV files."""
        params = {
            "store": self.store.code,
            "from": self.period.first_day.isoformat(),
            "to": self.period.last_day.isoformat(),
        }
        if self.associate is not None:
            params["associate"] = self.associate.username
        return params


def visible_stores(user: User) -> list[Store]:
    """The stores whose numbers this user may read."""
    if user.role == Role.ADMIN:
        return list(Store.objects.order_by("name"))
    return [user.store] if user.store is not None else []


def associates_of(store: Store) -> list[User]:
    """The staff of a store who own actions: its associates and managers, by name."""
    return sorted(
        User.objects.filter(store=store, role__in=[Role.ASSOCIATE, Role.MANAGER]),
        key=lambda u: u.display_name.lower(),
    )


def _date(value: str | None, name: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadPeriod(f"{name} is not a date like 2026-03-01: {value!r}.") from None


def resolve_filters(
    user: User,
    *,
    store: str | None,
    associate: str | None,
    date_from: str | None,
    date_to: str | None,
    now: dt.datetime,
) -> Filters:
    """Turn the asked-for store code, associate username and dates into filters the user may see."""
    stores = visible_stores(user)
    if not stores:
        raise NotVisible("No store to show.")
    chosen = stores[0]
    if store:
        found = [s for s in stores if s.code == store]
        if not found:
            raise NotVisible(f"No store {store!r}.")
        chosen = found[0]
    who: User | None = None
    if user.role == Role.ASSOCIATE:
        if associate and associate != user.username:
            raise NotVisible(f"No associate {associate!r}.")
        who = user
    elif associate:
        who = User.objects.filter(store=chosen, username=associate).first()
        if who is None:
            raise NotVisible(f"No associate {associate!r}.")
    default = default_period(chosen, now=now)
    first = _date(date_from, "from") or default.first_day
    last = _date(date_to, "to") or default.last_day
    if date_from and not date_to and first > last:
        last = first
    if first > last:
        raise BadPeriod("The period ends before it begins.")
    if (last - first).days > MAX_DAYS:
        raise BadPeriod("A period is at most three years.")
    return Filters(store=chosen, associate=who, period=Period(first, last, store_zone(chosen)))
