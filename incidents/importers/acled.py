"""ACLED CSV exports → incidents, with the mapping documented in ``docs/import.md``.

The tables below are the mapping: ACLED's ``sub_event_type`` → our category, its ``time_precision`` → a period
and its ``geo_precision`` → a location precision with an indicative radius.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, Final

from .reading import Progress, blank_lines_note, read_csv, record_keys
from .report import ImportFailed, ImportReport, ImportResult, RowSkipped
from .values import country_code, day_date, parse_count, slug

ID_PREFIX: Final = "acled-"

COLUMNS: Final = (
    "event_id_cnty", "event_date", "year", "time_precision", "disorder_type", "event_type", "sub_event_type",
    "actor1", "assoc_actor_1", "inter1", "actor2", "assoc_actor_2", "inter2", "interaction", "civilian_targeting",
    "iso", "region", "country", "admin1", "admin2", "admin3", "location", "latitude", "longitude",
    "geo_precision", "source", "source_scale", "notes", "fatalities", "tags", "timestamp",
)
REQUIRED_COLUMNS: Final = ("event_id_cnty", "event_date", "event_type", "sub_event_type", "latitude", "longitude")
# Columns kept as extension fields (x_acled_<column>) when not empty.
EXTENSION_COLUMNS: Final = (
    "event_type", "sub_event_type", "disorder_type", "assoc_actor_1", "actor2", "assoc_actor_2", "inter1",
    "inter2", "interaction", "civilian_targeting", "region", "admin2", "admin3", "source_scale",
)

# (ACLED event_type, sub_event_type, our category). Every sub-event type of the public codebook.
CATEGORY_TABLE: Final = (
    ("Explosions/Remote violence", "Chemical weapon", "chemical_attack"),
    ("Explosions/Remote violence", "Air/drone strike", "airstrike"),
    ("Explosions/Remote violence", "Shelling/artillery/missile attack", "shelling"),
    ("Explosions/Remote violence", "Remote explosive/landmine/IED", "other"),
    ("Explosions/Remote violence", "Suicide bomb", "other"),
    ("Explosions/Remote violence", "Grenade", "other"),
    ("Battles", "Armed clash", "other"),
    ("Battles", "Government regains territory", "other"),
    ("Battles", "Non-state actor overtakes territory", "other"),
    ("Violence against civilians", "Attack", "other"),
    ("Violence against civilians", "Sexual violence", "other"),
    ("Violence against civilians", "Abduction/forced disappearance", "other"),
    ("Protests", "Peaceful protest", "other"),
    ("Protests", "Protest with intervention", "other"),
    ("Protests", "Excessive force against protesters", "other"),
    ("Riots", "Violent demonstration", "other"),
    ("Riots", "Mob violence", "other"),
    ("Strategic developments", "Agreement", "other"),
    ("Strategic developments", "Arrests", "other"),
    ("Strategic developments", "Change to group/activity", "other"),
    ("Strategic developments", "Disrupted weapons use", "other"),
    ("Strategic developments", "Headquarters or base established", "other"),
    ("Strategic developments", "Looting/property destruction", "other"),
    ("Strategic developments", "Non-violent transfer of territory", "other"),
    ("Strategic developments", "Other", "other"),
)
_CATEGORIES: Final[dict[str, str]] = {sub.casefold(): category for _, sub, category in CATEGORY_TABLE}
_CATEGORIES["excessive force against protestors"] = "other"  # the spelling of older codebooks

# time_precision code → our time_precision (1 = the day, 2 = a week, 3 = a month).
TIME_PRECISIONS: Final = {"1": "day", "2": "week", "3": "month"}
# geo_precision code → (location_precision, uncertainty_m).
GEO_PRECISIONS: Final = {"1": ("town", 2_000), "2": ("approximate", 15_000), "3": ("region", 50_000)}

# Source kinds, first match wins (whole words, any case); everything else is news.
SOURCE_KIND_RULES: Final = (
    ("social", r"twitter|facebook|telegram|youtube|whatsapp|instagram|tiktok|vkontakte|vk"),
    ("ngo", r"observatory|human rights|amnesty|red cross|red crescent|icrc|msf|médecins sans frontières|"
            r"doctors without borders|civil defen[cs]e|white helmets|ngo|crisis group|watch"),
    ("official", r"ministry|government|armed forces|army|police|military|presidency|president|governor|"
                 r"general staff|gendarmerie|security forces|united nations|un|ocha|unhcr|unicef|unama|unmiss|"
                 r"monusco|minusma|africom|centcom|idf|mod"),
    ("other", r"undisclosed source|local source|acled|other"),
)
_KIND_PATTERNS: Final = tuple((kind, re.compile(rf"\b(?:{words})\b", re.IGNORECASE)) for kind, words in
                              SOURCE_KIND_RULES)


@lru_cache(maxsize=16384)
def source_kind(source: str) -> str:
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(source):
            return kind
    return "news"


@lru_cache(maxsize=65536)
def acled_period(day: date, precision: str) -> tuple[str, str | None]:
    """``start`` and ``end`` for a coded day: the day itself, its ISO week (Monday–Sunday) or its month."""
    if precision == "week":
        first = day - timedelta(days=day.weekday())
        last = first + timedelta(days=6)
    elif precision == "month":
        first = day.replace(day=1)
        last = day.replace(day=calendar.monthrange(day.year, day.month)[1])
    else:
        return day.isoformat(), None
    first = max(first, date(1000, 1, 1))
    last = min(last, date(2999, 12, 31))
    return first.isoformat(), last.isoformat()


@lru_cache(maxsize=4096)
def _country(iso: str, name: str) -> str | None:
    """From ACLED's numeric ``iso`` (0 for places without one, such as Kosovo), else from the country name."""
    for value in (iso if iso.strip("0") else "", name):
        if value:
            try:
                return country_code(value)
            except ValueError:
                continue
    return None


def _code(text: str) -> str:
    text = text.strip()
    return text[:-2] if text.endswith(".0") else text


def import_acled(
    text: str,
    *,
    name: str,
    imported_at: str,
    status: str = "claimed",
    fallback_source: str | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import ACLED CSV ``text``; see the module docstring and docs/import.md for the mapping."""
    table = read_csv(text, name=name, progress=progress)
    header = table.header
    report = ImportReport(name=name, kind="acled", columns=tuple(header))
    index: dict[str, int] = {}
    for position, heading in enumerate(header):
        index.setdefault(heading.casefold(), position)
    missing = [c for c in REQUIRED_COLUMNS if c not in index]
    if missing:
        raise ImportFailed(
            name,
            f"is not an ACLED export: it has no {', '.join(missing)} column{'s' if len(missing) != 1 else ''} "
            f"(ACLED exports have {', '.join(REQUIRED_COLUMNS)}, …); the file's columns are: "
            f"{', '.join(header)}. Import other spreadsheets with 'incidents import csv'",
        )
    report.mapping = {
        "id": "event_id_cnty", "title": "sub_event_type + location", "category": "sub_event_type",
        "start": "event_date + time_precision", "place": "location", "admin1": "admin1", "country": "iso / country",
        "location_precision": "geo_precision", "perpetrator": "actor1", "description": "notes",
        "killed": "fatalities", "source": "source", "tags": "tags",
    }
    width = len(header)

    def column(key: str) -> int:
        """The column's position; an absent column reads the empty cell appended to every row."""
        return index.get(key, width)

    i_id, i_date = index["event_id_cnty"], index["event_date"]
    i_type, i_sub = index["event_type"], index["sub_event_type"]
    i_lat, i_lon = index["latitude"], index["longitude"]
    i_tp, i_gp = column("time_precision"), column("geo_precision")
    i_location, i_admin1, i_country, i_iso = column("location"), column("admin1"), column("country"), column("iso")
    i_actor1, i_notes, i_fatalities = column("actor1"), column("notes"), column("fatalities")
    i_source, i_tags, i_timestamp = column("source"), column("tags"), column("timestamp")
    extensions = [(f"x_acled_{key}", index[key]) for key in EXTENSION_COLUMNS if key in index]
    has_tp, has_gp = "time_precision" in index, "geo_precision" in index
    if not has_tp:
        report.warn(None, "no time_precision column: every event_date is taken as exact to the day")
    if not has_gp:
        report.warn(None, "no geo_precision column: location precision and radius are left out")
    keys, renamed = record_keys(header)
    for note in renamed:
        report.warn(None, note)
    has_nul = "\x00" in text
    features: list[dict[str, Any]] = []
    seen: dict[str, int] = {}

    def convert(line: int, cells: list[str]) -> dict[str, Any]:
        if len(cells) > width and not any(cells[width:]):
            del cells[width:]  # trailing empty cells (a comma at the end of the line)
        if len(cells) != width:
            raise RowSkipped(f"has {len(cells)} cells where the header has {width} (a missing or unclosed quote, "
                             "or a delimiter inside an unquoted cell?)")
        if has_nul and any("\x00" in c for c in cells):
            raise RowSkipped("contains a NUL character (a binary or damaged file?)")
        cells.append("")  # what an absent column reads
        event_id = cells[i_id].strip()
        if not event_id:
            raise RowSkipped("event_id_cnty is empty: every ACLED event needs its id")
        incident_id = ID_PREFIX + slug(event_id)
        if incident_id == ID_PREFIX or len(incident_id) > 200:
            raise RowSkipped(f"event_id_cnty {event_id[:60]!r} cannot be made into an id (expected something "
                             "like SYR12345)")
        earlier = seen.get(incident_id)
        if earlier is not None:
            raise RowSkipped(f"id {incident_id!r} (event_id_cnty {event_id!r}) is already used by line {earlier}: "
                             "each ACLED event may appear once; remove the duplicate row")
        try:
            day = day_date(cells[i_date])
        except ValueError as error:
            raise RowSkipped(f"event_date: {error}") from None
        lat_text, lon_text = cells[i_lat].strip(), cells[i_lon].strip()
        geometry: dict[str, Any] | None = None
        if lat_text or lon_text:
            geometry = _point(lat_text, lon_text)
        else:
            report.warn(line, "latitude and longitude are empty: imported without a location (listed, not drawn)")
        tp_raw = _code(cells[i_tp])
        precision = TIME_PRECISIONS.get(tp_raw) if has_tp else "day"
        if precision is None:
            precision = "month"
            report.warn(line, f"time_precision {tp_raw!r} is not 1, 2 or 3 (day, week, month): dated to the whole "
                        "month of event_date")
        start, end = acled_period(day, precision)
        event_type, sub_type = cells[i_type].strip(), cells[i_sub].strip()
        category = _CATEGORIES.get(sub_type.casefold())
        if category is None:
            category = "other"
            report.warn(line, f"sub_event_type {sub_type!r} (event_type {event_type!r}) is not in the ACLED "
                        "category table: imported as 'other'")
        location, admin1 = cells[i_location].strip(), cells[i_admin1].strip()
        country_name, iso = cells[i_country].strip(), _code(cells[i_iso].strip())
        what = sub_type or event_type or "ACLED event"
        where = location or admin1 or country_name
        props: dict[str, Any] = {
            "id": incident_id,
            "title": f"{what} in {where}" if where else f"{what} ({event_id})",
        }
        notes = cells[i_notes].strip()
        if notes:
            props["description"] = notes
        props["category"] = category
        props["start"] = start
        if end is not None:
            props["end"] = end
        props["time_precision"] = precision
        if location:
            props["place"] = location
        if admin1:
            props["admin1"] = admin1
        if iso or country_name:
            code = _country(iso, country_name)
            if code is None:
                report.warn(line, f"country {country_name!r} (iso {iso!r}) has no ISO 3166-1 alpha-2 code: "
                            "country left out")
            else:
                props["country"] = code
        gp_raw = _code(cells[i_gp])
        if has_gp:
            located = GEO_PRECISIONS.get(gp_raw)
            if located is None:
                report.warn(line, f"geo_precision {gp_raw!r} is not 1, 2 or 3 (town, near the town, region): "
                            "location precision left out")
            elif geometry is not None:
                props["location_precision"], props["uncertainty_m"] = located
        props["status"] = status
        actor1 = cells[i_actor1].strip()
        if actor1:
            props["perpetrator"] = actor1
        fatalities = cells[i_fatalities].strip()
        if fatalities:
            try:
                props["casualties"] = {"killed": int(fatalities) if fatalities.isdigit() else parse_count(fatalities)}
            except ValueError as error:
                report.warn(line, f"fatalities: {error}; casualties left out")
        props["sources"] = _sources(cells[i_source].strip(), fallback_source, event_id, line, report)
        tags = cells[i_tags].strip()
        if tags:
            props["tags"] = [t for t in (part.strip() for part in tags.split(";")) if t]
        props["x_acled_event_date"] = day.isoformat()
        if tp_raw in TIME_PRECISIONS:
            props["x_acled_time_precision"] = int(tp_raw)
        if gp_raw in GEO_PRECISIONS:
            props["x_acled_geo_precision"] = int(gp_raw)
        for key, position in extensions:
            value = cells[position].strip()
            if value:
                props[key] = value
        provenance: dict[str, Any] = {"format": "acled", "file": name, "line": line, "imported_at": imported_at}
        timestamp = cells[i_timestamp].strip()
        if timestamp:
            provenance["acled_timestamp"] = int(timestamp) if timestamp.isdigit() else timestamp
        provenance["record"] = dict(zip(keys, cells, strict=False))  # without the appended cell
        props["provenance"] = provenance
        seen[incident_id] = line
        return {"type": "Feature", "id": incident_id, "geometry": geometry, "properties": props}

    for line, cells in table.rows:
        report.rows += 1
        try:
            features.append(convert(line, cells))
        except RowSkipped as skipped:
            report.skip(line, skipped.reason)
    for line, reason in table.failure:
        report.rows += 1
        report.skip(line, reason)
    if table.blank_lines:
        report.warn(None, blank_lines_note(table.blank_lines))
    report.imported = len(features)
    return ImportResult(collection={"type": "FeatureCollection", "features": features}, report=report)


def _point(lat_text: str, lon_text: str) -> dict[str, Any]:
    if not lat_text or not lon_text:
        given, empty = ("longitude", lon_text) if lon_text else ("latitude", lat_text)
        missing = "latitude" if not lat_text else "longitude"
        raise RowSkipped(f"{missing} is empty but {given} is {empty!r}: give both coordinates, or neither for an "
                         "incident without a location")
    try:
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        bad = ("latitude", lat_text) if not _is_float(lat_text) else ("longitude", lon_text)
        raise RowSkipped(f"{bad[0]} {bad[1][:40]!r} is not a number (decimal degrees such as 35.43)") from None
    if not (-90 <= lat <= 90) or not (-180 <= lon <= 180):  # also false for NaN
        hint = " (are latitude and longitude swapped?)" if -90 <= lon <= 90 and -180 <= lat <= 180 else ""
        raise RowSkipped(f"latitude {lat_text!r}, longitude {lon_text!r} is outside -90…90, -180…180{hint}")
    return {"type": "Point", "coordinates": [lon, lat]}


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _sources(
    text: str, fallback: str | None, event_id: str, line: int, report: ImportReport
) -> list[dict[str, Any]]:
    names: list[str] = []
    for part in text.split(";"):
        part = part.strip()
        if part and part not in names:
            names.append(part)
    if names:
        return [{"title": n, "publisher": n, "kind": source_kind(n)} for n in names]
    if fallback:
        return [{"title": fallback}]
    report.warn(line, "source is empty: the ACLED record itself is given as the source")
    return [{"title": f"ACLED event {event_id}", "publisher": "ACLED", "kind": "other"}]
