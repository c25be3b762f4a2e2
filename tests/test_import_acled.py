"""ACLED import: every precision code, every row of the category table, both date forms, bad rows, round trip."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from incidents import IncidentFilter, load_incidents_bytes, to_geojson
from incidents.importers import (
    CATEGORY_TABLE,
    GEO_PRECISIONS,
    TIME_PRECISIONS,
    ImportFailed,
    ImportResult,
    MappingError,
    detect_kind,
    import_table,
)
from incidents.importers.acled import COLUMNS, source_kind
from incidents.importers.values import country_code, day_date

from .conftest import DATA, ROOT

IMPORT = DATA / "import"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def acled(path: Path = IMPORT / "acled-sample.csv", **options: Any) -> ImportResult:
    return import_table(path.read_bytes(), name=path.name, now=NOW, **options)


def by_id(result: ImportResult) -> dict[str, dict[str, Any]]:
    return {f["id"]: f for f in result.features}


@pytest.fixture(scope="module")
def sample() -> ImportResult:
    return acled()


def test_sample_imports_every_row_without_remarks(sample: ImportResult) -> None:
    report = sample.report
    assert (report.kind, report.rows, report.imported, report.skipped, report.warnings) == ("acled", 25, 25, [], [])
    assert report.summary() == "imported 25 rows, skipped 0, 0 warnings"
    assert len({f["id"] for f in sample.features}) == 25


def test_every_row_of_the_category_table(sample: ImportResult) -> None:
    expected = {sub: category for _, sub, category in CATEGORY_TABLE}
    got = {f["properties"]["x_acled_sub_event_type"]: f["properties"]["category"] for f in sample.features}
    assert got == expected
    assert len(expected) == 25
    assert expected["Chemical weapon"] == "chemical_attack"
    assert expected["Air/drone strike"] == "airstrike"
    assert expected["Shelling/artillery/missile attack"] == "shelling"
    assert expected["Remote explosive/landmine/IED"] == "other"
    assert expected["Attack"] == "other"
    types = {f["properties"]["x_acled_sub_event_type"]: f["properties"]["x_acled_event_type"] for f in sample.features}
    assert types == {sub: event_type for event_type, sub, _ in CATEGORY_TABLE}


def test_the_older_spelling_protestors_is_known() -> None:
    data = (IMPORT / "acled-sample.csv").read_text().replace("Excessive force against protesters",
                                                             "Excessive force against protestors")
    result = import_table(data.encode(), name="x.csv", now=NOW)
    assert result.report.warnings == []


def test_a_full_feature(sample: ImportResult) -> None:
    feature = by_id(sample)["acled-UKR90001"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [36.2304, 49.9935]}
    props = dict(feature["properties"])
    provenance = props.pop("provenance")
    assert props == {
        "id": "acled-UKR90001",
        "title": "Air/drone strike in Kharkiv",
        "description": "On 04 April 2017, synthetic test event 2 (Air/drone strike). This row is made up for the "
                       "test suite.",
        "category": "airstrike",
        "start": "2017-04-03",
        "end": "2017-04-09",
        "time_precision": "week",
        "place": "Kharkiv",
        "admin1": "Kharkiv",
        "country": "UA",
        "location_precision": "region",
        "uncertainty_m": 50000,
        "status": "claimed",
        "perpetrator": "Synthetic Armed Group B",
        "casualties": {"killed": 1},
        "sources": [
            {"title": "Ministry of Defence of Exampleland", "publisher": "Ministry of Defence of Exampleland",
             "kind": "official"},
            {"title": "Twitter", "publisher": "Twitter", "kind": "social"},
        ],
        "x_acled_event_date": "2017-04-04",
        "x_acled_time_precision": 2,
        "x_acled_geo_precision": 3,
        "x_acled_event_type": "Explosions/Remote violence",
        "x_acled_sub_event_type": "Air/drone strike",
        "x_acled_disorder_type": "Political violence",
        "x_acled_inter1": "2",
        "x_acled_inter2": "0",
        "x_acled_interaction": "20",
        "x_acled_region": "Europe",
        "x_acled_admin2": "Kharkivskyi",
        "x_acled_admin3": "Kharkivska",
        "x_acled_source_scale": "National-International",
    }
    rows = list(csv.DictReader(io.StringIO((IMPORT / "acled-sample.csv").read_text())))
    assert provenance == {"format": "acled", "file": "acled-sample.csv", "line": 3,
                          "imported_at": "2024-05-01T12:00:00Z", "acled_timestamp": 1618317339, "record": rows[1]}
    assert "claims" not in props  # ACLED supplies no claims, and none are invented


@pytest.mark.parametrize(
    ("event_id", "code", "start", "end", "precision"),
    [
        ("acled-SYR90000", 1, "2017-04-03", None, "day"),
        ("acled-UKR90001", 2, "2017-04-03", "2017-04-09", "week"),  # Tue 4 April 2017 → its ISO week
        ("acled-AFG90002", 3, "2017-04-01", "2017-04-30", "month"),
    ],
)
def test_each_time_precision_code(sample: ImportResult, event_id: str, code: int, start: str, end: str | None,
                                  precision: str) -> None:
    props = by_id(sample)[event_id]["properties"]
    assert (props["x_acled_time_precision"], props["start"], props.get("end"), props["time_precision"]) == (
        code, start, end, precision)
    assert TIME_PRECISIONS[str(code)] == precision


def test_week_and_month_ranges_load_as_periods(sample: ImportResult) -> None:
    frame = load_incidents_bytes(sample.to_bytes(), name="acled.geojson").frame.set_index("id")
    assert frame.loc["acled-UKR90001", "start_time"] == pd.Timestamp("2017-04-03")
    assert frame.loc["acled-UKR90001", "end_time"] == pd.Timestamp("2017-04-10")
    assert frame.loc["acled-AFG90002", "start_time"] == pd.Timestamp("2017-04-01")
    assert frame.loc["acled-AFG90002", "end_time"] == pd.Timestamp("2017-05-01")
    assert frame.loc["acled-SYR90000", "end_time"] == pd.Timestamp("2017-04-04")


@pytest.mark.parametrize(
    ("event_id", "code", "precision", "radius"),
    [("acled-AFG90002", 1, "town", 2_000), ("acled-SYR90000", 2, "approximate", 15_000),
     ("acled-UKR90001", 3, "region", 50_000)],
)
def test_each_geo_precision_code(sample: ImportResult, event_id: str, code: int, precision: str, radius: int
                                 ) -> None:
    props = by_id(sample)[event_id]["properties"]
    assert (props["x_acled_geo_precision"], props["location_precision"], props["uncertainty_m"]) == (
        code, precision, radius)
    assert GEO_PRECISIONS[str(code)] == (precision, radius)


def test_both_date_forms(sample: ImportResult) -> None:
    features = by_id(sample)
    assert features["acled-SYR90000"]["properties"]["provenance"]["record"]["event_date"] == "2017-04-03"
    assert features["acled-SYR90000"]["properties"]["x_acled_event_date"] == "2017-04-03"
    assert features["acled-UKR90001"]["properties"]["provenance"]["record"]["event_date"] == "04 April 2017"
    assert features["acled-UKR90001"]["properties"]["x_acled_event_date"] == "2017-04-04"
    assert day_date("4 April 2017").isoformat() == "2017-04-04"
    assert day_date("04-Apr-2017").isoformat() == "2017-04-04"
    assert day_date(" 2017-04-04 ").isoformat() == "2017-04-04"
    with pytest.raises(ValueError, match=r"^'04/04/2017' is not a date: expected YYYY-MM-DD or DD Month YYYY"):
        day_date("04/04/2017")
    with pytest.raises(ValueError, match=r"^'31 Fooember 2017' is not a date"):
        day_date("31 Fooember 2017")
    with pytest.raises(ValueError, match=r"^'31 April 2017' names no such day"):
        day_date("31 April 2017")


def test_iso_numeric_codes_become_alpha_2(sample: ImportResult) -> None:
    countries = {f["properties"]["provenance"]["record"]["iso"]: f["properties"]["country"] for f in sample.features}
    assert countries == {"760": "SY", "804": "UA", "4": "AF", "887": "YE"}
    assert (country_code("004"), country_code("SYR"), country_code("Côte d'Ivoire"), country_code("Turkey")) == (
        "AF", "SY", "CI", "TR")
    with pytest.raises(ValueError, match="'Kosovo' is not an ISO 3166-1 country"):
        country_code("Kosovo")  # no guessing: a fuzzy match would say Serbia


def test_semicolon_sources_tags_and_kinds(sample: ImportResult) -> None:
    props = by_id(sample)["acled-SYR90000"]["properties"]
    assert props["sources"] == [
        {"title": "Synthetic Observatory for Human Rights", "publisher": "Synthetic Observatory for Human Rights",
         "kind": "ngo"},
        {"title": "Example News Agency", "publisher": "Example News Agency", "kind": "news"},
    ]
    assert props["tags"] == ["women targeted: girls", "local administrators"]
    assert props["x_acled_actor2"] == "Civilians (Synthetic)"
    assert props["x_acled_civilian_targeting"] == "Civilian targeting"
    assert props["casualties"] == {"killed": 0}
    assert [source_kind(s) for s in ("Telegram", "UN OCHA", "Local Source", "Reuters", "Human Rights Watch")] == [
        "social", "official", "other", "news", "ngo"]


def test_status_and_source_defaults() -> None:
    result = acled(IMPORT / "acled-bad.csv", default_status="disputed", default_source="Analyst notebook")
    assert {f["properties"]["status"] for f in result.features} == {"disputed"}
    assert by_id(result)["acled-SYR10"]["properties"]["sources"] == [{"title": "Analyst notebook"}]
    with pytest.raises(MappingError, match="default status 'confirmed' is not one of verified, claimed"):
        acled(default_status="confirmed")
    with pytest.raises(MappingError, match="ACLED columns are mapped by the importer"):
        acled(default_category="other")


def test_bad_rows_are_each_reported_with_line_and_reason() -> None:
    result = acled(IMPORT / "acled-bad.csv")
    report = result.report
    skipped = [(note.line, note.message) for note in report.skipped]
    assert skipped == [
        (4, "longitude is empty but latitude is '35.9306': give both coordinates, or neither for an incident "
            "without a location"),
        (5, "event_date: '2017-02-30' names no such day (day is out of range for month)"),
        (6, "event_date: 'yesterday' is not a date: expected YYYY-MM-DD or DD Month YYYY (e.g. 2017-04-04 or "
            "04 April 2017)"),
        (8, "id 'acled-SYR1' (event_id_cnty 'SYR1') is already used by line 2: each ACLED event may appear once; "
            "remove the duplicate row"),
        (9, "latitude 'abc' is not a number (decimal degrees such as 35.43)"),
        (10, "latitude '95', longitude '36.6' is outside -90…90, -180…180 (are latitude and longitude swapped?)"),
        (15, "event_id_cnty is empty: every ACLED event needs its id"),
        (17, "has 4 cells where the header has 31 (a missing or unclosed quote, or a delimiter inside an unquoted "
             "cell?)"),
    ]
    warnings = [str(note) for note in report.warnings]
    assert warnings == [
        "line 3: latitude and longitude are empty: imported without a location (listed, not drawn)",
        "line 7: sub_event_type 'Drone sighting' (event_type 'Weird events') is not in the ACLED category table: "
        "imported as 'other'",
        "line 11: source is empty: the ACLED record itself is given as the source",
        "line 12: time_precision '' is not 1, 2 or 3 (day, week, month): dated to the whole month of event_date",
        "line 12: geo_precision '7' is not 1, 2 or 3 (town, near the town, region): location precision left out",
        "line 13: country 'Kosovo' (iso '0') has no ISO 3166-1 alpha-2 code: country left out",
        "1 empty row ignored (line 16)",
    ]
    assert report.summary() == "imported 7 rows, skipped 8, 7 warnings"
    # every data row is accounted for: imported or skipped (the blank line 16 is not a row)
    assert report.rows == report.imported + len(report.skipped) == 15
    features = by_id(result)
    assert features["acled-SYR2"]["geometry"] is None
    assert "location_precision" not in features["acled-SYR2"]["properties"]
    assert features["acled-SYR6"]["properties"]["category"] == "other"
    assert features["acled-SYR6"]["properties"]["x_acled_sub_event_type"] == "Drone sighting"
    assert "casualties" not in features["acled-SYR10"]["properties"]
    assert features["acled-SYR10"]["properties"]["sources"] == [
        {"title": "ACLED event SYR10", "publisher": "ACLED", "kind": "other"}]
    assert (features["acled-SYR11"]["properties"]["start"], features["acled-SYR11"]["properties"]["end"]) == (
        "2017-04-01", "2017-04-30")
    assert "country" not in features["acled-XKX12"]["properties"]


def test_formula_like_cells_are_kept_as_data() -> None:
    props = by_id(acled(IMPORT / "acled-bad.csv"))["acled-SYR13"]["properties"]
    assert props["description"] == '=HYPERLINK("http://example.invalid","click")'
    assert props["perpetrator"] == "@SUM(A1)"


def test_round_trip_import_validate_export(sample: ImportResult) -> None:
    for result in (sample, acled(IMPORT / "acled-bad.csv")):
        dataset = load_incidents_bytes(result.to_bytes(), name="imported.geojson")
        assert dataset.warnings == ()
        assert list(dataset.frame["id"]) == [f["id"] for f in result.features]
        exported = json.loads(to_geojson(dataset, IncidentFilter()))
        assert [f["properties"] for f in exported["features"]] == [f["properties"] for f in result.features]
        assert [f["geometry"] for f in exported["features"]] == [f["geometry"] for f in result.features]
    assert json.loads(sample.to_bytes()) == sample.collection


def test_header_case_and_column_order_do_not_matter() -> None:
    rows = list(csv.reader(io.StringIO((IMPORT / "acled-sample.csv").read_text())))
    order = list(reversed(range(len(rows[0]))))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([rows[0][i].upper() for i in order])
    writer.writerows([[row[i] for i in order] for row in rows[1:]])
    result = import_table(buffer.getvalue().encode(), name="upper.csv", kind="acled", now=NOW)
    assert result.report.imported == 25
    assert by_id(result)["acled-UKR90001"]["properties"]["start"] == "2017-04-03"


def test_an_export_without_the_precision_columns_says_so() -> None:
    text = "event_id_cnty,event_date,event_type,sub_event_type,latitude,longitude,source\n" \
           "SYR7,2017-04-04,Battles,Armed clash,35.1,36.1,Example Daily\n"
    result = import_table(text.encode(), name="slim.csv", now=NOW)
    assert [str(w) for w in result.report.warnings] == [
        "no time_precision column: every event_date is taken as exact to the day",
        "no geo_precision column: location precision and radius are left out",
    ]
    props = result.features[0]["properties"]
    assert (props["start"], props["time_precision"], props["title"]) == ("2017-04-04", "day", "Armed clash (SYR7)")
    assert load_incidents_bytes(result.to_bytes(), name="slim.geojson").warnings == ()


def test_a_file_without_acled_columns_is_refused_listing_them() -> None:
    message = ("not-acled.csv: is not an ACLED export: it has no event_id_cnty, event_type, sub_event_type "
               "columns (ACLED exports have event_id_cnty, event_date, event_type, sub_event_type, latitude, "
               "longitude, …); the file's columns are: event_date, latitude, longitude. Import other spreadsheets "
               "with 'incidents import csv'")
    with pytest.raises(ImportFailed) as caught:
        import_table(b"event_date,latitude,longitude\n2017-04-04,1,2\n", name="not-acled.csv", kind="acled")
    assert str(caught.value) == message


def test_detect_kind_and_progress() -> None:
    data = (IMPORT / "acled-sample.csv").read_bytes()
    assert detect_kind(data, "export.csv") == "acled"
    assert detect_kind(b"\xef\xbb\xbf" + data, "export.txt") == "acled"
    assert detect_kind((IMPORT / "sheet-latlon.csv").read_bytes(), "sheet.csv") == "csv"
    assert detect_kind((IMPORT / "foreign.geojson").read_bytes(), "foreign.geojson") == "geojson"
    assert detect_kind(b'  {"type": "FeatureCollection"}', "upload") == "geojson"
    with pytest.raises(ImportFailed, match="is an Excel workbook or a zip archive: save the sheet as 'CSV UTF-8'"):
        detect_kind(b"PK\x03\x04rest", "book.xlsx")
    calls: list[tuple[int, int]] = []
    import_table(data, name="x.csv", progress=lambda done, total: calls.append((done, total)))
    assert calls == [(26, 26)]


def test_a_synthetic_export_as_in_the_benchmark_imports_and_validates(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_import", ROOT / "bench" / "bench_import.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    path = tmp_path / "synthetic.csv"
    bench.write_synthetic_acled(path, 3000)
    assert next(csv.reader(io.StringIO(path.read_text()))) == list(COLUMNS)
    calls: list[tuple[int, int]] = []
    result = import_table(path.read_bytes(), name=path.name, progress=lambda d, t: calls.append((d, t)))
    assert result.report.summary() == "imported 3000 rows, skipped 0, 0 warnings"
    assert calls[0] == (2001, 3001) and calls[-1] == (3001, 3001)
    dataset = load_incidents_bytes(result.to_bytes(), name=path.name)
    assert (len(dataset), dataset.warnings) == (3000, ())
    naive = bench.naive_import(path, path.name)
    assert [f["id"] for f in naive["features"]] == [f["id"] for f in result.features]
