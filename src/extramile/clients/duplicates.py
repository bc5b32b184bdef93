"""Finding clients of one store recorded twice (same email or phone) and merging them."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from scipy.cluster.hierarchy import DisjointSet

from extramile.accounts.models import User
from extramile.clients.models import (
    Client,
    ClientStatus,
    ContactKind,
    ContactPoint,
    ImportantDate,
    Note,
    Preference,
    PreferenceSource,
    Relation,
    Size,
)
from extramile.clients.services import InvalidContact, normalize_email, normalize_phone
from extramile.orders.models import Order


class MergeError(ValueError):
    """Clients that cannot be merged, with the reason in plain words."""


# --- Finding ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DuplicateCandidate:
    """One client of a group, with what the choice of the record to keep looks at."""

    id: int
    name: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    order_count: int
    created_at: dt.datetime

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view."""
        return {
            "id": self.id,
            "name": self.name,
            "emails": list(self.emails),
            "phones": list(self.phones),
            "orders": self.order_count,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class DuplicateGroup:
    """Clients of one store linked by shared emails or phones; `keep` absorbs the others."""

    store_id: int
    store_code: str
    keep: DuplicateCandidate
    others: tuple[DuplicateCandidate, ...]
    shared: tuple[str, ...] = field(default=())

    @property
    def members(self) -> tuple[DuplicateCandidate, ...]:
        """The kept client first, then the others."""
        return (self.keep, *self.others)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view."""
        return {
            "store": self.store_code,
            "shared": list(self.shared),
            "keep": self.keep.id,
            "merge": [other.id for other in self.others],
            "clients": [member.as_dict() for member in self.members],
        }


def _email_key(raw: str) -> str:
    try:
        return normalize_email(raw)
    except InvalidContact:
        return ""


def _phone_key(raw: str, cache: dict[str, str]) -> str:
    # Parsing is the slow part (~30 µs a number); the same raw value is parsed once.
    if raw not in cache:
        try:
            cache[raw] = normalize_phone(raw)
        except InvalidContact:
            cache[raw] = ""
    return cache[raw]


def _keep_first(candidate: DuplicateCandidate) -> tuple[int, dt.datetime, int]:
    # Most orders first, then the oldest record, then the lowest id.
    return (-candidate.order_count, candidate.created_at, candidate.id)


def _read_contacts(
    current: QuerySet[Client],
) -> tuple[dict[int, Any], dict[int, list[str]], dict[int, list[str]]]:
    """Return the clients by id, and their normalised emails and phones (primary first)."""
    # A correlated count rather than a join, so that a queryset filtered through a join (tags)
    # cannot inflate it; it reads only the (client, placed_at) index of orders.
    order_count = Subquery(
        Order.objects.filter(client=OuterRef("pk"))
        .order_by()
        .values("client")
        .annotate(n=Count("*"))
        .values("n")
    )
    rows = (
        current.annotate(order_count=Coalesce(order_count, 0))
        .order_by()
        .values_list(
            "id",
            "store_id",
            "store__code",
            "first_name",
            "last_name",
            "email",
            "phone",
            "created_at",
            "order_count",
            named=True,
        )
    )
    clients = {row.id: row for row in rows}
    emails: dict[int, list[str]] = defaultdict(list)
    phones: dict[int, list[str]] = defaultdict(list)
    phone_cache: dict[str, str] = {}
    for row in clients.values():
        emails[row.id].append(_email_key(row.email))
        phones[row.id].append(_phone_key(row.phone, phone_cache))
    points = ContactPoint.objects.filter(
        client__in=current.values("id").order_by(),
        kind__in=[ContactKind.EMAIL, ContactKind.PHONE],
    ).values_list("client_id", "kind", "value")
    for client_id, kind, value in points:
        if client_id not in clients:  # a client added between the two queries
            continue
        if kind == ContactKind.EMAIL:
            emails[client_id].append(_email_key(value))
        else:
            phones[client_id].append(_phone_key(value, phone_cache))
    return clients, emails, phones


def find_duplicate_groups(queryset: QuerySet[Client]) -> list[DuplicateGroup]:
    """Return the groups of current clients of one store that share an email or a phone.

    Two queries read every current client (with its store code and order count) and their email
    and phone contact points; values are normalised again (those that do not parse are
    ignored), clients of one store sharing one are linked, and links are followed (A shares an
    email with B, B a phone with C: one group of three).
    """
    clients, emails, phones = _read_contacts(queryset.exclude(status=ClientStatus.MERGED))

    # Who holds each value, per store: a store never shares clients with another.
    holders: dict[tuple[int, str], set[int]] = defaultdict(set)
    for values in (emails, phones):
        for client_id, keys in values.items():
            for key in keys:
                if key:
                    holders[(clients[client_id].store_id, key)].add(client_id)
    shared_keys = {key: ids for key, ids in holders.items() if len(ids) > 1}

    # Union-find from SciPy rather than a hand-written one.
    links: DisjointSet = DisjointSet()
    for ids in shared_keys.values():
        first, *rest = sorted(ids)
        links.add(first)
        for other in rest:
            links.add(other)
            links.merge(first, other)
    shared_by_root: dict[int, set[str]] = defaultdict(set)
    for (_store_id, key), ids in shared_keys.items():
        shared_by_root[links[next(iter(ids))]].add(key)

    def candidate(client_id: int) -> DuplicateCandidate:
        row = clients[client_id]
        return DuplicateCandidate(
            id=client_id,
            name=f"{row.first_name} {row.last_name}".strip(),
            emails=tuple(dict.fromkeys(e for e in emails[client_id] if e)),
            phones=tuple(dict.fromkeys(p for p in phones[client_id] if p)),
            order_count=row.order_count,
            created_at=row.created_at,
        )

    groups = []
    for subset in links.subsets():
        keep, *others = sorted((candidate(client_id) for client_id in subset), key=_keep_first)
        groups.append(
            DuplicateGroup(
                store_id=clients[keep.id].store_id,
                store_code=clients[keep.id].store__code,
                keep=keep,
                others=tuple(others),
                shared=tuple(sorted(shared_by_root[links[keep.id]])),
            )
        )
    groups.sort(key=lambda group: (group.store_code, group.keep.id))
    return groups


# --- Merging ------------------------------------------------------------------------------------

# Client fields filled on the kept client when blank there, in this order.
_FILLABLE = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "address",
    "language",
    "time_zone",
    "primary_associate",
)
# Identities in other systems: unique, so moved (cleared on the other record first) rather than
# copied, and only when the kept client has none.
_IDENTITIES = ("external_ref", "shopify_id")

# Relations to Client with a merge rule of their own below; every other one is history that
# simply moves to the kept client (orders, notes, consents, needs, and models added later).
_OWN_RULES = {
    (Client, "merged_into"),
    (ContactPoint, "client"),
    (Size, "client"),
    (Preference, "client"),
    (ImportantDate, "client"),
    (Relation, "client"),
    (Relation, "other"),
}


@dataclass
class _MergeLog:
    """What a merge did that the note on the kept client should tell."""

    filled: list[str] = field(default_factory=list)
    kept_aside: list[str] = field(default_factory=list)
    moved: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    stayed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    dropped_relations: int = 0


def _history_relations() -> list[tuple[type[models.Model], str]]:
    """Return (model, field name) of every relation to Client that moves as plain history."""
    found = []
    for rel in Client._meta.related_objects:
        model, name = rel.related_model, rel.field.name
        assert not isinstance(model, str), "models are loaded"
        if (model, name) in _OWN_RULES:
            continue
        if rel.many_to_many:
            raise MergeError(
                f"{model.__name__}.{name} links to clients many-to-many and has no merge rule; "
                "add one in extramile/clients/duplicates.py."
            )
        found.append((model, name))
    return found


def _unique_with(model: type[models.Model], field_name: str) -> bool:
    """Say whether a unique rule of the model involves this field."""
    if model._meta.get_field(field_name).unique:  # type: ignore[union-attr]
        return True
    if any(field_name in group for group in model._meta.unique_together):
        return True
    return any(
        isinstance(constraint, models.UniqueConstraint) and field_name in constraint.fields
        for constraint in model._meta.constraints
    )


def _move_rows(
    model: type[models.Model], field_name: str, *, keep: Client, other_ids: list[int]
) -> tuple[int, int]:
    """Point the model's rows from the other clients to keep; return (moved, stayed).

    Rows under a unique rule move one at a time, each in a savepoint; a row that would clash
    with one of the kept client's stays with the merged record, still reachable through it.
    """
    rows = model._default_manager.filter(**{f"{field_name}__in": other_ids})
    if not _unique_with(model, field_name):
        return rows.update(**{field_name: keep}), 0
    moved = stayed = 0
    for row in rows:
        try:
            with transaction.atomic():
                setattr(row, field_name, keep)
                row.save(update_fields=[field_name])
            moved += 1
        except IntegrityError:
            stayed += 1
    return moved, stayed


def _contact_value(kind: str, raw: str) -> str:
    """Normalise an email or phone, keeping the raw value when it does not parse."""
    try:
        value = normalize_email(raw) if kind == ContactKind.EMAIL else normalize_phone(raw)
    except InvalidContact:
        value = raw.strip()
    return value


def _fill_blank_fields(keep: Client, other: Client, log: _MergeLog) -> None:
    changed = []
    for name in _FILLABLE:
        attname = keep._meta.get_field(name).attname  # type: ignore[union-attr]
        if not getattr(keep, attname) and getattr(other, attname):
            setattr(keep, attname, getattr(other, attname))
            changed.append(name)
    for name in _IDENTITIES:
        value = getattr(other, name)
        if getattr(keep, name) or not value:
            continue
        # Both fields are unique (per store for external_ref): clear the other record first.
        setattr(other, name, None if name == "shopify_id" else "")
        other.save(update_fields=[name, "updated_at"])
        setattr(keep, name, value)
        changed.append(name)
    if changed:
        keep.save(update_fields=[*changed, "updated_at"])
        log.filled.extend(f"{name} from #{other.pk}" for name in changed)


def _move_contact_points(keep: Client, other: Client, log: _MergeLog) -> None:
    primary: dict[str, str] = {ContactKind.EMAIL: keep.email, ContactKind.PHONE: keep.phone}
    have = set(keep.contact_points.values_list("kind", "value"))
    for point in other.contact_points.all():
        if (point.kind, point.value) in have or primary.get(point.kind) == point.value:
            log.stayed["contact points"] += 1
            continue
        point.client = keep
        point.save(update_fields=["client"])
        have.add((point.kind, point.value))
        log.moved["contact points"] += 1
    for kind, raw in ((ContactKind.EMAIL, other.email), (ContactKind.PHONE, other.phone)):
        value = _contact_value(kind, raw)
        if value and value != primary[kind] and (kind, value) not in have:
            ContactPoint.objects.create(client=keep, kind=kind, value=value)
            have.add((kind, value))
            log.moved["contact points"] += 1


def _move_sizes(keep: Client, other: Client, log: _MergeLog) -> None:
    # Sizes carry no date, so "the most recent" cannot be told: the kept client's size wins and
    # a different one is written into the merge note.
    kept = {size.category.casefold(): size for size in keep.sizes.all()}
    for size in other.sizes.all():
        mine = kept.get(size.category.casefold())
        if mine is None:
            size.client = keep
            size.save(update_fields=["client"])
            kept[size.category.casefold()] = size
            log.moved["sizes"] += 1
        else:
            log.stayed["sizes"] += 1
            if mine.size != size.size:
                log.kept_aside.append(
                    f"size {size.category} {size.size} from #{other.pk} (kept {mine.size})"
                )


def _preference_rank(preference: Preference) -> tuple[bool, dt.datetime]:
    # A preference the client stated beats one observed in purchases; then the more recent.
    return (preference.source == PreferenceSource.STATED, preference.recorded_at)


def _move_preferences(keep: Client, other: Client, log: _MergeLog) -> None:
    kept = {(p.dimension, p.value.casefold()): p for p in keep.preferences.all()}
    for preference in other.preferences.all():
        mine = kept.get((preference.dimension, preference.value.casefold()))
        if mine is None:
            preference.client = keep
            preference.save(update_fields=["client"])
            kept[(preference.dimension, preference.value.casefold())] = preference
            log.moved["preferences"] += 1
            continue
        log.stayed["preferences"] += 1
        winner, loser = (
            (preference, mine)
            if _preference_rank(preference) > _preference_rank(mine)
            else (mine, preference)
        )
        if loser.likes != winner.likes:
            log.kept_aside.append(
                f"{'likes' if loser.likes else 'dislikes'} {loser.dimension} {loser.value} "
                f"({loser.source}) from #{loser.client_id}, "
                f"outweighed by {'likes' if winner.likes else 'dislikes'} ({winner.source})"
            )
        if winner is preference:
            mine.likes, mine.source = preference.likes, preference.source
            mine.recorded_at = preference.recorded_at
            mine.save(update_fields=["likes", "source", "recorded_at"])


def _move_important_dates(keep: Client, other: Client, log: _MergeLog) -> None:
    # The same date twice is skipped; a twin without a year only lends its year.
    kept = list(keep.important_dates.all())
    for date in other.important_dates.all():
        twin = next(
            (
                mine
                for mine in kept
                if (mine.kind, mine.label.casefold(), mine.month, mine.day)
                == (date.kind, date.label.casefold(), date.month, date.day)
                and (mine.year is None or date.year is None or mine.year == date.year)
            ),
            None,
        )
        if twin is None:
            date.client = keep
            date.save(update_fields=["client"])
            kept.append(date)
            log.moved["important dates"] += 1
            continue
        log.stayed["important dates"] += 1
        if twin.year is None and date.year is not None:
            twin.year = date.year
            twin.save(update_fields=["year"])


def _move_relations(keep: Client, other_ids: list[int], log: _MergeLog) -> None:
    """Re-point relations from and to the other clients; drop self-relations and repeats."""

    def end(client_id: int) -> int:
        return keep.pk if client_id in other_ids else client_id

    involved = Q(client_id__in=other_ids) | Q(other_id__in=other_ids)
    existing = set(
        Relation.objects.filter(Q(client=keep) | Q(other=keep))
        .exclude(involved)
        .values_list("client_id", "other_id", "kind")
    )
    for relation in Relation.objects.filter(involved).order_by("created_at", "id"):
        key = (end(relation.client_id), end(relation.other_id), relation.kind)
        if key[0] == key[1] or key in existing:
            relation.delete()
            log.dropped_relations += 1
            continue
        relation.client_id, relation.other_id = key[0], key[1]
        relation.save(update_fields=["client", "other"])
        existing.add(key)
        log.moved["relations"] += 1


def _check_mergeable(keep: Client, others: list[Client]) -> None:
    for client in (keep, *others):
        if client.status == ClientStatus.MERGED:
            raise MergeError(
                f"Client #{client.pk} was already merged into #{client.merged_into_id}."
            )
    for other in others:
        if other.pk == keep.pk:
            raise MergeError(f"Client #{keep.pk} cannot be merged into itself.")
        if other.store_id != keep.store_id:
            raise MergeError(
                f"Client #{other.pk} belongs to another store than #{keep.pk}; "
                "clients are never merged across stores."
            )


def _merge_note(
    keep: Client, others: list[Client], by: User | None, at: dt.datetime, log: _MergeLog
) -> str:
    ids = ", ".join(
        f"#{other.pk}" + (f" ({other.full_name})" if other.full_name else "") for other in others
    )
    who = by.display_name if by is not None else "system"
    lines = [f"Merged {ids} into this record on {at:%Y-%m-%d %H:%M} UTC by {who}."]
    moved = ", ".join(f"{what}: {n}" for what, n in log.moved.items() if n)
    if moved:
        lines.append(f"Moved: {moved}.")
    if log.filled:
        lines.append("Filled from the merged records: " + ", ".join(log.filled) + ".")
    for kept_aside in log.kept_aside:
        lines.append(f"Not carried over: {kept_aside}.")
    stayed = ", ".join(f"{what}: {n}" for what, n in log.stayed.items() if n)
    if stayed:
        lines.append(f"Already on this record, left with the merged ones: {stayed}.")
    if log.dropped_relations:
        lines.append(
            f"Dropped {log.dropped_relations} relation(s) between the merged records "
            "or repeating one of this record's."
        )
    return "\n".join(lines)


def merge_clients(*, keep: Client, others: list[Client], by: User | None) -> Client:
    """Merge the other clients into keep, in one transaction, without losing history.

    Everything the others own moves to keep (orders, notes, the full consent history — the
    latest decision per channel stays in force — needs, and any other record pointing to a
    client); contact points, sizes, preferences, important dates and relations move unless
    keep already holds the same (see the `_move_*` helpers); tags are united; keep's blank
    fields are filled from the others. The others are not deleted: they become status "merged"
    with merged_into=keep, so history and external ids still lead to keep. A note on keep
    records the merge. Returns keep, read again from the database.
    """
    other_ids = list(dict.fromkeys(other.pk for other in others))
    if not other_ids:
        return keep
    history = _history_relations()
    at = timezone.now()
    with transaction.atomic():
        locked = Client.objects.select_for_update().in_bulk([keep.pk, *other_ids])
        missing = sorted({keep.pk, *other_ids} - set(locked))
        if missing:
            raise MergeError(f"No client #{missing[0]}.")
        keep = locked[keep.pk]
        merged = [locked[pk] for pk in other_ids]
        _check_mergeable(keep, merged)
        log = _MergeLog()
        for other in merged:
            _fill_blank_fields(keep, other, log)
            _move_contact_points(keep, other, log)
            _move_sizes(keep, other, log)
            _move_preferences(keep, other, log)
            _move_important_dates(keep, other, log)
            keep.tags.add(*other.tags.all())
        _move_relations(keep, other_ids, log)
        for model, field_name in history:
            moved, stayed = _move_rows(model, field_name, keep=keep, other_ids=other_ids)
            label = str(model._meta.verbose_name_plural)
            log.moved[label] += moved
            log.stayed[label] += stayed
        # Clients merged earlier into one of the others now lead straight to keep.
        Client.objects.filter(merged_into_id__in=other_ids).update(merged_into=keep)
        Client.objects.filter(pk__in=other_ids).update(
            status=ClientStatus.MERGED, merged_into=keep, updated_at=at
        )
        Note.objects.create(
            client=keep, author=by, body=_merge_note(keep, merged, by, at, log), created_at=at
        )
    keep.refresh_from_db()
    return keep


def merge_duplicate_groups(groups: Iterable[DuplicateGroup], *, by: User | None) -> int:
    """Merge each group into its kept client, one transaction a group; return how many merged."""
    merged = 0
    for group in groups:
        clients = Client.objects.in_bulk([member.id for member in group.members])
        merge_clients(
            keep=clients[group.keep.id],
            others=[clients[other.id] for other in group.others],
            by=by,
        )
        merged += len(group.others)
    return merged


def resolve_merged(client: Client) -> Client:
    """Return the client a record was merged into (following a chain), or the client itself."""
    seen = {client.pk}
    while client.merged_into_id is not None and client.status == ClientStatus.MERGED:
        client = Client.objects.get(pk=client.merged_into_id)
        if client.pk in seen:
            raise MergeError(f"Client #{client.pk} is part of a merge cycle.")
        seen.add(client.pk)
    return client
