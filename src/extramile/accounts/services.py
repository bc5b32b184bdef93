"""Use cases for stores and staff."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from extramile.accounts.models import (
    Absence,
    ApiToken,
    ClientHandover,
    Role,
    Store,
    User,
    absence_problems,
    is_working,
)
from extramile.clients.models import Client, Note
from extramile.orders.models import Order

# Ids per query, well under SQLite's limit of variables.
CHUNK = 500


@transaction.atomic
def create_staff_user(
    *,
    username: str,
    password: str | None,
    role: Role | str = Role.ASSOCIATE,
    store: Store | None = None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
) -> User:
    """Create a member of staff with a hashed password (or none, for API-only users)."""
    user = User(
        username=username,
        role=role,
        store=store,
        first_name=first_name,
        last_name=last_name,
        email=email,
    )
    user.full_clean(exclude=["password"])
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user


def revoke_api_tokens(tokens: QuerySet[ApiToken], *, at: dt.datetime | None = None) -> int:
    """Revoke the live tokens among these; return how many were revoked."""
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=at or timezone.now())


# --- Continuity: an associate leaves, their clients are handed over -------------------------

# Open and snoozed actions are still to be done, so they follow the client to the new owner.
STILL_TO_DO = ("open", "snoozed")


class DeactivationRefused(ValueError):
    """A deactivation that cannot be done as asked; the message says why."""


@dataclass(frozen=True)
class ClientMove:
    """One client of the leaver, the colleague who takes them, and why that colleague."""

    client: Client
    to: User
    why: str


@dataclass
class HandoverPlan:
    """Who takes each client of a leaving associate; `unplaced` when nobody can."""

    leaver: User
    moves: list[ClientMove] = field(default_factory=list)
    unplaced: list[Client] = field(default_factory=list)

    def by_colleague(self) -> list[tuple[User, list[ClientMove]]]:
        """The moves grouped by the colleague who takes the clients, most clients first."""
        groups: dict[int, tuple[User, list[ClientMove]]] = {}
        for move in self.moves:
            groups.setdefault(move.to.pk, (move.to, []))[1].append(move)
        return sorted(groups.values(), key=lambda g: (-len(g[1]), g[0].username))


@dataclass
class DeactivationResult:
    """What a deactivation did: the plan carried out, actions moved and handover actions made."""

    plan: HandoverPlan
    deactivated: bool = False
    moved_actions: int = 0
    handover_actions: list[Any] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Say whether anything changed (a second deactivation changes nothing)."""
        return self.deactivated or bool(self.plan.moves) or self.moved_actions > 0


def colleagues_of(leaver: User) -> list[User]:
    """The active colleagues who may take the leaver's clients: associates, else managers."""
    if leaver.store_id is None:
        return []
    working = User.objects.filter(
        store_id=leaver.store_id, is_active=True, deactivated_at__isnull=True
    ).exclude(pk=leaver.pk)
    for role in (Role.ASSOCIATE, Role.MANAGER):
        found = list(working.filter(role=role).order_by("username"))
        if found:
            return found
    return []


def client_counts(users: Iterable[User]) -> dict[int, int]:
    """How many current clients each member of staff has as primary associate."""
    ids = [user.pk for user in users]
    counts = dict.fromkeys(ids, 0)
    rows = (
        Client.objects.current()
        .filter(primary_associate_id__in=ids)
        .values_list("primary_associate_id")
        .annotate(n=Count("id"))
    )
    counts.update(dict(rows))
    return counts


def _service_history(client_ids: list[int], colleague_ids: list[int]) -> dict[int, Counter[int]]:
    """For each client, how often each colleague served them: orders, done actions, notes."""
    from extramile.moments.models import Action, ActionState

    served: dict[int, Counter[int]] = defaultdict(Counter)
    for start in range(0, len(client_ids), CHUNK):
        ids = client_ids[start : start + CHUNK]
        sources = [
            Order.objects.filter(client_id__in=ids, associate_id__in=colleague_ids).values_list(
                "client_id", "associate_id"
            ),
            Action.objects.filter(
                client_id__in=ids, state=ActionState.DONE, completed_by_id__in=colleague_ids
            ).values_list("client_id", "completed_by_id"),
            Note.objects.filter(client_id__in=ids, author_id__in=colleague_ids).values_list(
                "client_id", "author_id"
            ),
        ]
        for rows in sources:
            for client_id, colleague_id in rows:
                served[client_id][colleague_id] += 1
    return served


def plan_handover(leaver: User, *, to: User | None = None) -> HandoverPlan:
    """Decide who takes each client of the leaver, without writing anything.

    Each client goes to a colleague of the same store: one who already served them (sold to
    them, did an action for them, wrote a note) when there is one, the one of those with the
    fewest clients; else the colleague with the fewest clients. Clients served before are placed
    first, so the others even out the load. `to` sends every client to that one colleague.
    """
    clients = list(
        Client.objects.filter(primary_associate=leaver).select_related("store").order_by("id")
    )
    plan = HandoverPlan(leaver=leaver)
    if not clients:
        return plan
    if to is not None:
        check_successor(leaver, to)
        plan.moves = [ClientMove(client, to, "named as their successor") for client in clients]
        return plan
    colleagues = colleagues_of(leaver)
    if not colleagues:
        plan.unplaced = clients
        return plan
    by_id = {user.pk: user for user in colleagues}
    load = client_counts(colleagues)
    served = _service_history([c.pk for c in clients], list(by_id))
    known = [c for c in clients if served.get(c.pk)]
    # The most served first: they have the strongest claim on the colleague who knows them.
    known.sort(key=lambda c: (-sum(served[c.pk].values()), c.pk))
    for client in known:
        history = served[client.pk]
        pick = min(history, key=lambda pk: (load[pk], -history[pk], by_id[pk].username))
        load[pick] += 1
        plan.moves.append(ClientMove(client, by_id[pick], "served them before"))
    for client in clients:
        if client.pk in served:
            continue
        pick = min(by_id, key=lambda pk: (load[pk], by_id[pk].username))
        load[pick] += 1
        plan.moves.append(ClientMove(client, by_id[pick], "fewest clients"))
    plan.moves.sort(key=lambda move: move.client.pk)
    return plan


def check_successor(leaver: User, to: User) -> None:
    """Refuse a successor who is the leaver, inactive, an admin or of another store."""
    if to.pk == leaver.pk:
        raise DeactivationRefused(f"{leaver.username} cannot hand their clients to themselves.")
    if not is_working(to):
        raise DeactivationRefused(f"{to.username} is deactivated; choose an active colleague.")
    if to.store_id != leaver.store_id or to.role == Role.ADMIN:
        where = leaver.store.name if leaver.store else "no store"
        raise DeactivationRefused(f"{to.username} does not work at {where}.")


def check_may_deactivate(actor: User | None, leaver: User) -> None:
    """Refuse unless the actor is an admin, or a manager of the leaver's store (not themselves)."""
    if actor is None:
        return  # the command line and events: whoever runs them is trusted like an admin
    if actor.pk == leaver.pk:
        raise PermissionDenied("You cannot deactivate yourself.")
    if actor.role == Role.ADMIN and is_working(actor):
        return
    if (
        actor.role == Role.MANAGER
        and is_working(actor)
        and actor.store_id is not None
        and actor.store_id == leaver.store_id
        and leaver.role != Role.ADMIN
    ):
        return
    raise PermissionDenied("Only admins, and managers of their store, deactivate staff.")


def hand_over_clients(
    leaver: User, *, at: dt.datetime, to: User | None = None, by: User | None = None
) -> tuple[HandoverPlan, int]:
    """Reassign the leaver's clients and move their open actions; return the plan and the count.

    Nothing is deleted: orders, notes and done actions keep their associate; each move is
    recorded as a ClientHandover. Run again, it finds no client left and changes nothing.
    """
    # Lock the clients, so a client edited meanwhile is not half moved.
    list(Client.objects.select_for_update().filter(primary_associate=leaver).values_list("pk"))
    plan = plan_handover(leaver, to=to)
    by_new_owner: dict[int, list[int]] = defaultdict(list)
    owners = {}
    for move in plan.moves:
        by_new_owner[move.to.pk].append(move.client.pk)
        owners[move.client.pk] = move.to
    for owner_id, client_ids in by_new_owner.items():
        taken = Client.objects.filter(pk__in=client_ids)
        taken.update(primary_associate_id=owner_id, updated_at=at)
    ClientHandover.objects.bulk_create(
        ClientHandover(
            store_id=move.client.store_id,
            client=move.client,
            from_associate=leaver,
            to_associate=move.to,
            why=move.why,
            handed_over_at=at,
            handed_over_by=by,
        )
        for move in plan.moves
    )
    moved = _move_open_actions(leaver, owners=owners)
    return plan, moved


def _move_open_actions(leaver: User, *, owners: dict[int, User]) -> int:
    """Give the leaver's open actions to each client's new owner, else their current associate."""
    from extramile.moments.models import Action

    rows = list(
        Action.objects.select_for_update(of=("self",))
        .filter(associate=leaver, state__in=STILL_TO_DO)
        .values_list("pk", "client_id", "client__primary_associate_id")
    )
    if not rows:
        return 0
    colleagues = colleagues_of(leaver)
    load = client_counts(colleagues)
    working = {user.pk for user in colleagues} | {user.pk for user in owners.values()}
    targets: dict[int, list[int]] = defaultdict(list)
    for pk, client_id, primary_id in rows:
        if client_id in owners:
            targets[owners[client_id].pk].append(pk)
        elif primary_id is not None and primary_id in working:
            targets[primary_id].append(pk)
        elif colleagues:
            pick = min(colleagues, key=lambda u: (load[u.pk], u.username))
            targets[pick.pk].append(pk)
    for owner_id, ids in targets.items():
        Action.objects.filter(pk__in=ids).update(associate_id=owner_id)
    return sum(len(ids) for ids in targets.values())


def deactivation_event_id(leaver: User) -> str:
    """The id of the event that records the leaver's deactivation: one per deactivation."""
    assert leaver.deactivated_at is not None
    return f"associate.deactivated:{leaver.username}:{leaver.deactivated_at:%Y%m%dT%H%M%S%z}"


def deactivate_associate(
    leaver: User,
    *,
    by: User | None = None,
    to: User | None = None,
    now: dt.datetime | None = None,
    source: str = "ui",
) -> DeactivationResult:
    """Deactivate a member of staff and hand their clients over, in one transaction.

    Every record stays: they can no longer sign in or use the API, each of their clients goes
    to a colleague of the same store (plan_handover), their open actions follow the clients,
    and the `associate.deactivated` event is recorded and processed at once, as if it had come
    through the API, so its detector gives each new owner a handover action. Run again, it
    changes nothing. When nobody at the store can take the clients, they are deactivated all
    the same (access goes first) and their clients wait, listed in `plan.unplaced`, for a run
    once a colleague is there. Raise PermissionDenied or DeactivationRefused, before any write.
    """
    from extramile.moments.detectors import run_event_detectors
    from extramile.moments.events import process_event, store_event
    from extramile.moments.models import EventType
    from extramile.moments.proposals import propose_actions

    now = now or timezone.now()
    check_may_deactivate(by, leaver)
    if to is not None:
        check_successor(leaver, to)
    with transaction.atomic():
        leaver = (
            User.objects.select_for_update(of=("self",)).select_related("store").get(pk=leaver.pk)
        )
        result = DeactivationResult(plan=HandoverPlan(leaver=leaver))
        if leaver.is_active or leaver.deactivated_at is None:
            leaver.is_active = False
            leaver.deactivated_at = leaver.deactivated_at or now
            leaver.save(update_fields=["is_active", "deactivated_at"])
            revoke_api_tokens(leaver.api_tokens.all(), at=now)
            result.deactivated = True
        result.plan, result.moved_actions = hand_over_clients(leaver, at=now, to=to, by=by)
        if result.changed:
            event, _ = store_event(
                event_id=deactivation_event_id(leaver),
                type=EventType.ASSOCIATE_DEACTIVATED,
                occurred_at=leaver.deactivated_at,
                data={"associate": {"username": leaver.username}},
                source=source,
                store=leaver.store,
            )
            proposals = process_event(event, now=now)
            if proposals is None:
                # Recorded before (its clients waited for a colleague): ask its detectors again;
                # the moments already recorded are duplicates and add nothing.
                proposals = propose_actions(run_event_detectors(event, now=now), now=now)
            result.handover_actions = [*proposals.created, *proposals.merged]
    return result


# --- Absences and the team at a glance -------------------------------------------------------


class StaffState:
    """Where a member of staff stands today."""

    ACTIVE = "active"
    AWAY = "away"
    DEACTIVATED = "deactivated"


@transaction.atomic
def record_absence(
    *,
    user: User,
    starts_on: dt.date,
    ends_on: dt.date,
    backup: User,
    note: str = "",
    by: User | None = None,
) -> Absence:
    """Record that an associate is away, with the colleague who covers; raise ValidationError."""
    if by is not None:
        check_may_manage(by, user)
    errors = absence_problems(user=user, backup=backup, starts_on=starts_on, ends_on=ends_on)
    if not is_working(user):
        errors.setdefault("user", f"{user.display_name} is deactivated.")
    if errors:
        raise ValidationError(errors)
    absence = Absence(
        user=user, starts_on=starts_on, ends_on=ends_on, backup=backup, note=note, created_by=by
    )
    absence.full_clean()
    absence.save()
    return absence


def check_may_manage(actor: User, member: User) -> None:
    """Refuse unless the actor is an admin or a manager of the member's store."""
    if not is_working(actor):
        raise PermissionDenied("Deactivated staff manage nobody.")
    if actor.role == Role.ADMIN:
        return
    if actor.role == Role.MANAGER and actor.store_id and actor.store_id == member.store_id:
        return
    raise PermissionDenied("Only admins, and managers of their store, manage staff.")


@dataclass(frozen=True)
class StaffRow:
    """One member of staff as the team page, the API and the command line list them."""

    user: User
    state: str
    clients: int
    absences: list[Absence]
    today: dt.date

    @property
    def away_now(self) -> Absence | None:
        """The absence that covers today, if any."""
        return next((a for a in self.absences if a.covers(self.today)), None)

    def as_json(self) -> dict[str, Any]:
        """The row as a JSON-ready object."""
        user = self.user
        return {
            "username": user.username,
            "name": user.get_full_name(),
            "role": user.role,
            "store": user.store.code if user.store else None,
            "state": self.state,
            "clients": self.clients,
            "deactivated_at": user.deactivated_at.isoformat() if user.deactivated_at else None,
            "absences": [
                {
                    "starts_on": a.starts_on.isoformat(),
                    "ends_on": a.ends_on.isoformat(),
                    "backup": a.backup.username,
                    "note": a.note,
                }
                for a in self.absences
            ],
        }


def staff_overview(staff: QuerySet[User], *, today: dt.date) -> list[StaffRow]:
    """List staff with their state today, their number of clients and absences not yet over."""
    users = list(staff.select_related("store").order_by("store__name", "username"))
    counts = client_counts(users)
    absences: dict[int, list[Absence]] = defaultdict(list)
    for absence in (
        Absence.objects.filter(user__in=users, ends_on__gte=today)
        .select_related("backup")
        .order_by("starts_on", "id")
    ):
        absences[absence.user_id].append(absence)
    rows = []
    for user in users:
        theirs = absences.get(user.pk, [])
        if not is_working(user):
            state = StaffState.DEACTIVATED
        elif any(a.covers(today) for a in theirs):
            state = StaffState.AWAY
        else:
            state = StaffState.ACTIVE
        rows.append(
            StaffRow(user=user, state=state, clients=counts[user.pk], absences=theirs, today=today)
        )
    return rows


def store_today(store: Store | None, now: dt.datetime | None = None) -> dt.date:
    """Today's date where the store is."""
    now = now or timezone.now()
    zone = ZoneInfo(store.time_zone if store and store.time_zone else "UTC")
    return now.astimezone(zone).date()
