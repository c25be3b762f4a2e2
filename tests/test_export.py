"""Exports: exactly the filtered set, fields as read, RFC 7946 details, round trip, spreadsheet safety."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
import shapely

from incidents import (
    Dataset,
    IncidentFilter,
    csv_bytes,
    csv_pieces,
    geojson_pieces,
    load_incidents_bytes,
    to_csv,
    to_geojson,
    write_pieces,
)
from incidents.export import CSV_BOM, neutralise_formula

from .conftest import DATA


def test_geojson_holds_exactly_the_filtered_incidents_with_fields_as_read(full: Dataset) -> None:
    flt = IncidentFilter(statuses={"verified"})
    document = json.loads(to_geojson(full, flt))
    assert document["type"] == "FeatureCollection"
    assert [f["id"] for f in document["features"]] == ["full-point", "full-polygon"]
    original = json.loads((DATA / "good" / "full.geojson").read_text())["features"][0]
    exported = document["features"][0]
    assert exported["properties"] == original["properties"]
    assert exported["geometry"] == original["geometry"]
    # the polygon had no properties.id: both ids are written
    polygon = document["features"][1]
    assert polygon["id"] == polygon["properties"]["id"] == "full-polygon"


def test_geojson_is_rfc7946_no_crs_no_nan_and_exteriors_counter_clockwise(full: Dataset) -> None:
    text = to_geojson(full, IncidentFilter())
    document = json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(AssertionError(c)))
    assert "crs" not in document
    for item in document["features"]:
        if item["geometry"] and item["geometry"]["type"] == "Polygon":
            ring = shapely.LinearRing(item["geometry"]["coordinates"][0])
            assert ring.is_ccw
    # the test file wrote this polygon clockwise
    source = json.loads((DATA / "good" / "full.geojson").read_text())["features"][1]["geometry"]
    assert not shapely.LinearRing(source["coordinates"][0]).is_ccw
    unlocated = next(f for f in document["features"] if f["id"] == "full-unlocated")
    assert unlocated["geometry"] is None


def test_export_member_describes_the_filter_and_the_inputs(full: Dataset) -> None:
    flt = IncidentFilter(statuses={"verified"}, date_from="2013-01-01", date_to="2017-12-31")
    created = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    export = json.loads(to_geojson(full, flt, created=created))["export"]
    assert export == {
        "description": "verified incidents, 1 January 2013 – 31 December 2017",
        "filter": {"statuses": ["verified"], "date_from": "2013-01-01", "date_to": "2017-12-31"},
        "query": {"status": ["verified"], "from": ["2013-01-01"], "to": ["2017-12-31"]},
        "count": 2,
        "datasets": [{"file": "full.geojson", "sha256": full.files[0].sha256, "features": 6}],
        "created": "2026-11-28T12:00:00Z",
        "generator": "incidents 0.1.0",
    }


def test_round_trip_export_load_export_gives_the_same_features(full: Dataset) -> None:
    first = to_geojson(full, IncidentFilter())
    again = load_incidents_bytes(first.encode(), name="export.geojson")
    second = to_geojson(again, IncidentFilter())
    assert json.loads(first)["features"] == json.loads(second)["features"]


def test_round_trip_of_the_bundled_dataset(syria: Dataset) -> None:
    first = json.loads(to_geojson(syria, IncidentFilter()))
    again = load_incidents_bytes(json.dumps(first).encode(), name="x")
    assert json.loads(to_geojson(again, IncidentFilter()))["features"] == first["features"]


def test_empty_result_is_a_valid_empty_collection(full: Dataset) -> None:
    document = json.loads(to_geojson(full, IncidentFilter(query="no such words anywhere")))
    assert document["features"] == [] and document["export"]["count"] == 0


def test_csv_has_one_flat_row_per_incident(full: Dataset) -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(full, IncidentFilter()))))
    assert [r["id"] for r in rows] == list(full.frame["id"])
    point = rows[0]
    assert (point["longitude"], point["latitude"]) == ("36.648", "35.439")
    assert point["geometry_wkt"].startswith("POINT Z (36.648 35.439")
    assert json.loads(point["claims"])[0]["by"] == "Party A"
    assert json.loads(point["extra"]) == {"x_reviewer": {"name": "A. Analyst", "checked": True}}
    assert point["killed_min"] == "100" and point["killed_max"] == ""
    assert rows[1]["geometry_wkt"].startswith("POLYGON ((")
    assert rows[3]["geometry_wkt"] == "" and rows[3]["longitude"] == ""


def test_csv_status_as_of(syria: Dataset) -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(syria, IncidentFilter(as_of="2017-04-13")))))
    khan = next(r for r in rows if r["id"] == "2017-04-04-khan-sheikhoun-chemical-attack")
    assert (khan["status"], khan["status_as_of"]) == ("verified", "disputed")


def test_csv_neutralises_formulas_but_not_numbers() -> None:
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-3.5, -20.25]},
               "properties": {"id": "f", "title": "=HYPERLINK(\"http://evil\",\"click\")", "category": "other",
                              "start": "2017", "status": "claimed", "place": "+1", "perpetrator": "@SUM(A1)",
                              "description": "-2+3", "sources": [{"title": "\tx"}]}}
    data = json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
    dataset = load_incidents_bytes(data, name="x")
    [row] = list(csv.DictReader(io.StringIO(to_csv(dataset, IncidentFilter()))))
    assert row["title"] == "'=HYPERLINK(\"http://evil\",\"click\")"
    assert (row["place"], row["perpetrator"], row["description"]) == ("'+1", "'@SUM(A1)", "'-2+3")
    assert (row["longitude"], row["latitude"]) == ("-3.5", "-20.25")
    assert neutralise_formula("ordinary") == "ordinary"
    assert neutralise_formula("  =1+1") == "'  =1+1" and neutralise_formula("\u3000=1") == "'\u3000=1"
    assert neutralise_formula("＝HYPERLINK(1)") == "'＝HYPERLINK(1)" and neutralise_formula("＠x") == "'＠x"
    assert neutralise_formula("a = b") == "a = b" and neutralise_formula(" plain") == " plain"


def test_csv_bytes_carry_a_utf8_bom_for_spreadsheets() -> None:
    assert csv_bytes("a\r\n").startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize("size", [1, 2, 4, 100])
def test_pieces_join_to_the_whole_export_at_any_size(full: Dataset, size: int) -> None:
    created = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    for flt in (IncidentFilter(), IncidentFilter(statuses={"verified"}), IncidentFilter(query="no such words"),
                IncidentFilter(as_of="2017-04-05", statuses={"claimed", "disputed"})):
        geojson = list(geojson_pieces(full, flt, created=created, features_per_piece=size))
        assert "".join(geojson) == to_geojson(full, flt, created=created)
        count = json.loads(geojson[0] + "]}" if len(geojson) > 1 else geojson[0])["export"]["count"]
        assert len(geojson) == (2 + -(-count // size) if count else 1)
        rows = list(csv_pieces(full, flt, rows_per_piece=size))
        assert "".join(rows) == to_csv(full, flt)
        assert len(rows) == 1 + -(-count // size)


def test_write_pieces_writes_utf8_with_the_byte_order_mark_asked_for(full: Dataset) -> None:
    sink = io.BytesIO()
    write_pieces(sink, csv_pieces(full, IncidentFilter(), rows_per_piece=2), bom=CSV_BOM)
    assert sink.getvalue() == csv_bytes(to_csv(full, IncidentFilter()))
    assert sink.getvalue().startswith(b"\xef\xbb\xbfid,title,")
    sink = io.BytesIO()
    write_pieces(sink, ["Dar\u02bfa", "\u00e0 \u0645"])
    assert sink.getvalue() == "Dar\u02bfa\u00e0 \u0645".encode()
