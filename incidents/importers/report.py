"""What an import produced: the FeatureCollection and a report of every row that was skipped or warned about."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal

Kind = Literal["acled", "csv", "geojson"]
KINDS: tuple[Kind, ...] = ("acled", "csv", "geojson")


class ImportFailed(ValueError):
    """The file as a whole cannot be imported (unreadable, or a required field has no column); the message says
    why, repeats the bad value and says how to fix it."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        self.message = message
        super().__init__(f"{name}: {message}")


class RowSkipped(Exception):
    """Raised inside an importer for a row that cannot become an incident; ``reason`` goes into the report."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class RowNote:
    """A skipped row or a warning. ``line`` is the CSV line (the header is line 1) or the GeoJSON feature number
    (from 1), ``None`` for a remark about the whole file."""

    line: int | None
    message: str
    unit: Literal["line", "feature"] = "line"

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return f"{self.unit} {self.line}: {self.message}"


@dataclass(slots=True)
class ImportReport:
    """Counts and remarks: every row read is either imported or listed in ``skipped`` with its reason."""

    name: str
    kind: Kind
    unit: Literal["line", "feature"] = "line"
    rows: int = 0
    imported: int = 0
    skipped: list[RowNote] = field(default_factory=list)
    warnings: list[RowNote] = field(default_factory=list)
    columns: tuple[str, ...] = ()
    mapping: dict[str, str] = field(default_factory=dict)

    def skip(self, line: int | None, reason: str) -> None:
        self.skipped.append(RowNote(line, reason, self.unit))

    def warn(self, line: int | None, message: str) -> None:
        self.warnings.append(RowNote(line, message, self.unit))

    def summary(self) -> str:
        """``imported 98 rows, skipped 2, 3 warnings``."""
        noun = "row" if self.unit == "line" else "feature"
        return (
            f"imported {self.imported} {noun}{'s' if self.imported != 1 else ''}, skipped {len(self.skipped)}, "
            f"{len(self.warnings)} warning{'s' if len(self.warnings) != 1 else ''}"
        )

    def lines(self) -> Iterator[str]:
        """Every remark as one line (warnings, then skipped rows), then the summary."""
        for note in self.warnings:
            yield f"warning: {self.name}: {note}"
        for note in self.skipped:
            yield f"skipped: {self.name}: {note}"
        yield f"{self.name}: {self.summary()}"


@dataclass(frozen=True, slots=True)
class ImportResult:
    """``collection`` is a FeatureCollection in the incident format (it loads with no errors); ``report`` says
    what was imported, skipped and warned about."""

    collection: dict[str, Any]
    report: ImportReport

    @property
    def features(self) -> list[dict[str, Any]]:
        features: list[dict[str, Any]] = self.collection["features"]
        return features

    def to_bytes(self) -> bytes:
        """The collection as UTF-8 GeoJSON, one feature per line (ready for ``load_incidents_bytes``)."""
        buffer = io.BytesIO()
        self.write(buffer)
        return buffer.getvalue()

    def write(self, stream: BinaryIO) -> None:
        """Write :meth:`to_bytes`'s content to a binary stream, a thousand features at a time."""
        encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
        features = self.features
        if not features:
            stream.write(b'{"type": "FeatureCollection", "features": []}\n')
            return
        stream.write(b'{"type": "FeatureCollection", "features": [\n')
        for first in range(0, len(features), 1000):
            chunk = ",\n".join(map(encode, features[first:first + 1000]))
            stream.write(((",\n" if first else "") + chunk).encode("utf-8"))
        stream.write(b"\n]}\n")
