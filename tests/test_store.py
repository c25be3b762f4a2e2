"""GeoParquet (the fast format), the content-keyed cache, `incidents convert` and `incidents synth`."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pytest
import shapely

from incidents import IncidentDataError, IncidentFilter, load_incidents, to_geojson
from incidents import bulk as bulk_module
from incidents import cache as content_cache
from incidents import load as load_module
from incidents import model as model_module
from incidents import store as store_module
from incidents.store import read_arrow, read_geoparquet, write_arrow, write_geoparquet
from incidents.synth import synthetic_collection, write_synthetic_geojson

from .conftest import BUNDLED, DATA, ROOT
from .test_streaming import assert_same


def features(text: str) -> list[dict[str, object]]:
    result: list[dict[str, object]] = json.loads(text)["features"]
    return result


def test_geoparquet_round_trip_keeps_every_field_and_the_history(tmp_path: Path) -> None:
    original = load_incidents(DATA / "good" / "full.geojson", nested=False)
    write_geoparquet(original, tmp_path / "full.parquet")
    back = read_geoparquet(tmp_path / "full.parquet")
    pd.testing.assert_frame_equal(original.frame.drop(columns="geometry"), back.frame.drop(columns="geometry"))
    assert list(original.frame.geometry.to_wkt()) == list(back.frame.geometry.to_wkt())
    pd.testing.assert_frame_equal(original.history, back.history)
    assert (back.files, back.warnings) == (original.files, original.warnings)
    everything = IncidentFilter()
    assert features(to_geojson(back, everything)) == features(to_geojson(original, everything))
    as_of = IncidentFilter(as_of="2017-04-12")
    assert list(as_of.apply(back)["status"]) == list(as_of.apply(original)["status"])


def test_geoparquet_is_readable_by_geopandas(tmp_path: Path) -> None:
    write_geoparquet(load_incidents(BUNDLED, nested=False), tmp_path / "syria.parquet")
    frame = gpd.read_parquet(tmp_path / "syria.parquet")
    assert len(frame) == 6 and frame.crs is not None and frame.crs.to_string() == "OGC:CRS84"


def test_geoparquet_from_elsewhere_is_checked_like_geojson(tmp_path: Path) -> None:
    dataset = load_incidents(BUNDLED, nested=False)
    tampered = dataset.frame.copy()
    props = json.loads(tampered.at[0, "properties_json"])
    props["status"] = "confirmed"
    tampered.at[0, "properties_json"] = json.dumps(props)
    from incidents.model import Dataset

    write_geoparquet(Dataset(tampered, dataset.history, (), dataset.files), tmp_path / "tampered.parquet")
    with pytest.raises(IncidentDataError, match=r"tampered.parquet: feature #1 \(2017-04-04-khan-sheikhoun-"
                                                r"chemical-attack\): status: 'confirmed' is not a status"):
        load_incidents(tmp_path / "tampered.parquet")


def test_a_parquet_file_that_is_not_ours_is_refused_with_a_hint(tmp_path: Path) -> None:
    gpd.GeoDataFrame({"a": [1]}, geometry=gpd.points_from_xy([1], [2]), crs=4326).to_parquet(tmp_path / "x.parquet")
    with pytest.raises(IncidentDataError, match=r"is Parquet but not an incident dataset .* `incidents convert"):
        load_incidents(tmp_path / "x.parquet")


def test_cache_reuses_the_checked_result_and_misses_when_the_content_changes(tmp_path: Path) -> None:
    path = tmp_path / "syria.geojson"
    shutil.copy(BUNDLED, path)
    first = load_incidents(path, cache=True, nested=False)
    entry = content_cache.entry_path(first.files[0].sha256)
    assert entry.is_file()
    stamp = entry.stat().st_mtime_ns
    again = load_incidents(path, cache=True, nested=False)
    assert entry.stat().st_mtime_ns == stamp  # read, not rewritten
    pd.testing.assert_frame_equal(first.frame.drop(columns="geometry"), again.frame.drop(columns="geometry"))
    wkb = [list(shapely.to_wkb(d.frame.geometry.to_numpy())) for d in (first, again)]
    assert wkb[0] == wkb[1]
    changed = json.loads(path.read_text())
    changed["features"][0]["properties"]["title"] = "Changed title"
    path.write_text(json.dumps(changed))
    reloaded = load_incidents(path, cache=True, nested=False)
    assert reloaded.files[0].sha256 != first.files[0].sha256
    assert reloaded.frame.at[0, "title"] == "Changed title"


def test_the_cache_keeps_every_geometry_exactly_elevations_included(tmp_path: Path) -> None:
    first = load_incidents(DATA / "good", cache=True, nested=False)
    again = load_incidents(DATA / "good", cache=True, nested=False)
    before, after = first.frame.geometry.to_numpy(), again.frame.geometry.to_numpy()
    assert shapely.has_z(before).any()
    assert list(shapely.has_z(after)) == list(shapely.has_z(before))
    assert list(shapely.to_wkb(after)) == list(shapely.to_wkb(before))


def test_cached_content_under_another_name_speaks_of_that_name(tmp_path: Path) -> None:
    one, two = tmp_path / "one.geojson", tmp_path / "two.geojson"
    shutil.copy(DATA / "good" / "full.geojson", one)
    shutil.copy(DATA / "good" / "full.geojson", two)
    load_incidents(one, cache=True)
    second = load_incidents(two, cache=True)
    assert {str(w.file) for w in second.warnings} == {str(two)}
    assert set(second.frame["file"]) == {str(two)} and second.files[0].name == str(two)


def test_a_damaged_cache_entry_is_a_miss(tmp_path: Path) -> None:
    path = tmp_path / "minimal.geojson"
    shutil.copy(DATA / "good" / "minimal.geojson", path)
    dataset = load_incidents(path, cache=True)
    content_cache.entry_path(dataset.files[0].sha256).write_bytes(b"PAR1 not really")
    assert len(load_incidents(path, cache=True)) == 1


def test_bad_files_are_never_cached(tmp_path: Path) -> None:
    before = set(Path(os.environ["INCIDENTS_CACHE_DIR"]).glob("*.arrow"))
    with pytest.raises(IncidentDataError):
        load_incidents(DATA / "bad" / "bad-status.geojson", cache=True)
    assert set(Path(os.environ["INCIDENTS_CACHE_DIR"]).glob("*.arrow")) == before


def test_the_cache_format_keeps_every_geometry_kind_and_the_history(tmp_path: Path) -> None:
    source = tmp_path / "mixed.geojson"
    write_synthetic_geojson(str(source), 300, seed=5)
    dataset = load_incidents(source, nested=False)
    assert set(dataset.frame.geometry.geom_type.dropna()) >= {"Point", "Polygon", "LineString"}
    assert dataset.frame.geometry.isna().any()
    write_arrow(dataset, tmp_path / "entry.arrow")
    back = read_arrow(tmp_path / "entry.arrow")
    assert back.frame.geometry.geom_equals_exact(dataset.frame.geometry, tolerance=0).sum() == \
        dataset.frame.geometry.notna().sum()
    assert back.frame.geometry.isna().equals(dataset.frame.geometry.isna())
    pd.testing.assert_frame_equal(back.frame.drop(columns="geometry"), dataset.frame.drop(columns="geometry"),
                                  check_dtype=False)
    pd.testing.assert_frame_equal(back.history, dataset.history, check_dtype=False)
    assert back.warnings == dataset.warnings and back.files == dataset.files


def test_a_known_file_is_not_hashed_again_until_it_is_rewritten(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "syria.geojson"
    shutil.copy(BUNDLED, path)
    hashed: list[str] = []
    compute = load_module._file_digest

    def counting(*args: Any, **kwargs: Any) -> str:
        hashed.append(str(args[0]))
        return compute(*args, **kwargs)

    monkeypatch.setattr(load_module, "_file_digest", counting)
    first = load_incidents(path, cache=True, nested=False)
    load_incidents(path, cache=True, nested=False)
    assert len(hashed) == 1
    text = path.read_text().replace("Khan Sheikhoun", "Khan Shaykhun", 1)
    path.write_text(text)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1))  # a rewrite within the same tick
    changed = load_incidents(path, cache=True, nested=False)
    assert len(hashed) == 2 and changed.files[0].sha256 != first.files[0].sha256


def test_synthetic_data_is_valid_reproducible_and_varied() -> None:
    collection = synthetic_collection(400, seed=3)
    assert collection == synthetic_collection(400, seed=3)
    assert collection != synthetic_collection(400, seed=4)
    from incidents import load_incidents_bytes

    dataset = load_incidents_bytes(json.dumps(collection).encode(), name="synthetic")
    frame = dataset.frame
    assert len(frame) == 400
    kinds = frame.geometry.geom_type.value_counts(dropna=False)
    assert kinds["Point"] > 300 and kinds["Polygon"] > 0 and kinds["LineString"] > 0
    assert frame.geometry.isna().sum() > 0
    assert set(frame["status"]) == {"verified", "claimed", "disputed", "debunked"}
    assert (frame["claim_count"] > 0).mean() > 0.5 and (frame["source_count"] >= 1).all()
    assert len(dataset.history) > 400


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "incidents", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def test_convert_and_synth_commands(tmp_path: Path) -> None:
    made = run("synth", "300", "-o", str(tmp_path / "s.geojson"), "--seed", "5")
    assert made.returncode == 0 and "wrote 300 synthetic incidents" in made.stderr
    converted = run("convert", str(tmp_path / "s.geojson"), str(tmp_path / "s.parquet"))
    assert converted.returncode == 0, converted.stderr
    from_geojson = run("export", str(tmp_path / "s.geojson"), "--status", "disputed")
    from_parquet = run("export", str(tmp_path / "s.parquet"), "--status", "disputed")
    assert features(from_geojson.stdout) == features(from_parquet.stdout) != []
    back = run("convert", str(tmp_path / "s.parquet"), str(tmp_path / "back.geojson"))
    assert back.returncode == 0
    assert len(features((tmp_path / "back.geojson").read_text())) == 300
    assert run("convert", str(BUNDLED), str(tmp_path / "x.txt")).returncode == 2


def test_a_parquet_file_is_checked_from_its_records_so_older_derived_columns_do_not_matter(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    dataset = load_incidents(BUNDLED, nested=False)
    write_geoparquet(dataset, tmp_path / "new.parquet")
    table = pq.read_table(tmp_path / "new.parquet")
    pq.write_table(table.drop_columns(["geometry_type", "anchor_lat", "search_text"]), tmp_path / "older.parquet")
    again = load_incidents(tmp_path / "older.parquet", nested=False)
    assert list(again.frame["id"]) == list(dataset.frame["id"])
    assert again.frame["anchor_lat"].equals(dataset.frame["anchor_lat"])


def _records_rewritten(tmp_path: Path, name: str, rewrite: Any) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    write_geoparquet(load_incidents(BUNDLED, nested=False), tmp_path / "plain.parquet")
    table = pq.read_table(tmp_path / "plain.parquet")
    records = [rewrite(i, text) for i, text in enumerate(table.column("properties_json").to_pylist())]
    position = table.schema.get_field_index("properties_json")
    pq.write_table(table.set_column(position, "properties_json", pa.array(records, type=pa.string())),
                   tmp_path / name)
    return tmp_path / name


def test_parquet_records_read_in_bulk_or_one_by_one_give_the_same_dataset(tmp_path: Path) -> None:
    plain = load_incidents(_records_rewritten(tmp_path, "a.parquet", lambda i, text: text), nested=False)
    spaced = load_incidents(_records_rewritten(tmp_path, "b.parquet", lambda i, text: json.dumps(json.loads(text))),
                            nested=False)
    pd.testing.assert_frame_equal(plain.frame.drop(columns="file"), spaced.frame.drop(columns="file"))


def test_a_parquet_record_with_a_repeated_key_is_refused_by_the_strict_reader(tmp_path: Path) -> None:
    path = _records_rewritten(tmp_path, "dup.parquet",
                              lambda i, text: text[:-1] + ',"status":"verified"}' if i == 2 else text)
    with pytest.raises(IncidentDataError, match=r"dup.parquet: feature #3: properties_json: .*status"):
        load_incidents(path)


def test_every_geometry_kind_reads_the_same_from_parquet_as_from_geojson(tmp_path: Path) -> None:
    source = DATA / "good" / "full.geojson"
    write_geoparquet(load_incidents(source, nested=False), tmp_path / "full.parquet")
    from_parquet = load_incidents(tmp_path / "full.parquet", nested=False)  # checked from its records
    from_geojson = load_incidents(source, nested=False)
    assert set(from_geojson.frame.geometry.geom_type.dropna()) >= {"Point", "Polygon"}
    assert list(from_parquet.frame.geometry.to_wkt()) == list(from_geojson.frame.geometry.to_wkt())
    pd.testing.assert_frame_equal(from_parquet.frame.drop(columns=["file", "geometry"]),
                                  from_geojson.frame.drop(columns=["file", "geometry"]))
    # an id written on the Feature only is searched as one written in the properties
    assert list(IncidentFilter(query="full-polygon").apply(from_geojson)["id"]) == ["full-polygon"]


def test_parquet_records_that_are_json_only_when_joined_are_each_refused(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """'[0' and '0]' parse together, not apart: each record is read as a record."""
    from incidents import store

    texts: dict[int, str] = {}

    def broken(i: int, text: str) -> str:
        texts[i] = text
        if i == 0:
            return text[:-1] + ',"x_a":[0'
        if i == 1:
            return "0]}"
        if i == 2:
            return text + "," + texts[1]
        return text

    path = _records_rewritten(tmp_path, "joined.parquet", broken)
    with pytest.raises(IncidentDataError) as bulk:
        load_incidents(path, nested=False)
    monkeypatch.setattr(store, "plain_records", lambda texts: None)
    with pytest.raises(IncidentDataError) as one_by_one:
        load_incidents(path, nested=False)
    assert [str(p) for p in bulk.value.problems] == [str(p) for p in one_by_one.value.problems]
    assert {p.feature for p in bulk.value.problems} >= {1, 2, 3}


def test_a_parquet_record_that_is_not_utf8_is_reported_not_raised(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    write_geoparquet(load_incidents(BUNDLED, nested=False), tmp_path / "plain.parquet")
    table = pq.read_table(tmp_path / "plain.parquet")
    records = [text.encode() for text in table.column("properties_json").to_pylist()]
    records[1] = records[1].replace(b'"title":"', b'"title":"\xed\xa0\x80', 1)  # an encoded surrogate
    column = pa.array(records, type=pa.large_binary()).view(table.schema.field("properties_json").type)
    position = table.schema.get_field_index("properties_json")
    pq.write_table(table.set_column(position, "properties_json", column), tmp_path / "bad.parquet")
    with pytest.raises(IncidentDataError, match=r"bad.parquet: feature #2: properties_json: is not valid UTF-8"):
        load_incidents(tmp_path / "bad.parquet")


@pytest.fixture
def threaded_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the bundled dataset, an empty cache of its own, and every dataset large enough for its cache entry
    to be written by a thread."""
    path = tmp_path / "syria.geojson"
    shutil.copy(BUNDLED, path)
    monkeypatch.setenv(content_cache.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(content_cache, "BACKGROUND_ROWS", 1)
    return path


def test_a_large_dataset_is_cached_by_a_thread_after_the_load_returns(threaded_entry: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = threaded_entry
    started, release = threading.Event(), threading.Event()
    original = store_module.write_arrow_table

    def slow_disk(table: Any, where: str) -> None:
        started.set()
        release.wait(30)
        original(table, where)

    monkeypatch.setattr(store_module, "write_arrow_table", slow_disk)
    first = load_incidents(path, cache=True, nested=False)  # returns while the entry is being written
    entry = content_cache.entry_path(first.files[0].sha256)
    assert started.wait(30) and not entry.exists()
    assert [p.suffix for p in entry.parent.iterdir() if p.is_file()] == [".partial"]  # never half an entry
    release.set()
    content_cache.wait_for_writes()
    assert entry.is_file() and not [p for p in entry.parent.iterdir() if p.suffix == ".partial"]
    again = load_incidents(path, cache=True, nested=False)
    pd.testing.assert_frame_equal(first.frame.drop(columns="geometry"), again.frame.drop(columns="geometry"))
    pd.testing.assert_frame_equal(first.history, again.history)


def test_a_cache_entry_that_cannot_be_written_costs_only_speed(threaded_entry: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capfd: pytest.CaptureFixture[str]) -> None:
    path = threaded_entry

    def broken(table: Any, where: str) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store_module, "write_arrow_table", broken)
    dataset = load_incidents(path, cache=True, nested=False)
    content_cache.wait_for_writes()
    assert len(dataset) == 6 and not content_cache.entry_path(dataset.files[0].sha256).exists()
    assert not [p for p in content_cache.cache_dir().iterdir() if p.suffix == ".partial"]
    assert "Traceback" not in capfd.readouterr().err


@pytest.fixture
def libc(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Callable[[object], Any]], None]]:
    """Set what ``ctypes.CDLL(None)`` gives the package (it looks glibc's ``malloc_trim`` up once)."""
    def use(cdll: Callable[[object], Any]) -> None:
        monkeypatch.setattr(model_module.ctypes, "CDLL", cdll)
        model_module._malloc_trim.cache_clear()

    yield use
    model_module._malloc_trim.cache_clear()  # the real one again, once the patch is undone


def test_the_heap_a_large_load_freed_is_handed_back_before_its_entry_is_laid_out(
        threaded_entry: Path, monkeypatch: pytest.MonkeyPatch, libc: Callable[[Callable[[object], Any]], None]
        ) -> None:
    path = threaded_entry
    calls: list[str] = []

    class Libc:
        def malloc_trim(self, pad: int) -> int:
            calls.append(f"trim {pad}")
            return 1

    layout = store_module.arrow_table
    libc(lambda name: Libc())
    monkeypatch.setattr(store_module, "arrow_table", lambda dataset: calls.append("layout") or layout(dataset))
    load_incidents(path, cache=True, nested=False)
    content_cache.wait_for_writes()
    assert calls == ["trim 0", "layout"]

    def no_libc(name: object) -> Any:
        raise OSError("no such library")

    def windows(name: object) -> Any:
        return "/" in name  # type: ignore[operator]  # what ctypes.CDLL(None) does on Windows: TypeError

    for other in (no_libc, windows):  # elsewhere than glibc: nothing to hand back, and no traceback
        libc(other)
        path.write_text(path.read_text() + "\n")  # new content (a blank after the document): a first load
        again = load_incidents(path, cache=True, nested=False)
        content_cache.wait_for_writes()
        assert len(again) == 6 and content_cache.entry_path(again.files[0].sha256).is_file()
    assert calls == ["trim 0", "layout", "layout", "layout"]


def test_a_cache_entry_written_after_the_load_returns_holds_what_was_checked_not_later_edits(
        threaded_entry: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = threaded_entry
    release = threading.Event()
    write = store_module.write_arrow_table

    def later(table: Any, where: str) -> None:
        release.wait(30)
        write(table, where)

    monkeypatch.setattr(store_module, "write_arrow_table", later)
    first = load_incidents(path, cache=True, nested=False)
    checked = first.frame[["feature", "anchor_lat", "source_count"]].copy()
    first.frame.loc[0, "feature"] = 999  # the caller's own edits, made while the entry is being written
    first.frame.loc[0, "anchor_lat"] = 12.5
    first.frame.loc[1, "source_count"] = -1
    release.set()
    content_cache.wait_for_writes()
    again = load_incidents(path, cache=True, nested=False)
    pd.testing.assert_frame_equal(again.frame[["feature", "anchor_lat", "source_count"]], checked)


def test_no_thread_for_the_cache_entry_costs_only_speed(threaded_entry: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = threaded_entry

    def no_thread(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    dataset = load_incidents(path, cache=True, nested=False)  # the file hashed without its thread too
    content_cache.wait_for_writes()  # nothing to wait for, and no error
    assert len(dataset) == 6 and not content_cache.entry_path(dataset.files[0].sha256).exists()
    assert dataset.files[0].sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_frame_being_built_joins_its_text_into_large_chunks_and_holds_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "many-blocks.geojson"
    write_synthetic_geojson(path, 3000, seed=5)
    monkeypatch.setattr(bulk_module, "BLOCK_BYTES", 8192)  # blocks of a few features: hundreds of chunks
    monkeypatch.setattr(model_module, "CHUNK_ROWS", 10**9)  # never joined before the frame is built
    unjoined = load_incidents(path, nested=False)
    assert _chunk_rows(unjoined.frame["title"]) == [3000]  # joined once, when built
    monkeypatch.setattr(model_module, "CHUNK_ROWS", 700)
    joined = load_incidents(path, nested=False)
    for name in ("title", "properties_json", "search_text", "id", "related_ids"):
        chunks = _chunk_rows(joined.frame[name])
        assert sum(chunks) == 3000 and len(chunks) == 5 and all(rows >= 700 for rows in chunks[:-1]), chunks
    assert_same(("loaded", joined), ("loaded", unjoined))


def _chunk_rows(column: pd.Series) -> list[int]:
    return [len(chunk) for chunk in pa.chunked_array(pa.array(column.array)).chunks if len(chunk)]


def test_the_cache_writes_large_chunks_as_they_are_and_joins_small_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "CACHE_BATCH_ROWS", 25)
    text = pa.chunked_array([pa.array([f"t{i}" for i in range(start, start + size)], pa.large_string())
                             for start, size in ((0, 10), (10, 10), (20, 10), (30, 200), (230, 5))])
    table = pa.table({"text": text, "number": pa.array(range(235))})
    store_module.write_arrow_table(table, tmp_path / "entry.arrow")
    with pa.memory_map(str(tmp_path / "entry.arrow")) as source:
        reader = pa.ipc.open_file(source)
        assert [reader.get_batch(i).num_rows for i in range(reader.num_record_batches)] == [30, 200, 5]
        assert reader.read_all().equals(table)
