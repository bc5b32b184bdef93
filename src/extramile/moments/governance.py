"""The rules of contact: each store's settings, consent per channel, quiet hours, open problems.

Applied when an action is created (moments.proposals) and again when a message is sent
(outreach), so a change of consent or a late hour takes effect at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from zoneinfo import ZoneInfo

from django.db.models import Q

from extramile.accounts.models import Store
from extramile.clients.models import Channel, Client, Consent
from extramile.clients.services import current_consents
from extramile.moments.models import Action, ActionPurpose, ActionState, StoreRules


def rules_for(store: Store) -> StoreRules:
    """Return the store's rules, creating the defaults on first use."""
    rules, _ = StoreRules.objects.get_or_create(store=store)
    return rules


def rules_by_store(store_ids: Iterable[int]) -> dict[int, StoreRules]:
    """Return the rules of several stores by store id, creating the defaults where missing."""
    wanted = set(store_ids)
    found = {r.store_id: r for r in StoreRules.objects.filter(store_id__in=wanted)}
    for store_id in wanted - found.keys():
        found[store_id], _ = StoreRules.objects.get_or_create(store_id=store_id)
    return found


def client_zone(client: Client) -> ZoneInfo:
    """The client's time zone, else their store's, else UTC."""
    return ZoneInfo(client.time_zone or client.store.time_zone or "UTC")


def consented_channels(client: Client, consents: Mapping[str, Consent] | None = None) -> set[str]:
    """The channels the client has said yes to and that we have an address for.

    `consents` are the client's consents in force when already read (consents_in_force).
    """
    if consents is None:
        consents = current_consents(client)
    reachable = {
        Channel.EMAIL: bool(client.email),
        Channel.SMS: bool(client.phone),
        Channel.PHONE: bool(client.phone),
        Channel.MAIL: bool(client.address),
    }
    return {
        channel
        for channel, consent in consents.items()
        if consent.granted and reachable.get(Channel(channel), False)
    }


def in_quiet_hours(client: Client, at: dt.datetime, rules: StoreRules) -> bool:
    """Say whether `at` falls in the quiet hours of the client's own time zone."""
    local = at.astimezone(client_zone(client)).time()
    start, end = rules.quiet_start, rules.quiet_end
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def next_allowed_time(client: Client, at: dt.datetime, rules: StoreRules) -> dt.datetime:
    """Return `at`, or the end of the quiet hours it falls in, in the client's time zone."""
    if not in_quiet_hours(client, at, rules):
        return at
    zone = client_zone(client)
    local = at.astimezone(zone)
    end = local.replace(
        hour=rules.quiet_end.hour, minute=rules.quiet_end.minute, second=0, microsecond=0
    )
    if end <= local:
        end = (local + dt.timedelta(days=1)).replace(
            hour=rules.quiet_end.hour, minute=rules.quiet_end.minute, second=0, microsecond=0
        )
    return end.astimezone(dt.UTC)


def consents_in_force(client_ids: Iterable[int]) -> dict[int, dict[str, Consent]]:
    """The consent in force per channel of several clients, by client id, as current_consents."""
    found: dict[int, dict[str, Consent]] = {pk: {} for pk in client_ids}
    latest_first = Consent.objects.filter(client_id__in=list(found)).order_by("-recorded_at", "-id")
    for consent in latest_first:
        found[consent.client_id].setdefault(consent.channel, consent)
    return found


def has_open_problem(client: Client) -> bool:
    """Say whether the client has a problem that is not resolved (marketing stays silent)."""
    from extramile.care.models import Problem, ProblemStatus

    return Problem.objects.filter(client=client).exclude(status=ProblemStatus.RESOLVED).exists()


def clients_with_open_problems(client_ids: Iterable[int]) -> set[int]:
    """The ids, among `client_ids`, of the clients with a problem that is not resolved."""
    from extramile.care.models import Problem, ProblemStatus

    open_problems = Problem.objects.filter(client_id__in=list(client_ids)).exclude(
        status=ProblemStatus.RESOLVED
    )
    return set(open_problems.order_by().values_list("client_id", flat=True))


def marketing_done_since(rules: StoreRules, *, now: dt.datetime) -> Q:
    """Match the marketing actions done within the cap window that ends at `now`."""
    since = now - dt.timedelta(days=rules.marketing_cap_days)
    return Q(
        purpose=ActionPurpose.MARKETING,
        state=ActionState.DONE,
        completed_at__gt=since,
        completed_at__lte=now,
    )


def marketing_contacts_done(
    client: Client, *, rules: StoreRules, now: dt.datetime, exclude: Action | None = None
) -> list[dt.datetime]:
    """When the client's marketing contacts within the cap window were made, oldest first."""
    done = Action.objects.filter(marketing_done_since(rules, now=now), client=client)
    if exclude is not None:
        done = done.exclude(pk=exclude.pk)
    return [at for at in done.order_by("completed_at").values_list("completed_at", flat=True) if at]
