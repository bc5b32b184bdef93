"""The documented event format: the JSON Schemas in moments/schemas/, and errors that say where.

Every event is checked twice over: its envelope against envelope.json, then its `data` against
the schema of its type (<type>.json). The schemas are plain JSON Schema 2020-12 files, checked
with the `jsonschema` library; the few formats JSON Schema leaves open (a time with an offset,
an amount of money, a phone number, a time zone) are checked by FORMAT_CHECKER below. An error
names the field by its path (`data.order.lines.0.sku`) and says why in plain words; a schema
may word the reason itself with "x-messages": {"<keyword>": "<reason>"}.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from extramile.clients.services import InvalidContact, normalize_email, normalize_phone
from extramile.ingest.fields import FieldError, parse_month_day, parse_time_zone
from extramile.moments.models import EventType

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
SCHEMA_BASE = "https://schemas.extramile.invalid/events/"

Path_ = tuple[str | int, ...]

FORMAT_CHECKER = FormatChecker(formats=())
MAX_AMOUNT = Decimal("100000000")


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_moment(value: object) -> bool:
    if not isinstance(value, str):
        return True
    # fromisoformat alone would also take "2026-03-14" (a date) and "20260314T1520".
    if len(value) < 16 or value[10] not in "Tt":
        return False
    moment = dt.datetime.fromisoformat(value)
    return moment.tzinfo is not None


@FORMAT_CHECKER.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return len(value) == 10 and bool(dt.date.fromisoformat(value))


@FORMAT_CHECKER.checks("amount", raises=(InvalidOperation, ValueError))
def _is_amount(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return True  # the schema's "type" speaks for other types
    amount = Decimal(str(value).strip())
    return (
        amount.is_finite()
        and Decimal(0) <= amount < MAX_AMOUNT
        and amount == amount.quantize(Decimal("0.01"))
    )


@FORMAT_CHECKER.checks("email", raises=InvalidContact)
def _is_email(value: object) -> bool:
    return not isinstance(value, str) or bool(normalize_email(value))


@FORMAT_CHECKER.checks("phone", raises=InvalidContact)
def _is_phone(value: object) -> bool:
    return not isinstance(value, str) or bool(normalize_phone(value))


@FORMAT_CHECKER.checks("time-zone", raises=FieldError)
def _is_time_zone(value: object) -> bool:
    return not isinstance(value, str) or bool(parse_time_zone("time_zone", value))


@FORMAT_CHECKER.checks("month-day", raises=FieldError)
def _is_month_day(value: object) -> bool:
    return not isinstance(value, str) or bool(parse_month_day("birthday", value))


FORMAT_MESSAGES = {
    "date-time": "is not a date and time with an offset, such as 2026-03-14T15:20:00-05:00 "
    "(a time without its offset is refused: say which time zone it is in)",
    "date": "is not a date: write YYYY-MM-DD",
    "amount": "is not an amount: write it like 129.90 (not negative, at most two decimals)",
    "email": "is not an email address",
    "phone": "is not a phone number",
    "time-zone": "is not an IANA time zone (for example Europe/Paris)",
    "month-day": "is not a date: write YYYY-MM-DD, or --MM-DD when the year is unknown",
}


@dataclass(frozen=True)
class EventProblem:
    """One thing wrong with one event: which event, which field, and why."""

    where: str  # "line 3", "event 2", or "" for a single event
    path: Path_  # ("data", "order", "lines", 0, "sku"); () for the event as a whole
    message: str

    @property
    def field(self) -> str:
        """The field's path written with dots, such as data.order.lines.0.sku."""
        return ".".join(str(part) for part in self.path) or "(event)"

    def __str__(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        return f"{prefix}{self.field}: {self.message}"


class InvalidEvent(ValueError):
    """One or more events that do not follow the documented format; nothing of them is stored."""

    def __init__(self, problems: list[EventProblem]) -> None:
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


@lru_cache(maxsize=1)
def _registry() -> Registry:
    resources = []
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Draft202012Validator:
    """Return the validator of one schema file: "envelope" or an event type."""
    schema = _registry().contents(f"{SCHEMA_BASE}{name}.json")
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=_registry(), format_checker=FORMAT_CHECKER)


def _leaf_errors(errors: Iterator[ValidationError]) -> Iterator[ValidationError]:
    """Errors as a person would read them: an if/then's own reasons rather than the wrapper."""
    for error in errors:
        if error.validator in ("allOf", "then") and error.context:
            yield from _leaf_errors(iter(error.context))
        else:
            yield error


def _explain(error: ValidationError, prefix: Path_) -> tuple[Path_, str]:
    path: Path_ = prefix + tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    worded = schema.get("x-messages", {}).get(str(error.validator))
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else ""
        return path + ((missing,) if missing else ()), worded or "is required"
    if error.validator == "additionalProperties":
        known = ", ".join(sorted(schema.get("properties", {})))
        extras = sorted(set(error.instance) - set(schema.get("properties", {})))
        name = extras[0] if extras else ""
        return path + ((name,) if name else ()), f"is not a field here (known: {known})"
    if worded:
        return path, worded
    if error.validator == "format":
        shown = json.dumps(error.instance, ensure_ascii=False)
        return path, f"{shown} {FORMAT_MESSAGES.get(str(error.validator_value), 'is not valid')}"
    if error.validator == "enum":
        shown = json.dumps(error.instance, ensure_ascii=False)
        allowed = ", ".join(str(value) for value in error.validator_value)
        return path, f"{shown} is not one of: {allowed}"
    if error.validator == "type":
        expected = error.validator_value
        names = expected if isinstance(expected, list) else [expected]
        shown = json.dumps(error.instance, ensure_ascii=False)
        return path, f"{shown} is not of type {' or '.join(names)}"
    if error.validator in ("maxLength", "minLength") and isinstance(error.instance, str):
        if error.validator == "minLength" and not error.instance:
            return path, "is empty"
        limit = error.validator_value
        return path, f"is {len(error.instance)} characters long; at most {limit} fit"
    return path, error.message


def _problems(name: str, instance: object, *, where: str, prefix: Path_ = ()) -> list[EventProblem]:
    found = []
    for error in _leaf_errors(validator(name).iter_errors(instance)):
        path, message = _explain(error, prefix)
        found.append(EventProblem(where=where, path=path, message=message))
    return sorted(found, key=lambda problem: [str(part) for part in problem.path])


def event_problems(raw: object, *, where: str = "") -> list[EventProblem]:
    """Check one event against the envelope and its type's schema; return what is wrong."""
    if not isinstance(raw, dict):
        shown = type(raw).__name__ if raw is not None else "null"
        return [EventProblem(where=where, path=(), message=f"is a {shown}, not a JSON object")]
    problems = _problems("envelope", raw, where=where)
    kind = raw.get("type")
    if kind in EventType.values and isinstance(raw.get("data"), dict):
        problems += _problems(str(kind), raw["data"], where=where, prefix=("data",))
    return problems
