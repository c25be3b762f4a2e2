"""Files laid out one feature per line are read many lines at a time (incidents.bulk); that gives exactly what the
whole-file reader gives — the same dataset, or the same messages — whatever the layout's details, and any file
that is not plain goes back to the other readers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from incidents import load as load_module
from incidents import load_incidents_bytes, streaming
from incidents.bulk import LineReader, read_lines
from incidents.streaming import NotStreamable, memory_chunks
from incidents.synth import synthetic_features
from incidents.validate import FeatureCollector

from .conftest import BUNDLED, DATA
from .test_streaming import assert_same, outcome, whole_file_only

CORPUS = sorted(p for p in DATA.rglob("*.geojson") if p.parent.name in ("good", "bad", "warn", "hostile"))


def _documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in [BUNDLED, *CORPUS]:
        try:
            document = json.loads(path.read_bytes())
        except ValueError:
            continue
        if isinstance(document, dict) and isinstance(document.get("features"), list):
            found.append((path.name, document))
    return found


def lines_layout(document: dict[str, Any], *, style: str) -> bytes:
    """``document`` written one feature per line, in one of the ways writers do it."""
    members = {k: v for k, v in document.items() if k != "features"}
    compact = {"separators": (",", ":"), "ensure_ascii": False}
    options: dict[str, Any] = {
        "compact": compact, "spaced": {"ensure_ascii": False}, "ascii": {"separators": (",", ":")},
        "crlf": compact,
    }[style]
    opening = json.dumps({**members, "features": []}, **options)[:-2].rstrip("[ ") + "["
    newline = "\r\n" if style == "crlf" else "\n"
    features = ("," + newline).join(json.dumps(f, **options) for f in document["features"])
    text = opening + newline + features + newline + "]}" + newline if features else opening + "]}"
    return text.encode("utf-8", "surrogatepass")


def _paths_taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    taken: list[str] = []
    real = load_module.read_lines

    def spy(*args: Any, **kwargs: Any) -> Any:
        try:
            result = real(*args, **kwargs)
        except NotStreamable:
            taken.append("other")
            raise
        taken.append("lines")
        return result

    monkeypatch.setattr(load_module, "read_lines", spy)
    return taken


@pytest.mark.parametrize("style", ["compact", "spaced", "ascii", "crlf"])
@pytest.mark.parametrize("chunk_bytes", [64, 1 << 20])
def test_every_test_file_in_lines_reads_as_the_whole_file_reader_reads_it(
    style: str, chunk_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streaming, "CHUNK_BYTES", chunk_bytes)
    documents = _documents()
    assert len(documents) > 20
    taken = _paths_taken(monkeypatch)
    for name, document in documents:
        data = lines_layout(document, style=style)
        by_lines = outcome(lambda data=data, name=name: load_incidents_bytes(data, name=name, nested=False))
        with pytest.MonkeyPatch.context() as patch:
            whole_file_only(patch)
            patch.setattr(load_module, "read_lines", _refuse)
            whole = outcome(lambda data=data, name=name: load_incidents_bytes(data, name=name, nested=False))
        assert_same(by_lines, whole)
    assert taken.count("lines") >= len(documents) // 2  # most of them did take the line reader


def _refuse(*_: Any, **__: Any) -> Any:
    raise NotStreamable


OPENING = '{"type":"FeatureCollection","features":[\n'


def _feature_line(index: int) -> str:
    return json.dumps(next(iter(synthetic_features(1, seed=index))), separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize(
    "name, text",
    [
        ("duplicate key on a line", OPENING + _feature_line(1)[:-1] + ',"type":"Feature"}\n]}'),
        ("duplicate key in the opening", '{"type":"FeatureCollection","type":"x","features":[\n' + _feature_line(1)
         + "\n]}"),
        ("trailing comma", OPENING + _feature_line(1) + ",\n]}"),
        ("two commas", OPENING + _feature_line(1) + ",,\n" + _feature_line(2) + "\n]}"),
        ("truncated", OPENING + _feature_line(1)[:-3] + "\n]}"),
        ("NaN", OPENING + _feature_line(1).replace('"start"', '"uncertainty_m":NaN,"start"') + "\n]}"),
        ("members after features", OPENING + _feature_line(1) + '\n],"name":"x"}'),
        ("control character", OPENING + _feature_line(1).replace("Synthetic", "Syn\x01thetic") + "\n]}"),
        ("invalid UTF-8", OPENING + _feature_line(1).replace("Synthetic", "Syn\udcffthetic") + "\n]}"),
        ("leading zero", OPENING + _feature_line(1).replace('"coordinates":[', '"coordinates":[0') + "\n]}"),
        ("no closing", OPENING + _feature_line(1) + "\n"),
        ("a comma before the first feature", OPENING + ",\n" + _feature_line(1) + "\n]}"),
        ("a comma alone in an empty list", OPENING + ",\n]}"),
        ("a form feed in an empty list", OPENING + "\x0c]}"),
        ("a vertical tab in an empty list", OPENING + "\x0b]}"),
        ("nested too deep", OPENING + _feature_line(1)[:-2] + ',"x_deep":' + "[" * 5000 + "]" * 5000 + "}}\n]}"),
    ],
)
def test_anything_not_plain_is_left_to_the_other_readers(name: str, text: str) -> None:
    data = text.encode("utf-8", "surrogateescape")
    collector = FeatureCollector(name, lambda row: None)
    with pytest.raises(NotStreamable):
        read_lines(memory_chunks(data), collector)
    by_lines = outcome(lambda: load_incidents_bytes(data, name=name, nested=False))
    with pytest.MonkeyPatch.context() as patch:
        whole_file_only(patch)
        patch.setattr(load_module, "read_lines", _refuse)
        whole = outcome(lambda: load_incidents_bytes(data, name=name, nested=False))
    assert_same(by_lines, whole)


def test_a_feature_broken_over_lines_is_read_whole_or_refused_exactly() -> None:
    pretty = json.dumps({"type": "FeatureCollection", "features": list(synthetic_features(30, seed=5))}, indent=1)
    data = pretty.encode()
    by_lines = outcome(lambda: load_incidents_bytes(data, name="pretty.geojson", nested=False))
    assert by_lines[0] == "loaded" and len(by_lines[1]) == 30


def test_numbers_and_messages_follow_the_file_across_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streaming, "CHUNK_BYTES", 4096)
    features = list(synthetic_features(200, seed=9))
    features[150]["properties"]["status"] = "nonsense"
    features[170]["properties"]["x_own"] = {"kept": True}
    document = {"type": "FeatureCollection", "features": features}
    data = lines_layout(document, style="compact")
    result = outcome(lambda: load_incidents_bytes(data, name="many.geojson", nested=False))
    assert result[0] == "refused"
    assert result[1] == ["many.geojson: feature #151 (synthetic-0000150): status: 'nonsense' is not a status: "
                         "expected one of verified, claimed, disputed, debunked"]
    features[150]["properties"]["status"] = features[150]["properties"]["status_history"][-1]["status"]
    loaded = load_incidents_bytes(lines_layout(document, style="compact"), name="many.geojson", nested=False)
    assert list(loaded.frame["feature"]) == list(range(1, 201))
    assert json.loads(loaded.frame["properties_json"].iat[170])["x_own"] == {"kept": True}


def test_a_large_line_file_takes_the_line_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = _paths_taken(monkeypatch)
    document = {"type": "FeatureCollection", "features": list(synthetic_features(2000, seed=11))}
    dataset = load_incidents_bytes(lines_layout(document, style="compact"), name="big.geojson", nested=False)
    assert taken == ["lines"]
    assert len(dataset) == 2000


def test_two_commas_across_a_chunk_boundary_are_refused_as_the_whole_file_reader_refuses_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = OPENING + _feature_line(1) + ",\n"
    data = (first + ",\n" + _feature_line(2) + "\n]}").encode()
    monkeypatch.setattr(streaming, "CHUNK_BYTES", len(first.encode()))  # the second chunk starts at ",\n"
    collector = FeatureCollector("two-commas.geojson", lambda row: None)
    with pytest.raises(NotStreamable):
        read_lines(memory_chunks(data), collector)
    by_lines = outcome(lambda: load_incidents_bytes(data, name="two-commas.geojson", nested=False))
    assert by_lines[0] == "refused"


def test_a_crlf_file_is_still_cut_into_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    blocks: list[int] = []
    real = LineReader._block

    def spy(self: LineReader, block: bytes) -> None:
        blocks.append(len(block))
        real(self, block)

    monkeypatch.setattr(LineReader, "_block", spy)
    monkeypatch.setattr(streaming, "CHUNK_BYTES", 64 * 1024)
    document = {"type": "FeatureCollection", "features": list(synthetic_features(600, seed=2))}
    dataset = load_incidents_bytes(lines_layout(document, style="crlf"), name="crlf.geojson", nested=False)
    assert len(dataset) == 600 and len(blocks) > 5  # not the whole file held until its end


def test_a_member_nested_near_the_recursion_limit_is_left_to_the_whole_file_reader() -> None:
    """Only the whole-file reader knows whether Python can parse a value that deep (the readers' stacks differ):
    the readers of files in pieces leave any feature deeper than incident data to it."""
    for depth in (70, 500, *range(850, 1001)):
        line = _feature_line(1)[:-1] + ',"x":' + "[" * depth + "]" * depth + "}"
        data = (OPENING + line + "\n]}").encode()
        by_lines = outcome(lambda data=data: load_incidents_bytes(data, name="deep.geojson", nested=False))
        with pytest.MonkeyPatch.context() as patch:
            whole_file_only(patch)
            patch.setattr(load_module, "read_lines", _refuse)
            whole = outcome(lambda data=data: load_incidents_bytes(data, name="deep.geojson", nested=False))
        assert_same(by_lines, whole)
