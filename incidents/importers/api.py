"""The entry point for an uploaded or local file: detect its kind, import it, report every row."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from ..errors import IncidentDataError
from ..reader import check_size, max_bytes_from_env
from ..vocab import STATUSES
from .acled import import_acled
from .detect import detect_kind
from .geojson import import_geojson
from .mapping import FieldMapping, MappingError, mapping_from_options
from .reading import Progress, decode_text
from .report import KINDS, ImportFailed, ImportResult, Kind
from .table import import_csv


def import_table(
    data: bytes,
    *,
    name: str,
    kind: Kind | None = None,
    mapping: FieldMapping | None = None,
    default_status: str | None = None,
    default_source: str | None = None,
    default_category: str | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    max_bytes: int | None = None,
) -> ImportResult:
    """Import one file's content (an upload, say) into the incident format.

    ``kind`` is ``"acled"``, ``"csv"`` or ``"geojson"`` (``None``: :func:`detect_kind`). ``mapping`` says which
    column/property feeds which field (CSV and GeoJSON; ACLED's mapping is fixed). ``default_status`` (ACLED:
    ``claimed``), ``default_source`` and ``default_category`` apply where a row has none. ``now`` is the import
    time written into ``provenance.imported_at``. ``progress(done, total)`` is called as rows are read.

    Every row becomes an incident or is listed in ``result.report.skipped`` with its line and reason; the
    collection loads with :func:`incidents.load_incidents_bytes` without errors. Raises :class:`ImportFailed`
    (:class:`MappingError` for a bad mapping) when the file as a whole cannot be imported.
    """
    limit = max_bytes if max_bytes is not None else max_bytes_from_env()
    try:
        check_size(len(data), name=name, max_bytes=limit)
    except IncidentDataError as error:
        raise ImportFailed(name, error.problems[0].message) from None
    if kind is None:
        kind = detect_kind(data, name)
    elif kind not in KINDS:
        raise MappingError(name, f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if default_status is not None and default_status not in STATUSES:
        raise MappingError(name, f"default status {default_status!r} is not one of {', '.join(STATUSES)}")
    imported_at = _timestamp(now)
    with _collector_paused():
        return _import(data, name=name, kind=kind, mapping=mapping, default_status=default_status,
                       default_source=default_source, default_category=default_category, imported_at=imported_at,
                       progress=progress, limit=limit)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while rows are converted: an import allocates millions of small,
    acyclic dicts and lists, and the collector's repeated passes over them would cost about a quarter of the
    time of a large import (reference counting still frees everything as usual)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _import(data: bytes, *, name: str, kind: Kind, mapping: FieldMapping | None, default_status: str | None,
            default_source: str | None, default_category: str | None, imported_at: str,
            progress: Progress | None, limit: int) -> ImportResult:
    if kind == "acled":
        if mapping is not None or default_category is not None:
            raise MappingError(name, "ACLED columns are mapped by the importer (see docs/import.md); a mapping or "
                               "default category applies to csv and geojson imports only")
        return import_acled(decode_text(data, name=name), name=name, imported_at=imported_at,
                            status=default_status or "claimed", fallback_source=default_source, progress=progress)
    options = mapping_from_options(status=default_status, source=default_source, category=default_category)
    merged = (mapping or FieldMapping()).merged(options)
    if kind == "csv":
        return import_csv(decode_text(data, name=name), name=name, mapping=merged, imported_at=imported_at,
                          progress=progress)
    return import_geojson(data, name=name, mapping=merged, imported_at=imported_at, max_bytes=limit,
                          progress=progress)


def _timestamp(now: datetime | None) -> str:
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
