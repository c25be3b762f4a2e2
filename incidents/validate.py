"""Check parsed GeoJSON against the incident format, feature by feature, collecting every problem.

:func:`check_collection` never raises for bad data: it returns the rows it could read and every problem it
found, each located as ``file: feature #i (id): field: message``.
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
import re
import reprlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Final, TypeGuard

import shapely
from shapely.geometry.base import BaseGeometry

from .dates import DateError, PartialDate, parse_date
from .errors import Problem, Severity
from .reader import MAX_DEPTH, too_deep
from .safety import url_problem
from .vocab import (
    CATEGORIES,
    LOCATION_PRECISIONS,
    RELATIONS,
    SOURCE_KINDS,
    STANCES,
    STATUSES,
    TIME_PRECISIONS,
)

PROPERTY_FIELDS: Final = (
    "id", "title", "description", "category", "start", "end", "time_precision", "first_reported",
    "place", "admin1", "country", "location_precision", "uncertainty_m", "status", "status_history",
    "perpetrator", "claims", "casualties", "sources", "related", "tags", "provenance",
)
REQUIRED_FIELDS: Final = ("title", "category", "start", "status", "sources")
FEATURE_MEMBERS: Final = ("type", "id", "geometry", "properties", "bbox")
HISTORY_FIELDS: Final = ("date", "status", "note", "source")
CLAIM_FIELDS: Final = ("by", "date", "stance", "text", "source")
SOURCE_FIELDS: Final = ("id", "title", "publisher", "url", "date", "kind")
RELATED_FIELDS: Final = ("id", "relation")
CASUALTY_FIELDS: Final = ("killed", "injured", "note", "source")
GEOMETRY_TYPES: Final = ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon")
MAX_ID_LENGTH: Final = 200
MAX_PROBLEMS_PER_FIELD: Final = 5
# Foreign members of a FeatureCollection that we know and drop without a warning.
KNOWN_COLLECTION_MEMBERS: Final = ("type", "features", "bbox", "name", "crs", "export")
WGS84_CRS_NAMES: Final = (
    "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "urn:ogc:def:crs:EPSG::4326", "EPSG:4326",
)


@dataclass(slots=True)
class Row:
    """One valid incident, ready to become a row of the frame."""

    file: str
    feature: int
    id: str
    properties: dict[str, Any]
    geometry: BaseGeometry | tuple[float, ...] | None  # a Point is kept as its checked coordinates
    start: PartialDate
    end: PartialDate
    first_reported: datetime
    history: list[tuple[datetime, str]]


@dataclass(slots=True)
class CollectionResult:
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@cache
def country_codes() -> frozenset[str]:
    import pycountry

    return frozenset(country.alpha_2 for country in pycountry.countries)


def check_collection(document: Any, *, file: str) -> CollectionResult:
    """Check a parsed GeoJSON document; every feature either becomes a row or is reported."""
    result = CollectionResult()
    problems, features = check_header(document, file=file)
    result.problems.extend(problems)
    if features is None:
        return result
    collector = FeatureCollector(file, result.rows.append)
    for feature in features:
        collector.check(feature)
    result.problems.extend(collector.problems)
    return result


def check_header(document: Any, *, file: str) -> tuple[list[Problem], list[Any] | None]:
    """Check what a document says about itself (type, crs, members): the problems, and its features (``None``
    when they cannot be checked: the document is not a FeatureCollection)."""
    problems: list[Problem] = []
    if not isinstance(document, dict):
        problems.append(Problem(file, f"is {_kind(document)}, expected a GeoJSON FeatureCollection object"))
        return problems, None
    kind = document.get("type")
    if kind == "Feature":
        problems.append(
            Problem(file, 'is a single Feature: wrap it as {"type": "FeatureCollection", "features": [...]}')
        )
        return problems, None
    if kind != "FeatureCollection":
        problems.append(Problem(file, f"has type {_short(kind)}, expected \"FeatureCollection\""))
        return problems, None
    features = document.get("features")
    if not isinstance(features, list):
        problems.append(Problem(file, f"features is {_kind(features)}, expected a list of Features"))
        return problems, None
    _check_crs(document.get("crs"), file, problems)
    for member in document:
        if member not in KNOWN_COLLECTION_MEMBERS:
            problems.append(
                Problem(file, f"member {_short(member)} of the FeatureCollection is not kept", severity="warning")
            )
    return problems, features


class FeatureCollector:
    """Checks a file's features one after another (numbered from 1), handing each valid one to ``accept`` as a
    :class:`Row` and keeping the problems of all."""

    def __init__(self, file: str, accept: Callable[[Row], None], *,
                 quick: Callable[[Any, str, int], Row | None] | None = None) -> None:
        self.file = file
        self.accept = accept
        self.quick = quick
        self.count = 0
        self.problems: list[Problem] = []

    def check(self, feature: Any) -> None:
        """Check the next feature: first with ``quick`` when given (:func:`incidents.quickcheck.quick_row`: the same
        row as the full check for an ordinary valid incident, None for anything else), else fully."""
        self.count += 1
        if self.quick is not None:
            row = self.quick(feature, self.file, self.count)
            if row is not None:
                self.accept(row)
                return
        checker = FeatureChecker(self.file, self.count)
        row = checker.check(feature)
        if row is None and not checker.failed:  # never drop a feature without saying why
            checker.error("", "could not be read, for no reason the checks name: please report this file")
        self.problems.extend(checker.problems)
        if row is not None:
            self.accept(row)


def _check_crs(crs: Any, file: str, problems: list[Problem]) -> None:
    if crs is None:
        return
    properties = crs.get("properties") if isinstance(crs, dict) else None
    name = properties.get("name") if isinstance(properties, dict) else None
    if isinstance(name, str) and name in WGS84_CRS_NAMES:
        problems.append(
            Problem(file, "crs member ignored: GeoJSON coordinates are always WGS 84 longitude/latitude",
                    severity="warning")
        )
        return
    problems.append(
        Problem(file, f"declares crs {_short(name or crs)}: GeoJSON (RFC 7946) coordinates must be WGS 84 "
                "longitude/latitude; reproject the file to EPSG:4326")
    )


class FeatureChecker:
    """Checks one feature and remembers its problems."""

    def __init__(self, file: str, index: int) -> None:
        self.file = file
        self.index = index
        self.feature_id: str | None = None
        self.problems: list[Problem] = []
        self.errors = 0  # every error, listed or not: a feature with one never becomes a row
        self._per_field: dict[tuple[str, Severity], int] = {}

    def error(self, path: str, message: str, severity: Severity = "error") -> None:
        """Record a problem; past :data:`MAX_PROBLEMS_PER_FIELD` errors (or warnings) in one field, only count it."""
        if severity == "error":
            self.errors += 1
        key = (path.split(".", 1)[0].split("[", 1)[0], severity)
        count = self._per_field.get(key, 0) + 1
        self._per_field[key] = count
        if count > MAX_PROBLEMS_PER_FIELD:
            return
        if count == MAX_PROBLEMS_PER_FIELD:
            message += " (further problems in this field not listed)"
        self.problems.append(Problem(self.file, message, self.index, self.feature_id, path or None, severity))

    def warn(self, path: str, message: str) -> None:
        self.error(path, message, "warning")

    @property
    def failed(self) -> bool:
        return self.errors > 0

    def check(self, feature: Any) -> Row | None:
        if not isinstance(feature, dict):
            self.error("", f"is {_kind(feature)}, expected a GeoJSON Feature object")
            return None
        kind = feature.get("type")
        if kind in GEOMETRY_TYPES or kind == "GeometryCollection":
            self.error("", f"is a bare {kind} geometry, not a Feature: wrap it as "
                       '{"type": "Feature", "geometry": {…}, "properties": {…}}')
            return None
        if kind == "FeatureCollection":
            self.error("", "is a FeatureCollection inside the features list: put its features in this list instead")
            return None
        properties = feature.get("properties")
        self.feature_id = self._read_id(feature, properties)
        if feature.get("type") != "Feature":
            self.error("type", f"is {_short(feature.get('type'))}, expected \"Feature\"")
        for member in feature:
            if member not in FEATURE_MEMBERS:
                self.warn(_key(member), "is not part of the incident format and is not kept")
        geometry = self._check_geometry(feature)
        if not isinstance(properties, dict):
            self.error(
                "properties",
                f"is {_kind(properties)}, expected an object with at least {', '.join(REQUIRED_FIELDS)}",
            )
            return None
        return self._check_properties(properties, geometry)

    # -- identity ---------------------------------------------------------------------------------------
    def _read_id(self, feature: dict[str, Any], properties: Any) -> str | None:
        outer = feature.get("id")
        inner = properties.get("id") if isinstance(properties, dict) else None
        for label, value in (("id", outer), ("properties.id", inner)):
            if value is not None and not _is_valid_id(value):
                self.error(label, f"{_short(value)} is not a valid id: expected a non-empty string of at most "
                           f"{MAX_ID_LENGTH} characters without control characters, such as "
                           "'2017-04-04-khan-sheikhoun-chemical-attack'")
        if _is_valid_id(outer) and _is_valid_id(inner) and outer != inner:
            self.error("id", f"the Feature id {outer!r} and properties.id {inner!r} differ; they must be equal")
        for value in (inner, outer):
            if _is_valid_id(value):
                return str(value)
        if outer is None and inner is None:
            self.error("id", "is missing: give each incident a stable, unique id in properties.id "
                       "(e.g. '2017-04-04-khan-sheikhoun-chemical-attack')")
        return None

    # -- geometry ---------------------------------------------------------------------------------------
    def _check_geometry(self, feature: dict[str, Any]) -> BaseGeometry | tuple[float, ...] | None:
        if "geometry" not in feature:
            self.error("geometry", "is missing: use null for an unlocated incident")
            return None
        geometry = feature["geometry"]
        if geometry is None:
            return None
        if not isinstance(geometry, dict):
            self.error("geometry", f"is {_kind(geometry)}, expected a GeoJSON geometry object or null")
            return None
        kind = geometry.get("type")
        if kind == "GeometryCollection":
            self.error("geometry", "GeometryCollection is not supported: use a Multi geometry or split the "
                       "incident")
            return None
        if kind not in GEOMETRY_TYPES:
            self.error("geometry.type", f"is {_short(kind)}, expected one of {', '.join(GEOMETRY_TYPES)}")
            return None
        for member in geometry:
            if member not in ("type", "coordinates", "bbox"):
                self.warn(f"geometry.{_key(member)}", "is not part of a GeoJSON geometry and is not kept")
        before = self.errors
        coordinates = geometry.get("coordinates")
        depth = _depth(coordinates)
        if depth is not None and depth != _COORDINATE_DEPTHS[kind]:
            wanted = _COORDINATE_DEPTHS[kind]
            self.error("geometry.coordinates", f"{_short(coordinates)} is nested {_levels(depth)} deep, but {kind} "
                       f"coordinates are nested {_levels(wanted)}: {_COORDINATE_SHAPES[wanted]}")
            return None
        _GEOMETRY_CHECKS[kind](self, coordinates, "geometry.coordinates")
        if self.errors > before:
            return None
        if kind == "Point":
            # A checked position: a plain Point, built with all the others at once (shapely.points) later.
            return tuple(float(v) for v in coordinates or ())
        try:
            shape = shapely.from_geojson(json.dumps({"type": kind, "coordinates": coordinates}))
        except shapely.errors.GEOSException as error:
            self.error("geometry", f"cannot be read as a {kind}: {error}")
            return None
        if kind in ("Polygon", "MultiPolygon") and not shape.is_valid:
            reason = shapely.is_valid_reason(shape)
            self.error("geometry", f"is an invalid {kind}: {reason} — fix the ring (e.g. in QGIS 'Fix "
                       "geometries') so that it does not cross itself")
            return None
        return shape

    def _position(self, value: Any, path: str) -> None:
        if not isinstance(value, list) or not 2 <= len(value) <= 3:
            self.error(path, f"is {_short(value)}, expected a position [longitude, latitude]{_position_hint(value)}")
            return
        for axis, number in zip(("longitude", "latitude", "elevation"), value, strict=False):
            if not _is_number(number):
                quoted = isinstance(number, str) and len(number) <= 60 and _NUMBER_TEXT.fullmatch(number)
                hint = f" (write it without quotes: {number.strip()})" if quoted else ""
                self.error(path, f"{axis} {_short(number)} is not a number{hint}")
                return
            if not math.isfinite(number):
                self.error(path, f"{axis} {number} is not a finite number")
                return
        lon, lat = value[0], value[1]
        if not -180 <= lon <= 180:
            self.error(path, f"longitude {lon} is outside -180…180")
        if not -90 <= lat <= 90:
            hint = " (are longitude and latitude swapped?)" if -90 <= lon <= 90 and -180 <= lat <= 180 else ""
            self.error(path, f"latitude {lat} is outside -90…90{hint}")

    def _positions(self, value: Any, path: str, minimum: int, what: str) -> None:
        if not isinstance(value, list) or len(value) < minimum:
            self.error(path, f"is {_short(value)}, expected a list of at least {minimum} positions for {what}")
            return
        for i, position in enumerate(value):
            self._position(position, f"{path}[{i}]")

    def _line(self, value: Any, path: str) -> None:
        self._positions(value, path, 2, "a line")

    def _ring(self, value: Any, path: str) -> None:
        self._positions(value, path, 4, "a polygon ring")
        if isinstance(value, list) and len(value) >= 4 and value[0] != value[-1]:
            self.error(path, "ring is not closed: its last position must repeat the first")

    def _polygon(self, value: Any, path: str) -> None:
        self._list_of(value, path, self._ring, "rings", minimum=1)

    def _list_of(self, value: Any, path: str, check: Callable[[Any, str], None], what: str,
                 minimum: int = 1) -> None:
        if not isinstance(value, list) or len(value) < minimum:
            self.error(path, f"is {_short(value)}, expected a list of {what}")
            return
        for i, item in enumerate(value):
            check(item, f"{path}[{i}]")

    # -- properties -------------------------------------------------------------------------------------
    def _check_properties(self, props: dict[str, Any], geometry: BaseGeometry | tuple[float, ...] | None
                          ) -> Row | None:
        self._unknown_keys(props, PROPERTY_FIELDS, "")
        for name in REQUIRED_FIELDS:
            if props.get(name) is None:
                self.error(name, f"is missing: every incident needs {', '.join(REQUIRED_FIELDS)}")
        self._text(props, "title", required=True)
        for name in ("description", "place", "admin1", "perpetrator"):
            self._text(props, name)
        category = props.get("category")
        if category is not None:
            if not isinstance(category, str) or not category.strip():
                self.error("category", f"is {_short(category)}, expected a category code such as "
                           "'chemical_attack'")
            elif category not in CATEGORIES:
                self.warn("category", f"{_short(category)} is not a known category ({', '.join(CATEGORIES)}); "
                          "it is kept and drawn with a generic symbol")
        status = props.get("status")
        if status is not None and not _is_status(status):
            self.error("status", f"{_short(status)} is not a status: expected one of {', '.join(STATUSES)}")
        self._choice(props, "location_precision", LOCATION_PRECISIONS)
        self._country(props.get("country"))
        self._non_negative(props, "uncertainty_m")
        start, end = self._period(props)
        sources = self._sources(props.get("sources"))
        history = self._history(props.get("status_history"), status, sources)
        claim_dates = self._claims(props.get("claims"), sources)
        self._casualties(props.get("casualties"), sources)
        self._related(props.get("related"))
        self._tags(props.get("tags"))
        first_reported = self._first_reported(props, start, history, claim_dates, sources)
        self._extensions(props)
        if self.failed or start is None or self.feature_id is None or first_reported is None:
            return None
        return Row(
            file=self.file,
            feature=self.index,
            id=self.feature_id,
            properties=props,
            geometry=geometry,
            start=start,
            end=end or start,
            first_reported=first_reported,
            history=[(entry.start, entry_status) for entry, entry_status in history],
        )

    def _unknown_keys(self, obj: dict[str, Any], known: tuple[str, ...], prefix: str) -> None:
        others = obj.keys() - _known_set(known)
        if not others:
            return
        for key in obj:  # in the file's order
            if key not in others or key.startswith("x_"):
                continue
            guess = difflib.get_close_matches(key, known, n=1, cutoff=0.7)
            hint = f"did you mean {guess[0]!r}? " if guess else ""
            self.error(f"{prefix}{_key(key)}", f"is not a field of the incident format: {hint}known fields are "
                       f"{', '.join(known)}; name your own fields x_…")

    def _text(self, obj: dict[str, Any], name: str, path: str | None = None, *, required: bool = False) -> None:
        value = obj.get(name)
        where = path or name
        if value is None:
            return
        if not isinstance(value, str):
            self.error(where, f"is {_kind(value)}, expected text")
        elif required and not value.strip():
            self.error(where, "is empty")
        elif "\x00" in value:
            self.error(where, "contains a NUL character")

    def _choice(self, obj: dict[str, Any], name: str, allowed: tuple[str, ...], path: str | None = None) -> None:
        value = obj.get(name)
        if value is not None and value not in allowed:
            self.error(path or name, f"{_short(value)} is not one of {', '.join(allowed)}")

    def _non_negative(self, obj: dict[str, Any], name: str) -> None:
        value = obj.get(name)
        if value is None:
            return
        if not _is_number(value) or not math.isfinite(value) or value < 0:
            self.error(name, f"{_short(value)} is not a finite number ≥ 0")

    def _country(self, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, str) and value.upper() in country_codes():
            if value != value.upper():
                self.error("country", f"{value!r} must be upper case: {value.upper()!r}")
            return
        self.error("country", f"{_short(value)} is not an ISO 3166-1 alpha-2 country code such as 'SY'")

    def _date(self, value: Any, path: str) -> PartialDate | None:
        try:
            return parse_date(value)
        except DateError as error:
            self.error(path, str(error))
            return None

    def _period(self, props: dict[str, Any]) -> tuple[PartialDate | None, PartialDate | None]:
        start = self._date(props["start"], "start") if props.get("start") is not None else None
        end = self._date(props["end"], "end") if props.get("end") is not None else None
        precision = props.get("time_precision")
        if precision is not None:
            if precision not in TIME_PRECISIONS:
                self.error("time_precision", f"{_short(precision)} is not one of {', '.join(TIME_PRECISIONS)}")
            elif start is not None:
                try:
                    start = start.widened(precision)
                except DateError as error:
                    self.error("time_precision", str(error))
                    start = None
                if end is not None and TIME_PRECISIONS.index(precision) > TIME_PRECISIONS.index(end.precision):
                    end = end.widened(precision)
        if start is not None and end is not None and _ends_before_start(start, end):
            self.error("end", f"{end.text!r} is before start {start.text!r}")
            end = None
        return start, end

    def _list(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(path, f"is {_kind(value)}, expected a list")
            return []
        return value

    def _object(self, value: Any, path: str, known: tuple[str, ...]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.error(path, f"is {_kind(value)}, expected an object with {', '.join(known)}")
            return None
        self._unknown_keys(value, known, f"{path}.")
        return value

    def _sources(self, value: Any) -> list[dict[str, Any]]:
        items = self._list(value, "sources")
        if value is not None and isinstance(value, list) and not items:
            self.error("sources", "is empty: every incident needs at least one source")
        sources: list[dict[str, Any]] = []
        ids: set[str] = set()
        for i, item in enumerate(items):
            path = f"sources[{i}]"
            source = self._object(item, path, SOURCE_FIELDS)
            if source is None:
                sources.append({})
                continue
            sources.append(source)
            if source.get("title") is None:
                self.error(f"{path}.title", "is missing: name the report, statement or post")
            self._text(source, "title", f"{path}.title", required=True)
            self._text(source, "publisher", f"{path}.publisher")
            self._choice(source, "kind", SOURCE_KINDS, f"{path}.kind")
            if source.get("date") is not None:
                self._date(source["date"], f"{path}.date")
            url = source.get("url")
            refused = None if url is None else url_problem(url)
            if refused is not None:
                self.error(f"{path}.url", f"{_short(url)} is not an http(s) URL with a host: it {refused}")
            source_id = source.get("id")
            if source_id is not None:
                if not _is_valid_id(source_id):
                    self.error(f"{path}.id", f"{_short(source_id)} is not a valid source id (non-empty text)")
                elif source_id in ids:
                    self.error(f"{path}.id", f"{source_id!r} is used by two sources of this incident")
                ids.add(str(source_id))
        return sources

    def _source_ref(self, value: Any, path: str, sources: list[dict[str, Any]]) -> None:
        if value is None:
            return
        if isinstance(value, bool):
            self.error(path, f"{_short(value)} is not a source reference")
        elif isinstance(value, int):
            if not 0 <= value < len(sources):
                self.error(path, f"source index {value} does not exist: this incident has {len(sources)} "
                           f"source{'s' if len(sources) != 1 else ''} (indexes start at 0)")
        elif isinstance(value, str):
            if not any(s.get("id") == value for s in sources):
                known = [s["id"] for s in sources if isinstance(s.get("id"), str)]
                self.error(path, f"no source has id {_short(value)}" + (f" (ids: {', '.join(known)})" if known else ""))
        else:
            self.error(path, f"is {_kind(value)}, expected a source index (0, 1, …) or a source id")

    def _history(self, value: Any, status: Any, sources: list[dict[str, Any]]) -> list[tuple[PartialDate, str]]:
        entries: list[tuple[PartialDate, str]] = []
        items = self._list(value, "status_history")
        previous: PartialDate | None = None
        for i, item in enumerate(items):
            path = f"status_history[{i}]"
            entry = self._object(item, path, HISTORY_FIELDS)
            if entry is None:
                continue
            entry_status = entry.get("status")
            if not _is_status(entry_status):
                self.error(f"{path}.status", f"{_short(entry_status)} is not a status: expected one of "
                           f"{', '.join(STATUSES)}")
            if entry.get("date") is None:
                self.error(f"{path}.date", "is missing: when was the status set?")
                when = None
            else:
                when = self._date(entry["date"], f"{path}.date")
            self._text(entry, "note", f"{path}.note")
            self._source_ref(entry.get("source"), f"{path}.source", sources)
            if when is not None and previous is not None and when.start < previous.start:
                self.error(f"{path}.date", f"{when.text!r} comes before the previous entry's {previous.text!r}: "
                           "list the history oldest first")
            if when is not None:
                previous = when
                if _is_status(entry_status):
                    entries.append((when, entry_status))
        if items and _is_status(status) and isinstance(items[-1], dict):
            last = items[-1].get("status")
            if _is_status(last) and last != status:
                self.error("status", f"is {status!r} but the last status_history entry says {last!r}; they must "
                           "agree (add a history entry for the change)")
        return entries

    def _claims(self, value: Any, sources: list[dict[str, Any]]) -> list[PartialDate]:
        dates: list[PartialDate] = []
        for i, item in enumerate(self._list(value, "claims")):
            path = f"claims[{i}]"
            claim = self._object(item, path, CLAIM_FIELDS)
            if claim is None:
                continue
            if claim.get("by") is None:
                self.error(f"{path}.by", "is missing: who makes the claim?")
            self._text(claim, "by", f"{path}.by", required=True)
            if claim.get("stance") is None:
                self.error(f"{path}.stance", f"is missing: one of {', '.join(STANCES)}")
            else:
                self._choice(claim, "stance", tuple(STANCES), f"{path}.stance")
            self._text(claim, "text", f"{path}.text")
            if claim.get("date") is not None:
                when = self._date(claim["date"], f"{path}.date")
                if when is not None:
                    dates.append(when)
            self._source_ref(claim.get("source"), f"{path}.source", sources)
        return dates

    def _casualties(self, value: Any, sources: list[dict[str, Any]]) -> None:
        if value is None:
            return
        casualties = self._object(value, "casualties", CASUALTY_FIELDS)
        if casualties is None:
            return
        for name in ("killed", "injured"):
            figure = casualties.get(name)
            path = f"casualties.{name}"
            if figure is None:
                continue
            if isinstance(figure, dict):
                self._unknown_keys(figure, ("min", "max"), f"{path}.")
                low, high = figure.get("min"), figure.get("max")
                if low is None and high is None:
                    self.error(path, "gives neither min nor max")
                for bound, number in (("min", low), ("max", high)):
                    if number is not None and not _is_count(number):
                        self.error(f"{path}.{bound}", f"{_short(number)} is not a whole number ≥ 0")
                if low is not None and high is not None and _is_count(low) and _is_count(high) and low > high:
                    self.error(path, f"min {low} is greater than max {high}")
            elif not _is_count(figure):
                self.error(path, f"{_short(figure)} is not a whole number ≥ 0 or {{\"min\": …, \"max\": …}}")
        self._text(casualties, "note", "casualties.note")
        self._source_ref(casualties.get("source"), "casualties.source", sources)

    def _related(self, value: Any) -> None:
        for i, item in enumerate(self._list(value, "related")):
            path = f"related[{i}]"
            link = self._object(item, path, RELATED_FIELDS)
            if link is None:
                continue
            target = link.get("id")
            if not _is_valid_id(target):
                self.error(f"{path}.id", f"{_short(target)} is not an incident id")
            elif target == self.feature_id:
                self.error(f"{path}.id", "an incident cannot be related to itself")
            relation = link.get("relation")
            if not isinstance(relation, str) or not relation.strip():
                self.error(f"{path}.relation", f"is {_short(relation)}, expected a relation such as "
                           f"{', '.join(RELATIONS)}")
            elif relation not in RELATIONS:
                self.warn(f"{path}.relation", f"{_short(relation)} is not one of the usual relations "
                          f"({', '.join(RELATIONS)}); kept as written")

    def _tags(self, value: Any) -> None:
        for i, tag in enumerate(self._list(value, "tags")):
            if not isinstance(tag, str) or not tag.strip():
                self.error(f"tags[{i}]", f"{_short(tag)} is not a non-empty text tag")

    def _first_reported(
        self,
        props: dict[str, Any],
        start: PartialDate | None,
        history: list[tuple[PartialDate, str]],
        claim_dates: list[PartialDate],
        sources: list[dict[str, Any]],
    ) -> datetime | None:
        if props.get("first_reported") is not None:
            given = self._date(props["first_reported"], "first_reported")
            return given.start if given is not None else None
        dated = [when.start for when, _ in history] + [when.start for when in claim_dates]
        for source in sources:
            try:
                dated.append(parse_date(source.get("date")).start)
            except DateError:
                continue
        if dated:
            return min(dated)
        return start.start if start is not None else None

    def _extensions(self, props: dict[str, Any]) -> None:
        provenance = props.get("provenance")
        if provenance is not None and not isinstance(provenance, dict):
            self.error("provenance", f"is {_kind(provenance)}, expected an object")
        for key, value in props.items():
            if (isinstance(value, dict | list) and (key.startswith("x_") or key == "provenance")
                    and too_deep(value, MAX_DEPTH - 4)):
                self.error(key, f"is nested more than {MAX_DEPTH - 4} levels deep")


_GEOMETRY_CHECKS: Final[dict[str, Callable[[FeatureChecker, Any, str], None]]] = {
    "Point": FeatureChecker._position,
    "MultiPoint": lambda c, v, p: c._positions(v, p, 1, "a MultiPoint"),
    "LineString": FeatureChecker._line,
    "MultiLineString": lambda c, v, p: c._list_of(v, p, c._line, "lines"),
    "Polygon": FeatureChecker._polygon,
    "MultiPolygon": lambda c, v, p: c._list_of(v, p, c._polygon, "polygons"),
}


def _ends_before_start(start: PartialDate, end: PartialDate) -> bool:
    """Whether ``end``'s period is over by the time ``start``'s begins: on the same clock, or in UTC when both
    were written with an offset (06:30+03:00 to 05:00+01:00 lasts half an hour)."""
    offsets = _utc_offset(start.text), _utc_offset(end.text)
    if offsets[0] is not None and offsets[1] is not None:
        return end.end - offsets[1] <= start.start - offsets[0]
    return end.end <= start.start


def _utc_offset(text: str) -> timedelta | None:
    if "T" not in text:
        return None
    try:
        return datetime.fromisoformat(text).utcoffset()
    except ValueError:
        return None


@cache
def _known_set(known: tuple[str, ...]) -> frozenset[str]:
    return frozenset(known)


def _is_status(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and value in STATUSES


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_count(value: Any) -> bool:
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        return False
    return isinstance(value, int) or float(value).is_integer()


_ID: Final = re.compile(rf"[^\x00-\x1f\x7f-\x9f]{{1,{MAX_ID_LENGTH}}}")


def _is_valid_id(value: Any) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None and value == value.strip()


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {_short(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


_COORDINATE_DEPTHS: Final = {"Point": 1, "MultiPoint": 2, "LineString": 2, "Polygon": 3, "MultiLineString": 3,
                              "MultiPolygon": 4}
_COORDINATE_SHAPES: Final = {1: "[lon, lat]", 2: "[[lon, lat], …]", 3: "[[[lon, lat], …], …]",
                             4: "[[[[lon, lat], …], …], …]"}


def _depth(value: Any) -> int | None:
    """How deep ``value`` nests lists, following first items down to a number; None if that cannot be told."""
    depth = 0
    while isinstance(value, list) and value:
        depth += 1
        value = value[0]
    return depth if depth and _is_number(value) else None


def _key(key: str) -> str:
    """A member name as it can be shown in a message: as written if short and printable, else quoted and cut."""
    return key if len(key) <= 60 and key.isprintable() else _short(key)


def _levels(depth: int) -> str:
    return f"{depth} level{'s' if depth != 1 else ''}"


def _position_hint(value: Any) -> str:
    """Why a value is not a position, when the mistake is a common one."""
    if isinstance(value, str) and len(value) <= 80 and _POSITION_TEXT.fullmatch(value):
        numbers = [part.strip() for part in re.split(r"[,\s]+", value.strip()) if part.strip()]
        return f" (numbers in a list, not text: [{', '.join(numbers)}])"
    if isinstance(value, list) and value and all(isinstance(item, list) for item in value[:4]):
        return " (nested one level too deep for this geometry type?)"
    if _is_number(value):
        return " (nested one level too shallow for this geometry type?)"
    return ""


_NUMBER_TEXT: Final = re.compile(r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*")
_POSITION_TEXT: Final = re.compile(r"\s*[-+]?[\d.]+\s*(?:[,\s]\s*[-+]?[\d.]+\s*){1,2}")


class _BoundedRepr(reprlib.Repr):
    """``repr`` that stops at a few levels and items (a huge or deeply nested value costs nothing to show) and
    keeps dict keys in their order."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxlist = self.maxtuple = self.maxdict = 4
        self.maxstring = 60
        self.maxother = 60
        self.maxlong = 40

    def repr_dict(self, x: dict[Any, Any], level: int) -> str:
        if not x:
            return "{}"
        if level <= 0:
            return "{...}"
        keys = itertools.islice(x, self.maxdict)
        items = [f"{self.repr1(key, level - 1)}: {self.repr1(x[key], level - 1)}" for key in keys]
        return "{" + ", ".join(items) + (", ..." if len(x) > self.maxdict else "") + "}"


_REPR: Final = _BoundedRepr()


def _short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, computed without walking all of a big value."""
    if isinstance(value, str):
        text = repr(value) if len(value) <= limit else repr(value[: limit + 2])
    elif isinstance(value, list | dict):
        text = _REPR.repr(value)
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
