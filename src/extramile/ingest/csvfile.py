"""Read a CSV export as a spreadsheet shows it: header on row 1, any delimiter, BOM or not.

Python's csv module does the parsing (quoting, embedded newlines and delimiters); no library
does it better. We use csv.reader rather than csv.DictReader because DictReader silently skips
blank lines, which would make our row numbers differ from the ones a spreadsheet shows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field

DELIMITERS = ",;\t|"


class CsvFileError(Exception):
    """The file as a whole cannot be read: each problem names a column (or "file") and why."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


@dataclass(frozen=True)
class CsvRow:
    """One data row: its number as a spreadsheet shows it, and its cells by column name."""

    number: int
    cells: Mapping[str, str]
    extra_cells: int = 0

    def get(self, column: str) -> str:
        """Return the cell stripped of surrounding blanks ("" when the column is absent)."""
        return (self.cells.get(column) or "").strip()


@dataclass
class CsvTable:
    """The header and the non-blank rows of one file."""

    name: str
    columns: list[str]
    delimiter: str
    rows: list[CsvRow] = field(default_factory=list)

    def __iter__(self) -> Iterator[CsvRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def normalize_header(name: str) -> str:
    """Turn "First Name" or "first-name" into first_name."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def decode(data: bytes, *, name: str) -> str:
    """Decode UTF-8 (with or without the BOM Excel writes), or raise CsvFileError."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFileError(
            [
                (
                    "file",
                    f"{name} is not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                    "in Excel choose Save As > CSV UTF-8",
                )
            ]
        ) from None


def sniff_delimiter(header_line: str) -> str:
    """Guess the delimiter from the header line with csv.Sniffer; "," when it cannot tell."""
    try:
        return csv.Sniffer().sniff(header_line, delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {d: header_line.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def read_csv(
    data: bytes,
    *,
    name: str,
    known: Collection[str],
    required: Collection[str],
) -> CsvTable:
    """Parse the file and check its header; raise CsvFileError for file-level problems."""
    text = decode(data, name=name)
    lines = text.splitlines()
    explicit = re.fullmatch(r"sep=(.)", lines[0].strip()) if lines else None
    if explicit:  # Excel's "sep=;" hint line; Excel hides it, so the header stays row 1.
        text = text.split("\n", 1)[1] if "\n" in text else ""
        lines = lines[1:]
    header_line = next((line for line in lines if line.strip()), "")
    if not header_line:
        raise CsvFileError([("file", f"{name} is empty: the first row must name the columns")])
    delimiter = explicit.group(1) if explicit else sniff_delimiter(header_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        raw_rows = list(reader)
    except csv.Error as exc:
        raise CsvFileError([("file", f"{name} is not a readable CSV file ({exc})")]) from None
    header_index = next(i for i, cells in enumerate(raw_rows) if any(c.strip() for c in cells))
    header = [normalize_header(c) for c in raw_rows[header_index]]
    # Trailing empty header cells are common in spreadsheet exports; other blanks are not.
    while header and not header[-1]:
        header.pop()
    _check_header(header, known=known, required=required)
    table = CsvTable(name=name, columns=header, delimiter=delimiter)
    width = len(header)
    for offset, cells in enumerate(raw_rows[header_index + 1 :]):
        if not any(c.strip() for c in cells):
            continue
        extra = sum(1 for c in cells[width:] if c.strip())
        table.rows.append(
            CsvRow(
                number=header_index + offset + 2,
                # Cells spanning lines keep "\n" only, whatever the file's line endings.
                cells={
                    name: value.replace("\r\n", "\n").replace("\r", "\n")
                    for name, value in zip(header, cells, strict=False)
                },
                extra_cells=extra,
            )
        )
    return table


def _check_header(header: list[str], *, known: Collection[str], required: Collection[str]) -> None:
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for position, column in enumerate(header, start=1):
        if not column:
            problems.append(("file", f"column {position} has no name in the header row"))
        elif column in seen:
            problems.append((column, "appears twice in the header row"))
        elif column not in known:
            problems.append(
                (column, "unknown column (known columns: " + ", ".join(sorted(known)) + ")")
            )
        seen.add(column)
    problems.extend(
        (column, "required column is missing from the header row")
        for column in required
        if column not in seen
    )
    if problems:
        raise CsvFileError(problems)
