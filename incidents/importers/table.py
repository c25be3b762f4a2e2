"""Spreadsheets (CSV with a header line) → incidents, through a :class:`~.mapping.FieldMapping`."""

from __future__ import annotations

from typing import Any

from .features import FeatureBuilder, geometry_from, resolve
from .mapping import FieldMapping
from .reading import Progress, blank_lines_note, read_csv, record_keys
from .report import ImportReport, ImportResult, RowSkipped


def import_csv(
    text: str,
    *,
    name: str,
    mapping: FieldMapping,
    imported_at: str,
    progress: Progress | None = None,
) -> ImportResult:
    """Import CSV ``text``: coordinates come from latitude/longitude or WKT columns (found by name or mapped),
    every other field from the column the mapping or its name gives."""
    table = read_csv(text, name=name, progress=progress)
    header = table.header
    report = ImportReport(name=name, kind="csv", columns=tuple(header))
    columns, notes = resolve(header, mapping, name=name, what="column", need_location=True)
    report.mapping = dict(columns)
    keys, renamed = record_keys(header)
    for note in (*notes, *renamed):
        report.warn(None, note)
    positions = {target: header.index(column) for target, column in columns.items()}
    builder = FeatureBuilder(mapping=mapping, report=report, name=name, file_format="csv",
                             imported_at=imported_at, columns=columns)
    features: list[dict[str, Any]] = []
    width = len(header)
    for line, cells in table.rows:
        report.rows += 1
        try:
            if len(cells) > width and any(c.strip() for c in cells[width:]):
                raise RowSkipped(f"has {len(cells)} cells where the header has {width} (a delimiter inside an "
                                 "unquoted cell?)")
            values = {target: cells[p] if p < len(cells) else "" for target, p in positions.items()}
            geometry = geometry_from(values, line, report, columns)
            record = {key: cells[i] if i < len(cells) else "" for i, key in enumerate(keys)}
            features.append(builder.build(line, values, geometry, record))
        except RowSkipped as skipped:
            report.skip(line, skipped.reason)
    for line, reason in table.failure:
        report.rows += 1
        report.skip(line, reason)
    if table.blank_lines:
        report.warn(None, blank_lines_note(table.blank_lines))
    report.imported = len(features)
    return ImportResult(collection={"type": "FeatureCollection", "features": features}, report=report)
