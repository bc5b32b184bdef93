"""The programs' part of the demo: an offer that meets a need, and two extra-mile stories.

In Uptown, Olivia Grant (S9, the raving fan) runs a catering business, and another of the
store's clients needs a caterer for a summer party: the two make a suggested introduction,
with an ask for each side on the associates' Today. Two stories are in the log, one of them
recognised by the store's manager.
"""

from __future__ import annotations

import datetime as dt

from extramile.accounts.models import Store, User
from extramile.clients.models import Client, ClientStatus
from extramile.clients.services import add_need
from extramile.moments.detectors.service_calls import store_zone
from extramile.programs import services

STORE = "uptown"
FAN_TAG = "story:s9-raving-fan"
NEED = "Needs a caterer for a summer party in the garden, about 40 guests"


def load(*, now: dt.datetime) -> None:
    """Write the demo's offer and need (a suggested introduction) and two stories."""
    store = Store.objects.filter(code=STORE).first()
    if store is None:
        return
    fan = Client.objects.filter(store=store, tags__name=FAN_TAG).order_by("id").first()
    # James's first ordinary client, so that each side has its own associate to ask them.
    candidates = (
        Client.objects.filter(store=store, status=ClientStatus.ACTIVE)
        .exclude(tags__name__startswith="story:")
        .exclude(phone="")
        .order_by("id")
    )
    host = candidates.filter(primary_associate__username="james").first() or candidates.first()
    sofia = User.objects.filter(username="sofia").first()
    james = User.objects.filter(username="james").first()
    manager = User.objects.filter(username="margaret").first()
    if fan is None or host is None or sofia is None or james is None or manager is None:
        return
    add_need(host, text=NEED, at=now - dt.timedelta(days=3))
    services.add_offer(
        fan, text="caterer", keywords="catering chef", by=sofia, now=now - dt.timedelta(hours=2)
    )
    today = now.astimezone(store_zone(store)).date()
    told = services.record_story(
        author=sofia,
        client=fan,
        happened_on=today - dt.timedelta(days=6),
        what_happened=(
            f"{fan.first_name} left her new scarf on the counter on her way to the airport. "
            "I drove it to her gate in time, with a travel-size fabric spray for the trip."
        ),
        now=now - dt.timedelta(days=6),
    )
    services.recognise_story(
        told,
        by=manager,
        note="This is exactly who we are. Thank you, Sofia.",
        now=now - dt.timedelta(days=5),
    )
    services.record_story(
        author=james,
        client=host,
        happened_on=today - dt.timedelta(days=2),
        what_happened=(
            f"{host.first_name}'s hem had to be ready for a Saturday wedding and the tailor was "
            "away: I found a colleague at Harbour who did it on Friday, and took it over myself."
        ),
        now=now - dt.timedelta(days=2),
    )
