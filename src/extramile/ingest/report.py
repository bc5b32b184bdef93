"""What an import did: counts, and every bad row with its file, row, field and reason."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RowError:
    """One refused row: where it is and why it was refused."""

    file: str
    row: int | None
    field: str
    message: str
    unit: str = "row"  # what `row` counts: a spreadsheet row, or a card in a vCard file

    def __str__(self) -> str:
        where = f"{self.file}, {self.unit} {self.row}" if self.row is not None else self.file
        return f"{where}, field {self.field!r}: {self.message}"


@dataclass
class ImportReport:
    """Counts per kind of record, and the errors; rows without errors are kept."""

    source: str
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    seconds: float = 0.0

    def count_created(self, kind: str, n: int = 1) -> None:
        """Add to the number of records of this kind created."""
        self.created[kind] = self.created.get(kind, 0) + n

    def count_updated(self, kind: str, n: int = 1) -> None:
        """Add to the number of records of this kind updated."""
        self.updated[kind] = self.updated.get(kind, 0) + n

    def error(
        self, *, file: str, row: int | None, field: str, message: str, unit: str = "row"
    ) -> None:
        """Record a refused row."""
        self.errors.append(RowError(file=file, row=row, field=field, message=message, unit=unit))

    @property
    def ok(self) -> bool:
        """True when no row was refused."""
        return not self.errors

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready summary, as stored on the inbound event."""
        return {
            "source": self.source,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [str(e) for e in self.errors],
            "seconds": round(self.seconds, 2),
        }

    def render(self) -> str:
        """A short human summary followed by each error on its own line."""

        def fmt(counts: dict[str, int]) -> str:
            return ", ".join(f"{n:,} {kind}" for kind, n in counts.items()) or "nothing"

        lines = [
            f"{self.source}: created {fmt(self.created)}; updated {fmt(self.updated)}; "
            f"{self.unchanged:,} unchanged; {len(self.errors):,} rows refused "
            f"({self.seconds:.1f} s)."
        ]
        lines.extend(f"  error: {e}" for e in self.errors)
        return "\n".join(lines)
