"""Exports of exactly the filtered incidents: RFC 7946 GeoJSON and spreadsheet-safe CSV."""

from __future__ import annotations

import codecs
import csv
import io
import json
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

import geopandas as gpd
import numpy as np
import shapely

from . import __version__
from .filters import IncidentFilter, Selection
from .model import NESTED_FIELDS, Dataset

EXPORT_MEMBER: Final = "export"
CSV_BOM: Final = codecs.BOM_UTF8  # so that spreadsheets read the file as UTF-8
CSV_COLUMNS: Final = (
    "id", "title", "category", "status", "status_as_of", "start", "end", "time_precision", "first_reported",
    "place", "admin1", "country", "location_precision", "uncertainty_m", "longitude", "latitude", "geometry_wkt",
    "perpetrator",
    "killed_min", "killed_max", "injured_min", "injured_max", "description", "claims", "sources",
    "status_history", "casualties", "related", "tags", "extra",
)
_NUMERIC_COLUMNS: Final = frozenset(
    {"uncertainty_m", "longitude", "latitude", "killed_min", "killed_max", "injured_min", "injured_max"}
)
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r", "\n")
# About 25 MB of GeoJSON for typical incidents: a piece to write, small beside the dataset.
FEATURES_PER_PIECE: Final = 20_000
_CASUALTY_BOUNDS: Final = ("killed_min", "killed_max", "injured_min", "injured_max")
_CSV_FRAME_COLUMNS: Final = ("properties_json", "geometry", "status", *_CASUALTY_BOUNDS)  # what a row is made from


def export_metadata(dataset: Dataset, flt: IncidentFilter, count: int, *, created: datetime | None = None
                    ) -> dict[str, Any]:
    """What an export holds: the filter in words and as data, the input files and their content hashes."""
    moment = (created or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    return {
        "description": flt.describe(),
        "filter": flt.to_dict(),
        "query": flt.to_query(),
        "count": count,
        "datasets": [
            {"file": Path(f.name).name, "sha256": f.sha256, "features": f.features} for f in dataset.files
        ],
        "created": moment.isoformat().replace("+00:00", "Z"),
        "generator": f"incidents {__version__}",
    }


def to_geojson(dataset: Dataset, flt: IncidentFilter, *, created: datetime | None = None) -> str:
    """The filtered incidents as an RFC 7946 FeatureCollection, one feature per line.

    Properties are exactly as read (dates as written, nested objects, ``x_`` fields), ``id`` is written to the
    Feature and its properties, polygons' exterior rings run counter-clockwise, and an ``export`` member says
    what was filtered from which files. :func:`geojson_pieces` gives the same text in pieces.
    """
    return "".join(geojson_pieces(dataset, flt, created=created))


def geojson_pieces(dataset: Dataset, flt: IncidentFilter, *, created: datetime | None = None,
                   features_per_piece: int = FEATURES_PER_PIECE, selection: Selection | None = None
                   ) -> Iterator[str]:
    """:func:`to_geojson`'s text in pieces of ``features_per_piece`` features, to write a large export to a file
    without holding all of it; ``selection``: ``flt.select(dataset)`` when the caller has it already."""
    selected = flt.select(dataset) if selection is None else selection
    header = {"type": "FeatureCollection", EXPORT_MEMBER: export_metadata(dataset, flt, len(selected),
                                                                          created=created)}
    opening = json.dumps(header, ensure_ascii=False)[:-1] + ', "features": ['
    if not len(selected):
        yield f"{opening}]}}\n"
        return
    yield f"{opening}\n"
    separator = ""
    for piece in selected.pieces(columns=("id", "properties_json", "geometry"), rows=features_per_piece):
        yield separator + ",\n".join(_feature_lines(piece))
        separator = ",\n"
    yield "\n]}\n"


def _feature_lines(selected: gpd.GeoDataFrame) -> list[str]:
    geometries = geometry_json(selected.geometry.to_numpy())
    return [
        f'{{"type":"Feature","id":{json.dumps(incident_id, ensure_ascii=False)},'
        f'"geometry":{geometry},"properties":{properties}}}'
        for incident_id, geometry, properties in zip(
            selected["id"], geometries, selected["properties_json"], strict=True
        )
    ]


def geometry_json(geometries: np.ndarray) -> list[str]:
    """GeoJSON text for each geometry (``null`` for none), polygon exteriors counter-clockwise."""
    oriented = shapely.orient_polygons(geometries)
    return ["null" if text is None else text for text in shapely.to_geojson(oriented)]


def to_csv(dataset: Dataset, flt: IncidentFilter) -> str:
    """The filtered incidents as CSV: one row per incident, nested fields as JSON text, geometry as WKT and (for
    points) longitude/latitude; ``status`` as read and ``status_as_of`` when the filter has an as-of date. Text
    cells that a spreadsheet would run as a formula are prefixed with ``'``.
    Write it with a UTF-8 byte-order mark (:func:`csv_bytes`) so spreadsheets detect the encoding;
    :func:`csv_pieces` gives the same text in pieces."""
    return "".join(csv_pieces(dataset, flt))


def csv_pieces(dataset: Dataset, flt: IncidentFilter, *, rows_per_piece: int = FEATURES_PER_PIECE,
               selection: Selection | None = None) -> Iterator[str]:
    """:func:`to_csv`'s text in pieces of ``rows_per_piece`` rows (the first piece is the header row);
    ``selection`` as for :func:`geojson_pieces`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    selected = flt.select(dataset) if selection is None else selection
    for piece in selected.pieces(columns=_CSV_FRAME_COLUMNS, rows=rows_per_piece):
        buffer.seek(0)
        buffer.truncate()
        _write_rows(writer, piece, as_of=bool(flt.as_of))
        yield buffer.getvalue()


def _write_rows(writer: Any, selected: gpd.GeoDataFrame, *, as_of: bool) -> None:
    geometries = selected.geometry.to_numpy()
    wkts = shapely.to_wkt(shapely.orient_polygons(geometries), rounding_precision=-1)
    statuses = selected["status"].tolist()
    bounds = {bound: selected[bound].to_numpy() for bound in _CASUALTY_BOUNDS}
    for position, props_text in enumerate(selected["properties_json"]):
        props = json.loads(props_text)
        geometry = geometries[position]
        point = geometry is not None and geometry.geom_type == "Point"
        row: dict[str, Any] = {name: props.get(name) for name in CSV_COLUMNS}
        row["status_as_of"] = statuses[position] if as_of else None
        row["longitude"] = geometry.x if point else None
        row["latitude"] = geometry.y if point else None
        row["geometry_wkt"] = wkts[position]
        for bound, values in bounds.items():
            value = values[position]
            row[bound] = None if np.isnan(value) else int(value)
        for name in NESTED_FIELDS:
            value = props.get(name)
            row[name] = None if value is None else json.dumps(value, ensure_ascii=False)
        extra = {k: v for k, v in props.items() if k.startswith("x_") or k == "provenance"}
        row["extra"] = json.dumps(extra, ensure_ascii=False) if extra else None
        writer.writerow([_cell(name, row[name]) for name in CSV_COLUMNS])


def csv_bytes(text: str) -> bytes:
    return CSV_BOM + text.encode("utf-8")


def write_pieces(sink: IO[bytes], pieces: Iterable[str], *, bom: bytes = b"") -> None:
    """Write text pieces (:func:`geojson_pieces`, :func:`csv_pieces` with ``bom=CSV_BOM``) as UTF-8, one at a time."""
    sink.write(bom)
    for piece in pieces:
        sink.write(piece.encode("utf-8"))


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column in _NUMERIC_COLUMNS and not isinstance(value, str):
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    return neutralise_formula(text)


def neutralise_formula(text: str) -> str:
    """Prefix a cell that a spreadsheet would evaluate (``=``, ``+``, ``-``, ``@``, tab, CR) with ``'``.

    Leading spaces do not hide a formula, nor do the full-width forms (``＝``, ``＋``, ``－``, ``＠``) that some
    spreadsheets read as the ASCII signs.
    """
    head = unicodedata.normalize("NFKC", text.lstrip(" \u00a0\u3000")[:1])
    return "'" + text if text.startswith(_FORMULA_START) or head.startswith(_FORMULA_START) else text
