"""One InboundEvent per imported file, keyed on the file's bytes so a re-import keeps one row."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.utils import timezone

from extramile.ingest.models import EventStatus, InboundEvent
from extramile.ingest.report import ImportReport


def file_key(*, source: str, kind: str, data: bytes) -> str:
    """Return the idempotency key of a file: source, kind and the SHA-256 of its bytes."""
    return f"{source}:{kind}:{hashlib.sha256(data).hexdigest()}"


def record_file_import(
    *, source: str, kind: str, path: Path, data: bytes, report: ImportReport
) -> InboundEvent:
    """Create or refresh the event of this file's import with the report of the latest run."""
    # A file that could not be read at all (errors without a row) failed; one with some refused
    # rows was still processed, and its summary lists the refused rows.
    unreadable = any(error.row is None for error in report.errors)
    event, _ = InboundEvent.objects.update_or_create(
        idempotency_key=file_key(source=source, kind=kind, data=data),
        defaults={
            "source": source,
            "topic": kind,
            "received_at": timezone.now(),
            "payload": {"file": path.name, "bytes": len(data)},
            "status": EventStatus.FAILED if unreadable else EventStatus.PROCESSED,
            "summary": report.as_dict(),
        },
    )
    return event
