"""Put what an import says about clients into the client book: match, plan, write in batches.

Shared by the CSV and vCard importers. Each row (or card) is checked and matched on its own;
the writes are then planned against what the book already holds and done in batches of
CHUNK rows with bulk inserts. If a batch fails in the database it is rolled back and written
again row by row, each in its own savepoint, so one bad row never takes good ones with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import NOT_PROVIDED, Model
from django.utils import timezone

from extramile.accounts.models import Store
from extramile.clients.models import (
    Client,
    ClientStatus,
    Consent,
    ContactKind,
    ContactPoint,
    ImportantDate,
    Note,
    Preference,
    PreferenceSource,
    Size,
    Tag,
)
from extramile.ingest.report import ImportReport

CHUNK = 500

# The client columns an import may set; anything else on Client is the app's own business.
CLIENT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "address",
    "language",
    "time_zone",
    "status",
    "primary_associate_id",
)

MonthDay = tuple[int, int, int | None]


@dataclass
class ClientData:
    """What one CSV row or vCard says about a client; what it leaves empty, it does not say."""

    row: int
    store: Store
    external_ref: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    emails: list[tuple[str, str]] = field(default_factory=list)  # every email, with its label
    phones: list[tuple[str, str]] = field(default_factory=list)
    addresses: list[tuple[str, str]] = field(default_factory=list)
    dates: dict[str, MonthDay] = field(default_factory=dict)  # kind -> (month, day, year)
    sizes: dict[str, str] = field(default_factory=dict)
    preferences: dict[tuple[str, str], bool] = field(default_factory=dict)  # -> likes
    tags: list[str] = field(default_factory=list)
    consents: dict[str, bool] = field(default_factory=dict)
    consent_at: dt.datetime | None = None
    consent_source: str = ""
    notes: list[str] = field(default_factory=list)
    note_author_id: int | None = None
    # True for a phone's contacts: fill what the book leaves empty, never overwrite it.
    fill_only: bool = False

    @property
    def all_emails(self) -> list[str]:
        """The primary email and every other one, without repeats."""
        values = [self.fields.get("email") or ""] + [value for value, _ in self.emails]
        return list(dict.fromkeys(v for v in values if v))

    @property
    def all_phones(self) -> list[str]:
        """The primary phone and every other one, without repeats."""
        values = [self.fields.get("phone") or ""] + [value for value, _ in self.phones]
        return list(dict.fromkeys(v for v in values if v))


@dataclass(frozen=True)
class Match:
    """The client a row points at, and which of the row's values found it."""

    client_id: int
    field: str
    value: str


class ClientIndex:
    """The clients of the stores seen so far, by external ref, email and phone."""

    def __init__(self) -> None:
        self._stores: set[int] = set()
        self._by_ref: dict[tuple[int, str], int] = {}
        self._by_email: dict[tuple[int, str], list[tuple[int, str]]] = {}
        self._by_phone: dict[tuple[int, str], list[tuple[int, str]]] = {}
        self._merged_into: dict[int, int | None] = {}

    def load(self, store_id: int) -> None:
        """Read the store's clients and their further emails and phones, once."""
        if store_id in self._stores:
            return
        self._stores.add(store_id)
        rows = Client.objects.filter(store_id=store_id).order_by("id")
        for cid, ref, email, phone, status, into in rows.values_list(
            "id", "external_ref", "email", "phone", "status", "merged_into_id"
        ):
            if ref:
                self._by_ref[(store_id, ref)] = cid
            if status == ClientStatus.MERGED:
                self._merged_into[cid] = into
                continue
            self.add(store_id, cid, external_ref="", emails=[email], phones=[phone], ref=ref)
        points = (
            ContactPoint.objects.filter(client__store_id=store_id)
            .exclude(client__status=ClientStatus.MERGED)
            .filter(kind__in=[ContactKind.EMAIL, ContactKind.PHONE])
            .order_by("client_id", "id")
            .values_list("client_id", "client__external_ref", "kind", "value")
        )
        for cid, ref, kind, value in points:
            target = self._by_email if kind == ContactKind.EMAIL else self._by_phone
            entries = target.setdefault((store_id, value), [])
            if all(entry[0] != cid for entry in entries):
                entries.append((cid, ref))

    def add(
        self,
        store_id: int,
        client_id: int,
        *,
        external_ref: str,
        emails: Iterable[str],
        phones: Iterable[str],
        ref: str | None = None,
    ) -> None:
        """Remember a client (an id below 0 stands for one still to be created)."""
        owner_ref = external_ref if ref is None else ref
        if external_ref:
            self._by_ref.setdefault((store_id, external_ref), client_id)
        for target, values in ((self._by_email, emails), (self._by_phone, phones)):
            for value in values:
                if not value:
                    continue
                entries = target.setdefault((store_id, value), [])
                if all(entry[0] != client_id for entry in entries):
                    entries.append((client_id, owner_ref))

    def survivor(self, client_id: int) -> int:
        """Follow merges to the client record still in use."""
        seen = {client_id}
        while client_id in self._merged_into:
            into = self._merged_into[client_id]
            if into is None or into in seen:
                break
            seen.add(into)
            client_id = into
        return client_id

    def by_ref(self, store_id: int, ref: str) -> int | None:
        """Return the client holding this external ref in the store (after merges)."""
        self.load(store_id)
        found = self._by_ref.get((store_id, ref))
        return None if found is None else self.survivor(found)

    def by_email(self, store_id: int, email: str) -> int | None:
        """Return the oldest current client with this email in the store."""
        self.load(store_id)
        entries = self._by_email.get((store_id, email))
        return entries[0][0] if entries else None

    def find(
        self, store_id: int, *, external_ref: str, emails: Iterable[str], phones: Iterable[str]
    ) -> Match | None:
        """Match by (store, external ref), else by email, else by phone.

        An email or phone only matches a client without an external ref or with the same one:
        two POS records with different ids stay two clients (the duplicate finder can merge).
        """
        self.load(store_id)
        if external_ref:
            found = self.by_ref(store_id, external_ref)
            if found is not None:
                return Match(found, "client_id", external_ref)
        for field_name, target, values in (
            ("email", self._by_email, emails),
            ("phone", self._by_phone, phones),
        ):
            for value in values:
                for cid, ref in target.get((store_id, value), []):
                    if not external_ref or not ref or ref == external_ref:
                        return Match(cid, field_name, value)
        return None


@dataclass
class _Snapshot:
    """What the book holds about one existing client, as far as an import may change it."""

    client: dict[str, Any]
    sizes: dict[str, tuple[int, str]] = field(default_factory=dict)
    preferences: dict[tuple[str, str], tuple[int, bool]] = field(default_factory=dict)
    dates: dict[str, tuple[int, int, int, int | None]] = field(default_factory=dict)
    tag_ids: set[int] = field(default_factory=set)
    contacts: set[tuple[str, str]] = field(default_factory=set)
    consents: dict[str, tuple[dt.datetime, bool]] = field(default_factory=dict)
    notes: set[str] = field(default_factory=set)


def _load_snapshots(ids: list[int]) -> dict[int, _Snapshot]:
    if not ids:
        return {}
    found = {
        row["id"]: _Snapshot(client=row)
        for row in Client.objects.filter(pk__in=ids).values("id", "external_ref", *CLIENT_FIELDS)
    }
    for cid, pk, category, size in Size.objects.filter(client_id__in=ids).values_list(
        "client_id", "id", "category", "size"
    ):
        found[cid].sizes[category.lower()] = (pk, size)
    for cid, pk, dimension, value, likes in Preference.objects.filter(
        client_id__in=ids
    ).values_list("client_id", "id", "dimension", "value", "likes"):
        found[cid].preferences[(dimension, value.lower())] = (pk, likes)
    for cid, pk, kind, month, day, year in (
        ImportantDate.objects.filter(client_id__in=ids)
        .order_by("-id")  # the oldest of a kind ends up in the dict
        .values_list("client_id", "id", "kind", "month", "day", "year")
    ):
        found[cid].dates[kind] = (pk, month, day, year)
    for cid, tag_id in Client.tags.through.objects.filter(client_id__in=ids).values_list(
        "client_id", "tag_id"
    ):
        found[cid].tag_ids.add(tag_id)
    for cid, kind, value in ContactPoint.objects.filter(client_id__in=ids).values_list(
        "client_id", "kind", "value"
    ):
        found[cid].contacts.add((kind, value))
    for cid, channel, granted, at in (
        Consent.objects.filter(client_id__in=ids)
        .order_by("recorded_at", "id")  # the latest decision per channel ends up in the dict
        .values_list("client_id", "channel", "granted", "recorded_at")
    ):
        found[cid].consents[channel] = (at, granted)
    for cid, body in Note.objects.filter(client_id__in=ids).values_list("client_id", "body"):
        found[cid].notes.add(body.strip())
    return found


@dataclass
class _Plan:
    """The writes one row needs; empty lists mean the book already says it all."""

    row: int
    store_id: int
    client_id: int | None
    client_fields: dict[str, Any] = field(default_factory=dict)
    contact_points: list[tuple[str, str, str]] = field(default_factory=list)
    new_dates: list[tuple[str, MonthDay]] = field(default_factory=list)
    changed_dates: list[tuple[int, MonthDay]] = field(default_factory=list)
    new_sizes: list[tuple[str, str]] = field(default_factory=list)
    changed_sizes: list[tuple[int, str]] = field(default_factory=list)
    new_preferences: list[tuple[str, str, bool]] = field(default_factory=list)
    changed_preferences: list[tuple[int, bool]] = field(default_factory=list)
    tag_names: list[str] = field(default_factory=list)
    consents: list[tuple[str, bool, dt.datetime, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    note_author_id: int | None = None

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """Return the records this plan creates and updates, per kind."""
        created = {
            "clients": int(self.client_id is None),
            "contact_points": len(self.contact_points),
            "dates": len(self.new_dates),
            "sizes": len(self.new_sizes),
            "preferences": len(self.new_preferences),
            "tags": len(self.tag_names),
            "consents": len(self.consents),
            "notes": len(self.notes),
        }
        updated = {
            "clients": int(self.client_id is not None and bool(self.client_fields)),
            "dates": len(self.changed_dates),
            "sizes": len(self.changed_sizes),
            "preferences": len(self.changed_preferences),
        }
        return (
            {k: n for k, n in created.items() if n},
            {k: n for k, n in updated.items() if n},
        )


def _is_blank(value: object) -> bool:
    return value is None or value == ""


def _plan(
    data: ClientData,
    *,
    client_id: int | None,
    adopt_ref: bool,
    snapshot: _Snapshot | None,
    tags: dict[str, tuple[str, int]],
    new_tags: dict[str, str],
) -> _Plan:
    plan = _Plan(
        row=data.row,
        store_id=data.store.pk,
        client_id=client_id,
        note_author_id=data.note_author_id,
    )
    given = {k: v for k, v in data.fields.items() if not _is_blank(v)}
    snap = snapshot or _Snapshot(client={})
    if client_id is None:
        plan.client_fields = {**given, "external_ref": data.external_ref}
        current: dict[str, Any] = {}
    else:
        current = snap.client
        for name, value in given.items():
            old = current.get(name)
            if old == value or (data.fill_only and not _is_blank(old)):
                continue
            plan.client_fields[name] = value
        if adopt_ref and data.external_ref and not current.get("external_ref"):
            plan.client_fields["external_ref"] = data.external_ref
    final = {**current, **plan.client_fields}

    planned: set[tuple[str, str]] = set()
    for kind, primary, values in (
        (str(ContactKind.EMAIL), final.get("email"), data.emails),
        (str(ContactKind.PHONE), final.get("phone"), data.phones),
        (str(ContactKind.ADDRESS), final.get("address"), data.addresses),
    ):
        for value, label in values:
            key = (kind, value)
            if value and value != primary and key not in snap.contacts and key not in planned:
                planned.add(key)
                plan.contact_points.append((kind, value, label[:40]))

    for kind, month_day in data.dates.items():
        existing = snap.dates.get(kind)
        if existing is None:
            plan.new_dates.append((kind, month_day))
        elif existing[1:] != month_day and not data.fill_only:
            plan.changed_dates.append((existing[0], month_day))

    for category, size in data.sizes.items():
        old_size = snap.sizes.get(category.lower())
        if old_size is None:
            plan.new_sizes.append((category, size))
        elif old_size[1] != size and not data.fill_only:
            plan.changed_sizes.append((old_size[0], size))

    for (dimension, value), likes in data.preferences.items():
        old_pref = snap.preferences.get((dimension, value.lower()))
        if old_pref is None:
            plan.new_preferences.append((dimension, value, likes))
        elif old_pref[1] != likes and not data.fill_only:
            plan.changed_preferences.append((old_pref[0], likes))

    spellings: dict[str, str] = {}
    for name in data.tags:
        spellings.setdefault(name.lower(), name)
    for name in spellings.values():
        known = tags.get(name.lower())
        if known is None:
            plan.tag_names.append(new_tags.setdefault(name.lower(), name))
        elif known[1] not in snap.tag_ids:
            plan.tag_names.append(known[0])

    if data.consent_at is not None:
        for channel, granted in data.consents.items():
            latest = snap.consents.get(channel)
            # Record a decision only when it changes the one in force and is not older than it:
            # re-importing an old export must not undo a client's later opt-out.
            if latest is not None and (latest[1] == granted or latest[0] >= data.consent_at):
                continue
            plan.consents.append((channel, granted, data.consent_at, data.consent_source))

    for body in dict.fromkeys(n.strip() for n in data.notes if n.strip()):
        if body not in snap.notes:
            plan.notes.append(body)
    return plan


def _write(plans: list[_Plan]) -> None:
    now = timezone.now()
    new_plans = [p for p in plans if p.client_id is None]
    new_clients = [Client(store_id=p.store_id, **p.client_fields) for p in new_plans]
    if connection.features.can_return_rows_from_bulk_insert:
        Client.objects.bulk_create(new_clients, batch_size=CHUNK)
    else:
        for client in new_clients:
            client.save()
    ids = {id(plan): client.pk for plan, client in zip(new_plans, new_clients, strict=True)}
    pairs = [(plan, plan.client_id or ids[id(plan)]) for plan in plans]

    for plan, cid in pairs:
        if plan.client_id is not None and plan.client_fields:
            Client.objects.filter(pk=cid).update(**plan.client_fields, updated_at=now)
        for pk, (month, day, year) in plan.changed_dates:
            ImportantDate.objects.filter(pk=pk).update(month=month, day=day, year=year)
        for pk, size in plan.changed_sizes:
            Size.objects.filter(pk=pk).update(size=size)
        for pk, likes in plan.changed_preferences:
            Preference.objects.filter(pk=pk).update(likes=likes, recorded_at=now)

    _insert_many(
        ContactPoint,
        [
            {"client_id": cid, "kind": kind, "value": value, "label": label}
            for plan, cid in pairs
            for kind, value, label in plan.contact_points
        ],
    )
    _insert_many(
        ImportantDate,
        [
            {"client_id": cid, "kind": kind, "label": "", "month": m, "day": d, "year": y}
            for plan, cid in pairs
            for kind, (m, d, y) in plan.new_dates
        ],
    )
    _insert_many(
        Size,
        [
            {"client_id": cid, "category": category, "size": size}
            for plan, cid in pairs
            for category, size in plan.new_sizes
        ],
    )
    _insert_many(
        Preference,
        [
            {
                "client_id": cid,
                "dimension": dimension,
                "value": value,
                "likes": likes,
                "source": PreferenceSource.STATED,
                "recorded_at": now,
            }
            for plan, cid in pairs
            for dimension, value, likes in plan.new_preferences
        ],
    )
    _insert_many(
        Consent,
        [
            {
                "client_id": cid,
                "channel": channel,
                "granted": granted,
                "recorded_at": at,
                "source": source,
                "recorded_by_id": None,
            }
            for plan, cid in pairs
            for channel, granted, at, source in plan.consents
        ],
    )
    _insert_many(
        Note,
        [
            {"client_id": cid, "author_id": plan.note_author_id, "body": body, "created_at": now}
            for plan, cid in pairs
            for body in plan.notes
        ],
    )
    _link_tags(pairs)


def _insert_many(model: type[Model], rows: list[dict[str, Any]]) -> None:
    """INSERT rows whose ids we never read back, many rows to a statement.

    Django's bulk_create builds a model instance and runs the SQL compiler over every value;
    on a 20,000-client file that was most of the import's time, three times what this takes.
    Values still pass through each field's get_db_prep_save, and a column a row leaves out
    gets the field's default, so a field added to the model later keeps working.
    """
    if not rows:
        return
    given = rows[0].keys()
    now = timezone.now()
    fields = [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key and (f.attname in given or f.db_default is NOT_PROVIDED)
    ]

    def value(row: dict[str, Any], f: Any) -> Any:
        if f.attname in row:
            raw = row[f.attname]
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            raw = now
        else:
            raw = f.get_default()
        return f.get_db_prep_save(raw, connection)

    quote = connection.ops.quote_name
    head = "INSERT INTO {} ({}) VALUES ".format(
        quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields)
    )
    one = "({})".format(", ".join(["%s"] * len(fields)))
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # In-process, executemany is the fastest way in.
            for start in range(0, len(rows), 1000):
                batch = rows[start : start + 1000]
                cursor.executemany(head + one, [[value(row, f) for f in fields] for row in batch])
            return
        # Over a socket, executemany costs a round trip a row: send many rows a statement.
        limit = connection.features.max_query_params or 65_535
        per_statement = max(1, min(1000, limit // len(fields)))
        for start in range(0, len(rows), per_statement):
            batch = rows[start : start + per_statement]
            params = [value(row, f) for row in batch for f in fields]
            cursor.execute(head + ", ".join([one] * len(batch)), params)


def _link_tags(pairs: list[tuple[_Plan, int]]) -> None:
    names = {name for plan, _ in pairs for name in plan.tag_names}
    if not names:
        return
    tag_ids = dict(Tag.objects.filter(name__in=names).values_list("name", "id"))
    missing = names - tag_ids.keys()
    if missing:
        Tag.objects.bulk_create([Tag(name=n) for n in sorted(missing)], ignore_conflicts=True)
        tag_ids.update(Tag.objects.filter(name__in=missing).values_list("name", "id"))
    # The plan only links tags the client lacks, so a plain insert is enough.
    _insert_many(
        Client.tags.through,
        [
            {"client_id": cid, "tag_id": tag_ids[name]}
            for plan, cid in pairs
            for name in plan.tag_names
        ],
    )


class ClientBook:
    """Takes ClientData one row at a time, refuses repeats, and writes them in batches."""

    def __init__(self, report: ImportReport, *, file: str, unit: str = "row") -> None:
        self.report = report
        self.index = ClientIndex()
        self._file = file
        self._unit = unit
        self._touched: dict[int, int] = {}  # client id (below 0: to be created) -> row
        self._pending: list[tuple[ClientData, Match | None]] = []

    def add(self, data: ClientData) -> None:
        """Match a row to a client and queue its changes; refuse a second row for one client."""
        match = self.index.find(
            data.store.pk,
            external_ref=data.external_ref,
            emails=data.all_emails,
            phones=data.all_phones,
        )
        if match is not None and match.client_id in self._touched:
            earlier = f"{self._unit} {self._touched[match.client_id]}"
            if match.field == "client_id":
                message = f"{match.value!r} is already on {earlier}"
            else:
                message = f"{match.value!r} belongs to the client of {earlier}"
            self.report.error(
                file=self._file,
                row=data.row,
                field=match.field,
                message=f"{message}; give each client one {self._unit}",
                unit=self._unit,
            )
            return
        key = match.client_id if match is not None else -data.row
        self._touched[key] = data.row
        self.index.add(
            data.store.pk,
            key,
            external_ref=data.external_ref,
            emails=data.all_emails,
            phones=data.all_phones,
        )
        self._pending.append((data, match))
        if len(self._pending) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        """Plan and write the queued rows."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        existing = [m.client_id for _, m in batch if m is not None]
        snapshots = _load_snapshots(existing)
        tags = {name.lower(): (name, pk) for name, pk in Tag.objects.values_list("name", "id")}
        new_tags: dict[str, str] = {}
        plans = [
            _plan(
                data,
                client_id=None if match is None else match.client_id,
                adopt_ref=match is not None and match.field != "client_id",
                snapshot=None if match is None else snapshots.get(match.client_id),
                tags=tags,
                new_tags=new_tags,
            )
            for data, match in batch
        ]
        try:
            with transaction.atomic():
                _write(plans)
            written = plans
        except DatabaseError:
            written = self._write_one_by_one(plans)
        for plan in written:
            created, updated = plan.counts()
            for kind, n in created.items():
                self.report.count_created(kind, n)
            for kind, n in updated.items():
                self.report.count_updated(kind, n)
            if not created and not updated:
                self.report.unchanged += 1

    def _write_one_by_one(self, plans: list[_Plan]) -> list[_Plan]:
        written = []
        for plan in plans:
            try:
                with transaction.atomic():
                    _write([plan])
            except DatabaseError as exc:
                self.report.error(
                    file=self._file,
                    row=plan.row,
                    field="row",
                    message=f"the database refused it: {exc}",
                    unit=self._unit,
                )
            else:
                written.append(plan)
        return written
