"""Import an associate's phone contacts (a .vcf from iPhone or Android) as their clients.

vobject parses each card. We split the file into cards ourselves first, so one broken card is
reported on its own and the others are kept, and we tidy two things vobject does not handle:
the quoted-printable soft line breaks of vCard 2.1 (Android) and photos, which we do not keep
and whose damaged base64 would otherwise make a whole card unreadable.

Contacts moved off a phone carry no record of marketing consent, so none is recorded.
"""

from __future__ import annotations

import binascii
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import vobject
from django.core.management.base import CommandError

from extramile.accounts.models import Store, User
from extramile.clients.models import DateKind
from extramile.ingest.clientbook import ClientBook, ClientData, MonthDay
from extramile.ingest.fields import (
    FieldError,
    check_length,
    parse_email,
    parse_month_day,
    parse_phone,
    split_list,
)
from extramile.ingest.import_log import record_file_import
from extramile.ingest.report import ImportReport

SOURCE = "vcard"
KIND = "contacts"
BINARY_PROPERTIES = frozenset({"PHOTO", "LOGO", "SOUND", "KEY"})
# Type parameters that say nothing a colleague needs as a label.
PLAIN_TYPES = frozenset({"internet", "pref", "voice", "x400", "text", "msg", "postal", "parcel"})
LABELS = {"cell": "mobile", "iphone": "iPhone", "main": "main"}
APPLE_LABEL = re.compile(r"^_\$!<(.+)>!\$_$")
APPLE_UNKNOWN_YEAR = 1604  # iPhone writes a birthday without year as 1604-MM-DD
IGNORED_CATEGORIES = frozenset({"mycontacts"})  # Google Contacts puts every contact in it


class ImportSetupError(CommandError, ValueError):
    """The import cannot start: no associate or store to put the contacts in."""


class _CardErrors(Exception):
    """Every problem found in one card; the card is refused."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


@dataclass
class _Card:
    number: int
    first_line: int  # where its BEGIN:VCARD is in the file, counting from 1
    lines: list[str] = field(default_factory=list)
    closed: bool = False

    def line_number(self, text: str) -> int | None:
        """Return the file line where a property line of this card starts."""
        for offset, line in enumerate(self.lines, start=1):
            if line and text.startswith(line[:60]):
                return self.first_line + offset
        return None


def import_vcard(path: Path, *, store: Store | None, associate: str | None) -> ImportReport:
    """Make each contact in the file a client of the associate, in their store."""
    staff, store = _owner(store=store, associate=associate)
    started = time.monotonic()
    report = ImportReport(source="vcard")
    data = path.read_bytes()
    book = ClientBook(report, file=path.name, unit="card")
    try:
        cards = _split_cards(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        report.error(
            file=path.name,
            row=None,
            field="file",
            message=f"not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})",
        )
        cards = []
    else:
        if not cards:
            report.error(
                file=path.name, row=None, field="file", message="no BEGIN:VCARD found: not a vCard"
            )
    for card in cards:
        try:
            client = _card_to_client(card, store=store, staff=staff)
        except _CardErrors as exc:
            for error in exc.errors:
                report.error(
                    file=path.name,
                    row=card.number,
                    field=error.field,
                    message=error.message,
                    unit="card",
                )
            continue
        book.add(client)
    book.flush()
    report.seconds = time.monotonic() - started
    record_file_import(source=SOURCE, kind=KIND, path=path, data=data, report=report)
    return report


def _owner(*, store: Store | None, associate: str | None) -> tuple[User | None, Store]:
    if not associate and store is None:
        raise ImportSetupError(
            "import vcard needs --associate USERNAME (whose phone the contacts come from) "
            "or --store CODE."
        )
    if not associate:
        assert store is not None
        return None, store
    staff = User.objects.select_related("store").filter(username=associate).first()
    if staff is None:
        raise ImportSetupError(f"No member of staff has the username {associate!r}.")
    if not staff.is_active or staff.deactivated_at is not None:
        raise ImportSetupError(f"{associate!r} is deactivated; import to a current associate.")
    if staff.store is None:
        raise ImportSetupError(f"{associate!r} has no home store, so cannot hold clients.")
    if store is not None and store.pk != staff.store_id:
        raise ImportSetupError(f"{associate!r} works at {staff.store.code}, not {store.code}.")
    return staff, staff.store


# --- Reading the file into cards ---------------------------------------------------------------


def _split_cards(text: str) -> list[_Card]:
    """Cut the file at BEGIN:VCARD / END:VCARD; a card left open is kept and reported later."""
    cards: list[_Card] = []
    current: _Card | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        marker = line.strip().upper()
        if marker == "BEGIN:VCARD":
            current = _Card(number=len(cards) + 1, first_line=number)
            cards.append(current)
        elif marker == "END:VCARD" and current is not None:
            current.closed = True
            current = None
        elif current is not None:
            current.lines.append(line)
    return cards


def _property_name(line: str) -> str:
    head = re.split(r"[;:]", line, maxsplit=1)[0]
    return head.rsplit(".", 1)[-1].strip().upper()


def _logical_lines(lines: Iterable[str]) -> list[str]:
    """Unfold continuation lines, join quoted-printable soft breaks, drop photos and blanks."""
    logical: list[str] = []
    for raw in lines:
        previous = logical[-1] if logical else ""
        if previous.endswith("=") and "QUOTED-PRINTABLE" in previous.split(":", 1)[0].upper():
            logical[-1] = previous[:-1] + raw  # vCard 2.1 quoted-printable soft line break
        elif raw[:1] in (" ", "\t") and logical:
            logical[-1] = previous + raw[1:]  # RFC 6350 folding
        else:
            logical.append(raw)
    return [
        line for line in logical if line.strip() and _property_name(line) not in BINARY_PROPERTIES
    ]


def _parse_card(card: _Card) -> Any:
    if not card.closed:
        raise FieldError("END", "the card is never closed (END:VCARD is missing)")
    lines = _logical_lines(card.lines)
    text = "\r\n".join(["BEGIN:VCARD", *lines, "END:VCARD", ""])
    try:
        return vobject.readOne(text)
    except (vobject.base.VObjectError, binascii.Error, ValueError, TypeError) as exc:
        # vobject's own "At line N" counts lines of its input, not of the file: say it again.
        message = re.sub(r"^At line \d+: ", "", str(exc).strip())
        found = re.search(r"Failed to parse line: (.*)", message)
        if not found:
            raise FieldError("card", f"cannot be read ({message})") from None
        bad = found.group(1).strip()
        where = card.line_number(bad)
        place = f"line {where} of the file" if where else "a line"
        raise FieldError(_property_name(bad), f"{place} cannot be read: {bad!r}") from None


# --- One card into one ClientData ---------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(_text(v) for v in value if _text(v))
    return " ".join(str(value or "").split())


def _types(line: Any) -> list[str]:
    """Every TYPE of a property, in 2.1 (TEL;CELL), 3.0 (TYPE=CELL) and 4.0 (TYPE="cell,voice")."""
    found: list[str] = []
    for value in [*line.params.get("TYPE", []), *getattr(line, "singletonparams", [])]:
        found.extend(part.strip().lower() for part in str(value).split(",") if part.strip())
    return found


def _is_preferred(line: Any) -> bool:
    return "pref" in _types(line) or "PREF" in line.params


def _label(line: Any, group_labels: dict[str, str]) -> str:
    if line.group and line.group in group_labels:
        return group_labels[line.group]
    for kind in _types(line):
        if kind not in PLAIN_TYPES:
            return LABELS.get(kind, kind)
    return ""


def _apple_label(raw: str) -> str:
    match = APPLE_LABEL.match(raw.strip())
    return (match.group(1) if match else raw).strip().lower()


def _vcard_date(field_name: str, line: Any) -> MonthDay:
    raw = str(line.value).strip()
    date_part = raw.split("T", 1)[0]
    month, day, year = parse_month_day(field_name, date_part)
    omitted = line.params.get("X-APPLE-OMIT-YEAR", [])
    if year is not None and (str(year) in omitted or year == APPLE_UNKNOWN_YEAR):
        year = None
    return month, day, year


def _address(value: Any) -> str:
    street = _text(getattr(value, "street", ""))
    extended = _text(getattr(value, "extended", ""))
    box = _text(getattr(value, "box", ""))
    city = _text(getattr(value, "city", ""))
    region = _text(getattr(value, "region", ""))
    code = _text(getattr(value, "code", ""))
    country = _text(getattr(value, "country", ""))
    place = " ".join(p for p in (region, code) if p)
    lines = [
        ", ".join(p for p in (street, extended, box) if p),
        ", ".join(p for p in (city, place) if p),
        country,
    ]
    return "\n".join(line for line in lines if line)


def _ordered(found: list[tuple[str, str, bool]]) -> list[tuple[str, str]]:
    """Put the preferred value first, keep the rest in file order, drop repeats."""
    preferred = [item for item in found if item[2]] + [item for item in found if not item[2]]
    result: dict[str, str] = {}
    for value, label, _ in preferred:
        result.setdefault(value, label)
    return list(result.items())


def _card_to_client(card: _Card, *, store: Store, staff: User | None) -> ClientData:
    try:
        component = _parse_card(card)
    except FieldError as exc:
        raise _CardErrors([exc]) from None
    errors: list[FieldError] = []
    children = list(component.getChildren())
    group_labels = {
        line.group: _apple_label(str(line.value))
        for line in children
        if line.name.upper() == "X-ABLABEL" and line.group
    }
    first_name = last_name = ""
    emails: list[tuple[str, str, bool]] = []
    phones: list[tuple[str, str, bool]] = []
    addresses: list[tuple[str, str, bool]] = []
    dates: dict[str, MonthDay] = {}
    tags: list[str] = []
    notes: list[str] = []
    organisation = title = full_name = ""

    def collect(kind: str, property_name: str, line: Any) -> None:
        try:
            dates.setdefault(kind, _vcard_date(property_name, line))
        except FieldError as exc:
            errors.append(exc)

    for line in children:
        name = line.name.upper()
        try:
            if name == "N":
                first_name = _text(getattr(line.value, "given", ""))
                last_name = _text(getattr(line.value, "family", ""))
            elif name == "FN":
                full_name = _text(line.value)
            elif name == "EMAIL" and _text(line.value):
                value = parse_email("EMAIL", _text(line.value))
                emails.append((value, _label(line, group_labels), _is_preferred(line)))
            elif name == "TEL" and _text(line.value):
                raw = re.sub(r"^tel:", "", _text(line.value), flags=re.IGNORECASE)
                value = parse_phone("TEL", raw.split(";", 1)[0])
                phones.append((value, _label(line, group_labels), _is_preferred(line)))
            elif name == "ADR":
                address = _address(line.value)
                if address:
                    addresses.append((address, _label(line, group_labels), _is_preferred(line)))
            elif name == "BDAY":
                collect(str(DateKind.BIRTHDAY), "BDAY", line)
            elif name in ("ANNIVERSARY", "X-ANNIVERSARY", "X-EVOLUTION-ANNIVERSARY"):
                collect(str(DateKind.ANNIVERSARY), name, line)
            elif name == "X-ABDATE" and group_labels.get(line.group or "") == "anniversary":
                collect(str(DateKind.ANNIVERSARY), "X-ABDATE", line)
            elif name == "X-ANDROID-CUSTOM":
                _android_event(str(line.value), dates, errors)
            elif name == "NOTE" and _text(line.value):
                notes.append(str(line.value).replace("\r\n", "\n").strip())
            elif name == "ORG":
                organisation = _text(line.value)
            elif name == "TITLE":
                title = _text(line.value)
            elif name == "CATEGORIES":
                values = line.value if isinstance(line.value, list) else [line.value]
                for category in values:
                    for tag in split_list(str(category), commas=True):
                        if tag.lower() not in IGNORED_CATEGORIES:
                            tags.append(check_length("CATEGORIES", tag, 60))
        except FieldError as exc:
            errors.append(exc)

    if not (first_name or last_name) and full_name:
        first_name, _, last_name = full_name.rpartition(" ")
        if not first_name:
            first_name, last_name = last_name, ""
    for property_name, value in (("N", first_name), ("N", last_name)):
        try:
            check_length(property_name, value, 100)
        except FieldError as exc:
            errors.append(exc)
    if organisation:
        notes.append(f"Works at {organisation}" + (f" ({title})" if title else "") + ".")
    if not emails and not phones and not errors:
        errors.append(
            FieldError(
                "EMAIL",
                "the card has neither an email nor a phone number, so the client could not "
                "be recognised again or contacted",
            )
        )
    if errors:
        raise _CardErrors(errors)

    ordered_emails = _ordered(emails)
    ordered_phones = _ordered(phones)
    ordered_addresses = _ordered(addresses)
    fields: dict[str, Any] = {
        "first_name": first_name,
        "last_name": last_name,
        "email": ordered_emails[0][0] if ordered_emails else "",
        "phone": ordered_phones[0][0] if ordered_phones else "",
        "address": ordered_addresses[0][0] if ordered_addresses else "",
    }
    if staff is not None:
        fields["primary_associate_id"] = staff.pk
    return ClientData(
        row=card.number,
        store=store,
        fields=fields,
        emails=ordered_emails,
        phones=ordered_phones,
        addresses=ordered_addresses,
        dates=dates,
        tags=list(dict.fromkeys(tags)),
        notes=notes,
        note_author_id=staff.pk if staff is not None else None,
        fill_only=True,
    )


def _android_event(value: str, dates: dict[str, MonthDay], errors: list[FieldError]) -> None:
    """Read Android's X-ANDROID-CUSTOM contact_event (type 1 is an anniversary)."""
    parts = value.split(";")
    if len(parts) < 3 or not parts[0].endswith("/contact_event") or parts[2] != "1":
        return
    try:
        dates.setdefault(
            str(DateKind.ANNIVERSARY),
            parse_month_day("X-ANDROID-CUSTOM", parts[1].split("T", 1)[0]),
        )
    except FieldError as exc:
        errors.append(exc)
