"""GeoJSON from other tools: the same mapping as spreadsheets, applied to properties."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from incidents import load_incidents_bytes
from incidents.importers import ImportFailed, ImportResult, import_table, load_mapping

from .conftest import DATA

IMPORT = DATA / "import"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def foreign(**options: Any) -> ImportResult:
    mapping = load_mapping((IMPORT / "foreign-map.yaml").read_bytes(), name="foreign-map.yaml")
    return import_table((IMPORT / "foreign.geojson").read_bytes(), name="foreign.geojson", mapping=mapping, now=NOW,
                        **options)


def test_foreign_geojson_with_a_mapping_file() -> None:
    result = foreign()
    report = result.report
    assert (report.kind, report.unit) == ("geojson", "feature")
    assert [str(n) for n in report.skipped] == [
        "feature 3: geometry: GeometryCollection is not supported: use a Multi geometry or split the incident",
        "feature 4: start (from 'when') is empty: every incident needs a date",
        "feature 5: status (from 'confidence') 'Maybe' is not one of verified, claimed, disputed, debunked: map it "
        "in a mapping file ([values.status])",
    ]
    assert [str(n) for n in report.warnings] == [
        "feature 6: geometry is null and latitude and longitude are empty: imported without a location (listed, "
        "not drawn)"]
    assert report.summary() == "imported 3 features, skipped 3, 1 warning"
    first = dict(result.features[0]["properties"])
    provenance = first.pop("provenance")
    assert first == {
        "id": "101", "title": "Synthetic strike on a clinic", "category": "attack_on_medical",
        "start": "2017-04-04T06:30", "status": "verified", "casualties": {"killed": 3, "injured": {"min": 5, "max": 8}},
        "sources": [{"title": "Example Health Monitor", "url": "https://example.org/clinic", "kind": "ngo"}],
        "tags": ["health", "idlib"], "x_team": "Synthetic team B",
    }
    original = json.loads((IMPORT / "foreign.geojson").read_text())["features"][0]
    assert provenance == {"format": "geojson", "file": "foreign.geojson", "feature": 1,
                          "imported_at": "2024-05-01T12:00:00Z",
                          "record": {"id": 101, "properties": original["properties"]}}
    assert result.features[0]["geometry"] == original["geometry"]
    # a null geometry with coordinates among the properties becomes a point
    assert result.features[1]["geometry"] == {"type": "Point", "coordinates": [36.63, 35.93]}
    assert result.features[1]["properties"]["status"] == "claimed"
    assert result.features[2]["geometry"] is None
    dataset = load_incidents_bytes(result.to_bytes(), name="foreign-imported.geojson")
    assert (len(dataset), dataset.warnings) == (3, ())


def test_geojson_already_in_the_format_maps_itself() -> None:
    original = json.loads((DATA / "good" / "full.geojson").read_text())
    result = import_table((DATA / "good" / "full.geojson").read_bytes(), name="full.geojson", now=NOW)
    assert result.report.skipped == []
    assert [f["id"] for f in result.features] == [f.get("id") or f["properties"]["id"] for f in original["features"]]
    first = {k: v for k, v in result.features[0]["properties"].items() if k != "provenance"}
    kept = ("title", "category", "start", "status", "sources", "perpetrator", "tags", "casualties")
    assert {k: first[k] for k in kept} == {k: original["features"][0]["properties"][k] for k in kept}
    assert len(load_incidents_bytes(result.to_bytes(), name="again.geojson")) == len(original["features"])


def test_a_single_feature_is_accepted() -> None:
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [36, 35]},
               "properties": {"title": "Synthetic", "start": "2017-04-04", "category": "other"}}
    result = import_table(json.dumps(feature).encode(), name="one.geojson", default_status="claimed",
                          default_source="Example Daily", now=NOW)
    assert [f["id"] for f in result.features] == ["one-1"]
    assert result.features[0]["properties"]["sources"] == [{"title": "Example Daily"}]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:3857"}}, '
         b'"features": []}', "declares crs 'EPSG:3857': GeoJSON coordinates must be WGS 84"),
        (b'{"type": "Point", "coordinates": [1, 2]}', "has type 'Point', expected a GeoJSON FeatureCollection"),
        (b"[1, 2]", "is a JSON list, expected a GeoJSON FeatureCollection"),
        (b'{"type": "FeatureCollection", "features": [{"a": NaN}]}', "NaN"),
        (b"<!DOCTYPE html><html></html>", "HTML"),
    ],
)
def test_unusable_geojson_is_refused_as_a_whole(data: bytes, message: str) -> None:
    with pytest.raises(ImportFailed, match=message):
        import_table(data, name="f.geojson", kind="geojson")
