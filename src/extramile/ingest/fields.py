"""Parsers for the cells of import files: each returns a clean value or raises FieldError."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from extramile.clients.services import InvalidContact, normalize_email, normalize_phone


class FieldError(ValueError):
    """A cell that cannot be used: the column (or vCard property) and the reason in plain words."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


YES = frozenset({"yes", "y", "true", "1", "opt-in", "opted in", "granted"})
NO = frozenset({"no", "n", "false", "0", "opt-out", "opted out", "refused", "withdrawn"})

_MONTH_DAY = re.compile(
    r"^(?:(?P<year>\d{4})-?|--|)(?P<month>\d{2})-?(?P<day>\d{2})$"  # 1985-04-12, 04-12, --0412
)
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$", re.IGNORECASE)
_MONEY_SYMBOLS = re.compile(r"[\s$€£¥]|USD|EUR|GBP|CAD|AUD|CHF", re.IGNORECASE)


@lru_cache(maxsize=1)
def _time_zones() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def parse_email(field: str, text: str) -> str:
    """Return the email lower-cased, or raise FieldError."""
    try:
        value = normalize_email(text)
        validate_email(value)
    except (InvalidContact, ValidationError):
        raise FieldError(field, f"{text!r} is not an email address") from None
    return value


def parse_phone(field: str, text: str) -> str:
    """Return the phone number in E.164, or raise FieldError."""
    try:
        return normalize_phone(text)
    except InvalidContact as exc:
        raise FieldError(field, str(exc)) from None


def parse_month_day(field: str, text: str) -> tuple[int, int, int | None]:
    """Read YYYY-MM-DD, YYYYMMDD, MM-DD, --MM-DD or --MMDD; return month, day and year."""
    value = text.strip()
    match = _MONTH_DAY.match(value)
    if not match or (match["year"] is None and value[:2] != "--" and "-" not in value):
        raise FieldError(field, f"{text!r} is not a date (write YYYY-MM-DD, or MM-DD without year)")
    month, day = int(match["month"]), int(match["day"])
    year = int(match["year"]) if match["year"] else None
    try:
        # Without a year, check against a leap year so that 02-29 is allowed.
        dt.date(year or 2000, month, day)
    except ValueError:
        raise FieldError(field, f"{text!r} is not a date in the calendar") from None
    return month, day, year


def parse_date(field: str, text: str) -> dt.date:
    """Read YYYY-MM-DD, or raise FieldError."""
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            raise ValueError(text)
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise FieldError(field, f"{text!r} is not a date (write YYYY-MM-DD)") from None


def parse_datetime(field: str, text: str, *, tz: dt.tzinfo) -> dt.datetime:
    """Read an ISO 8601 date and time; without an offset it is local time in `tz`."""
    value = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            moment = dt.datetime.combine(dt.date.fromisoformat(value), dt.time())
        else:
            moment = dt.datetime.fromisoformat(value)
    except ValueError:
        example = "2025-03-14T15:20:00-05:00"
        raise FieldError(
            field, f"{text!r} is not a date and time (write ISO 8601, e.g. {example})"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment


def parse_yes_no(field: str, text: str) -> bool:
    """Read yes or no (also y/n, true/false, 1/0), or raise FieldError."""
    value = text.strip().lower()
    if value in YES:
        return True
    if value in NO:
        return False
    raise FieldError(field, f"{text!r} is neither yes nor no")


def parse_decimal(field: str, text: str) -> Decimal:
    """Read a non-negative amount such as 129.90, 129,90 or $1,299.00, or raise FieldError."""
    value = _MONEY_SYMBOLS.sub("", text.strip())
    if "," in value and "." in value:
        # The later mark is the decimal one: 1,299.00 (US) or 1.299,00 (Europe).
        thousands = "," if value.rfind(",") < value.rfind(".") else "."
        value = value.replace(thousands, "").replace(",", ".")
    elif "," in value:
        if not re.fullmatch(r"\d+,\d{1,2}", value):
            raise FieldError(
                field, f"{text!r} is ambiguous: write 1299.00 (no thousands separator)"
            )
        value = value.replace(",", ".")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise FieldError(field, f"{text!r} is not an amount") from None
    if not amount.is_finite():
        raise FieldError(field, f"{text!r} is not an amount")
    if amount < 0:
        raise FieldError(field, f"{text!r} is negative")
    if amount != amount.quantize(Decimal("0.01")):
        raise FieldError(field, f"{text!r} has more than two decimals")
    if amount >= Decimal("100000000"):
        raise FieldError(field, f"{text!r} is too large")
    return amount.quantize(Decimal("0.01"))


def parse_quantity(field: str, text: str, *, allow_zero: bool) -> int:
    """Read a whole number of units (at least 1, or at least 0 with allow_zero)."""
    value = text.strip()
    if not re.fullmatch(r"[+-]?\d+", value):
        raise FieldError(field, f"{text!r} is not a whole number")
    number = int(value)
    if number < 0:
        raise FieldError(field, f"{text!r} is negative")
    if number == 0 and not allow_zero:
        raise FieldError(field, "must be at least 1")
    if number > 1_000_000:
        raise FieldError(field, f"{text!r} is too large")
    return number


def parse_time_zone(field: str, text: str) -> str:
    """Return the IANA time zone name as spelled by the database, or raise FieldError."""
    name = _time_zones().get(text.strip().lower())
    if name is None:
        raise FieldError(field, f"{text!r} is not an IANA time zone (for example Europe/Paris)")
    return name


def parse_language(field: str, text: str) -> str:
    """Return a language tag such as en, fr or pt-BR, or raise FieldError."""
    value = text.strip()
    if not _LANGUAGE.match(value) or len(value) > 16:
        raise FieldError(field, f"{text!r} is not a language code (for example en, fr or pt-BR)")
    return value


def parse_choice(field: str, text: str, choices: Mapping[str, str]) -> str:
    """Return the value for a case-insensitive choice, or raise FieldError listing the choices."""
    value = choices.get(text.strip().lower())
    if value is None:
        allowed = ", ".join(sorted(set(choices.values())))
        raise FieldError(field, f"{text!r} is not one of: {allowed}")
    return value


def split_list(text: str, *, commas: bool = False) -> list[str]:
    """Split a list cell on ";" (and "," when commas=True), dropping blanks and repeats."""
    parts = re.split(r"[;,]" if commas else r";", text)
    seen: dict[str, str] = {}
    for part in parts:
        item = " ".join(part.split())
        if item and item.lower() not in seen:
            seen[item.lower()] = item
    return list(seen.values())


def split_pairs(field: str, text: str, *, example: str) -> list[tuple[str, str]]:
    """Split "key=value; key=value" (":" works as "=" too) into pairs, or raise FieldError."""
    pairs = []
    for item in split_list(text):
        parts = re.split(r"\s*[=:]\s*", item, maxsplit=1)
        if len(parts) != 2:
            raise FieldError(field, f"{item!r} has no '=': write it like {example!r}")
        key, value = parts[0].strip(), parts[1].strip()
        if not key or not value:
            raise FieldError(field, f"{item!r} needs a name and a value, like {example!r}")
        pairs.append((key, value))
    return pairs


def check_length(field: str, value: str, limit: int) -> str:
    """Return the value if it fits the column, else raise FieldError."""
    if len(value) > limit:
        raise FieldError(field, f"is {len(value)} characters long; at most {limit} fit")
    return value


def local_zone(name: str) -> dt.tzinfo:
    """Return the zone for a store's time zone name (UTC when it is unknown)."""
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return dt.UTC
