"""Loading and validation: every rule of the format, on real files in tests/data."""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
import shapely

from incidents import Dataset, IncidentDataError, load_incidents, load_incidents_bytes, streaming
from incidents.synth import write_synthetic_geojson

from .conftest import DATA

BAD = DATA / "bad"


def problems_of(path: Path) -> list[str]:
    with pytest.raises(IncidentDataError) as caught:
        load_incidents(path)
    return [str(p) for p in caught.value.errors]


def test_full_file_loads_every_field_with_nested_fields_intact(full: Dataset) -> None:
    frame = full.frame.set_index("id")
    assert list(frame.index) == ["full-point", "full-polygon", "full-line", "full-unlocated", "full-multi",
                                 "full-unknown-category"]
    point = frame.loc["full-point"]
    assert point["claims"][0] == {"by": "Party A", "date": "2017-04-13", "stance": "denies", "text": "fabricated",
                                  "source": "un"}
    assert [s["title"] for s in point["sources"]] == ["Article", "Security Council record", "Fact-finding report"]
    assert [h["status"] for h in point["status_history"]] == ["claimed", "disputed", "verified"]
    assert point["casualties"]["injured"] == {"min": 500, "max": 600}
    assert (point["killed_min"], math.isnan(point["killed_max"])) == (100, True)
    assert point["tags"] == ["sarin", "idlib"]
    assert point["start"] == "2017-04-04T06:30:00+03:00"
    assert point["start_time"] == pd.Timestamp("2017-04-04 06:30")
    assert point["end_time"] == pd.Timestamp("2017-04-04 08:01")
    assert point["geometry"].has_z
    assert json.loads(point["properties_json"])["x_reviewer"] == {"name": "A. Analyst", "checked": True}


def test_dates_are_parsed_to_their_periods(full: Dataset) -> None:
    frame = full.frame.set_index("id")
    assert frame.loc["full-polygon", "start_time"] == pd.Timestamp("2013-01-01")
    assert frame.loc["full-polygon", "end_time"] == pd.Timestamp("2018-05-01")
    assert frame.loc["full-line", "time_precision"] == "week"
    assert frame.loc["full-line", "start_time"] == pd.Timestamp("2017-04-03")
    # time_precision coarser than written widens the period to the month containing start
    assert frame.loc["full-unlocated", "time_precision"] == "month"
    assert frame.loc["full-unlocated", "start_time"] == pd.Timestamp("2017-04-01")
    assert frame.loc["full-unlocated", "end_time"] == pd.Timestamp("2017-05-01")
    # first_reported defaults to the earliest dated claim, history entry or source, else start
    assert frame.loc["full-multi", "first_reported"] == pd.Timestamp("2017-04-07 04:40")
    assert full.frame["start_time"].dtype == "datetime64[s]"


def test_unlocated_incidents_are_loaded_and_counted(full: Dataset) -> None:
    unlocated = full.frame[full.frame.geometry.isna()]
    assert list(unlocated["id"]) == ["full-unlocated"]


def test_id_is_read_from_the_feature_when_properties_lack_it(full: Dataset) -> None:
    assert "full-polygon" in set(full.frame["id"])
    assert json.loads(full.frame.set_index("id").loc["full-polygon", "properties_json"])["id"] == "full-polygon"


def test_unknown_category_is_a_warning_not_an_error() -> None:
    dataset = load_incidents(DATA / "warn" / "unknown-category.geojson")
    assert len(dataset) == 1
    assert [str(w) for w in dataset.warnings] == [
        f"{DATA / 'warn' / 'unknown-category.geojson'}: feature #1 (odd): category: 'drone_sighting' is not a known "
        "category (chemical_attack, airstrike, missile_strike, friendly_fire, shelling, attack_on_medical, siege, "
        "other); it is kept and drawn with a generic symbol"
    ]


def test_folders_load_every_file_and_related_ids_resolve_across_files() -> None:
    dataset = load_incidents(DATA / "good" / "split")
    assert sorted(dataset.frame["id"]) == ["split-a", "split-b"]
    assert [Path(f.name).name for f in dataset.files] == ["a.geojson", "b.geojson"]
    assert all(len(f.sha256) == 64 for f in dataset.files)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("missing-required.geojson", [
            "feature #1 (no-title): title: is missing: every incident needs title, category, start, status, sources",
            "feature #1 (no-title): sources: is missing"]),
        ("unknown-field.geojson", ["feature #1 (typo): staus: is not a field of the incident format: did you mean "
                                   "'status'?"]),
        ("bad-date.geojson", [
            "feature #1 (bad-month): start: '2017-13-01' names no such date or time",
            "feature #2 (us-format): start: '04/04/2017' is not an ISO 8601 date"]),
        ("end-before-start.geojson", ["feature #1 (backwards): end: '2017-04-04' is before start '2017-04-10'"]),
        ("bad-status.geojson", ["feature #1 (confirmed): status: 'confirmed' is not a status: expected one of "
                                "verified, claimed, disputed, debunked"]),
        ("status-not-text.geojson", [
            "feature #1 (status-list): status: ['claimed'] is not a status: expected one of verified, claimed, "
            "disputed, debunked",
            "feature #2 (history-status-object): status_history[0].status: {'code': 'claimed'} is not a status"]),
        ("crs-properties-not-object.geojson", ["declares crs {'type': 'name', 'properties': 'EPSG:4326'}: GeoJSON "
                                               "(RFC 7946) coordinates must be WGS 84"]),
        ("history-mismatch.geojson", ["feature #1 (mismatch): status: is 'verified' but the last status_history "
                                      "entry says 'claimed'; they must agree"]),
        ("history-order.geojson", ["feature #1 (order): status_history[1].date: '2017-04-04' comes before the "
                                   "previous entry's '2017-06-30': list the history oldest first"]),
        ("duplicate-ids.geojson", ["feature #2 (same): id: 'same' is already the id of feature #1 in"]),
        ("coordinates-out-of-range.geojson", [
            "feature #1 (lat95): geometry.coordinates: latitude 95 is outside -90…90 (are longitude and latitude "
            "swapped?)",
            "feature #2 (lon200): geometry.coordinates: longitude 200 is outside -180…180"]),
        ("coordinates-not-numbers.geojson", ["feature #1 (strings): geometry.coordinates: longitude '36.6' is not a "
                                             "number"]),
        ("non-finite.geojson", ["contains the number 1e400, too large for a 64-bit float (it would become infinity): "
                                "write a smaller number or null (line 1, column 112)"]),
        ("nan.geojson", ["contains NaN, which is not valid JSON: write null for a missing number"]),
        ("invalid-polygon.geojson", ["feature #1 (bowtie): geometry: is an invalid Polygon: Self-intersection[0.5 "
                                     "0.5]"]),
        ("related-missing.geojson", ["feature #1 (lonely): related[0].id: 'does-not-exist' is not the id of any "
                                     "incident loaded"]),
        ("source-reference.geojson", [
            "feature #1 (refs): claims[0].source: source index 3 does not exist: this incident has 1 source",
            "feature #1 (refs): claims[1].source: no source has id 'nope'"]),
    ],
)
def test_each_rule_is_reported_as_file_feature_field_message(name: str, expected: list[str]) -> None:
    found = problems_of(BAD / name)
    assert len(found) == len(expected), found
    for line, start in zip(found, expected, strict=True):
        assert line.startswith(f"{BAD / name}: {start}"), line


def test_every_problem_in_a_file_is_reported_at_once_and_none_dropped() -> None:
    found = problems_of(BAD / "many-problems.geojson")
    assert [line.split(": ", 2)[1] for line in found] == [
        "feature #2 (bad-status)", "feature #3", "feature #4 (bad-date)", "feature #5 (bad-geometry)"]
    assert "feature #3: is the text 'not a feature', expected a GeoJSON Feature object" in found[1]


def test_duplicate_ids_across_files_name_both_places() -> None:
    [line] = problems_of(BAD / "dup-across")
    assert line == (f"{BAD / 'dup-across' / 'b.geojson'}: feature #1 (shared): id: 'shared' is already the id of "
                    f"feature #1 in {BAD / 'dup-across' / 'a.geojson'}; ids must be unique across all files")


def test_problems_from_several_files_are_collected_in_one_error() -> None:
    with pytest.raises(IncidentDataError, match=r"^3 problems in the incident data:") as caught:
        load_incidents([BAD / "bad-status.geojson", BAD / "bad-date.geojson"])
    assert {Path(p.file).name for p in caught.value.errors} == {"bad-status.geojson", "bad-date.geojson"}


def test_missing_paths_and_urls_are_refused_without_touching_the_network(tmp_path: Path) -> None:
    with pytest.raises(IncidentDataError) as caught:
        load_incidents([tmp_path / "nope.geojson", "https://example.org/x.geojson", "/vsicurl/https://x/y.json",
                        tmp_path])
    assert [p.message for p in caught.value.errors] == [
        "does not exist",
        "is a URL or remote path: download the file and open the local copy",
        "is a URL or remote path: download the file and open the local copy",
        "is a folder with no incident files (.geojson, .json, .parquet)",
    ]


def feature(**props: object) -> dict[str, object]:
    base: dict[str, object] = {"id": "x", "title": "T", "category": "airstrike", "start": "2017-04-04",
                               "status": "claimed", "sources": [{"title": "S"}]}
    base.update(props)
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [36.6, 35.4]}, "properties": base}


def load_one(geometry: object = "keep", **props: object) -> Dataset:
    item = feature(**props)
    if geometry != "keep":
        item["geometry"] = geometry
    document = {"type": "FeatureCollection", "features": [item]}
    return load_incidents_bytes(json.dumps(document).encode(), name="inline.geojson")


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"id": 7}, r"properties.id: 7 is not a valid id"),
        ({"time_precision": "second"}, r"time_precision: 'second' is not one of minute, hour, day"),
        ({"start": "2017-04", "time_precision": "day"}, r"time_precision 'day' is finer than '2017-04'"),
        ({"country": "Syria"}, r"country: 'Syria' is not an ISO 3166-1 alpha-2 country code"),
        ({"country": "sy"}, r"country: 'sy' must be upper case: 'SY'"),
        ({"location_precision": "precise"}, r"location_precision: 'precise' is not one of exact, town"),
        ({"uncertainty_m": -5}, r"uncertainty_m: -5 is not a finite number ≥ 0"),
        ({"sources": []}, r"sources: is empty: every incident needs at least one source"),
        ({"sources": [{"title": "S", "url": "javascript:alert(1)"}]},
         r"sources\[0\].url: 'javascript:alert\(1\)' is not an http\(s\) URL"),
        ({"sources": [{"title": "S", "kind": "blog"}]}, r"sources\[0\].kind: 'blog' is not one of news, official"),
        ({"sources": [{"title": "S", "id": "a"}, {"title": "T", "id": "a"}]}, r"sources\[1\].id: 'a' is used by two"),
        ({"claims": [{"by": "X", "stance": "claims"}]}, r"claims\[0\].stance: 'claims' is not one of asserts"),
        ({"claims": [{"stance": "denies"}]}, r"claims\[0\].by: is missing: who makes the claim\?"),
        ({"claims": [{"by": "X", "stance": "denies", "quote": "no"}]}, r"claims\[0\].quote: is not a field"),
        ({"casualties": {"killed": -1}}, r"casualties.killed: -1 is not a whole number ≥ 0"),
        ({"casualties": {"killed": {"min": 10, "max": 5}}}, r"casualties.killed: min 10 is greater than max 5"),
        ({"casualties": {"killed": 2.5}}, r"casualties.killed: 2.5 is not a whole number"),
        ({"related": [{"id": "x", "relation": "same_event"}]}, r"related\[0\].id: an incident cannot be related to "
                                                                r"itself"),
        ({"tags": ["ok", 3]}, r"tags\[1\]: 3 is not a non-empty text tag"),
        ({"title": ""}, r"title: is empty"),
        ({"title": 5}, r"title: is the number 5, expected text"),
        ({"status_history": [{"status": "claimed"}]}, r"status_history\[0\].date: is missing"),
        ({"x_deep": json.loads("[" * 64 + "]" * 64)},
         r"x_deep: is nested more than 60 levels deep"),
    ],
)
def test_field_rules(props: dict[str, object], message: str) -> None:
    with pytest.raises(IncidentDataError, match=message):
        load_one(**props)


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        ({"type": "GeometryCollection", "geometries": []}, r"GeometryCollection is not supported"),
        ({"type": "Circle", "coordinates": [1, 2]}, r"geometry.type: is 'Circle', expected one of Point"),
        ({"type": "LineString", "coordinates": [[1, 2]]}, r"expected a list of at least 2 positions for a line"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, r"ring is not closed"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, r"at least 4 positions for a polygon ring"),
        ({"type": "Point", "coordinates": [True, 35]}, r"longitude True is not a number"),
        ({"type": "Point", "coordinates": None}, r"is None, expected a position"),
        ("POINT (1 2)", r"geometry: is the text 'POINT \(1 2\)', expected a GeoJSON geometry object or null"),
    ],
)
def test_geometry_rules(geometry: object, message: str) -> None:
    with pytest.raises(IncidentDataError, match=message):
        load_one(geometry=geometry)


def test_missing_geometry_member_is_an_error_but_null_is_unlocated() -> None:
    item = feature()
    del item["geometry"]
    with pytest.raises(IncidentDataError, match="geometry: is missing: use null for an unlocated incident"):
        load_incidents_bytes(json.dumps({"type": "FeatureCollection", "features": [item]}).encode(), name="x")
    assert load_one(geometry=None).frame.geometry.isna().all()


def test_feature_and_properties_ids_must_agree() -> None:
    item = feature()
    item["id"] = "other"
    with pytest.raises(IncidentDataError, match=r"id: the Feature id 'other' and properties.id 'x' differ"):
        load_incidents_bytes(json.dumps({"type": "FeatureCollection", "features": [item]}).encode(), name="x")


def test_foreign_members_are_reported_as_warnings() -> None:
    item = feature()
    item["style"] = {"color": "red"}
    data = json.dumps({"type": "FeatureCollection", "features": [item], "metadata": {}}).encode()
    warnings = [str(w) for w in load_incidents_bytes(data, name="x").warnings]
    assert warnings == ["x: member 'metadata' of the FeatureCollection is not kept",
                        "x: feature #1 (x): style: is not part of the incident format and is not kept"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], r"x: is a list, expected a GeoJSON FeatureCollection object"),
        ({"type": "Feature"}, r"x: is a single Feature: wrap it as"),
        ({"type": "FeatureCollection"}, r"x: features is null, expected a list of Features"),
        ({"type": "FeatureCollection", "features": [], "crs": {"type": "name", "properties": {"name": "EPSG:3857"}}},
         r"declares crs 'EPSG:3857': GeoJSON \(RFC 7946\) coordinates must be WGS 84"),
    ],
)
def test_collection_rules(document: object, message: str) -> None:
    with pytest.raises(IncidentDataError, match=message):
        load_incidents_bytes(json.dumps(document).encode(), name="x")


def test_an_empty_collection_is_a_valid_empty_dataset() -> None:
    dataset = load_incidents_bytes(b'{"type": "FeatureCollection", "features": []}', name="x")
    assert len(dataset) == 0


def test_polygons_are_valid_shapely_geometries(full: Dataset) -> None:
    polygon = full.frame.set_index("id").loc["full-polygon", "geometry"]
    assert shapely.is_valid(polygon) and polygon.geom_type == "Polygon"


@pytest.mark.parametrize(
    ("start", "end", "ends_before"),
    [
        ("2017-04-04T06:30+03:00", "2017-04-04T05:00+01:00", False),  # 03:30 to 04:00 UTC
        ("2017-04-04T06:30+03:00", "2017-04-04T04:00+01:00", True),  # 03:30 to 03:00 UTC
        ("2017-04-04T06:30Z", "2017-04-04T07:00+03:00", True),
        ("2017-04-04T06:30", "2017-04-04T05:00+01:00", True),  # one without an offset: the clocks are compared
        ("2017-04-04", "2017-04-04T05:00+01:00", False),
    ],
)
def test_end_before_start_compares_in_utc_when_both_have_an_offset(start: str, end: str, ends_before: bool) -> None:
    props = {"id": "zones", "title": "Zones", "category": "other", "start": start, "end": end, "status": "claimed",
             "sources": [{"title": "Report"}]}
    data = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": None, "properties": props}]}).encode()
    if ends_before:
        with pytest.raises(IncidentDataError, match=rf"zones\): end: '{re.escape(end)}' is before start"):
            load_incidents_bytes(data, name="zones.geojson")
    else:
        assert len(load_incidents_bytes(data, name="zones.geojson")) == 1


@pytest.mark.parametrize("chunk_bytes", [7, 4096, 16 * 1024 * 1024])
def test_the_recorded_sha256_is_that_of_the_bytes_read_however_they_are_cut(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_bytes: int) -> None:
    monkeypatch.setattr(streaming, "CHUNK_BYTES", chunk_bytes)
    path = tmp_path / "synthetic.geojson"
    write_synthetic_geojson(str(path), 60, seed=2)
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_incidents(path, nested=False).files[0].sha256 == expected
    assert load_incidents_bytes(path.read_bytes(), name="upload.geojson").files[0].sha256 == expected
