"""Spreadsheet (CSV) import: coordinate detection, WKT, flags and mapping files, every row accounted for."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from incidents import Dataset, IncidentFilter, csv_bytes, load_incidents_bytes, to_csv
from incidents.importers import (
    FieldMapping,
    ImportFailed,
    ImportResult,
    MappingError,
    import_table,
    load_mapping,
    mapping_from_dict,
    mapping_from_options,
)
from incidents.importers.values import normalise_date, parse_casualties, parse_number

from .conftest import DATA

IMPORT = DATA / "import"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SHEET_FIELDS = ["id=Ref", "title=Incident", "category=Type", "killed=Killed", "injured=Injured",
                "source=Reported by", "source_url=Link", "tags=Tags", "description=Notes"]


def sheet(mapping: FieldMapping, **options: Any) -> ImportResult:
    return import_table((IMPORT / "sheet-latlon.csv").read_bytes(), name="sheet-latlon.csv", mapping=mapping,
                        now=NOW, **options)


def by_id(result: ImportResult) -> dict[str, dict[str, Any]]:
    return {f["id"]: f for f in result.features}


def flags_mapping() -> FieldMapping:
    options = mapping_from_options(SHEET_FIELDS, status="claimed")
    return FieldMapping(values={"category": {"Air Strike": "airstrike"}}).merged(options)


def test_missing_required_fields_are_listed_with_the_columns_there_are() -> None:
    expected = (
        "sheet-latlon.csv: missing required fields: title (--field title=COLUMN); category (--field "
        "category=COLUMN or --category CODE); status (--field status=COLUMN or --status STATUS); source (--field "
        "source=COLUMN or --source TEXT). Map them with these options or in a mapping file (--map). The file's "
        "columns are: Ref, Incident, Date, Type, Lat, Lon, Killed, Injured, Reported by, Link, Tags, Notes"
    )
    with pytest.raises(ImportFailed, match=f"^{re.escape(expected)}$"):
        import_table((IMPORT / "sheet-latlon.csv").read_bytes(), name="sheet-latlon.csv", kind="csv")


def test_a_missing_location_column_is_a_required_field() -> None:
    with pytest.raises(ImportFailed, match=r"missing required field: a location: latitude and longitude columns "
                       r"\(--field latitude=COLUMN --field longitude=COLUMN\) or a WKT column \(--field wkt=COLUMN\)\. "
                       r"Map it with these options .* The file's columns are: title, start$"):
        import_table(b"title,start\nx,2017\n", name="t.csv", kind="csv", default_status="claimed",
                     default_source="s", default_category="other")


def test_a_mapped_column_that_does_not_exist_is_named() -> None:
    with pytest.raises(ImportFailed, match=r"^sheet-latlon.csv: the mapping reads title from column 'Titel', which "
                       r"is not in the file; its columns are: Ref, Incident, Date"):
        sheet(mapping_from_options(["title=Titel"]))


def test_flags_map_columns_and_every_row_is_imported_or_reported() -> None:
    result = sheet(flags_mapping())
    report = result.report
    assert report.mapping == {"id": "Ref", "title": "Incident", "category": "Type", "killed": "Killed",
                              "injured": "Injured", "source": "Reported by", "source_url": "Link", "tags": "Tags",
                              "description": "Notes", "start": "Date", "latitude": "Lat", "longitude": "Lon"}
    assert [(n.line, n.message) for n in report.skipped] == [
        (5, "longitude is empty but the other coordinate is '35.1': give both, or neither for an incident "
            "without a location"),
        (6, "start (from 'Date'): '2017-13-01' names no such date or time (month must be in 1..12)"),
        (8, "id 'A-1' is already used by line 2: ids must be unique; remove or renumber the duplicate"),
        (10, "title (from 'Incident') is empty: every incident needs a title"),
        (11, "latitude '136.5', longitude '35.5' is outside -90…90, -180…180 (are latitude and longitude swapped?)"),
    ]
    assert [str(n) for n in report.warnings] == [
        "line 4: Lat and Lon are empty: imported without a location (listed, not drawn)",
        "line 7: killed (from 'Killed'): 'not known' is not a casualty figure: expected a whole number such as "
        "12, a range such as 10-20, or 'at least 5'; left out",
        "line 7: source_url (from 'Link') 'javascript:alert(1)' is not an http(s) URL; left out",
        "line 9: category: 'drone sighting' is not a known category (chemical_attack, airstrike, missile_strike, "
        "friendly_fire, shelling, attack_on_medical, siege, other); it is kept and drawn with a generic symbol",
    ]
    assert report.summary() == "imported 5 rows, skipped 5, 4 warnings"
    assert report.rows == 10
    features = by_id(result)
    first = dict(features["A-1"]["properties"])
    provenance = first.pop("provenance")
    assert first == {
        "id": "A-1", "title": "Synthetic shelling of a market",
        "description": "Made-up row for the test suite, with a comma", "category": "shelling",
        "start": "2017-04-04", "status": "claimed", "casualties": {"killed": 12, "injured": {"min": 20, "max": 30}},
        "sources": [{"title": "Example News Agency", "url": "https://example.org/a1"}],
        "tags": ["market", "civilians"],
    }
    assert provenance["record"]["Reported by"] == "Example News Agency"
    assert (provenance["format"], provenance["line"], provenance["imported_at"]) == ("csv", 2, "2024-05-01T12:00:00Z")
    assert features["A-1"]["geometry"] == {"type": "Point", "coordinates": [36.6511, 35.4394]}
    second = features["A-2"]["properties"]
    assert (second["start"], second["category"], second["casualties"]) == ("2017-04-05", "airstrike",
                                                                           {"injured": {"min": 4}})
    assert features["A-3"]["geometry"] is None and features["A-3"]["properties"]["casualties"] == {"killed": 0}
    assert features["A-6"]["properties"]["start"] == "2017-04-07T06:30+03:00"
    assert features["A-6"]["properties"]["category"] == "chemical_attack"
    assert features["A-6"]["properties"]["sources"] == [{"title": "Example Daily"}]
    assert features["A-8"]["properties"]["category"] == "drone sighting"
    dataset = load_incidents_bytes(result.to_bytes(), name="sheet.geojson")
    assert [str(w) for w in dataset.warnings] == [
        "sheet.geojson: feature #5 (A-8): category: 'drone sighting' is not a known category (chemical_attack, "
        "airstrike, missile_strike, friendly_fire, shelling, attack_on_medical, siege, other); it is kept and drawn "
        "with a generic symbol"]


def test_formula_like_cells_are_data_and_the_export_neutralises_them() -> None:
    result = sheet(flags_mapping())
    assert by_id(result)["A-6"]["properties"]["title"] == '=HYPERLINK("http://example.invalid")'
    dataset = load_incidents_bytes(result.to_bytes(), name="sheet.geojson")
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(to_csv(dataset, IncidentFilter())))}
    assert rows["A-6"]["title"] == "'=HYPERLINK(\"http://example.invalid\")"


@pytest.mark.parametrize("suffix", ["toml", "json"])
def test_mapping_files_give_the_same_result_as_flags(suffix: str) -> None:
    path = IMPORT / f"sheet-latlon.{suffix}"
    mapping = load_mapping(path.read_bytes(), name=path.name)
    assert mapping.defaults == {"status": "claimed"}
    assert sheet(mapping).collection == sheet(flags_mapping()).collection


def test_a_yaml_mapping_file() -> None:
    text = b"fields:\n  title: Incident\n  category: Type\n  source: Reported by\n  id: Ref\ndefaults:\n" \
           b"  status: disputed\nvalues:\n  category:\n    air strike: airstrike\n"
    result = sheet(load_mapping(text, name="m.yaml"))
    assert result.report.imported == 5
    assert {f["properties"]["status"] for f in result.features} == {"disputed"}
    assert by_id(result)["A-2"]["properties"]["category"] == "airstrike"


def test_options_override_the_mapping_file() -> None:
    mapping = load_mapping((IMPORT / "sheet-latlon.toml").read_bytes(), name="sheet-latlon.toml")
    result = sheet(mapping.merged(mapping_from_options(["title=Notes"], status="verified")))
    assert result.report.mapping["title"] == "Notes"
    assert by_id(result)["A-1"]["properties"]["title"] == "Made-up row for the test suite, with a comma"
    assert {f["properties"]["status"] for f in result.features} == {"verified"}


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"[fields]\ntitel = 'X'\n", "m.toml", "'titel' is not an incident field: did you mean 'title'?"),
        (b"[field]\ntitle = 'X'\n", "m.toml", "unknown key 'field' (did you mean 'fields'?)"),
        (b"[defaults]\ntitle = 'X'\n", "m.toml", "defaults.title: title cannot have one value for the whole file"),
        (b"[defaults]\nstatus = 'confirmed'\n", "m.toml", "default status 'confirmed' is not one of verified"),
        (b"fields = 3\n", "m.toml", "fields is int, expected a table"),
        (b"[fields\n", "m.toml", "is not valid TOML"),
        (b"{\"fields\": }", "m.json", "is not valid JSON"),
        (b"fields: [a\n", "m.yaml", "is not valid YAML"),
        (b"fields: {}", "m.txt", "name the mapping file .toml, .json, .yaml or .yml"),
        (b"[values]\ncategory = 'x'\n", "m.toml", "values.category must be a table of text = text"),
    ],
)
def test_bad_mapping_files_say_what_to_fix(data: bytes, name: str, message: str) -> None:
    with pytest.raises(MappingError, match=re.escape(message)):
        load_mapping(data, name=name)


def test_bad_field_options() -> None:
    with pytest.raises(MappingError, match=r"^--field: 'title' is not FIELD=COLUMN, e.g. --field title=Event$"):
        mapping_from_options(["title"])
    with pytest.raises(MappingError, match=r"^m: 'x_' is not an incident field"):
        mapping_from_dict({"fields": {"x_": "A"}}, name="m")


def test_wkt_columns_countries_and_category_labels() -> None:
    result = import_table((IMPORT / "sheet-wkt.csv").read_bytes(), name="sheet-wkt.csv", now=NOW)
    report = result.report
    assert report.mapping["wkt"] == "wkt" and "latitude" not in report.mapping
    assert [(n.line, n.message) for n in report.skipped] == [
        (5, "wkt (from 'wkt') 'POINT (36.2' is not valid WKT (ParseException: Expected number but encountered end "
            "of stream); expected e.g. POINT (36.6 35.4)"),
        (6, "geometry: is an invalid Polygon: Self-intersection[0.5 0.5] — fix the ring (e.g. in QGIS 'Fix "
            "geometries') so that it does not cross itself"),
    ]
    assert [str(n) for n in report.warnings] == [
        "line 7: wkt 'POINT EMPTY' is an empty geometry: imported without a location"]
    features = by_id(result)
    assert features["w-1"]["geometry"]["type"] == "Polygon"
    assert features["w-2"]["geometry"] == {"type": "LineString", "coordinates": [[36.9, 36.2], [37.1, 36.25]]}
    assert features["w-3"]["geometry"] == {"type": "Point", "coordinates": [36.2, 36.2]}
    assert features["w-6"]["geometry"] is None
    summary = [(p["category"], p["status"], p["country"], p.get("end"), p.get("uncertainty_m"),
                p.get("location_precision")) for p in (f["properties"] for f in result.features)]
    assert summary == [
        ("siege", "disputed", "SY", "2016-12", None, "region"),
        ("other", "claimed", "SY", None, 5000, "approximate"),
        ("airstrike", "verified", "SY", None, 50, "exact"),
        ("other", "claimed", "SY", None, None, None),
    ]
    assert len(load_incidents_bytes(result.to_bytes(), name="wkt.geojson")) == 4


def test_semicolon_delimited_sheets_with_a_bom_and_generated_ids() -> None:
    text = "\ufeffTitle;Date;Latitude;Longitude;Killed;Source\r\n" \
           "Synthetic event one;04/04/2017;35.5;36.5;;Example Daily\r\n" \
           "Synthetic event two;2017-04-05 06:30;35.5;36.5;;Example Daily; Example Weekly\r\n" \
           ";;;;;\r\n" \
           "Synthetic event three;2017-04-06 06:30;35.5;36.5;up to 8;Example Daily\r\n" \
           "Synthetic event four;2017-04-07;35,5;36,5;;Example Daily\r\n" \
           "Synthetic event five;2017-04-08;35.5;36.5;1 234;Example Daily\r\n"
    result = import_table(text.encode("utf-8"), name="Team Sheet (v2).csv", kind="csv", default_status="claimed",
                          default_category="other", now=NOW)
    assert [(n.line, n.message) for n in result.report.skipped] == [
        (2, "start (from 'Date'): '04/04/2017' is not a date: expected an ISO date such as 2017-04-04 (or 2017-04, "
            "2017-04-04T06:30) or a date such as 4 April 2017"),
        (3, "has 7 cells where the header has 6 (a delimiter inside an unquoted cell?)"),
        (6, "latitude (from 'Latitude') '35,5' is not a number: expected decimal degrees with a point, such as "
            "35.43"),
    ]
    assert [str(n) for n in result.report.warnings] == [
        "no id column: ids are made from the file name and line (e.g. Team-Sheet-v2-2); map one with --field "
        "id=COLUMN for stable ids",
        "1 empty row ignored (line 4)",
    ]
    assert [f["id"] for f in result.features] == ["Team-Sheet-v2-5", "Team-Sheet-v2-7"]
    assert [f["properties"]["start"] for f in result.features] == ["2017-04-06T06:30", "2017-04-08"]
    assert [f["properties"]["casualties"] for f in result.features] == [{"killed": {"max": 8}}, {"killed": 1234}]


def test_cell_values_are_parsed_robustly() -> None:
    assert normalise_date("2017-04-04 06:30") == "2017-04-04T06:30"
    assert normalise_date(" 4 April 2017 ") == "2017-04-04"
    assert normalise_date("2017-W14") == "2017-W14"
    with pytest.raises(ValueError, match=r"^'2017-04-31' names no such date or time"):
        normalise_date("2017-04-31")
    assert parse_number("1,234") == 1234 and parse_number(" 12.5 ") == 12.5
    with pytest.raises(ValueError, match=r"^'35,5' is not a number$"):
        parse_number("35,5")
    assert [parse_casualties(v) for v in ("12", "12.0", "10-20", "10 – 20", "at least 5", "5+", "up to 8", 3)] == [
        12, 12, {"min": 10, "max": 20}, {"min": 10, "max": 20}, {"min": 5}, {"min": 5}, {"max": 8}, 3]
    with pytest.raises(ValueError, match="the lower figure is above the higher one"):
        parse_casualties("20-10")
    with pytest.raises(ValueError, match=r"^'2\.5' is not a casualty figure"):
        parse_casualties("2.5")


def test_time_precision_finer_than_start_is_left_out_with_a_warning() -> None:
    text = "id,title,start,time_precision,category,status,source,lat,lon\n" \
           "p-1,Synthetic event,2017-04,day,other,claimed,Example Daily,35,36\n" \
           "p-2,Synthetic event,2017-04-04,Month,other,claimed,Example Daily,35,36\n"
    result = import_table(text.encode(), name="p.csv", now=NOW)
    assert [str(n) for n in result.report.warnings] == [
        "line 2: time_precision (from 'time_precision') 'day' is finer than start '2017-04' (precise to the month); "
        "left out"]
    assert [f["properties"].get("time_precision") for f in result.features] == [None, "month"]


def test_extension_columns_and_unreadable_files() -> None:
    text = "title,start,category,status,source,x,y,x_team\nSynthetic,2017,other,claimed,Example,36,35,Team A\n"
    [feature] = import_table(text.encode(), name="x.csv", now=NOW).features
    assert feature["geometry"] == {"type": "Point", "coordinates": [36.0, 35.0]}
    assert feature["properties"]["x_team"] == "Team A"
    with pytest.raises(ImportFailed, match=r"is not valid UTF-8 \(byte 6, line 2, b'\\xe9t\\xe9\\n'\); save it as "
                       r"'CSV UTF-8'"):
        import_table("title\nété\n".encode("latin-1"), name="x.csv", kind="csv")
    with pytest.raises(ImportFailed, match="UTF-16/UTF-32 text"):
        import_table("title\n".encode("utf-16"), name="x.csv", kind="csv")
    with pytest.raises(ImportFailed, match="is empty: expected a header line"):
        import_table(b"  \n", name="x.csv", kind="csv")
    with pytest.raises(ImportFailed, match=re.escape("is 0.0 MB, above the 0.0 MB limit")):
        import_table(b"title\n", name="x.csv", kind="csv", max_bytes=1)


def test_imported_collection_is_plain_json() -> None:
    result = sheet(flags_mapping())
    assert json.loads(result.to_bytes().decode("utf-8")) == result.collection


def test_our_own_csv_export_imports_back(full: Dataset) -> None:
    data = csv_bytes(to_csv(full, IncidentFilter()))
    result = import_table(data, name="export.csv", now=NOW)
    assert result.report.skipped == []
    assert [str(n) for n in result.report.warnings][:2] == [
        "both latitude/longitude ('latitude', 'longitude') and WKT ('geometry_wkt') columns: a row's WKT is used "
        "only when its coordinates are empty",
        "line 5: latitude and longitude and geometry_wkt are empty: imported without a location (listed, not drawn)",
    ]
    again = load_incidents_bytes(result.to_bytes(), name="again.geojson")
    assert list(again.frame["id"]) == list(full.frame["id"])
    for column in ("title", "category", "status", "start", "end", "claim_count", "source_count", "killed_min",
                   "injured_max", "start_time", "end_time", "first_reported"):
        assert again.frame[column].equals(full.frame[column]), column
    before, after = full.properties(0), again.properties(0)
    assert after["claims"] == before["claims"] and after["status_history"] == before["status_history"]
    assert after["sources"] == before["sources"] and after["casualties"] == before["casualties"]
    assert again.frame.geometry.iloc[1].equals(full.frame.geometry.iloc[1])  # the polygon, from its WKT


def test_repeated_and_unnamed_columns_are_kept_under_new_names() -> None:
    text = b"title,start,Notes,Notes,,lat,lon\nSynthetic,2017,first,second,third,35,36,,\n"
    result = import_table(text, name="dup.csv", kind="csv", default_status="claimed", default_source="Example",
                          default_category="other", now=NOW)
    assert [str(w) for w in result.report.warnings][:2] == [
        "column 4 repeats the name 'Notes': its cells are kept in provenance.record as 'Notes (2)'",
        "column 5 has no name: its cells are kept in provenance.record as '(column 5)'",
    ]
    assert result.features[0]["properties"]["provenance"]["record"] == {
        "title": "Synthetic", "start": "2017", "Notes": "first", "Notes (2)": "second", "(column 5)": "third",
        "lat": "35", "lon": "36"}
