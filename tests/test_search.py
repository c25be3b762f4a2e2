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


@pytest.mark.parametrize("threaded", [False, True])
@pytest.mark.parametrize("terms", [["khan"], ["khan", "sarin"], ["ḫān"], ["no such"], [], ["KHAN"], [" "]])
def test_contains_all_is_a_plain_substring_test(monkeypatch: pytest.MonkeyPatch, threaded: bool,
                                                terms: list[str]) -> None:
    if threaded:
        monkeypatch.setattr(search, "_THREADED_BYTES", 0)
        monkeypatch.setattr(search.os, "cpu_count", lambda: 3)
    chunked = pa.chunked_array([pa.array(TEXTS[:7], pa.large_string()), pa.array(TEXTS[7:], pa.large_string())])
    for column in (pd.Series(pd.array(chunked, dtype="str")), pd.Series(TEXTS, dtype="object")):
        assert contains_all(column, terms).tolist() == naive(TEXTS, terms)


def test_contains_all_of_nothing_is_empty() -> None:
    assert contains_all(pd.Series([], dtype="str"), ["a"]).tolist() == []


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
