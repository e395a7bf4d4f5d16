"""Row-by-row CSV import: validate every row, keep the good ones, report the bad with line numbers.

Shared by every bulk import (admin units, residents, venues, paper check-in logs, lab results).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from phongdich.errors import Invalid

MAX_IMPORT_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    reason: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rows_ok(self) -> int:
        return self.created + self.updated + self.unchanged

    def error(self, line: int, field_name: str, reason: str) -> None:
        self.errors.append(RowError(line, field_name, reason))

    def as_dict(self, *, max_errors: int = 1000) -> dict[str, object]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": len(self.errors),
            "errors": [e.__dict__ for e in self.errors[:max_errors]],
        }


def decode(data: bytes) -> str:
    """UTF-8 (with or without Excel's BOM); Windows-1258 files are rejected with a clear reason."""
    if len(data) > MAX_IMPORT_BYTES:
        raise Invalid("file", f"larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid("file", f"not UTF-8 text (byte {exc.start}); save the CSV as UTF-8") from None


def read_source(source: bytes | str | Path) -> str:
    if isinstance(source, Path):
        try:
            return decode(source.read_bytes())
        except OSError as exc:
            raise Invalid("file", f"cannot read {source}: {exc.strerror}") from None
    if isinstance(source, bytes):
        return decode(source)
    return source


def rows(
    text: str, *, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) with stripped values; the header must name every required column."""
    if not text.strip():
        raise Invalid("file", "empty file")
    if "\x00" in text:  # a binary file, or UTF-16 saved by mistake; PostgreSQL stores no NULs
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise Invalid("file", f"line {line}: a NUL character; save the file as UTF-8 CSV text")
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise Invalid("file", "empty file") from None
    except csv.Error as exc:
        raise Invalid("file", f"not a CSV file: {exc}") from None
    missing = [c for c in required if c not in header]
    if missing:
        raise Invalid("file", f"missing columns: {', '.join(missing)} (header: {','.join(header)})")
    known = set(required) | set(optional)
    index = {name: i for i, name in enumerate(header) if name in known}
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise Invalid("file", f"line {reader.line_num}: {exc}") from None
        if not any(v.strip() for v in values):
            continue
        yield (
            reader.line_num,
            {name: (values[i].strip() if i < len(values) else "") for name, i in index.items()},
        )


class ImportRowError(BaseModel):
    line: int
    field: str
    reason: str


class ImportResult(BaseModel):
    """What every import endpoint answers."""

    created: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[ImportRowError]
