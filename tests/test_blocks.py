"""A block of ordinary incidents checked at once (incidents.blocks) gives exactly what the whole-file reader gives;
whatever it cannot vouch for — a duplicate key, a value written another way, anything the checks would mention — it
leaves to the per-feature path. Each case is loaded both ways and compared, and the tests count how often the block
path was taken, so that they cannot pass by never taking it."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from incidents import IncidentDataError, bulk, load_incidents, load_incidents_bytes
from incidents import load as load_module
from incidents.blocks import Identifier, Text, check_block, check_records
from incidents.store import write_geoparquet
from incidents.synth import synthetic_features
from incidents.validate import _is_valid_id

from .conftest import DATA
from .test_bulk import _documents, _refuse, lines_layout
from .test_quickcheck import _mutated
from .test_streaming import Outcome, assert_same, outcome, whole_file_only

COMPACT: dict[str, Any] = {"separators": (",", ":"), "ensure_ascii": False}


@pytest.fixture
def blocks_taken(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each block the line reader offered was taken at once."""
    taken: list[bool] = []

    def spy(block: bytes, **kwargs: Any) -> Any:
        checked = check_block(block, **kwargs)
        taken.append(checked is not None)
        return checked

    monkeypatch.setattr(bulk, "check_block", spy)
    return taken


def _whole(data: bytes, name: str = "f.geojson") -> Outcome:
    with pytest.MonkeyPatch.context() as patch:
        whole_file_only(patch)
        patch.setattr(load_module, "read_lines", _refuse)
        return outcome(lambda: load_incidents_bytes(data, name=name, nested=False))


def _compare(data: bytes, name: str = "f.geojson") -> None:
    assert_same(outcome(lambda: load_incidents_bytes(data, name=name, nested=False)), _whole(data, name))


def _file(lines: list[str]) -> bytes:
    return ('{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n").encode()


def test_every_test_file_in_lines_reads_as_the_whole_file_reader_reads_it(blocks_taken: list[bool]) -> None:
    for name, document in _documents():
        _compare(lines_layout(document, style="compact"), name)
    assert blocks_taken.count(True) >= 10  # the good files and the bundled dataset take the block path


def test_synthetic_data_takes_the_block_path_entirely(blocks_taken: list[bool]) -> None:
    features = list(synthetic_features(3000, seed=11))  # polygons, lines and unlocated incidents among them
    _compare(_file([json.dumps(f, **COMPACT) for f in features]))
    assert blocks_taken and all(blocks_taken)


@pytest.mark.parametrize("seed", range(3))
def test_mutated_features_read_as_the_whole_file_reader_reads_them(seed: int, blocks_taken: list[bool]) -> None:
    rng = random.Random(seed)
    bases = list(synthetic_features(40, seed=seed))
    for _ in range(250):
        # a mutated feature among ordinary ones: the block is taken only when all of them are ordinary
        lines = [json.dumps(_mutated(rng.choice(bases), rng), **COMPACT)]
        if rng.random() < 0.5:
            lines.append(json.dumps(rng.choice(bases), **COMPACT))
        _compare(_file(lines))
    assert blocks_taken.count(True) > 30 and blocks_taken.count(False) > 30


_LINE: str = json.dumps(next(iter(synthetic_features(1, seed=5))), **COMPACT)


def _with_properties(change: Any) -> str:
    feature = json.loads(_LINE)
    change(feature["properties"])
    return json.dumps(feature, **COMPACT)


def _with_geometry(geometry: str) -> str:
    return re.sub(r'"geometry":\{[^}]*\}', lambda _: f'"geometry":{geometry}', _LINE, count=1)


# Ways of writing the same feature, or nearly, that the block path must leave alone or read exactly.
_TEXT_CHANGES: dict[str, tuple[str, bool]] = {
    # (the line, whether the block path may take it)
    "as written": (_LINE, True),
    "a duplicate key": (_LINE.replace('"title":', '"title":"First title","title":', 1), False),
    "a duplicate key in a source": (_LINE.replace('"kind":', '"kind":"news","kind":', 1), False),
    "a duplicate feature member": (_LINE.replace('"type":"Feature"', '"type":"Feature","type":"Feature"', 1), False),
    "blanks after colons": (_LINE.replace('":', '": '), False),
    "an escaped letter": (_LINE.replace('"title":"', '"title":"\\u0041', 1), False),
    "an escaped slash": (_LINE.replace("https://", "https:\\/\\/", 1), False),
    "an upper-case control escape": (_LINE.replace('"title":"', '"title":"\\u001F', 1), False),
    "a lower-case control escape": (_LINE.replace('"title":"', '"title":"\\u001f', 1), True),
    "a number with trailing zeros": (re.sub(r'("coordinates":\[[-0-9.]+)', r"\g<1>00", _LINE, count=1), False),
    "explicit nulls": (_with_properties(lambda p: p.update(perpetrator=None)), False),
    "keys in another order": (_with_properties(lambda p: [p.__setitem__(k, p.pop(k)) for k in sorted(p)]), True),
    "the id only on the feature": (_with_properties(lambda p: p.pop("id")), True),
    "an extension field": (_with_properties(lambda p: p.update(x_note="kept")), True),
    "extension fields nested": (_with_properties(lambda p: p.update(x_a={"b": [1, 2.5, None, True]}, x_c=[])), True),
    "an extension field twice": (_with_properties(lambda p: p.update(x_note="kept")).replace(
        '"x_note":', '"x_note":"first","x_note":', 1), False),
    "a duplicate key in an extension": (_with_properties(lambda p: p.update(x_a={"b": 1})).replace(
        '"x_a":{"b":1}', '"x_a":{"b":0,"b":1}', 1), False),
    "blanks in an extension": (_with_properties(lambda p: p.update(x_a={"b": 1})).replace(
        '"x_a":{"b":1}', '"x_a":{"b": 1}', 1), False),
    "an escape in an extension's name": (_with_properties(lambda p: p.update(x_note="kept")).replace(
        '"x_note":', '"x_\\u006eote":', 1), False),
    "an extension nested too deep": (_with_properties(lambda p: p.update(x_deep=json.loads("[" * 70 + "]" * 70))),
                                     False),
    "a field neither the format's nor an extension": (_with_properties(lambda p: p.update(x_ok=1, titel="t")), False),
    "a distance with decimals": (_with_properties(lambda p: p.update(uncertainty_m=1250.75)), True),
    # (17 significant digits: the same double has other spellings as long, so the block path leaves it alone)
    "a distance as msgspec writes it": (_with_properties(lambda p: p.update(uncertainty_m=0.1 + 0.2)), False),
    "a distance written another way as long": (_with_properties(lambda p: p.update(uncertainty_m=0.1 + 0.2)).replace(
        "0.30000000000000004", "0.30000000000000005"), False),
    "an empty list of claims": (_with_properties(lambda p: p.update(claims=[])), True),
    # valid JSON, plainly written, but not an ordinary incident: the per-feature path words what is wrong
    "a history source index out of range": (_with_properties(
        lambda p: p["status_history"][0].update(source=len(p["sources"]))), False),
    "a claim naming no source id": (_with_properties(
        lambda p: p.update(claims=[{"by": "A", "stance": "asserts", "source": "nowhere"}])), False),
    "a casualty source out of range": (_with_properties(lambda p: p.update(casualties={"killed": 1, "source": 9})),
                                       False),
    "two sources with one id": (_with_properties(lambda p: p["sources"].append(dict(p["sources"][0]))), False),
    "a link to itself": (_with_properties(lambda p: p.update(related=[{"id": p["id"], "relation": "context"}])),
                         False),
    "a history out of order": (_with_properties(lambda p: p["status_history"].insert(
        0, {"date": "2030-01-01", "status": p["status"]})), False),
    "a history ending elsewhere": (_with_properties(lambda p: p["status_history"].append(
        {"date": "2030-01-01", "status": "debunked" if p["status"] != "debunked" else "verified"})), False),
    "a range upside down": (_with_properties(lambda p: p.update(casualties={"killed": {"min": 5, "max": 2}})), False),
    "an empty range": (_with_properties(lambda p: p.update(casualties={"injured": {}})), False),
    "an id with blanks around it": (_with_properties(lambda p: p.update(id=" x")), False),
    "a feature id unlike its properties id": (_LINE.replace('"id":"synthetic-0000000"', '"id":"other"', 1), False),
    "a link that is not plain": (_with_properties(lambda p: p["sources"][0].update(url="https://example.org/a b")),
                                 False),
    "a blank title": (_with_properties(lambda p: p.update(title="\u2028 ")), False),
    "an unknown country": (_with_properties(lambda p: p.update(country="ZZ")), False),
    "a date that is not one": (_with_properties(lambda p: p.update(start="2017-02-30")), False),
    "an end before the start": (_with_properties(lambda p: p.update(end="1999-01-01")), False),
    "a first report given": (_with_properties(lambda p: p.update(first_reported="2001-01-01")), True),
    "a polygon": (_with_geometry('{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}'), True),
    "a ring that crosses itself": (
        _with_geometry('{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}'), False),
    "a point with a height": (_with_geometry('{"type":"Point","coordinates":[1,2,3]}'), False),
    "a point with a bbox": (_with_geometry('{"type":"Point","coordinates":[1,2],"bbox":[1,2,1,2]}'), False),
    "a point off the globe": (_with_geometry('{"type":"Point","coordinates":[181,2]}'), False),
    "no geometry": (_with_geometry("null"), True),
}


@pytest.mark.parametrize("name", sorted(_TEXT_CHANGES))
def test_only_features_written_plainly_take_the_block_path(name: str, blocks_taken: list[bool]) -> None:
    line, may_take = _TEXT_CHANGES[name]
    _compare(_file([line, _LINE.replace("synthetic-0000000", "synthetic-other")]))
    # the first line is one block, the last another, unless the first sent the file to the whole-file reader (or
    # the reader saw what turns the block path off before any block)
    assert (blocks_taken[0] if blocks_taken else False) == may_take


def test_an_acled_import_takes_the_block_path_entirely(blocks_taken: list[bool]) -> None:
    from incidents.importers import import_table

    result = import_table((DATA / "import" / "acled-sample.csv").read_bytes(), name="acled-sample.csv", kind="acled",
                          now=datetime(2026, 1, 1, tzinfo=UTC))
    assert any(key.startswith("x_") for key in result.features[0]["properties"])  # extension fields and provenance
    _compare(result.to_bytes())
    assert blocks_taken and all(blocks_taken)


def test_numbers_written_with_an_exponent_anywhere_in_the_file_turn_the_block_path_off(
        blocks_taken: list[bool]) -> None:
    feature = json.loads(_LINE)
    feature["properties"]["uncertainty_m"] = 1000
    line = json.dumps(feature, **COMPACT).replace('"uncertainty_m":1000', '"uncertainty_m":1e3')
    _compare(_file([line]))
    assert blocks_taken == []


def test_non_blank_text_means_what_strip_means() -> None:
    pattern = re.compile(Text.__metadata__[0].pattern)  # type: ignore[attr-defined]
    for code in range(0x110000):
        if 0xD800 <= code < 0xE000:
            continue
        text = chr(code) * 2
        assert (pattern.search(text) is not None) == bool(text.strip()), hex(code)


def test_identifiers_are_the_full_checks_identifiers() -> None:
    pattern = re.compile(Identifier.__metadata__[0].pattern)  # type: ignore[attr-defined]
    rng = random.Random(4)
    alphabet = ["a", "Z", "0", "-", " ", "\t", "\x00", "\x1f", "\x7f", "\x85", "\x9f", "\xa0", "\u2028", "é",
                "\U0001f600"]
    samples = ["", "a", " a", "a ", "a b", "x" * 200, "x" * 201, "\xa0x", "x\u2028"]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) for _ in range(5000)]
    for sample in samples:
        assert (pattern.search(sample) is not None) == _is_valid_id(sample), repr(sample)


# GeoParquet: the records (properties as JSON text) of a batch are checked at once the same way.


@pytest.fixture
def batches_taken(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each batch of GeoParquet records was taken at once."""
    taken: list[bool] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        checked = check_records(*args, **kwargs)
        taken.append(checked is not None)
        return checked

    monkeypatch.setattr(load_module, "check_records", spy)
    return taken


def _compare_parquet(path: Path) -> None:
    ours = outcome(lambda: load_incidents(path, nested=False))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(load_module, "check_records", lambda *_, **__: None)
        one_by_one = outcome(lambda: load_incidents(path, nested=False))
    assert_same(ours, one_by_one)


def _parquet_with_records(tmp_path: Path, lines: list[str], rewrite: Any = None) -> Path:
    """Synthetic incidents written as GeoParquet, each record then rewritten by ``rewrite(index, text)``."""
    write_geoparquet(load_incidents_bytes(_file(lines), name="f.geojson", nested=False), tmp_path / "plain.parquet")
    if rewrite is None:
        return tmp_path / "plain.parquet"
    table = pq.read_table(tmp_path / "plain.parquet")
    records = [rewrite(i, text) for i, text in enumerate(table.column("properties_json").to_pylist())]
    position = table.schema.get_field_index("properties_json")
    pq.write_table(table.set_column(position, "properties_json", pa.array(records, type=pa.string())),
                   tmp_path / "rewritten.parquet")
    return tmp_path / "rewritten.parquet"


def test_geoparquet_of_every_test_file_reads_as_record_by_record(tmp_path: Path, batches_taken: list[bool]) -> None:
    for name, document in _documents():
        try:
            dataset = load_incidents_bytes(lines_layout(document, style="compact"), name=name, nested=False)
        except IncidentDataError:
            continue
        write_geoparquet(dataset, tmp_path / "t.parquet")
        _compare_parquet(tmp_path / "t.parquet")
    assert batches_taken.count(True) >= 10


def test_synthetic_geoparquet_takes_the_batch_path_entirely(tmp_path: Path, batches_taken: list[bool]) -> None:
    features = list(synthetic_features(3000, seed=12))  # polygons, lines and unlocated incidents among them
    _compare_parquet(_parquet_with_records(tmp_path, [json.dumps(f, **COMPACT) for f in features]))
    assert batches_taken and all(batches_taken)


_RECORD_CHANGES: dict[str, tuple[Any, bool]] = {
    "as written": (lambda i, text: text, True),
    "a duplicate key": (lambda i, text: text.replace('"title":', '"title":"x","title":', 1) if i == 1 else text, False),
    "blanks": (lambda i, text: text.replace('":', '": ') if i == 1 else text, False),
    "an escaped letter": (lambda i, text: text.replace('"title":"', '"title":"\\u0041', 1) if i == 1 else text, False),
    "an upper-case control escape": (
        lambda i, text: text.replace('"title":"', '"title":"\\u001F', 1) if i == 1 else text, False),
    "a number with an exponent": (lambda i, text: text[:-1] + ',"x_n":1e3}' if i == 1 else text, False),
    "an extension field": (lambda i, text: text[:-1] + ',"x_n":[1,{"a":null}]}' if i == 1 else text, True),
    "records that are JSON only when joined": (
        lambda i, text: text[:-1] + ',"x_a":[0' if i == 0 else '0]}' if i == 1 else text, False),
    "a record that is not an object": (lambda i, text: "[]" if i == 1 else text, False),
}


@pytest.mark.parametrize("name", sorted(_RECORD_CHANGES))
def test_only_records_written_plainly_take_the_batch_path(name: str, tmp_path: Path,
                                                          batches_taken: list[bool]) -> None:
    rewrite, may_take = _RECORD_CHANGES[name]
    lines = [json.dumps(f, **COMPACT) for f in synthetic_features(5, seed=13)]
    _compare_parquet(_parquet_with_records(tmp_path, lines, rewrite))
    assert batches_taken[0] == may_take


@pytest.mark.parametrize(("wkt", "may_take"), [
    ("POINT (30 40)", True), ("POINT (200 40)", False), ("POINT (30 -95)", False), ("POINT (NaN 40)", False),
    ("POINT Z (30 40 5)", True), ("POLYGON ((0 0, 1 0, 1 1, 0 0))", True),
    ("POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))", False), ("LINESTRING (0 0, 190 0)", False),
])
def test_a_geoparquet_shape_is_checked_as_a_geojson_one(wkt: str, may_take: bool, tmp_path: Path,
                                                        batches_taken: list[bool]) -> None:
    lines = [json.dumps(f, **COMPACT) for f in synthetic_features(5, seed=14)]
    path = _parquet_with_records(tmp_path, lines)
    table = pq.read_table(path)
    shapes = list(table.column("geometry").to_pylist())
    shapes[1] = shapely.to_wkb(shapely.from_wkt(wkt))
    position = table.schema.get_field_index("geometry")
    column = pa.array(shapes, type=table.schema.field("geometry").type)
    pq.write_table(table.set_column(position, table.schema.field("geometry"), column), tmp_path / "shapes.parquet")
    _compare_parquet(tmp_path / "shapes.parquet")
    assert batches_taken[0] == may_take


# Found by review: numbers msgspec writes longer than they were written (1e16 and more, without an exponent) could
# pay for a duplicate key elsewhere in the block, as could features sharing a line; same-length spellings of one
# double kept the text as written. Each must be read as the whole-file reader reads it.
_BIG = "12345678901234567.0"  # msgspec writes 1.2345678901234568e16: two characters more
_LINES = [json.dumps(f, **COMPACT) for f in synthetic_features(12, seed=5)]


def _add_properties(line: str, members: str) -> str:
    record = json.dumps(json.loads(line)["properties"], **COMPACT)
    return line.replace(record, record[:-1] + members + "}", 1)


def _geometry_of(line: str) -> str:
    return json.dumps(json.loads(line)["geometry"], **COMPACT)


def _linked_nowhere(line: str) -> str:
    feature = json.loads(line)
    feature["properties"]["related"] = [{"id": "nowhere", "relation": "context"}]
    return json.dumps(feature, **COMPACT)


_POINT = json.loads(_LINES[0])["geometry"]["coordinates"]
_PAID_FOR: dict[str, list[str]] = {
    "a duplicate feature id, features sharing a line": [",".join(
        [_LINES[0].replace('"id":"synthetic-0000000"', '"id":"a","id":"synthetic-0000000"', 1), *_LINES[1:10]])],
    "a duplicate property, big numbers in another feature's provenance": [
        _LINES[0].replace('"status":"claimed"', '"status":"verified","status":"claimed"', 1),
        _add_properties(_LINES[1], ',"provenance":{"n":[' + ",".join([_BIG] * 10) + "]}"), _LINES[2]],
    "a duplicate key in an extension, big numbers beside it": [
        _add_properties(_LINES[0], ',"x_a":{"k":1,"k":2},"x_b":[' + ",".join([_BIG] * 3) + "]"), _LINES[1]],
    "a duplicate point member, big elevations in a line": [
        _LINES[0].replace(_geometry_of(_LINES[0]), '{"type":"Point","coordinates":[10.5,10.5],"coordinates":'
                          + json.dumps(_POINT, separators=(",", ":")) + "}", 1),
        _LINES[1].replace(_geometry_of(_LINES[1]), '{"type":"LineString","coordinates":['
                          + ",".join(f"[{i}.5,1,{_BIG}]" for i in range(13)) + "]}", 1), _LINES[2]],
    "an extension float written another way, as long": [_add_properties(_LINES[0], ',"x_v":0.30000000000000005')],
    "a provenance float written another way, as long": [
        _add_properties(_LINES[0], ',"provenance":{"v":1234567890123456.7}')],
    "a distance written another way beside an extension holding the usual spelling": [_add_properties(
        _LINES[0], ',"uncertainty_m":0.30000000000000005,"x_a":{"uncertainty_m":0.30000000000000004}')],
    "a blank paid for by a big number": [
        _add_properties(_LINES[0], ',"provenance":{"n":' + _BIG + "}").replace('"title":', '"title":  ', 1)],
    "every incident linking to an id found nowhere": [_linked_nowhere(_LINES[0]), _linked_nowhere(_LINES[1])],
}


@pytest.mark.parametrize("name", sorted(_PAID_FOR))
def test_what_review_found_reads_as_the_whole_file_reader_reads_it(name: str, blocks_taken: list[bool]) -> None:
    _compare(_file(_PAID_FOR[name]))


def test_a_geoparquet_record_with_a_duplicate_key_is_refused_whatever_else_the_batch_holds(
        tmp_path: Path, batches_taken: list[bool]) -> None:
    def rewrite(index: int, text: str) -> str:
        if index == 1:
            return text.replace('"title":', '"title":"x","title":', 1)
        return text[:-1] + ',"provenance":{"n":[' + ",".join([_BIG] * 6) + "]}}" if index == 2 else text

    path = _parquet_with_records(tmp_path, _LINES[:5], rewrite)
    with pytest.raises(IncidentDataError, match=r"feature #2: properties_json: .*title"):
        load_incidents(path, nested=False)
    assert batches_taken == [False]


def test_a_curved_geoparquet_shape_is_reported_not_raised(tmp_path: Path) -> None:
    path = _parquet_with_records(tmp_path, _LINES[:3])
    table = pq.read_table(path)
    shapes = list(table.column("geometry").to_pylist())
    shapes[1] = bytes.fromhex("0108000000030000000000000000000000000000000000000000000000000000000000F03F000000000000"
                              "F03F00000000000000400000000000000000")  # a CircularString
    position = table.schema.get_field_index("geometry")
    column = pa.array(shapes, type=table.schema.field("geometry").type)
    pq.write_table(table.set_column(position, table.schema.field("geometry"), column), tmp_path / "curved.parquet")
    with pytest.raises(IncidentDataError, match=r"curved.parquet: has a geometry that cannot be read .*features 1–3"):
        load_incidents(tmp_path / "curved.parquet", nested=False)


def test_an_empty_geoparquet_batch_is_left_to_the_record_path() -> None:
    # pyarrow skips empty row groups today; a reader that did not would hand over an empty batch
    assert check_records(pa.array([], pa.large_string()), np.array([], dtype=object), file="f", first=1) is None
