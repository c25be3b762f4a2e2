"""Check a block of ordinary incidents at once, straight into the frame's columns.

The line reader (:mod:`incidents.bulk`) hands over a block of a file laid out one feature per line. msgspec decodes
the whole block into typed structs in C — field names, types, vocabulary, non-blank text, plain links, counts — and
:func:`check_block` does the rest (dates, references between fields, ids) and builds the columns
:class:`~incidents.model.FrameBuilder` would build from the quick check's rows. It is a shortcut only: any feature
it cannot vouch for sends the whole block back to the per-feature path, which gives the same rows or the messages.

**Why the decoded values are the strict reader's.** Encoding a decoded value never comes out longer than the text
it was read from — text and escapes, integers of any size, and numbers written without an exponent (blocks with one
are not taken) — and comes out shorter for every other way of writing it: a duplicate key (decoding keeps one),
blanks between tokens, an escape for a plain character, a number with trailing zeros. So the block is taken only when
the re-encoded lengths equal the text's, and then what was decoded is exactly what was written (keys in any order).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final, Literal

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from msgspec import Meta, Raw, Struct

from .quickcheck import _PROPERTY_FIELDS, _STARTS, _checked_period, _Refused, _start, checked_shape
from .reader import MAX_DEPTH, nested_within
from .safety import _PLAIN_URL, MAX_URL_LENGTH
from .streaming import NotStreamable, SecondLook
from .validate import MAX_ID_LENGTH, country_codes
from .vocab import CATEGORIES, LOCATION_PRECISIONS, RELATIONS, SOURCE_KINDS, STANCES, STATUSES


def _one_of(values: Any) -> Any:
    return Literal.__getitem__(tuple(values))


_NOT_BLANK: Final = r"\S"  # str.strip() and re's \s agree on what is blank (Unicode whitespace)
Text = Annotated[str, Meta(pattern=_NOT_BLANK)]
_ID_CHAR = r"[^\x00-\x1f\x7f-\x9f]"
_ID_END = r"[^\x00-\x1f\x7f-\x9f\s]"
Identifier = Annotated[str, Meta(pattern=rf"\A{_ID_END}(?:{_ID_CHAR}{{0,{MAX_ID_LENGTH - 2}}}{_ID_END})?\Z")]
Link = Annotated[str, Meta(pattern=rf"\A(?:{_PLAIN_URL.pattern})\Z", max_length=MAX_URL_LENGTH)]
Count = Annotated[int, Meta(ge=0)]
# Integers stay integers (a float type would write 5 back as 5.0); floats capped so that none is written with an
# exponent, and the reader's own limits hold.
Distance = Annotated[int, Meta(ge=0)] | Annotated[float, Meta(ge=0, le=1e15)]
Longitude = Annotated[int, Meta(ge=-180, le=180)] | Annotated[float, Meta(ge=-180, le=180)]
Latitude = Annotated[int, Meta(ge=-90, le=90)] | Annotated[float, Meta(ge=-90, le=90)]
Reference = Annotated[int, Meta(ge=0)] | str | None


class _Object(Struct, forbid_unknown_fields=True, omit_defaults=True, gc=False):
    """A JSON object with the named members only. Missing members and members written as null both read as None
    and are not written back: a null written out then makes the lengths differ, and the block goes the slow way."""


class Source(_Object):
    title: Text
    id: Identifier | None = None
    publisher: str | None = None
    url: Link | None = None
    date: str | None = None
    kind: _one_of(SOURCE_KINDS) | None = None  # type: ignore[valid-type]


class HistoryEntry(_Object):
    date: str
    status: _one_of(STATUSES)  # type: ignore[valid-type]
    note: str | None = None
    source: Reference = None


class Claim(_Object):
    by: Text
    stance: _one_of(STANCES)  # type: ignore[valid-type]
    date: str | None = None
    text: str | None = None
    source: Reference = None


class Range(_Object):
    min: Count | None = None
    max: Count | None = None


class Casualties(_Object):
    killed: Count | Range | None = None
    injured: Count | Range | None = None
    note: str | None = None
    source: Reference = None


class Related(_Object):
    id: Identifier
    relation: _one_of(RELATIONS)  # type: ignore[valid-type]


class Properties(_Object):
    title: Text
    category: _one_of(CATEGORIES)  # type: ignore[valid-type]
    start: str
    status: _one_of(STATUSES)  # type: ignore[valid-type]
    sources: Annotated[list[Source], Meta(min_length=1)]
    id: Identifier | None = None
    description: str | None = None
    end: str | None = None
    time_precision: str | None = None
    first_reported: str | None = None
    place: str | None = None
    admin1: str | None = None
    country: _one_of(sorted(country_codes())) | None = None  # type: ignore[valid-type]
    location_precision: _one_of(LOCATION_PRECISIONS) | None = None  # type: ignore[valid-type]
    uncertainty_m: Distance | None = None
    status_history: list[HistoryEntry] | None = None
    perpetrator: str | None = None
    claims: list[Claim] | None = None
    casualties: Casualties | None = None
    related: list[Related] | None = None
    tags: list[Text] | None = None
    provenance: dict[str, Any] | None = None


class PropertiesAndMore(Properties, forbid_unknown_fields=False):
    """Properties of records that also hold the analyst's own fields (``x_…``), checked apart
    (:func:`_extension_length`)."""


class Point(_Object, tag="Point", tag_field="type"):
    coordinates: tuple[Longitude, Latitude]


# A shape's positions, checked by the full geometry check; bounded here so that no number is written back with an
# exponent (msgspec writes floats of 1e16 and more so, which would be longer than written).
Coordinate = Annotated[int, Meta(ge=-(10**15), le=10**15)] | Annotated[float, Meta(ge=-1e15, le=1e15)]
Position = Annotated[list[Coordinate], Meta(min_length=2, max_length=3)]


class LineString(_Object, tag="LineString", tag_field="type"):
    coordinates: list[Position]


class Polygon(_Object, tag="Polygon", tag_field="type"):
    coordinates: list[list[Position]]


class MultiPoint(_Object, tag="MultiPoint", tag_field="type"):
    coordinates: list[Position]


class MultiLineString(_Object, tag="MultiLineString", tag_field="type"):
    coordinates: list[list[Position]]


class MultiPolygon(_Object, tag="MultiPolygon", tag_field="type"):
    coordinates: list[list[list[Position]]]


Geometry = Point | LineString | Polygon | MultiPoint | MultiLineString | MultiPolygon


class Feature(Struct, forbid_unknown_fields=True, omit_defaults=True, gc=False):
    type: Literal["Feature"]
    geometry: Raw
    properties: Raw
    id: Identifier | None = None


_features: Final = msgspec.json.Decoder(list[Feature]).decode
_properties: Final = msgspec.json.Decoder(list[Properties]).decode
_geometries: Final = msgspec.json.Decoder(list[Geometry | None]).decode
_properties_and_more: Final = msgspec.json.Decoder(list[PropertiesAndMore]).decode
_members: Final = msgspec.json.Decoder(list[dict[str, Raw]]).decode
_values: Final = msgspec.json.Decoder().decode
_raws: Final = msgspec.json.Decoder(list[Raw]).decode
_encode: Final = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class Block:
    """The frame's columns for a block of incidents (as :func:`incidents.model._columns` names them), their
    shapes (2-D points as their coordinates, as the quick check gives them) and their status histories."""

    count: int
    columns: dict[str, list[Any]]
    shapes: list[Any]
    history_rows: list[int]
    history_dates: list[datetime]
    history_statuses: list[str]


def check_block(block: bytes, *, file: str, first: int) -> Block | None:
    """The columns of the features in ``block`` (lines separated by ``,\\n``, numbered from ``first`` in ``file``),
    or None when any of them is not an ordinary incident written plainly (the per-feature path then decides).
    The caller makes sure that no number in ``block`` is written with an exponent, and no control character is
    escaped in upper-case hex, as long as msgspec's lower-case escape (:class:`incidents.streaming.SecondLook`
    notes both)."""
    # the line breaks are blanks: left in, and out of the lengths compared (the last line's is cut off)
    text = b"[" + block.rstrip(b" \t\r\n") + b"]"
    try:
        features = _features(text)
        records = [feature.properties for feature in features]
        joined = b"[" + b",".join(records) + b"]"
        properties = _typed_properties(joined, extensions=b'"x_' in block)
        geometry_text = b"[" + b",".join([feature.geometry for feature in features]) + b"]"
        geometries = _geometries(geometry_text)
    except (msgspec.MsgspecError, RecursionError, UnicodeDecodeError):
        return None
    # (the line breaks are the only blanks taken out; several features on a line, or one over several lines, change
    # nothing: every other blank still makes the lengths differ)
    if (properties is None or len(_encode(features)) != len(text) - text.count(b"\n")
            or len(_encode(geometries)) != len(geometry_text)):
        return None
    try:
        shapes = [(float(g.coordinates[0]), float(g.coordinates[1])) if type(g) is Point
                  else None if g is None else checked_shape(msgspec.to_builtins(g), file, first + i)
                  for i, g in enumerate(geometries)]
        return _columns([feature.id for feature in features], [bytes(record).decode() for record in records],
                        properties, shapes, file=file, first=first)
    except (_Refused, ArithmeticError, TypeError, ValueError):
        return None


def check_records(column: pa.Array, shapes: np.ndarray, *, file: str, first: int) -> Block | None:
    """:func:`check_block` for a batch of GeoParquet records: ``column`` holds their properties as JSON text (it
    becomes the frame's records as it is), ``shapes`` their shapes."""
    if not len(column) or column.null_count or not (pa.types.is_string(column.type)
                                                    or pa.types.is_large_string(column.type)):
        return None
    lists = pa.LargeListArray.from_arrays(pa.array([0, len(column)], type=pa.int64()), column)
    joined = b"[" + pc.binary_join(lists, pa.scalar(",", type=column.type))[0].as_buffer().to_pybytes() + b"]"
    look = SecondLook()  # what the line reader's chunks are held to
    try:
        look.check(joined)
    except NotStreamable:
        return None
    if look.exponents or look.upper_hex:
        return None
    try:
        # each record one value by itself: '{"a":[1' and '2]}' parse together but are not JSON apart
        if [len(raw) for raw in _raws(joined)] != pc.binary_length(column).to_pylist():
            return None
        properties = _typed_properties(joined, extensions=b'"x_' in joined)
    except (msgspec.MsgspecError, RecursionError, UnicodeDecodeError):
        return None
    if properties is None:
        return None
    try:
        return _columns([None] * len(column), column, properties, _point_values(shapes, file, first),
                        file=file, first=first)
    except (_Refused, ArithmeticError, TypeError, ValueError):
        return None


def _typed_properties(joined: bytes, *, extensions: bool) -> list[Properties] | None:
    """The records in ``joined`` (a JSON list), typed, when all are written plainly; ``extensions``: whether they
    may hold the analyst's own fields."""
    if not extensions:
        properties = _properties(joined)
        return properties if len(_encode(properties)) == len(joined) else None
    length = _extension_length(joined)
    if length is None:
        return None
    properties = list(_properties_and_more(joined))
    return properties if len(_encode(properties)) == len(joined) - length else None


def _point_values(shapes: np.ndarray, file: str, first: int) -> list[Any]:
    """These shapes (read from WKB) as the per-feature path takes them: 2-D points as their coordinates, others
    through the full geometry check."""
    values: list[Any] = []
    kinds = shapely.get_type_id(shapes).tolist()
    for position, (shape, kind) in enumerate(zip(shapes.tolist(), kinds, strict=True)):
        if shape is None:
            values.append(None)
        elif kind == 0 and not shape.is_empty and not shape.has_z:
            lon, lat = shape.x, shape.y
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):  # false for NaN
                raise _Refused
            values.append((lon, lat))
        else:
            values.append(checked_shape(json.loads(shapely.to_geojson(shape)), file, first + position))
    return values


def _short_float(value: float) -> bool:
    """Whether msgspec writes ``value`` as it can only have been written, at the same length: under 1e16 (from there
    on msgspec writes an exponent: longer than ``12345678901234567.0``) and with at most 15 significant digits (any two
    such numbers differ as doubles, where ``0.30000000000000004`` and ``…05`` are the same double)."""
    if not -1e16 < value < 1e16:  # false for NaN too
        return False
    text = repr(value)
    return "e" not in text and len(text.lstrip("-").replace(".", "").lstrip("0")) <= 15


def _plain_json(value: Any, limit: int) -> bool:
    """Whether a value decoded without a type (``provenance``, an ``x_…`` field) nests no more than ``limit`` levels
    (:func:`incidents.reader.too_deep`) and holds only floats that :func:`_short_float` allows."""
    return nested_within(value, limit, leaf=_plain_leaf)


def _plain_leaf(value: Any) -> bool:
    return type(value) is not float or _short_float(value)


def _extension_length(joined: bytes) -> int | None:
    """How many bytes of ``joined`` (records, as a JSON list) the analyst's own fields (``x_…``) take as msgspec
    writes them, members and commas; None when a record has a member that is neither the format's nor ``x_…``, or an
    ``x_…`` value not written plainly or nested too deep. (A member twice, blanks between members or a name written
    with an escape take more than that: the caller's comparison of lengths then fails.)"""
    records = _members(joined)
    values: list[Raw] = []
    length = 0
    for record in records:
        for key in record.keys() - _PROPERTY_FIELDS:
            if not key.startswith("x_"):
                return None
            value = record[key]
            values.append(value)
            length += len(_encode(key)) + len(value) + 2  # "key":value and one comma (a record has other members)
    if values:
        values_text = b"[" + b",".join(values) + b"]"
        parsed = _values(values_text)
        if len(_encode(parsed)) != len(values_text):
            return None
        if not all(_plain_json(value, MAX_DEPTH - 4) for value in parsed):
            return None
    return length


def _columns(outer_ids: list[str | None], records: list[str] | pa.Array, properties: list[Properties],
             shapes: list[Any], *, file: str, first: int) -> Block:
    """The block's columns; ``records``: the properties' text as read (a list, or a text column kept as it is)."""
    count = len(records)
    ids = [_incident_id(outer, props) for outer, props in zip(outer_ids, properties, strict=True)]
    periods = [_checked_period(p.start, p.end, p.time_precision) for p in properties]
    first_reported: list[datetime] = []
    history_rows: list[int] = []
    history_dates: list[datetime] = []
    history_statuses: list[str] = []
    known = _STARTS.get  # a date's start by its text (a datetime: never false)
    for position, props in enumerate(properties):
        sources = props.sources
        source_count = len(sources)
        source_ids = _source_ids(sources) if sources[0].id is not None or source_count > 1 else _NO_IDS
        dated = [known(source.date) or _start(source.date) for source in sources if source.date is not None]
        history = props.status_history
        if history:
            previous = None
            for entry in history:
                when = known(entry.date) or _start(entry.date)
                if previous is not None and when < previous:
                    raise _Refused
                reference = entry.source
                if reference is not None:
                    _reference(reference, source_count, source_ids)
                previous = when
                history_rows.append(position)
                history_dates.append(when)
                history_statuses.append(entry.status)
                dated.append(when)
            if history[-1].status != props.status:
                raise _Refused
        claims = props.claims
        if claims:
            for claim in claims:
                if claim.date is not None:
                    dated.append(known(claim.date) or _start(claim.date))
                if claim.source is not None:
                    _reference(claim.source, source_count, source_ids)
        if props.casualties is not None:
            _check_casualties(props.casualties, source_count, source_ids)
        if props.related:
            own = ids[position]
            for link in props.related:
                if link.id == own:
                    raise _Refused
        if props.provenance is not None and not _plain_json(props.provenance, MAX_DEPTH - 4):
            raise _Refused
        if type(props.uncertainty_m) is float and not _short_float(props.uncertainty_m):
            raise _Refused  # perhaps the same number written another way, as long: the text kept would differ
        given = props.first_reported
        if given is not None:
            first_reported.append(known(given) or _start(given))
        else:
            first_reported.append(min(dated) if dated else periods[position][0].start)
    records_json: list[str] | pa.Array = records  # a GeoParquet column: every record has its id (none outside)
    if not isinstance(records, pa.Array):
        records_json = [_record_json(record, props, incident_id)
                        for record, props, incident_id in zip(records, properties, ids, strict=True)]
    columns: dict[str, list[Any]] = {
        name: [getattr(p, name) for p in properties]
        for name in ("title", "description", "category", "place", "admin1", "country", "location_precision",
                     "status", "perpetrator")
    }
    casualty_ranges = [_ranges(p.casualties) for p in properties]
    search = [_search_words(props, incident_id) for props, incident_id in zip(properties, ids, strict=True)]
    columns.update(
        id=ids,
        start=[p.start for p in properties],
        end=[p.end for p in properties],
        time_precision=[start.precision for start, _ in periods],
        start_time=[start.start for start, _ in periods],
        end_time=[max((end or start).end, start.end) for start, end in periods],
        first_reported=first_reported,
        uncertainty_m=[p.uncertainty_m for p in properties],
        claimants=["\n".join([c.by for c in p.claims]) if p.claims else "" for p in properties],
        killed_min=[r[0] for r in casualty_ranges],
        killed_max=[r[1] for r in casualty_ranges],
        injured_min=[r[2] for r in casualty_ranges],
        injured_max=[r[3] for r in casualty_ranges],
        source_count=[len(p.sources) for p in properties],
        claim_count=[len(p.claims) if p.claims else 0 for p in properties],
        related_ids=["\n".join([link.id for link in p.related]) if p.related else "" for p in properties],
        search_text="\x00".join(search).casefold().split("\x00"),  # no NUL in checked text; one call, not one each
        file=[file] * count,
        feature=list(range(first, first + count)),
        properties_json=records_json,
    )
    return Block(count=count, columns=columns, shapes=shapes, history_rows=history_rows,
                 history_dates=history_dates, history_statuses=history_statuses)


_NO_IDS: Final[frozenset[str]] = frozenset()


def _incident_id(outer: str | None, props: Properties) -> str:
    inner = props.id
    if inner is not None and (outer is None or outer == inner):
        return inner
    if inner is None and outer is not None:
        return outer
    raise _Refused


def _source_ids(sources: list[Source]) -> frozenset[str]:
    ids: set[str] = set()
    for source in sources:
        if source.id is not None:
            if source.id in ids:
                raise _Refused
            ids.add(source.id)
    return frozenset(ids)


def _reference(value: int | str | None, count: int, ids: frozenset[str]) -> None:
    if value is None:
        return
    if type(value) is int:
        if value >= count:
            raise _Refused
    elif value not in ids:
        raise _Refused


def _check_casualties(casualties: Casualties, count: int, ids: frozenset[str]) -> None:
    for figure in (casualties.killed, casualties.injured):
        if type(figure) is Range:
            low, high = figure.min, figure.max
            if (low is None and high is None) or (low is not None and high is not None and low > high):
                raise _Refused
    _reference(casualties.source, count, ids)


def _ranges(casualties: Casualties | None) -> tuple[Any, Any, Any, Any]:
    if casualties is None:
        return None, None, None, None
    return (*_range(casualties.killed), *_range(casualties.injured))


def _range(figure: int | Range | None) -> tuple[Any, Any]:
    if figure is None:
        return None, None
    if type(figure) is Range:
        return figure.min, figure.max
    return figure, figure


def _search_words(props: Properties, incident_id: str) -> str:
    """:func:`incidents.model.search_text` of these properties, before ``casefold``."""
    parts: list[str] = [incident_id]
    for value in (props.title, props.description, props.place, props.admin1, props.perpetrator):
        if value is not None:
            parts.append(value)
    if props.claims:
        for claim in props.claims:
            parts.append(claim.by)
            if claim.text:
                parts.append(claim.text)
    for source in props.sources:
        parts.append(source.title)
        if source.publisher:
            parts.append(source.publisher)
        if source.url:
            parts.append(source.url)
    if props.tags:
        parts.extend(props.tags)
    return "\n".join(parts)


def _record_json(text: str, props: Properties, incident_id: str) -> str:
    """:func:`incidents.model.properties_json`: the record as written (plain, as checked), ``id`` first."""
    if props.id is None:  # the id only on the Feature: written first
        return '{"id":' + _encode(incident_id).decode() + "," + text[1:]
    return text
