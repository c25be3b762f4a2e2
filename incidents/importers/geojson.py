"""GeoJSON from other tools (any properties) → incidents, with the same mapping as spreadsheets.

The file is read with the project's strict JSON reader (bytes only, never a path or URL handed to a library).
"""

from __future__ import annotations

from typing import Any

from ..errors import IncidentDataError
from ..reader import parse_json_bytes
from ..validate import WGS84_CRS_NAMES
from .features import FeatureBuilder, geometry_from, resolve
from .mapping import FieldMapping
from .reading import PROGRESS_EVERY, Progress
from .report import ImportFailed, ImportReport, ImportResult, RowSkipped
from .values import is_blank


def import_geojson(
    data: bytes,
    *,
    name: str,
    mapping: FieldMapping,
    imported_at: str,
    max_bytes: int,
    progress: Progress | None = None,
) -> ImportResult:
    """Import a FeatureCollection (or a single Feature): each feature's geometry is kept, its properties are
    mapped to incident fields; the original properties go into ``provenance.record``."""
    try:
        document = parse_json_bytes(data, name=name, max_bytes=max_bytes)
    except IncidentDataError as error:
        raise ImportFailed(name, "; ".join(p.message for p in error.problems)) from None
    features_in = _features(document, name)
    keys: list[str] = []
    seen_keys: set[str] = set()
    for feature in features_in:
        properties = feature.get("properties") if isinstance(feature, dict) else None
        if isinstance(properties, dict):
            for key in properties:
                if key not in seen_keys:
                    seen_keys.add(key)
                    keys.append(key)
    report = ImportReport(name=name, kind="geojson", unit="feature", columns=tuple(keys))
    columns, _ = resolve(keys, mapping, name=name, what="property", need_location=False)
    if "id" not in columns and any(isinstance(f, dict) and f.get("id") is not None for f in features_in):
        columns["id"] = "(Feature id)"
    report.mapping = dict(columns)
    builder = FeatureBuilder(mapping=mapping, report=report, name=name, file_format="geojson",
                             imported_at=imported_at, columns=columns)
    features: list[dict[str, Any]] = []
    total = len(features_in)
    for number, feature in enumerate(features_in, start=1):
        report.rows += 1
        try:
            features.append(_convert(number, feature, columns, builder, report))
        except RowSkipped as skipped:
            report.skip(number, skipped.reason)
        if progress is not None and number % PROGRESS_EVERY == 0:
            progress(number, total)
    if progress is not None:
        progress(total, total)
    report.imported = len(features)
    return ImportResult(collection={"type": "FeatureCollection", "features": features}, report=report)


def _features(document: Any, name: str) -> list[Any]:
    if not isinstance(document, dict):
        raise ImportFailed(name, f"is a JSON {type(document).__name__}, expected a GeoJSON FeatureCollection")
    kind = document.get("type")
    if kind == "Feature":
        return [document]
    if kind != "FeatureCollection":
        raise ImportFailed(name, f"has type {str(kind)[:40]!r}, expected a GeoJSON FeatureCollection or Feature")
    crs = document.get("crs")
    if crs is not None:
        crs_name = crs.get("properties", {}).get("name") if isinstance(crs, dict) else None
        if crs_name not in WGS84_CRS_NAMES:
            raise ImportFailed(name, f"declares crs {str(crs_name or crs)[:60]!r}: GeoJSON coordinates must be WGS 84 "
                               "longitude/latitude; reproject the file to EPSG:4326 (e.g. in QGIS) first")
    features = document.get("features")
    if not isinstance(features, list):
        raise ImportFailed(name, "has no features list: expected {\"type\": \"FeatureCollection\", \"features\": "
                           "[...]}")
    return features


def _convert(number: int, feature: Any, columns: dict[str, str], builder: FeatureBuilder,
             report: ImportReport) -> dict[str, Any]:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise RowSkipped("is not a GeoJSON Feature object")
    properties = feature.get("properties")
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        raise RowSkipped("properties is not an object")
    values: dict[str, Any] = {target: properties.get(key) for target, key in columns.items()}
    if is_blank(values.get("id")) and feature.get("id") is not None:
        values["id"] = feature["id"]  # the Feature's own id when the id property is absent
    geometry = feature.get("geometry")
    if geometry is None:
        geometry = geometry_from(values, number, report, columns, before="geometry is null and ")
        if geometry is None and not any(t in columns for t in ("latitude", "longitude", "wkt")):
            report.warn(number, "geometry is null: imported without a location (listed, not drawn)")
    record: dict[str, Any] = {"properties": properties}
    if feature.get("id") is not None:
        record = {"id": feature["id"], **record}
    return builder.build(number, values, geometry, record)
