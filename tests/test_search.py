"""Text search (incidents.search) on one thread or several, and filters that search only the rows still kept, give
the rows a plain substring test gives."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from incidents import Dataset, IncidentFilter, load_incidents_bytes, search
from incidents.search import contains_all
from incidents.synth import synthetic_collection

TEXTS = ["khan sheikhoun sarin", None, "", "shayrat airbase", "sarin at khan", "ḫān šayḫūn", "KHAN", "khan"] * 40


def naive(texts: list[str | None], terms: list[str]) -> list[bool]:
    return [not terms or (text is not None and all(term in text for term in terms)) for text in texts]


MODES = {
    "re in each chunk": {},
    # dense from the first row found on: Arrow takes over from the next row
    "re, then Arrow on threads": {"_THREADED_BYTES": 0, "_DENSE_AFTER": 0, "_DENSE_EVERY": 10**9},
    "re, then Arrow here": {"_DENSE_AFTER": 0, "_DENSE_EVERY": 10**9},
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("terms", [["khan"], ["khan", "sarin"], ["ḫān"], ["no such"], [], ["KHAN"], [" "],
                                   ["nsar"], ["n"], [""], ["ūn"], ["a.r"], ["(", "["], ["aa"], ["aab"]])
def test_contains_all_is_a_plain_substring_test(monkeypatch: pytest.MonkeyPatch, mode: str, terms: list[str]) -> None:
    for name, value in MODES[mode].items():
        monkeypatch.setattr(search, name, value)
    monkeypatch.setattr(search.os, "cpu_count", lambda: 3)
    texts = [*TEXTS, "a.r (x) [y]", "bar", "xa", "aab", "aa"]  # "a" | "aab": "aa" over the end, then in "aab"
    chunked = pa.chunked_array([pa.array(texts[:7], pa.large_string()), pa.array(texts[7:], pa.large_string())])
    narrow = pa.chunked_array([pa.array(texts, pa.string()).slice(3), pa.array(texts[:3], pa.string())])
    for column in (pd.Series(pd.array(chunked, dtype="str")), pd.Series(texts, dtype="object")):
        assert contains_all(column, terms).tolist() == naive(texts, terms)
    assert contains_all(pd.Series(pd.array(narrow, dtype="str")), terms).tolist() == naive(
        [*texts[3:], *texts[:3]], terms)


def test_contains_all_of_nothing_is_empty() -> None:
    assert contains_all(pd.Series([], dtype="str"), ["a"]).tolist() == []


def test_an_occurrence_over_the_end_of_a_row_or_in_a_missing_rows_text_is_no_match() -> None:
    data = b"khan sarinshayrataab"  # "khan sarin" | (missing, over "shay") | "rata" | "ab"
    offsets = np.array([0, 10, 14, 18, 20], dtype=np.int64)
    validity = pa.array([True, False, True, True]).buffers()[1]
    chunk = pa.Array.from_buffers(pa.large_string(), 4, [validity, pa.py_buffer(offsets.tobytes()),
                                                         pa.py_buffer(data)], null_count=1)
    assert chunk.to_pylist() == ["khan sarin", None, "rata", "ab"]
    for term, rows in {"nsh": [False] * 4, "shay": [False] * 4, "rat": [False, False, True, False],
                       "sarin": [True, False, False, False], "inshayr": [False] * 4, "aa": [False] * 4,
                       "ab": [False, False, False, True], "a": [True, False, True, True]}.items():
        needle = search._Needle(term)
        found, rest = needle.rows_in(chunk)
        assert (found.tolist(), rest) == (rows, 4), term
        assert needle.arrow_rows_in(chunk).tolist() == rows, term


def test_once_a_term_is_found_in_many_rows_arrow_searches_the_rest_of_the_chunk() -> None:
    chunk = pa.array(["none"] * 10 + ["sarin sarin"] * 100 + ["none"] * 10, pa.large_string())
    found, rest = search._Needle("sarin").rows_in(chunk)
    assert rest == 10 + search._DENSE_AFTER + 1  # found in 65 rows of 75: the next row on is Arrow's
    assert found[:rest].tolist() == [False] * 10 + [True] * (rest - 10) and not found[rest:].any()
    sparse = pa.array((["sarin"] + ["none"] * 4) * 100, pa.large_string())
    found, rest = search._Needle("sarin").rows_in(sparse)
    assert rest == 500 and found.tolist() == [True, False, False, False, False] * 100
    column = pd.Series(pd.array(pa.chunked_array([chunk, sparse]), dtype="str"))
    assert contains_all(column, ["sarin"]).tolist() == ["sarin" in text for text in column]


@pytest.fixture(scope="module")
def synthetic() -> Dataset:
    data = json.dumps(synthetic_collection(300, seed=3)).encode()
    return load_incidents_bytes(data, name="synthetic.geojson", nested=False)


@pytest.mark.parametrize("flt", [
    IncidentFilter(query="hospital"),
    IncidentFilter(query='hospital "medical care"', statuses={"verified"}),
    IncidentFilter(query="school", date_from="2015-01-01", date_to="2016-12-31"),
    IncidentFilter(perpetrator="MILITIA", query="synthetic"),
    IncidentFilter(claimant="ministry", statuses={"claimed", "disputed"}),
    IncidentFilter(query="hospital", date_from="2099-01-01"),
], ids=lambda flt: flt.describe())
def test_text_filters_search_only_kept_rows_and_keep_what_a_row_by_row_test_keeps(
        synthetic: Dataset, monkeypatch: pytest.MonkeyPatch, flt: IncidentFilter) -> None:
    frame = synthetic.frame
    expected = np.ones(len(frame), dtype=bool)
    if flt.statuses:
        expected &= frame["status"].isin(flt.statuses).to_numpy()
    if flt.date_from:
        expected &= frame["end_time"].to_numpy() > np.datetime64(flt.date_from)
    if flt.date_to:
        expected &= frame["start_time"].to_numpy() < np.datetime64("2017-01-01")
    for column, text in (("perpetrator", flt.perpetrator), ("claimants", flt.claimant)):
        if text:
            expected &= np.array([text.casefold() in (value or "").casefold() for value in frame[column]])
    if flt.query:
        terms = ["hospital", "medical care"] if '"' in flt.query else [flt.query]
        expected &= np.array([all(t in text for t in terms) for text in frame["search_text"]])
    assert expected.any() or flt.date_from == "2099-01-01"
    searched: list[int] = []
    original = search.contains_all

    def counting(column: pd.Series, terms: list[str]) -> np.ndarray:
        searched.append(len(column))
        return original(column, terms)

    monkeypatch.setattr("incidents.filters.contains_all", counting)
    keep, _ = flt.mask(synthetic)
    assert keep.tolist() == expected.tolist()
    if flt.statuses or flt.date_from:  # the text was searched in the rows the other filters kept, not in all
        assert all(count < len(frame) for count in searched)
    many = dataclasses.replace(synthetic, frame=frame.iloc[::-1].reset_index(drop=True))
    assert flt.mask(many)[0].tolist() == expected[::-1].tolist()
