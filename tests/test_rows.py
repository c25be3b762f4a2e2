"""Taking rows chunk by chunk (incidents.rows) gives exactly what ``iloc`` gives, and so do filters and exports over a
frame whose text is held in many Arrow chunks, as a large load or the cache holds it."""

from __future__ import annotations

import dataclasses
import itertools
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import incidents.rows
from incidents import Dataset, IncidentFilter, load_incidents_bytes, to_csv, to_geojson
from incidents.rows import take_rows, take_series
from incidents.synth import synthetic_collection

SIZES = (1, 2, 5, 17, 40, 3, 1, 131)  # chunk lengths: 200 rows, chunks of one row among them


@pytest.fixture(scope="module")
def synthetic() -> Dataset:
    data = json.dumps(synthetic_collection(sum(SIZES), seed=5)).encode()
    return load_incidents_bytes(data, name="synthetic.geojson", nested=False)


def rechunked(series: pd.Series, sizes: tuple[int, ...] = SIZES) -> pd.Series:
    whole = pa.chunked_array(pa.array(series.array)).combine_chunks()
    bounds = np.cumsum((0, *sizes))
    chunks = [whole.slice(start, stop - start) for start, stop in itertools.pairwise(bounds)]
    return pd.Series(pd.array(pa.chunked_array(chunks, type=whole.type), dtype=series.dtype), index=series.index,
                     name=series.name)


@pytest.fixture(scope="module")
def chunked(synthetic: Dataset) -> Dataset:
    frame = synthetic.frame.copy()
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.StringDtype):
            frame[name] = rechunked(frame[name])
    assert pa.chunked_array(pa.array(frame["properties_json"].array)).num_chunks == len(SIZES)
    return dataclasses.replace(synthetic, frame=frame)


POSITIONS = {
    "none": [],
    "first": [0],
    "last": [199],
    "every row": list(range(200)),
    "chunk edges": [0, 1, 2, 3, 7, 8, 24, 25, 64, 65, 67, 68, 69, 199],
    "every third": list(range(0, 200, 3)),
    "one-row chunks only": [0, 67],
}


@pytest.mark.parametrize("name", POSITIONS)
def test_take_rows_is_iloc(chunked: Dataset, name: str) -> None:
    positions = np.array(POSITIONS[name], dtype=np.int64)
    taken = take_rows(chunked.frame, positions)
    assert isinstance(taken, gpd.GeoDataFrame)
    pd.testing.assert_frame_equal(taken, chunked.frame.iloc[positions])
    assert taken.geometry.name == "geometry"
    for column in ("properties_json", "title", "search_text"):
        pd.testing.assert_series_equal(take_series(chunked.frame[column], positions),
                                       chunked.frame[column].iloc[positions])


@pytest.mark.parametrize("name", POSITIONS)
def test_a_large_take_on_worker_threads_is_iloc_whatever_each_columns_chunks(
        chunked: Dataset, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(incidents.rows, "THREADED_ROWS", 1)  # every take with a row in it goes to the threads
    monkeypatch.setattr(incidents.rows.os, "cpu_count", lambda: 4)
    frame = chunked.frame.copy()
    frame["place"] = rechunked(frame["place"], (100, 100))  # chunks of their own: cut apart from the others'
    frame["admin1"] = rechunked(frame["admin1"], (200,))  # one chunk: taken the ordinary way
    positions = np.array(POSITIONS[name], dtype=np.int64)
    taken = take_rows(frame, positions)
    pd.testing.assert_frame_equal(taken, frame.iloc[positions])
    assert isinstance(taken, gpd.GeoDataFrame) and taken.geometry.name == "geometry"
    pd.testing.assert_frame_equal(take_rows(frame[["title", "place"]], positions),
                                  frame[["title", "place"]].iloc[positions])
    with pytest.raises(IndexError, match="position 200 is out of range for 200 rows"):
        take_rows(frame, np.array([3, 200]))


def test_take_keeps_missing_text_and_a_shuffled_index(chunked: Dataset) -> None:
    series = chunked.frame["place"].copy()
    series.iloc[[3, 40, 41]] = None
    series.index = series.index[::-1]
    series = rechunked(series)
    positions = np.array([2, 3, 39, 40, 41, 150])
    taken = take_series(series, positions)
    pd.testing.assert_series_equal(taken, series.iloc[positions])
    assert taken.isna().tolist() == [False, True, False, True, True, False]


def test_positions_out_of_order_or_negative_fall_back_to_iloc_and_out_of_range_raises(chunked: Dataset) -> None:
    frame = chunked.frame
    for positions in ([5, 3, 120], [1, 1, 2], [-1, 4]):
        array = np.array(positions)
        pd.testing.assert_frame_equal(take_rows(frame, array), frame.iloc[array])
    with pytest.raises(IndexError, match="position 200 is out of range for 200 rows"):
        take_series(frame["title"], np.array([3, 200]))


FILTERS = {
    "status": IncidentFilter(statuses={"verified"}),
    "as of": IncidentFilter(as_of="2016-01-01", statuses={"claimed", "disputed"}),
    "text": IncidentFilter(query="hospital"),
    "nothing": IncidentFilter(query="no such words anywhere"),
    "everything": IncidentFilter(),
}


@pytest.mark.parametrize("name", FILTERS)
def test_filters_and_exports_over_many_chunks_equal_those_over_one(synthetic: Dataset, chunked: Dataset,
                                                                   name: str) -> None:
    flt = FILTERS[name]
    pd.testing.assert_frame_equal(flt.apply(chunked), flt.apply(synthetic))
    pd.testing.assert_frame_equal(flt.apply(chunked, columns=("id", "status")),
                                  flt.apply(synthetic, columns=("id", "status")))
    pieces = list(flt.select(chunked).pieces(columns=("id", "status", "geometry"), rows=7))
    assert all(len(piece) <= 7 for piece in pieces)
    joined = pd.concat(pieces) if pieces else flt.apply(chunked, columns=("id", "status", "geometry")).iloc[:0]
    pd.testing.assert_frame_equal(joined, flt.apply(synthetic, columns=("id", "status", "geometry")))
    assert to_csv(chunked, flt) == to_csv(synthetic, flt)
    created = pd.Timestamp("2026-11-29T10:00:00Z").to_pydatetime()
    assert to_geojson(chunked, flt, created=created) == to_geojson(synthetic, flt, created=created)
