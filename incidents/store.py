"""GeoParquet, the fast format.

A loaded dataset is written with its derived columns, the status history as list columns and its provenance
(source files, warnings) in the file's metadata, so reading our own output back parses no JSON. Files from
elsewhere are checked record by record, exactly like GeoJSON.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely

from .bulk import plain_records
from .errors import IncidentDataError, Problem
from .model import CHUNK_ROWS, DATETIME_UNIT, FLAT_COLUMNS, Dataset, SourceFile, arrow_text, is_arrow_text
from .reader import parse_json_bytes

FORMAT_VERSION: Final = "1"
METADATA_KEY: Final = b"incidents"
PARQUET_SUFFIXES: Final = (".parquet", ".geoparquet")
HISTORY_COLUMNS: Final = ("history_dates", "history_statuses")
RECORD_COLUMNS: Final = ("properties_json", "geometry")  # what a file from elsewhere is checked from
_BATCH_ROWS: Final = 4096  # records parsed at a time: what a first load holds besides the frame
_READ_BUFFER_BYTES: Final = 8 * 1024 * 1024
CACHE_BATCH_ROWS: Final = CHUNK_ROWS  # rows per batch of a cache file, at least (the last one aside)
PARQUET_MAGIC: Final = b"PAR1"
# A cache batch's copy, made and freed while the dataset lives on: from the C library's malloc, which hands each
# large buffer back when it is freed (Arrow's default pool keeps them: 0.1–0.2 GB more resident at 1M incidents).
_FREED_AT_ONCE: Final = pa.system_memory_pool()
_DICTIONARY_COLUMNS: Final = ("category", "status", "time_precision", "country", "location_precision", "admin1",
                               "place", "perpetrator", "file")
_TYPE_NAMES: Final = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
                      6: "MultiPolygon"}


def write_geoparquet(dataset: Dataset, path: str | os.PathLike[str]) -> None:
    """Write ``dataset`` as GeoParquet 1.0 (WKB geometry, longitude/latitude), lz4-compressed."""
    table = _table(dataset)
    # lz4 reads about four times faster than zstd here, for files about twice as large.
    pq.write_table(table, path, compression="lz4", row_group_size=256 * 1024,
                   use_dictionary=[c for c in _DICTIONARY_COLUMNS if c in table.column_names])


def write_arrow(dataset: Dataset, path: str | os.PathLike[str]) -> None:
    """Write ``dataset`` as an uncompressed Arrow IPC file, with 2-D point coordinates in plain ``x``/``y`` columns.

    The cache's format: :func:`read_arrow` maps it into memory instead of reading it, and builds points from
    coordinates instead of decoding WKB, so a million incidents open in well under a second. Larger on disk than
    GeoParquet, and not meant to be shared: use :func:`write_geoparquet` for that.
    """
    write_arrow_table(arrow_table(dataset), path)


def arrow_table(dataset: Dataset) -> pa.Table:
    """What :func:`write_arrow` writes: a table that holds the dataset's own Arrow arrays (no text is copied)."""
    geometry = dataset.frame.geometry.to_numpy()
    points = (shapely.get_type_id(geometry) == 0) & ~shapely.has_z(geometry)  # a point with elevation stays WKB
    coordinates = np.full((len(geometry), 2), np.nan)
    if points.any():
        coordinates[points] = shapely.get_coordinates(geometry[points])[:, :2]
    wkb = np.full(len(geometry), None, dtype=object)
    wkb[~points] = shapely.to_wkb(geometry[~points])
    return (_table(dataset, wkb=wkb)
            .append_column("x", pa.array(coordinates[:, 0])).append_column("y", pa.array(coordinates[:, 1])))


def write_arrow_table(table: pa.Table, path: str | os.PathLike[str]) -> None:
    """Write an :func:`arrow_table` (only Arrow's C++ code: another thread may do it while Python goes on).

    Batches of :data:`CACHE_BATCH_ROWS` rows or more: a frame read back in a few large chunks takes rows faster
    (:mod:`incidents.rows`: the cost is per chunk). Chunks that large already (a frame the loader built) are written
    as they are; smaller ones are copied together a batch at a time."""
    with pa.OSFile(os.fspath(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        if table.num_rows == 0:
            writer.write_table(table)
        pending: list[pa.RecordBatch] = []
        rows = 0
        for batch in table.to_batches():  # cut where any column's chunks are: no copy
            pending.append(batch)
            rows += batch.num_rows
            if rows >= CACHE_BATCH_ROWS:
                _write_batches(writer, pending)
                pending, rows = [], 0
        _write_batches(writer, pending)


def _write_batches(writer: pa.ipc.RecordBatchFileWriter, batches: list[pa.RecordBatch]) -> None:
    if len(batches) == 1:
        writer.write_batch(batches[0])
    elif batches:
        writer.write_table(pa.Table.from_batches(batches).combine_chunks(memory_pool=_FREED_AT_ONCE))


def read_arrow(path: str | os.PathLike[str], *, name: str | None = None) -> Dataset:
    """Read a file written by :func:`write_arrow` (trusted: this tool's own cache), memory-mapped."""
    label = name or os.fspath(path)
    try:
        with pa.memory_map(os.fspath(path)) as source:
            table = pa.ipc.open_file(source).read_all()
    except (OSError, pa.ArrowException) as error:
        raise IncidentDataError([Problem(label, f"is not a readable incident Arrow file ({error})")]) from None
    info = _provenance(table.schema, label)
    x = table.column("x").to_numpy()
    y = table.column("y").to_numpy()
    points = ~np.isnan(x)
    geometry = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
    # one C loop over a coordinate array: faster than shapely.points(x, y) for a million points
    geometry[points] = shapely.from_ragged_array(shapely.GeometryType.POINT,
                                                 np.column_stack([x[points], y[points]]))
    return _dataset_from_table(table.drop_columns(["x", "y"]), info, label, geometry=geometry)


def _table(dataset: Dataset, *, wkb: np.ndarray | None = None) -> pa.Table:
    """The dataset as a table; ``wkb`` the geometry column when already made (else every geometry as WKB)."""
    frame = dataset.frame
    dates, statuses = _history_lists(dataset)
    columns: dict[str, Any] = {}
    for name in FLAT_COLUMNS:
        series = frame[name]
        if name in ("start_time", "end_time", "first_reported"):
            columns[name] = pa.array(series.to_numpy().astype("datetime64[s]"), type=pa.timestamp("s"))
        elif is_arrow_text(series) or series.dtype == object or str(series.dtype) == "str":
            columns[name] = arrow_text(series).cast(pa.large_string())  # Arrow text as it is held
        else:
            # a copy: the frame's own array could be edited while a thread writes the cache entry
            columns[name] = pa.array(series.to_numpy(copy=True))
    geometry = frame.geometry.to_numpy()
    columns["geometry"] = pa.array(shapely.to_wkb(geometry) if wkb is None else wkb, type=pa.binary())
    columns["history_dates"] = dates
    columns["history_statuses"] = statuses
    located = geometry[~shapely.is_missing(geometry)]
    # No "crs" member: GeoParquet's default, OGC:CRS84, is longitude/latitude on WGS 84.
    kinds = sorted(_TYPE_NAMES[int(t)] for t in np.unique(shapely.get_type_id(located)))
    geo = {
        "version": "1.0.0",
        "primary_column": "geometry",
        "columns": {"geometry": {
            "encoding": "WKB",
            "geometry_types": kinds,
            "bbox": [float(v) for v in shapely.total_bounds(located)] if len(located) else [],
        }},
    }
    provenance = {
        "format_version": FORMAT_VERSION,
        "files": [_fields(f) for f in dataset.files],
        "warnings": [_fields(w) for w in dataset.warnings],
        "consistent": dataset.consistent,
    }
    return pa.table(columns).replace_schema_metadata(
        {b"geo": json.dumps(geo).encode(), METADATA_KEY: json.dumps(provenance).encode()}
    )


def is_parquet(data_start: bytes) -> bool:
    return data_start.startswith(PARQUET_MAGIC)


def read_geoparquet(path: str | os.PathLike[str], *, name: str | None = None) -> Dataset:
    """Read a GeoParquet file written by :func:`write_geoparquet`, trusting its contents (use this for files
    this tool wrote, such as its cache; :func:`incidents.load.load_incidents` checks files from elsewhere)."""
    label = name or os.fspath(path)
    table = _read_table(path, label)
    return _dataset_from_table(table, _provenance(table.schema, label), label)


def geoparquet_batches(path: str | os.PathLike[str], *, name: str | None = None,
                       ) -> Iterator[tuple[pa.Array, np.ndarray, int]]:
    """The batches of an incident GeoParquet file: the records' text column, their shapes, the number of the
    first. Raises :class:`IncidentDataError` for a file that is not incident GeoParquet or a shape it cannot read."""
    label = name or os.fspath(path)
    try:
        # pages read as they are decoded, not a whole row group's column chunks first (a row group of a file from
        # elsewhere can hold hundreds of thousands of records): 0.12 GiB less at the peak of a million here
        parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=_READ_BUFFER_BYTES)
        _provenance(parquet.schema_arrow, label, needed=RECORD_COLUMNS)  # everything else is derived from these
        batches = parquet.iter_batches(batch_size=_BATCH_ROWS, columns=list(RECORD_COLUMNS))
    except (OSError, pa.ArrowException) as error:
        raise IncidentDataError([Problem(label, f"is not a readable GeoParquet file ({error})")]) from None
    index = 0
    while True:
        try:
            batch = next(batches, None)
        except (OSError, pa.ArrowException) as error:
            raise IncidentDataError([Problem(label, f"is not a readable GeoParquet file ({error})")]) from None
        if batch is None:
            return
        records = batch.column("properties_json")
        try:
            shapes = shapely.from_wkb(batch.column("geometry").to_numpy(zero_copy_only=False))
        except (shapely.errors.GEOSException, NotImplementedError, ValueError) as error:  # curved shapes, say
            raise IncidentDataError([Problem(
                label, f"has a geometry that cannot be read ({error}) among features {index + 1}–"
                f"{index + len(records)}: write it as a GeoJSON geometry type (Point, LineString, Polygon or their "
                "Multi forms)")]) from None
        yield records, shapes, index + 1
        index += len(records)


def batch_features(records: pa.Array, shapes: np.ndarray, first: int, *, name: str, problems: list[Problem],
                   ) -> Iterator[dict[str, Any]]:
    """A batch's records as GeoJSON Features (numbered from ``first``); a record that is not strict JSON is left
    out and its problem added to ``problems``."""
    properties = _records(records)
    geometries = _geometry_values(shapes)
    plain = plain_records(properties)
    if plain is not None:
        for values, geometry in zip(plain, geometries, strict=True):
            yield {"type": "Feature", "geometry": geometry, "properties": values}
        return
    for index, (record, geometry) in enumerate(zip(properties, geometries, strict=True), start=first):
        props: Any = None
        if isinstance(record, str | bytes):
            text = record.encode("utf-8", "surrogatepass") if isinstance(record, str) else record
            try:  # the strict reader: NaN, duplicate keys, lone surrogates, bad UTF-8 … are refused as in GeoJSON
                props = parse_json_bytes(text, name=f"{name} feature #{index}")
            except IncidentDataError as error:
                problems.extend(replace(p, file=name, feature=index, field="properties_json")
                                for p in error.problems)
                continue
        yield {"type": "Feature", "geometry": geometry, "properties": props}


def _records(column: pa.Array) -> list[str | bytes | None]:
    """The records as text; a record that is not valid UTF-8 (Parquet does not make sure) as its bytes, for the
    strict reader to report."""
    try:
        texts: list[str | bytes | None] = column.to_pylist()
        return texts
    except UnicodeDecodeError:
        raw: list[bytes | None] = column.cast(pa.large_binary()).to_pylist()
        return [value if value is None else _text_or_bytes(value) for value in raw]


def _text_or_bytes(value: bytes) -> str | bytes:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value


def _geometry_values(shapes: np.ndarray) -> list[Any]:
    """Each shape as the value its GeoJSON geometry parses to (None for none); a 2-D point straight from its
    coordinates."""
    values: list[Any] = [None] * len(shapes)
    points = (shapely.get_type_id(shapes) == 0) & ~shapely.is_empty(shapes) & ~shapely.has_z(shapes)
    others = np.flatnonzero(~points & ~shapely.is_missing(shapes))
    for position, text in zip(others.tolist(), shapely.to_geojson(shapes[others]).tolist(), strict=True):
        values[position] = json.loads(text)
    located = np.flatnonzero(points)
    for position, (x, y) in zip(located.tolist(), shapely.get_coordinates(shapes[located]).tolist(), strict=True):
        values[position] = {"type": "Point", "coordinates": [x, y]}
    return values


def _read_table(path: str | os.PathLike[str], label: str) -> pa.Table:
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as error:
        raise IncidentDataError([Problem(label, f"is not a readable GeoParquet file ({error})")]) from None


def _provenance(schema: pa.Schema, label: str, *,
                needed: tuple[str, ...] = (*FLAT_COLUMNS, "geometry", *HISTORY_COLUMNS)) -> dict[str, Any]:
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise IncidentDataError([Problem(label, "is Parquet but not an incident dataset (it has no 'incidents' "
                                                "metadata): make one with `incidents convert IN.geojson OUT.parquet`")])
    info: dict[str, Any] = json.loads(raw)
    if info.get("format_version") != FORMAT_VERSION:
        raise IncidentDataError([Problem(label, f"is incident GeoParquet version {info.get('format_version')!r}; "
                                                f"this version reads {FORMAT_VERSION!r}: convert it again from "
                                                "GeoJSON")])
    missing = [c for c in needed if c not in schema.names]
    if missing:
        raise IncidentDataError([Problem(label, f"lacks the columns {', '.join(missing)}")])
    return info


def _dataset_from_table(table: pa.Table, info: dict[str, Any], label: str, *, geometry: np.ndarray | None = None
                        ) -> Dataset:
    dates = table.column("history_dates").combine_chunks()
    statuses = table.column("history_statuses").combine_chunks()
    lengths = pc.list_value_length(dates).fill_null(0).to_numpy(zero_copy_only=False)
    history = pd.DataFrame(
        {
            "row": np.repeat(np.arange(len(lengths), dtype="int64"), lengths),
            "date": dates.flatten().to_numpy(zero_copy_only=False).astype(DATETIME_UNIT),
            "status": _strings(statuses.flatten()),
        }
    )
    plain = table.drop_columns(["geometry", *HISTORY_COLUMNS]).to_pandas(self_destruct=False)
    if geometry is None:
        geometry = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
    for column in ("start_time", "end_time", "first_reported"):
        if plain[column].dtype != DATETIME_UNIT:
            plain[column] = plain[column].to_numpy().astype(DATETIME_UNIT)
    frame = gpd.GeoDataFrame(plain, geometry=gpd.GeoSeries(geometry, crs="EPSG:4326"), copy=False)
    files = tuple(SourceFile(**f) for f in info["files"])
    warnings = tuple(Problem(**w) for w in info["warnings"])
    del label
    return Dataset(frame=frame, history=history, warnings=warnings, files=files,
                   consistent=bool(info.get("consistent", False)))


def _strings(array: pa.Array) -> np.ndarray:
    """A string array with few distinct values as a numpy object array, each distinct value made once."""
    encoded = array.dictionary_encode()
    names = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    return names[encoded.indices.to_numpy(zero_copy_only=False)] if len(names) else np.empty(0, dtype=object)


def _history_lists(dataset: Dataset) -> tuple[pa.ListArray, pa.ListArray]:
    """Each incident's status history as a list of dates and a list of statuses (empty lists for none)."""
    history = dataset.history
    rows = history["row"].to_numpy()
    order = np.argsort(rows, kind="stable")
    offsets = np.zeros(len(dataset.frame) + 1, dtype="int32")
    np.cumsum(np.bincount(rows, minlength=len(dataset.frame)), out=offsets[1:])
    when = pa.array(history["date"].to_numpy()[order].astype("datetime64[s]"), type=pa.timestamp("s"))
    statuses = pa.array(history["status"].to_numpy(dtype=object)[order], type=pa.string())
    return (pa.ListArray.from_arrays(pa.array(offsets), when), pa.ListArray.from_arrays(pa.array(offsets), statuses))


def _fields(item: Any) -> dict[str, Any]:
    return {name: getattr(item, name) for name in item.__slots__}
