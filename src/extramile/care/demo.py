"""Care's part of the demo: opening hours and an on-call rota for the demo stores, a few promises.

Uptown opens Monday to Saturday 10:00 to 19:00 and Harbour Street also on Sunday afternoons; every
night and closed day between now and two weeks ahead has an associate on call, taking turns.
Two promises are open: Sofia's, due today, and Priya's, due in three days.
"""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from extramile.accounts.models import Store, User
from extramile.care.models import OnCallShift, OpeningHours, Promise
from extramile.clients.models import Client

WEEKDAYS = range(6)  # Monday to Saturday
HOURS = {
    "uptown": {day: (dt.time(10), dt.time(19)) for day in WEEKDAYS},
    "harbour": {
        **{day: (dt.time(10), dt.time(19)) for day in WEEKDAYS},
        6: (dt.time(12), dt.time(17)),
    },
}
ON_CALL = {"uptown": ("sofia", "james"), "harbour": ("priya", "lucas")}
ROTA_DAYS = 14
PROMISES = [
    # (associate, days from today, local time, what was promised)
    ("sofia", 0, dt.time(17, 0), "Call back once the tailor confirms the hem is ready"),
    ("priya", 3, dt.time(12, 0), "Have the navy coat in a 40R sent over from Uptown"),
]


def load(*, now: dt.datetime) -> None:
    """Write the demo stores' opening hours, on-call shifts and open promises."""
    stores = {store.code: store for store in Store.objects.filter(code__in=HOURS)}
    staff = {user.username: user for user in User.objects.filter(store__in=stores.values())}
    for code, store in stores.items():
        OpeningHours.objects.bulk_create(
            OpeningHours(store=store, weekday=day, opens_at=opens, closes_at=closes)
            for day, (opens, closes) in HOURS[code].items()
        )
        team = [staff[name] for name in ON_CALL[code] if name in staff]
        if team:
            OnCallShift.objects.bulk_create(_rota(store, team, HOURS[code], now=now))
    for username, days, clock, text in PROMISES:
        associate = staff.get(username)
        if associate is None:
            continue
        client = (
            Client.objects.current()
            .filter(primary_associate=associate)
            .select_related("store")
            .order_by("id")
            .first()
        )
        if client is None:
            continue
        zone = ZoneInfo(client.store.time_zone or "UTC")
        day = now.astimezone(zone).date() + dt.timedelta(days=days)
        Promise.objects.create(
            store=client.store,
            client=client,
            text=text,
            due_at=dt.datetime.combine(day, clock, tzinfo=zone),
            made_by=associate,
            made_at=now - dt.timedelta(days=2),
        )


def _rota(
    store: Store,
    team: list[User],
    hours: dict[int, tuple[dt.time, dt.time]],
    *,
    now: dt.datetime,
) -> list[OnCallShift]:
    """One shift from each closing to the next opening, from yesterday to ROTA_DAYS ahead."""
    zone = ZoneInfo(store.time_zone or "UTC")
    first = now.astimezone(zone).date() - dt.timedelta(days=1)
    open_days = [
        first + dt.timedelta(days=n)
        for n in range(ROTA_DAYS + 8)
        if (first + dt.timedelta(days=n)).weekday() in hours
    ]
    shifts = []
    for turn, (day, following) in enumerate(itertools.pairwise(open_days)):
        if (day - first).days > ROTA_DAYS:
            break
        starts = dt.datetime.combine(day, hours[day.weekday()][1], tzinfo=zone)
        ends = dt.datetime.combine(following, hours[following.weekday()][0], tzinfo=zone)
        shifts.append(
            OnCallShift(
                store=store, associate=team[turn % len(team)], starts_at=starts, ends_at=ends
            )
        )
    return shifts
