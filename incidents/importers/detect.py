"""Telling an ACLED export, another CSV and GeoJSON apart from a file's name and first bytes."""

from __future__ import annotations

import csv
import io
from pathlib import PurePath
from typing import Final

from .reading import sniff_delimiter
from .report import ImportFailed, Kind

# Columns that only an ACLED export has all of.
ACLED_SIGNATURE: Final = frozenset({"event_id_cnty", "event_date", "sub_event_type"})
JSON_SUFFIXES: Final = (".geojson", ".json")


def detect_kind(data: bytes, name: str) -> Kind:
    """``"geojson"`` for JSON, ``"acled"`` for a CSV whose header has ACLED's columns, else ``"csv"``.

    Raises :class:`ImportFailed` for what is neither (a workbook, an empty file)."""
    head = data[:65536]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    stripped = head.lstrip()
    if PurePath(name).suffix.lower() in JSON_SUFFIXES or stripped.startswith((b"{", b"[")):
        return "geojson"
    if not stripped:
        raise ImportFailed(name, "is empty: expected CSV with a header line, or GeoJSON")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFailed(name, "is an Excel workbook or a zip archive: save the sheet as 'CSV UTF-8' and import "
                           "that")
    first = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    try:
        header = next(csv.reader(io.StringIO(first), delimiter=sniff_delimiter(first)), [])
    except csv.Error:
        header = []
    columns = {cell.strip().casefold() for cell in header}
    return "acled" if columns >= ACLED_SIGNATURE else "csv"
