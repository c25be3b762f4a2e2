"""Reading a file one feature at a time gives exactly what reading it whole gives: the same frame, history,
warnings and file identity for a good file, the same messages for a bad one, at any chunk size."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal

from incidents import IncidentDataError, load_incidents, load_incidents_bytes, streaming
from incidents import load as load_module
from incidents.model import FrameBuilder
from incidents.reader import parse_json_bytes
from incidents.streaming import NotStreamable, memory_chunks, stream_collection
from incidents.validate import check_collection

from .conftest import BUNDLED, DATA

CORPUS = sorted(p for p in DATA.rglob("*") if p.is_file() and p.parent.name in ("good", "bad", "warn", "hostile"))
Outcome = tuple[str, Any]


def outcome(load: Any) -> Outcome:
    try:
        dataset = load()
    except IncidentDataError as error:
        return "refused", [str(p) for p in error.problems]
    return "loaded", dataset


def assert_same(streamed: Outcome, whole: Outcome) -> None:
    assert streamed[0] == whole[0]
    if streamed[0] == "refused":
        assert streamed[1] == whole[1]
        return
    ours, theirs = streamed[1], whole[1]
    assert_geodataframe_equal(ours.frame, theirs.frame)
    pd.testing.assert_frame_equal(ours.history, theirs.history)
    assert [str(w) for w in ours.warnings] == [str(w) for w in theirs.warnings]
    assert ours.files == theirs.files
    assert ours.consistent == theirs.consistent


@pytest.fixture
def paths_taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Which reader each load used: "stream", or "whole" when it fell back to reading the file whole."""
    taken: list[str] = []
    check_stream, parse_whole = load_module._check_stream, load_module.parse_json_bytes

    def spy_stream(*args: Any, **kwargs: Any) -> Any:
        taken.append("stream")
        return check_stream(*args, **kwargs)

    def spy_whole(*args: Any, **kwargs: Any) -> Any:
        taken.append("whole")
        return parse_whole(*args, **kwargs)

    monkeypatch.setattr(load_module, "_check_stream", spy_stream)
    monkeypatch.setattr(load_module, "parse_json_bytes", spy_whole)
    return taken


def whole_file_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any) -> Any:
        raise NotStreamable

    monkeypatch.setattr(load_module, "stream_collection", refuse)


@pytest.mark.parametrize("chunk_bytes", [7, 4096])
@pytest.mark.parametrize("path", [BUNDLED, *CORPUS], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_test_file_streams_to_what_the_whole_file_reader_gives(
    path: Path, chunk_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streaming, "CHUNK_BYTES", chunk_bytes)
    streamed = outcome(lambda: load_incidents(path, nested=False))
    with pytest.MonkeyPatch.context() as patch:
        whole_file_only(patch)
        whole = outcome(lambda: load_incidents(path, nested=False))
    assert_same(streamed, whole)


def test_good_files_are_read_one_feature_at_a_time(paths_taken: list[str]) -> None:
    load_incidents([BUNDLED, DATA / "good"])
    assert paths_taken and set(paths_taken) == {"stream"}


@pytest.mark.parametrize(
    "name, text",
    [
        ("duplicate key in a feature", '{"type":"FeatureCollection","features":[{"type":"Feature","type":"x"}]}'),
        ("duplicate member", '{"type":"FeatureCollection","features":[],"features":[]}'),
        ("NaN", '{"type":"FeatureCollection","features":[{"a":NaN}]}'),
        ("trailing comma", '{"type":"FeatureCollection","features":[{},]}'),
        ("extra data", '{"type":"FeatureCollection","features":[]} {}'),
        ("truncated", '{"type":"FeatureCollection","features":[{"type":"Fea'),
        ("top-level list", '[{"type":"FeatureCollection"}]'),
        ("lone surrogate", '{"type":"FeatureCollection","features":[],"name":"\\ud800"}'),
        ("long number", '{"type":"FeatureCollection","features":[],"n":' + "1" * 150 + "}"),
        ("comment", '{"type":"FeatureCollection", // here\n "features":[]}'),
    ],
)
@pytest.mark.parametrize("chunk_bytes", [1, 5, 1000])
def test_anything_but_plain_json_is_left_to_the_whole_file_reader(
    name: str, text: str, chunk_bytes: int, monkeypatch: pytest.MonkeyPatch, paths_taken: list[str]
) -> None:
    monkeypatch.setattr(streaming, "CHUNK_BYTES", chunk_bytes)
    with pytest.raises(NotStreamable):
        stream_collection(memory_chunks(text.encode()), lambda feature: None)
    with pytest.raises(IncidentDataError) as caught:
        load_incidents_bytes(text.encode(), name="sent.geojson")
    assert paths_taken == ["stream", "whole"]
    with pytest.raises(IncidentDataError) as reader:
        parse_json_bytes(text.encode(), name="sent.geojson")
        raise IncidentDataError(check_collection(json.loads(text), file="sent.geojson").problems)
    assert [str(p) for p in caught.value.problems] == [str(p) for p in reader.value.problems]


def incident(number: int, **changes: Any) -> dict[str, Any]:
    properties = {
        "id": f"incident-{number}", "title": f"حلب — قصف {number} 🚀", "category": "shelling",
        "start": "2017-04-0" + str(1 + number % 9), "status": "claimed",
        "sources": [{"title": "مصدر", "url": "https://example.org/a"}], **changes,
    }
    return {"type": "Feature", "id": properties["id"],
            "geometry": {"type": "Point", "coordinates": [36.1234567891 + number, 35.987654321]},
            "properties": properties}


def collection(*features: dict[str, Any], **members: Any) -> bytes:
    return json.dumps({**members, "features": list(features)}, ensure_ascii=False).encode()


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 5, 64])
def test_characters_and_numbers_cut_by_a_chunk_boundary_are_read_whole(
    chunk_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = collection(incident(1), incident(2), type="FeatureCollection")
    seen: list[Any] = []
    monkeypatch.setattr(streaming, "CHUNK_BYTES", chunk_bytes)
    members = stream_collection(memory_chunks(data), seen.append)
    assert seen == json.loads(data)["features"]
    assert members == {"type": "FeatureCollection", "features": streaming.STREAMED}


def test_members_before_and_after_the_features_are_checked_as_in_the_whole_file(
    monkeypatch: pytest.MonkeyPatch, paths_taken: list[str]
) -> None:
    text = ('\ufeff {"name": "x", "features": [' + json.dumps(incident(1)) + '], "x_extra": {"a": [1]}, '
            '"crs": {"type": "name", "properties": {"name": "EPSG:4326"}}, "type": "FeatureCollection"}\n')
    streamed = outcome(lambda: load_incidents_bytes(text.encode(), name="members.geojson"))
    whole_file_only(monkeypatch)
    assert_same(streamed, outcome(lambda: load_incidents_bytes(text.encode(), name="members.geojson")))
    assert paths_taken[0] == "stream"
    assert [str(w) for w in streamed[1].warnings] == [
        "members.geojson: crs member ignored: GeoJSON coordinates are always WGS 84 longitude/latitude",
        "members.geojson: member 'x_extra' of the FeatureCollection is not kept",
    ]


@pytest.mark.parametrize("kind, message", [
    ("Feature", "is a single Feature"),
    ("Topology", "has type 'Topology', expected \"FeatureCollection\""),
])
def test_a_collection_of_the_wrong_type_is_refused_even_after_its_features_streamed(
    kind: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = collection(incident(1), type=kind)
    streamed = outcome(lambda: load_incidents_bytes(data, name="typed.geojson"))
    whole_file_only(monkeypatch)
    assert_same(streamed, outcome(lambda: load_incidents_bytes(data, name="typed.geojson")))
    assert streamed[0] == "refused" and message in streamed[1][0]


def test_every_bad_feature_is_reported_with_its_number_while_streaming(paths_taken: list[str]) -> None:
    data = collection(incident(1), incident(2, status="rumoured"), incident(3, start="2017-13-01"), incident(1),
                      type="FeatureCollection")
    with pytest.raises(IncidentDataError) as caught:
        load_incidents_bytes(data, name="mixed.geojson")
    assert paths_taken == ["stream"]
    located = [(p.feature, p.field) for p in caught.value.errors]
    assert located == [(2, "status"), (3, "start"), (4, "id")]


def test_the_frame_is_the_same_however_often_the_builder_flushes() -> None:
    rows = check_collection(json.loads(BUNDLED.read_bytes()), file="syria").rows
    builders = [FrameBuilder(flush_every=1), FrameBuilder(flush_every=4), FrameBuilder()]
    built = []
    for builder in builders:
        for row in rows:
            builder.add(row)
        built.append(builder.build(nested=True))
    for frame, history in built[:-1]:
        assert_geodataframe_equal(frame, built[-1][0])
        pd.testing.assert_frame_equal(history, built[-1][1])
    assert len(built[-1][0]) == len(rows) and len(built[-1][1]) > len(rows)


def test_the_garbage_collector_is_on_again_after_a_load_even_a_refused_one() -> None:
    assert gc.isenabled()
    load_incidents(BUNDLED)
    with pytest.raises(IncidentDataError):
        load_incidents_bytes(collection(incident(1, status="x"), type="FeatureCollection"), name="bad.geojson")
    assert gc.isenabled()
