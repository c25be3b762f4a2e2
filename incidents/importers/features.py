"""Building one incident from mapped values (CSV cells or GeoJSON properties), shared by the CSV and GeoJSON
importers: each field is converted, defaults are applied, and the result is checked with the format's own
validator so that what is imported always loads."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import shapely

from ..dates import parse_date
from ..safety import safe_url
from ..validate import FeatureChecker
from ..vocab import LOCATION_PRECISIONS, SOURCE_KINDS, STATUSES, TIME_PRECISIONS
from .mapping import GEOMETRY_TARGETS, REQUIRED, TARGETS, FieldMapping
from .report import ImportFailed, ImportReport, RowSkipped
from .values import (
    category_code,
    check_date_text,
    country_code,
    is_blank,
    parse_casualties,
    parse_number,
    slug,
)

# Column or property names recognised without a mapping (compared ignoring case, spaces as underscores).
SYNONYMS: Final[dict[str, tuple[str, ...]]] = {
    "latitude": ("latitude", "lat", "y"),
    "longitude": ("longitude", "lon", "lng", "x"),
    "wkt": ("wkt", "geometry", "geometry_wkt"),
    "start": ("start", "date", "event_date"),
    "source": ("source", "sources"),
}
HINTS: Final[dict[str, str]] = {
    "title": "--field title=COLUMN",
    "start": "--field start=COLUMN",
    "category": "--field category=COLUMN or --category CODE",
    "status": "--field status=COLUMN or --status STATUS",
    "source": "--field source=COLUMN or --source TEXT",
}


def _key(name: str) -> str:
    return "_".join(name.strip().casefold().split())


def resolve(names: list[str], mapping: FieldMapping, *, name: str, what: str,
            need_location: bool) -> tuple[dict[str, str], list[str]]:
    """Which column/property feeds each field: the mapping's, else one named like the field (see ``SYNONYMS``).

    Raises :class:`ImportFailed` naming a mapped column that does not exist, or listing every required field
    that has neither a column nor a default (and the columns there are)."""
    notes: list[str] = []
    resolved: dict[str, str] = {}
    by_key: dict[str, list[str]] = {}
    for column in names:
        by_key.setdefault(_key(column), []).append(column)
    for target, wanted in mapping.fields.items():
        if wanted in names:
            resolved[target] = wanted
            continue
        matches = by_key.get(_key(wanted), [])
        if len(matches) == 1:
            resolved[target] = matches[0]
            continue
        raise ImportFailed(name, f"the mapping reads {target} from {what} {wanted!r}, which is not in the file; "
                           f"its {'properties' if what == 'property' else what + 's'} are: {', '.join(names)}")
    used = set(resolved.values())
    for column in names:
        key = _key(column)
        if key.startswith("x_") and column not in used and key not in resolved:
            resolved[key] = column
    for target in TARGETS:
        if target in resolved:
            continue
        for synonym in SYNONYMS.get(target, (target,)):
            matches = [c for c in by_key.get(synonym, []) if c not in used]
            if matches:
                resolved[target] = matches[0]
                used.add(matches[0])
                break
    missing = [t for t in REQUIRED if t not in resolved and t not in mapping.defaults]
    located = ("latitude" in resolved and "longitude" in resolved) or "wkt" in resolved
    if missing or (need_location and not located):
        needs = [f"{t} ({HINTS[t]})" for t in missing]
        if need_location and not located:
            needs.append("a location: latitude and longitude columns (--field latitude=COLUMN --field "
                         "longitude=COLUMN) or a WKT column (--field wkt=COLUMN)")
        raise ImportFailed(
            name,
            f"missing required field{'s' if len(needs) != 1 else ''}: {'; '.join(needs)}. "
            f"Map {'them' if len(needs) != 1 else 'it'} with these options or in a mapping file (--map). The file's "
            f"{'properties' if what == 'property' else what + 's'} are: "
            f"{', '.join(names) if names else '(none)'}",
        )
    if need_location and "wkt" in resolved and "latitude" in resolved:
        notes.append(f"both latitude/longitude ({resolved['latitude']!r}, {resolved['longitude']!r}) and WKT "
                     f"({resolved['wkt']!r}) {what}s: a row's WKT is used only when its coordinates are empty")
    return resolved, notes


@dataclass(slots=True)
class FeatureBuilder:
    """Turns one row's raw values (``{field: value}``) into a checked incident Feature, or raises RowSkipped."""

    mapping: FieldMapping
    report: ImportReport
    name: str
    file_format: str
    imported_at: str
    columns: Mapping[str, str]
    seen: dict[str, int] = field(default_factory=dict)
    stem: str = ""

    def __post_init__(self) -> None:
        self.stem = slug(self.name.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]) or "import"
        if "id" not in self.columns:
            self.report.warn(None, f"no id column: ids are made from the file name and {self.report.unit} "
                             f"(e.g. {self.stem}-2); map one with --field id=COLUMN for stable ids")

    def value(self, values: Mapping[str, Any], target: str) -> Any:
        """The raw value for ``target`` after the default and the ``values`` table; ``None`` when blank."""
        raw = values.get(target)
        if is_blank(raw):
            raw = self.mapping.defaults.get(target)
            if raw is None:
                return None
        if isinstance(raw, str):
            raw = self.mapping.rewrite(target, raw.strip())
        return raw

    def where(self, target: str) -> str:
        column = self.columns.get(target)
        return f"{target} (from {column!r})" if column else target

    def build(self, line: int, values: Mapping[str, Any], geometry: dict[str, Any] | None,
              record: dict[str, Any]) -> dict[str, Any]:
        warn = self.report.warn
        props: dict[str, Any] = {}
        raw_id = self.value(values, "id")
        incident_id = _text(raw_id) if raw_id is not None else f"{self.stem}-{line}"
        if raw_id is None and "id" in self.columns:
            warn(line, f"{self.where('id')} is empty: id {incident_id!r} made from the file name and {line}")
        earlier = self.seen.get(incident_id)
        if earlier is not None:
            raise RowSkipped(f"id {incident_id!r} is already used by {self.report.unit} {earlier}: ids must be "
                             "unique; remove or renumber the duplicate")
        props["id"] = incident_id
        title = self.value(values, "title")
        if title is None:
            raise RowSkipped(f"{self.where('title')} is empty: every incident needs a title")
        props["title"] = _text(title)
        self._text(props, values, "description")
        category = self.value(values, "category")
        if category is None:
            raise RowSkipped(f"{self.where('category')} is empty: give one, or a default with --category")
        props["category"] = category_code(_text(category))
        start_text = self._date(props, values, "start", required=True)
        self._date(props, values, "end")
        self._precision(props, values, start_text, line)
        self._date(props, values, "first_reported")
        for name in ("place", "admin1"):
            self._text(props, values, name)
        country = self.value(values, "country")
        if country is not None:
            try:
                props["country"] = country_code(_text(country))
            except ValueError as error:
                warn(line, f"{self.where('country')}: {error}; country left out")
        self._choice(props, values, "location_precision", LOCATION_PRECISIONS, line)
        uncertainty = self.value(values, "uncertainty_m")
        if uncertainty is not None:
            try:
                number = parse_number(uncertainty)
                if number < 0:
                    raise ValueError(f"{number!r} is negative")
                props["uncertainty_m"] = int(number) if number.is_integer() else number
            except ValueError as error:
                warn(line, f"{self.where('uncertainty_m')}: {error} (expected metres ≥ 0); left out")
        status = self.value(values, "status")
        if status is None:
            raise RowSkipped(f"{self.where('status')} is empty: give one, or a default with --status")
        status_text = _text(status).casefold()
        if status_text not in STATUSES:
            raise RowSkipped(f"{self.where('status')} {_text(status)!r} is not one of {', '.join(STATUSES)}: map "
                             "it in a mapping file ([values.status])")
        props["status"] = status_text
        self._text(props, values, "perpetrator")
        for name in ("claims", "status_history", "related"):
            self._json(props, values, name, list, line)
        casualties: dict[str, Any] = {}
        if self._json(props, values, "casualties", dict, line):
            casualties = props.pop("casualties")
        for name in ("killed", "injured"):
            figure = self.value(values, name)
            if figure is not None:
                try:
                    if name not in casualties:
                        casualties[name] = parse_casualties(figure)
                except ValueError as error:
                    warn(line, f"{self.where(name)}: {error}; left out")
        note = self.value(values, "casualties_note")
        if note is not None and casualties and "note" not in casualties:
            casualties["note"] = _text(note)
        if casualties:
            props["casualties"] = casualties
        props["sources"] = self._sources(values, line)
        tags = self.value(values, "tags")
        if isinstance(tags, str) and tags.startswith("["):
            tags = _json_list(tags) or tags
        if tags is not None:
            parts = tags if isinstance(tags, list) else str(tags).split(self.mapping.separator)
            kept = [_text(t) for t in parts if not is_blank(t)]
            if kept:
                props["tags"] = kept
        for target in self.columns:
            if target.startswith("x_"):
                extra = values.get(target)
                if not is_blank(extra):
                    props[target] = extra.strip() if isinstance(extra, str) else extra
        props["provenance"] = {"format": self.file_format, "file": self.name, self.report.unit: line,
                               "imported_at": self.imported_at, "record": record}
        feature = {"type": "Feature", "id": incident_id, "geometry": geometry, "properties": props}
        checker = FeatureChecker(self.name, line)
        row = checker.check(feature)
        errors = [p for p in checker.problems if p.severity == "error"]
        for problem in checker.problems:
            if problem.severity == "warning":
                warn(line, f"{problem.field}: {problem.message}" if problem.field else problem.message)
        if row is None or errors:
            raise RowSkipped("; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in errors))
        self.seen[incident_id] = line
        return feature

    def _json(self, props: dict[str, Any], values: Mapping[str, Any], name: str, kind: type, line: int) -> bool:
        """A list/object field given as such (GeoJSON) or as JSON text (a cell of our CSV export)."""
        value = self.value(values, name)
        if value is None:
            return False
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                value = None
        if not isinstance(value, kind):
            self.report.warn(line, f"{self.where(name)} is not a JSON {'list' if kind is list else 'object'} as in "
                             "the incident format; left out")
            return False
        props[name] = value
        return True

    def _text(self, props: dict[str, Any], values: Mapping[str, Any], name: str) -> None:
        value = self.value(values, name)
        if value is not None:
            props[name] = _text(value)

    def _date(self, props: dict[str, Any], values: Mapping[str, Any], name: str, *, required: bool = False
              ) -> str | None:
        value = self.value(values, name)
        if value is None:
            if required:
                raise RowSkipped(f"{self.where(name)} is empty: every incident needs a date")
            return None
        try:
            props[name] = check_date_text(value)
        except ValueError as error:
            raise RowSkipped(f"{self.where(name)}: {error}") from None
        text: str = props[name]
        return text

    def _choice(self, props: dict[str, Any], values: Mapping[str, Any], name: str, allowed: tuple[str, ...],
                line: int) -> str | None:
        value = self.value(values, name)
        if value is None:
            return None
        text = _text(value).casefold()
        if text not in allowed:
            self.report.warn(line, f"{self.where(name)} {_text(value)!r} is not one of {', '.join(allowed)}; "
                             "left out")
            return None
        props[name] = text
        return text

    def _precision(self, props: dict[str, Any], values: Mapping[str, Any], start: str | None, line: int) -> None:
        precision = self._choice(props, values, "time_precision", TIME_PRECISIONS, line)
        if precision is None or start is None:
            return
        written = parse_date(start).precision
        if TIME_PRECISIONS.index(precision) < TIME_PRECISIONS.index(written):
            del props["time_precision"]
            self.report.warn(line, f"{self.where('time_precision')} {precision!r} is finer than start {start!r} "
                             f"(precise to the {written}); left out")

    def _sources(self, values: Mapping[str, Any], line: int) -> list[dict[str, Any]]:
        given = self.value(values, "source")
        if isinstance(given, str) and given.startswith("["):
            given = _json_list(given) or given
        if isinstance(given, list) and all(isinstance(s, dict) for s in given) and given:
            return given  # already sources of the incident format (checked with the rest)
        titles = self._split(given)
        urls = self._split(self.value(values, "source_url"))
        publishers = self._split(self.value(values, "source_publisher"))
        dates = self._split(self.value(values, "source_date"))
        kinds = self._split(self.value(values, "source_kind"))
        if not titles and urls:
            titles = list(urls)
        if not titles:
            raise RowSkipped(f"{self.where('source')} is empty: every incident needs a source; give one, or a "
                             "default with --source")
        sources: list[dict[str, Any]] = []
        for i, title in enumerate(titles):
            source: dict[str, Any] = {"title": title}
            if i < len(publishers):
                source["publisher"] = publishers[i]
            if i < len(urls):
                if safe_url(urls[i]) is None:
                    self.report.warn(line, f"{self.where('source_url')} {urls[i][:80]!r} is not an http(s) URL; "
                                     "left out")
                else:
                    source["url"] = urls[i]
            if i < len(dates):
                try:
                    source["date"] = check_date_text(dates[i])
                except ValueError as error:
                    self.report.warn(line, f"{self.where('source_date')}: {error}; left out")
            kind = kinds[i] if i < len(kinds) else (kinds[0] if len(kinds) == 1 else None)
            if kind is not None:
                kind = self.mapping.rewrite("source_kind", kind).casefold()
                if kind in SOURCE_KINDS:
                    source["kind"] = kind
                else:
                    self.report.warn(line, f"{self.where('source_kind')} {kind!r} is not one of "
                                     f"{', '.join(SOURCE_KINDS)}; left out")
            sources.append(source)
        return sources

    def _split(self, value: Any) -> list[str]:
        if value is None:
            return []
        parts = value if isinstance(value, list) else str(value).split(self.mapping.separator)
        return [_text(p) for p in parts if not is_blank(p)]


def geometry_from(values: Mapping[str, Any], line: int, report: ImportReport, columns: Mapping[str, str],
                  *, before: str = "") -> dict[str, Any] | None:
    """A Point from latitude/longitude, else the WKT geometry; ``None`` (with a warning) when all are empty."""
    lat, lon = values.get("latitude"), values.get("longitude")
    if not is_blank(lat) or not is_blank(lon):
        if is_blank(lat) or is_blank(lon):
            missing, given = ("latitude", lon) if is_blank(lat) else ("longitude", lat)
            raise RowSkipped(f"{missing} is empty but the other coordinate is {given!r}: give both, or neither "
                             "for an incident without a location")
        numbers: list[float] = []
        for axis, raw in (("latitude", lat), ("longitude", lon)):
            try:
                numbers.append(parse_number(raw))
            except ValueError:
                raise RowSkipped(f"{axis} (from {columns.get(axis)!r}) {str(raw)[:40]!r} is not a number: "
                                 "expected decimal degrees with a point, such as 35.43") from None
        y, x = numbers
        if not (-90 <= y <= 90 and -180 <= x <= 180):
            hint = " (are latitude and longitude swapped?)" if -90 <= x <= 90 and -180 <= y <= 180 else ""
            raise RowSkipped(f"latitude {lat!r}, longitude {lon!r} is outside -90…90, -180…180{hint}")
        return {"type": "Point", "coordinates": [x, y]}
    wkt = values.get("wkt")
    if not is_blank(wkt):
        text = str(wkt).strip()
        try:
            shape = shapely.from_wkt(text)
        except shapely.errors.ShapelyError as error:
            raise RowSkipped(f"wkt (from {columns.get('wkt')!r}) {text[:60]!r} is not valid WKT ({error}); "
                             "expected e.g. POINT (36.6 35.4)") from None
        if shape is None or shape.is_empty:
            report.warn(line, f"wkt {text[:60]!r} is an empty geometry: imported without a location")
            return None
        geometry: dict[str, Any] = json.loads(shapely.to_geojson(shape))
        return geometry
    located = [t for t in GEOMETRY_TARGETS if t in columns]
    if located:
        report.warn(line, f"{before}{' and '.join(columns[t] for t in located)} "
                    f"{'are' if len(located) > 1 else 'is'} empty: imported without a location (listed, not drawn)")
    return None


def _json_list(text: str) -> list[Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, list) else None


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
