"""The loaded dataset: a GeoDataFrame of incidents plus what the filters and exports need beside it."""

from __future__ import annotations

import ctypes
import functools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import geopandas as gpd
import msgspec
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from .errors import Problem
from .validate import Row

if TYPE_CHECKING:
    from .blocks import Block

NESTED_FIELDS: Final = ("status_history", "claims", "casualties", "sources", "related", "tags")
TEXT_FIELDS: Final = ("title", "description", "category", "place", "admin1", "country", "location_precision",
                      "status", "perpetrator")
# Columns of the frame, in order; the nested fields follow when they are expanded.
FLAT_COLUMNS: Final = (
    "id", "title", "description", "category", "status", "start", "end", "time_precision",
    "start_time", "end_time", "first_reported", "place", "admin1", "country", "location_precision",
    "uncertainty_m", "perpetrator", "claimants", "killed_min", "killed_max", "injured_min", "injured_max",
    "source_count", "claim_count", "related_ids", "search_text", "file", "feature", "properties_json",
    "geometry_type", "anchor_lat", "anchor_lng",
)
DATETIME_UNIT: Final = "datetime64[s]"
#: The columns that hold most of a frame's bytes (whole records and the text searched), and the others: a view of
#: many incidents takes only these (``IncidentFilter.apply(dataset, columns=VIEW_COLUMNS)``), which costs a
#: fraction of a full copy, and fetches the whole rows of the few it shows in full (:func:`full_rows`).
HEAVY_COLUMNS: Final = ("properties_json", "search_text", "description")
VIEW_COLUMNS: Final = (*(c for c in FLAT_COLUMNS if c not in HEAVY_COLUMNS), "geometry")
_DATETIME_COLUMNS: Final = ("start_time", "end_time", "first_reported")
_FLOAT_COLUMNS: Final = ("uncertainty_m", "killed_min", "killed_max", "injured_min", "injured_max")
_INT_COLUMNS: Final = ("source_count", "claim_count", "feature")
_STRING_COLUMNS: Final = (*TEXT_FIELDS, "id", "start", "end", "time_precision", "claimants", "related_ids",
                          "search_text", "file", "properties_json")
CHUNK_ROWS: Final = 65_536  # a frame being built joins its columns' chunks once this many rows have come
# Columns the builder fills from the rows; the geometry columns are computed from the shapes.
_BUILT_COLUMNS: Final = tuple(c for c in FLAT_COLUMNS if c not in ("geometry_type", "anchor_lat", "anchor_lng"))


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file a dataset was read from, identified by its content."""

    name: str
    sha256: str
    size: int
    features: int


@dataclass(frozen=True, slots=True)
class Dataset:
    """Incidents as loaded: ``frame`` holds one row per incident (index 0…n-1), ``history`` one row per
    status-history entry (``row``, ``date``, ``status``), ``warnings`` what was accepted with a remark.
    ``consistent``: its ids were checked unique and its ``related`` links found within it (so a dataset of one
    file read back from the cache need not be checked again)."""

    frame: gpd.GeoDataFrame
    history: pd.DataFrame
    warnings: tuple[Problem, ...]
    files: tuple[SourceFile, ...]
    consistent: bool = False

    def __len__(self) -> int:
        return len(self.frame)

    def properties(self, row: int) -> dict[str, Any]:
        """The properties of incident ``row`` exactly as they were read."""
        result: dict[str, Any] = json.loads(self.frame.at[row, "properties_json"])
        return result


def full_rows(dataset: Dataset, selected: pd.DataFrame) -> gpd.GeoDataFrame:
    """The whole rows of the incidents in ``selected`` (a filtered frame, perhaps of some columns only), with the
    status ``selected`` shows (as of the filter's date)."""
    rows = dataset.frame.loc[selected.index]
    return rows.assign(status=selected["status"].to_numpy()) if "status" in selected.columns else rows


def frame_from_rows(rows: Iterable[Row], *, nested: bool = True) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Build the incident frame and the flat status-history table from validated rows."""
    builder = FrameBuilder()
    for row in rows:
        builder.add(row)
    return builder.build(nested=nested)


class FrameBuilder:
    """Builds the incident frame row by row, turning every ``flush_every`` rows into arrays, so that it holds the
    columns (not the rows' parsed properties) of a file read one feature at a time."""

    def __init__(self, *, flush_every: int = 4096) -> None:
        self._flush_every = flush_every
        self._rows: list[Row] = []
        self._chunks: dict[str, list[Any]] = {name: [] for name in (*_BUILT_COLUMNS, "geometry")}
        self._history: dict[str, list[Any]] = {"row": [], "date": [], "status": []}  # chunks, joined at the end
        self.rows = 0
        self._joined = 0  # how many of each column's chunks are joined ones (the others: one per block or flush)
        self._unjoined_rows = 0

    def add(self, row: Row) -> None:
        self._rows.append(row)
        self.rows += 1
        if len(self._rows) >= self._flush_every:
            self._flush()

    def add_block(self, block: Block | PreparedBlock) -> None:
        """Add the rows of a block checked at once (:func:`incidents.blocks.check_block`), after those added so far."""
        prepared = block if isinstance(block, PreparedBlock) else prepare_block(block)
        if self._rows:
            self._flush()
        self._add_history(prepared.history_rows + self.rows, prepared.history_dates, prepared.history_statuses)
        for name, values in prepared.columns.items():
            self._chunks[name].append(values)
        self._chunks["geometry"].append(prepared.shapes)
        self.rows += prepared.count
        self._added(prepared.count)

    def build(self, *, nested: bool = True) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
        """The frame and the history table of every row added (once: the builder then lets go of the columns)."""
        self._flush()
        self._join_chunks()
        data: dict[str, Any] = {}
        for name in _BUILT_COLUMNS:
            chunks = self._chunks[name]
            self._chunks[name] = []  # each column's pieces let go of as soon as it is joined
            if name in _STRING_COLUMNS:
                data[name] = pd.array(pa.chunked_array(chunks, type=pa.large_string()), dtype="str")
            else:
                data[name] = _one_array(chunks)
            del chunks
        shapes = _one_array(self._chunks["geometry"])
        self._chunks["geometry"] = []
        data.update(geometry_columns(shapes))
        # copy=False: the columns as built, not copied into one block per type (120 MB more at 1M incidents)
        frame = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(shapes, crs="EPSG:4326"), copy=False)
        del data, shapes
        if nested:
            frame = expand_nested(frame)
        history = pd.DataFrame({
            "row": np.concatenate(self._history["row"]),
            "date": np.concatenate(self._history["date"]),
            "status": pd.array([status for chunk in self._history["status"] for status in chunk], dtype="object"),
        })
        self._history = {name: [] for name in self._history}
        if self.rows >= CHUNK_ROWS:  # a large frame's pieces, freed: 0.17 GiB at a million incidents
            give_back_freed_memory()
        return frame, history

    def _flush(self) -> None:
        rows = self._rows
        if not rows and self._chunks["geometry"]:  # an empty frame still gets one (empty) chunk
            return
        first = self.rows - len(rows)
        self._add_history(np.array([first + i for i, row in enumerate(rows) for _ in row.history], dtype="int64"),
                          _datetime_array([when for row in rows for when, _ in row.history]),
                          [status for row in rows for _, status in row.history])
        for name, values in _columns(rows).items():
            self._chunks[name].append(_column_array(name, values))
        self._chunks["geometry"].append(_shapes([row.geometry for row in rows]))
        self._added(len(rows))
        rows.clear()

    def _added(self, count: int) -> None:
        self._unjoined_rows += count
        if self._unjoined_rows >= CHUNK_ROWS:
            self._join_chunks()

    def _join_chunks(self) -> None:
        """Join each column's chunks added since the last join into one, as the load goes: a frame in a few
        large chunks takes rows faster (:mod:`incidents.rows`: the cost is per chunk), and its cache entry is written
        from them as they are, not copied again (:func:`incidents.store.write_arrow_table`)."""
        joined, self._unjoined_rows = self._joined, 0
        if len(self._chunks["id"]) - joined > 1:
            for name, chunks in self._chunks.items():
                chunks[joined:] = [pa.concat_arrays(chunks[joined:], memory_pool=_LASTING) if name in _STRING_COLUMNS
                                   else np.concatenate(chunks[joined:])]
            give_back_freed_memory()  # the blocks' own chunks, freed in the middle of the heap
        self._joined = len(self._chunks["id"])

    def _add_history(self, rows: np.ndarray, dates: np.ndarray, statuses: list[str]) -> None:
        self._history["row"].append(rows)
        self._history["date"].append(dates)
        self._history["status"].append(statuses)


def _one_array(chunks: list[np.ndarray]) -> np.ndarray:
    """A column's numpy chunks as one array: a single chunk (joined already) as it is, not copied again."""
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)


def give_back_freed_memory() -> None:
    """Hand memory that was freed back to the system (glibc keeps it otherwise, in the middle of its heap). Costs
    about 0.01 s; without it, what a load frees is still counted resident while what comes next is allocated.
    Does nothing where there is no glibc."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):  # no C library by that name (Windows: TypeError), or not glibc
        return None
    return trim


@dataclass(frozen=True, slots=True)
class PreparedBlock:
    """A checked block laid out as the frame's arrays (:func:`prepare_block`): what a helper process sends back.
    ``history_rows`` count from the block's first row."""

    count: int
    columns: dict[str, Any]
    shapes: np.ndarray
    history_rows: np.ndarray
    history_dates: np.ndarray
    history_statuses: list[str]

    def consistent(self) -> bool:
        """Whether every array has a value for each of ``count`` rows (an answer from another process is checked)."""
        rows = self.count
        return (type(rows) is int and rows >= 0 and len(self.shapes) == rows
                and set(self.columns) == set(_BUILT_COLUMNS) and all(len(v) == rows for v in self.columns.values())
                and len(self.history_rows) == len(self.history_dates) == len(self.history_statuses)
                and (not len(self.history_rows) or 0 <= int(self.history_rows.min()) <= int(self.history_rows.max())
                     < rows))

    def __reduce__(self) -> tuple[Any, ...]:
        # shapes travel as WKB, made and read back by one C loop each, not one Python call per shape
        return (_unpickled_block, (self.count, self.columns, shapely.to_wkb(self.shapes), self.history_rows,
                                   self.history_dates, self.history_statuses))


def _unpickled_block(count: int, columns: dict[str, Any], wkb: np.ndarray, history_rows: np.ndarray,
                     history_dates: np.ndarray, history_statuses: list[str]) -> PreparedBlock:
    return PreparedBlock(count, columns, shapely.from_wkb(wkb), history_rows, history_dates, history_statuses)


def prepare_block(block: Block) -> PreparedBlock:
    """The arrays :meth:`FrameBuilder.add_block` adds for ``block``."""
    return PreparedBlock(
        count=block.count,
        columns={name: _column_array(name, values) for name, values in block.columns.items()},
        shapes=_shapes(block.shapes),
        history_rows=np.array(block.history_rows, dtype="int64"),
        history_dates=_datetime_array(block.history_dates),
        history_statuses=block.history_statuses,
    )


def _shapes(geometries: list[Any]) -> np.ndarray:
    """Shapes as an array, points given as checked coordinates built all at once."""
    shapes = np.empty(len(geometries), dtype=object)
    shapes[:] = [None if type(geometry) is tuple else geometry for geometry in geometries]
    for dimensions in (2, 3):
        positions = [i for i, geometry in enumerate(geometries) if type(geometry) is tuple
                     and len(geometry) == dimensions]
        if positions:
            coordinates = [geometries[i] for i in positions]
            shapes[positions] = shapely.points(np.array(coordinates, dtype="float64"))
    return shapes


def _columns(rows: list[Row]) -> dict[str, list[Any]]:
    """The frame's columns for ``rows``, each built in one pass."""
    props = [row.properties for row in rows]
    columns: dict[str, list[Any]] = {name: [p.get(name) for p in props] for name in TEXT_FIELDS}
    casualties = [_casualty_ranges(p.get("casualties")) for p in props]
    claims = [p.get("claims") or () for p in props]
    columns.update(
        id=[row.id for row in rows],
        start=[p["start"] for p in props],
        end=[p.get("end") for p in props],
        time_precision=[row.start.precision for row in rows],
        start_time=[row.start.start for row in rows],
        end_time=[max(row.end.end, row.start.end) for row in rows],
        first_reported=[row.first_reported for row in rows],
        uncertainty_m=[p.get("uncertainty_m") for p in props],
        claimants=["\n".join([str(c.get("by", "")) for c in items]) for items in claims],
        killed_min=[c[0] for c in casualties],
        killed_max=[c[1] for c in casualties],
        injured_min=[c[2] for c in casualties],
        injured_max=[c[3] for c in casualties],
        source_count=[len(p.get("sources") or ()) for p in props],
        claim_count=[len(items) for items in claims],
        related_ids=["\n".join([str(link.get("id")) for link in p.get("related") or ()]) for p in props],
        search_text=[search_text(row.properties, row.id) for row in rows],
        file=[row.file for row in rows],
        feature=[row.feature for row in rows],
        properties_json=[properties_json(row.properties, row.id) for row in rows],
    )
    return columns


def _column_array(name: str, values: list[Any]) -> Any:
    if name in _DATETIME_COLUMNS:
        return _datetime_array(values)
    if name in _FLOAT_COLUMNS:
        return np.array([np.nan if v is None else v for v in values], dtype="float64")
    if name in _INT_COLUMNS:
        return np.array(values, dtype="int64")
    if isinstance(values, pa.Array):  # text already in Arrow (records read from GeoParquet): copied out of the
        # reader's buffers (a whole row group's, from Arrow's pool) into ones that last
        return pa.concat_arrays([values.cast(pa.large_string()), pa.array([], pa.large_string())], memory_pool=_LASTING)
    try:  # checked text or None, kept as Arrow to be joined (FrameBuilder._join_chunks)
        return pa.array(values, type=pa.large_string(), memory_pool=_LASTING)
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # anything else: pandas' conversion (None missing, else its text)
        return pd.array(values, dtype="str")._pa_array.combine_chunks().cast(pa.large_string())


# The frame's text lives as long as the dataset: allocated by the C library's malloc, which hands back what a load
# frees, where Arrow's default pool (mimalloc) kept about 0.6 GB more resident at 1M incidents.
_LASTING: Final = pa.system_memory_pool()


_SECONDS: dict[datetime, int] = {}  # a moment's datetime64[s] value: incidents share a few thousand days
_SECONDS_KEPT: Final = 200_000


def is_arrow_text(column: pd.Series) -> bool:
    """Whether a column holds its text in Arrow (as the frame's text columns are made)."""
    return isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow"


def arrow_text(column: pd.Series) -> pa.ChunkedArray:
    """A text column's Arrow chunks: as held (:func:`is_arrow_text`), else made from its Python strings as
    ``large_string`` (missing values null)."""
    if is_arrow_text(column):
        return pa.chunked_array(pa.array(column.array))
    return pa.chunked_array([pa.array(column.astype(object).where(column.notna(), None).tolist(),
                                      type=pa.large_string())])


def _datetime_array(values: list[datetime]) -> np.ndarray:
    """``values`` as ``datetime64[s]``, each distinct moment converted once."""
    seconds = _SECONDS
    distinct = dict.fromkeys(values)
    new = [v for v in distinct if v not in seconds]
    if new:
        converted = zip(new, np.array(new, dtype=DATETIME_UNIT).view("int64").tolist(), strict=True)
        if len(seconds) + len(new) <= _SECONDS_KEPT:
            seconds.update(converted)
        else:  # kept full: this call's moments only
            seconds = {v: seconds[v] for v in distinct if v in seconds}
            seconds.update(converted)
    return np.fromiter(map(seconds.__getitem__, values), dtype="int64", count=len(values)).view(DATETIME_UNIT)


def geometry_columns(shapes: np.ndarray) -> dict[str, np.ndarray]:
    """What the map needs of each geometry, computed once at load: ``geometry_type`` (shapely's type id, -1 when
    missing or empty: not on the map) and the ``anchor_lat``/``anchor_lng`` where it is drawn (the point itself,
    or a point on the surface of a shape; NaN when not on the map)."""
    kinds = np.asarray(shapely.get_type_id(shapes), dtype="int8")
    kinds[np.asarray(shapely.is_empty(shapes), dtype=bool)] = -1
    lat = np.full(len(shapes), np.nan)
    lng = np.full(len(shapes), np.nan)
    points = kinds == 0
    lat[points], lng[points] = shapely.get_y(shapes[points]), shapely.get_x(shapes[points])
    others = kinds > 0
    if others.any():
        inside = shapely.point_on_surface(shapes[others])
        lat[others], lng[others] = shapely.get_y(inside), shapely.get_x(inside)
    return {"geometry_type": kinds, "anchor_lat": lat, "anchor_lng": lng}


def expand_nested(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy of ``frame`` with the nested fields (claims, sources, history, …) as Python objects."""
    decoded = [json.loads(text) for text in frame["properties_json"]]
    expanded = frame.copy()
    for name in NESTED_FIELDS:
        expanded[name] = pd.Series([props.get(name) for props in decoded], index=frame.index, dtype="object")
    return expanded


_ENCODE: Final = msgspec.json.Encoder().encode


def properties_json(props: dict[str, Any], incident_id: str) -> str:
    """The properties as compact JSON (UTF-8 text unescaped, keys in their order), with ``id`` written (first)
    whether it was read from there or not."""
    if props.get("id") != incident_id:
        props = {"id": incident_id, **{k: v for k, v in props.items() if k != "id"}}
    return _ENCODE(props).decode()


def search_text(props: dict[str, Any], incident_id: str) -> str:
    """Lower-case text that the free-text query searches: id (from the Feature or its properties), title,
    description, place, claims, sources, tags."""
    parts: list[str] = [incident_id]
    for name in ("title", "description", "place", "admin1", "perpetrator"):
        value = props.get(name)
        if isinstance(value, str):
            parts.append(value)
    for claim in props.get("claims") or []:
        parts.extend(str(claim.get(key)) for key in ("by", "text") if claim.get(key))
    for source in props.get("sources") or []:
        parts.extend(str(source.get(key)) for key in ("title", "publisher", "url") if source.get(key))
    parts.extend(str(tag) for tag in props.get("tags") or [])
    return "\n".join(parts).casefold()


def _casualty_ranges(casualties: Any) -> tuple[float | None, float | None, float | None, float | None]:
    """Killed min and max, injured min and max (a single figure is both)."""
    if not isinstance(casualties, dict):
        return None, None, None, None
    return (*_casualty_range(casualties.get("killed")), *_casualty_range(casualties.get("injured")))


def _casualty_range(figure: Any) -> tuple[float | None, float | None]:
    if figure is None:
        return None, None
    if isinstance(figure, dict):
        return figure.get("min"), figure.get("max")
    return figure, figure
