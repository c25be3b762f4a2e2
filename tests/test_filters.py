"""The filter object: selection semantics, as-of, words, and its travel through URLs and dicts."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from incidents import Dataset, FilterError, IncidentFilter, load_incidents_bytes
from incidents.filters import status_as_of
from incidents.synth import synthetic_collection

KHAN = "2017-04-04-khan-sheikhoun-chemical-attack"
HOSPITAL = "2017-04-04-khan-sheikhoun-hospital-strike"
SHAYRAT = "2017-04-07-shayrat-airbase-missile-strike"
TABQA = "2017-04-11-tabqa-coalition-strike-on-sdf"
DEIR = "2017-04-12-deir-ez-zor-claimed-coalition-strike"
GHOUTA = "2013-08-21-ghouta-sarin-attacks"


def ids(flt: IncidentFilter, dataset: Dataset) -> list[str]:
    return list(flt.apply(dataset)["id"])


def test_empty_filter_keeps_everything(syria: Dataset) -> None:
    assert ids(IncidentFilter(), syria) == list(syria.frame["id"])
    assert IncidentFilter().describe() == "all incidents"
    assert IncidentFilter().is_empty


def test_status_and_category(syria: Dataset) -> None:
    flt = IncidentFilter(statuses={"verified"}, categories={"chemical_attack"})
    assert ids(flt, syria) == [KHAN, GHOUTA]
    assert ids(IncidentFilter(statuses={"claimed", "disputed"}), syria) == [HOSPITAL, DEIR]


def test_date_window_selects_by_overlap(full: Dataset) -> None:
    # full-polygon runs 2013 … April 2018 and so overlaps a window in 2015; the month-precision incident
    # (April 2017) overlaps a window of one day at the end of April.
    assert ids(IncidentFilter(date_from="2015-06-01", date_to="2015-06-02"), full) == ["full-polygon"]
    assert ids(IncidentFilter(date_from="2017-04-30", date_to="2017-04-30"), full) == ["full-polygon",
                                                                                       "full-unlocated"]
    # a window ending on 4 April includes the incident of 06:30 that day; one starting on 5 April does not
    assert "full-point" in ids(IncidentFilter(date_to="2017-04-04"), full)
    assert "full-point" not in ids(IncidentFilter(date_from="2017-04-05"), full)


def test_a_window_of_one_month_in_reduced_precision(syria: Dataset) -> None:
    assert ids(IncidentFilter(date_from="2017-04", date_to="2017-04"), syria) == [KHAN, HOSPITAL, SHAYRAT, TABQA,
                                                                                   DEIR]


def test_as_of_the_article_shows_what_was_known_then(syria: Dataset) -> None:
    flt = IncidentFilter(as_of="2017-04-13")
    shown = flt.apply(syria).set_index("id")["status"]
    assert shown[KHAN] == "disputed"          # verified only on 30 June 2017 (OPCW FFM)
    assert shown[DEIR] == "disputed"
    assert syria.frame.set_index("id").loc[KHAN, "status"] == "verified"
    assert KHAN not in ids(IncidentFilter(as_of="2017-04-13", statuses={"verified"}), syria)
    assert KHAN in ids(IncidentFilter(as_of="2017-07-01", statuses={"verified"}), syria)


def test_as_of_excludes_incidents_first_reported_later(syria: Dataset) -> None:
    assert ids(IncidentFilter(as_of="2017-04-05"), syria) == [KHAN, HOSPITAL, GHOUTA]
    assert ids(IncidentFilter(as_of="2013-08-20"), syria) == []


def test_as_of_uses_the_first_history_entry_before_any_was_made(full: Dataset) -> None:
    # full-point was first reported on 2017-04-04 and first judged "claimed" that day
    assert IncidentFilter(as_of="2017-04-04").apply(full).set_index("id").loc["full-point", "status"] == "claimed"
    assert IncidentFilter(as_of="2017-04-12").apply(full).set_index("id").loc["full-point", "status"] == "disputed"


def test_text_filters_are_case_insensitive(syria: Dataset) -> None:
    assert ids(IncidentFilter(perpetrator="united states"), syria) == [SHAYRAT]
    assert KHAN in ids(IncidentFilter(claimant="assad"), syria)
    assert ids(IncidentFilter(query="tomahawk"), syria) == [SHAYRAT]
    assert ids(IncidentFilter(query='"raqqa hawks"'), syria) == [TABQA]
    assert ids(IncidentFilter(query="sarin nonexistentword"), syria) == []


def test_bbox(syria: Dataset) -> None:
    # north-west Syria only: Khan Sheikhoun and its hospital
    assert ids(IncidentFilter(bbox=(36.0, 35.2, 37.0, 36.0)), syria) == [KHAN, HOSPITAL]


def test_describe_in_words() -> None:
    assert IncidentFilter(statuses={"verified"}, categories={"chemical_attack"}, date_from="2017-04-04",
                          date_to="2017-04-13").describe() == "verified chemical attacks, 4–13 April 2017"
    assert IncidentFilter(statuses={"disputed", "claimed"}, as_of="2017-04-13", claimant="Russia").describe() == (
        "claimed or disputed incidents, as known on 13 April 2017, with a claim by “Russia”")
    assert IncidentFilter(categories={"airstrike", "shelling"}, date_from="2017-04").describe() == (
        "airstrikes and shelling incidents, from 1 April 2017")
    assert IncidentFilter(query="sarin", date_to="2017").describe() == (
        "all incidents, until 31 December 2017, mentioning “sarin”")


def test_bad_values_raise_with_the_value_and_what_was_expected() -> None:
    with pytest.raises(FilterError, match=r"status 'confirmed' is not one of verified, claimed, disputed"):
        IncidentFilter(statuses={"confirmed"})
    with pytest.raises(FilterError, match=r"from date: 'last week' is not an ISO 8601 date"):
        IncidentFilter(date_from="last week")
    with pytest.raises(FilterError, match=r"the window ends \(2017-04-01\) before it starts \(2017-04-10\)"):
        IncidentFilter(date_from="2017-04-10", date_to="2017-04-01")
    with pytest.raises(FilterError, match=r"west ≤ east"):
        IncidentFilter(bbox=(40, 30, 36, 37))


def test_round_trips_through_dict_and_query() -> None:
    flt = IncidentFilter(statuses={"verified", "claimed"}, categories={"airstrike"}, date_from="2017-04-01",
                         date_to="2017-04-13", as_of="2017-04-13", bbox=(35.5, 32.3, 42.4, 37.3),
                         perpetrator="coalition", claimant="Russia", query="depot")
    assert IncidentFilter.from_dict(flt.to_dict()) == flt
    assert IncidentFilter.from_query(flt.to_query()) == (flt, [])
    assert flt.to_query()["status"] == ["verified", "claimed"]


def test_query_accepts_repeated_and_comma_separated_values_and_warns_on_bad_ones() -> None:
    flt, warnings = IncidentFilter.from_query(
        {"status": ["verified,claimed", "bogus"], "category": "airstrike,shelling", "from": "yesterday",
         "to": "2017-04-13", "bbox": "1,2,3", "zoom": "5"})
    assert flt == IncidentFilter(statuses={"verified", "claimed"}, categories={"airstrike", "shelling"},
                                 date_to="2017-04-13")
    assert warnings == [
        "zoom: not a filter parameter (known: status, category, from, to, as_of, bbox, perpetrator, claimant, q); "
        "ignored",
        "status: 'bogus' is not one of verified, claimed, disputed, debunked; ignored",
        "from: 'yesterday' is not an ISO 8601 date such as 2017, 2017-04, 2017-W14, 2017-04-04 or "
        "2017-04-04T06:30+03:00; ignored",
        "bbox: '1,2,3' is not W,S,E,N (four numbers separated by commas), e.g. 35.5,32.3,42.4,37.3; ignored",
    ]


def test_a_reversed_window_in_a_link_is_dropped_with_a_warning() -> None:
    flt, warnings = IncidentFilter.from_query({"from": "2017-05-01", "to": "2017-04-01", "status": "verified"})
    assert flt == IncidentFilter(statuses={"verified"})
    assert warnings == ["the window ends (2017-04-01) before it starts (2017-05-01); the date window was ignored"]


def test_slug_names_the_filter_for_file_names() -> None:
    flt = IncidentFilter(statuses={"verified"}, categories={"chemical_attack"}, date_from="2017-04-04",
                         date_to="2017-04-13", query="Sarin <script>")
    assert flt.slug() == "incidents-verified-chemical_attack-2017-04-04_to_2017-04-13-sarin-script"
    assert IncidentFilter().slug() == "incidents"


def test_apply_to_some_columns_gives_the_same_rows_and_statuses(syria: Dataset) -> None:
    for flt in (IncidentFilter(), IncidentFilter(as_of="2017-04-13"), IncidentFilter(statuses={"verified"})):
        whole = flt.apply(syria)
        part = flt.apply(syria, columns=["status", "id"])
        assert list(part.columns) == ["status", "id"]
        assert list(part["id"]) == list(whole["id"]) and list(part["status"]) == list(whole["status"])
    everything = IncidentFilter().apply(syria)
    everything["title"] = "changed"  # the result is the caller's: the dataset's own frame stays as it was
    assert "changed" not in set(syria.frame["title"])


def _naive_status_as_of(dataset: Dataset, known_by: np.datetime64) -> list[str]:
    statuses = list(dataset.frame["status"])
    entries: dict[int, list[tuple[np.datetime64, str]]] = {}
    for row, when, status in zip(dataset.history["row"], dataset.history["date"], dataset.history["status"],
                                 strict=True):
        entries.setdefault(int(row), []).append((np.datetime64(when), status))
    for row, listed in entries.items():
        known = [status for when, status in listed if when < known_by]
        statuses[row] = known[-1] if known else listed[0][1]
    return statuses


@pytest.mark.parametrize("day", ["2013-01-01", "2015-06-30", "2017-04-07", "2030-01-01"])
def test_status_as_of_is_the_last_entry_known_by_then_for_every_incident(day: str) -> None:
    synthetic = load_incidents_bytes(json.dumps(synthetic_collection(400, seed=9)).encode(), name="s.geojson",
                                     nested=False)
    known_by = np.datetime64(day, "s")
    shuffled = dataclasses.replace(synthetic, history=synthetic.history.sample(frac=1, random_state=3))
    for dataset in (synthetic, shuffled):
        # a shuffled table: entries of one incident keep their order among themselves only in the original
        expected = _naive_status_as_of(dataset, known_by)
        got = status_as_of(dataset, known_by)
        assert got.tolist() == expected
        assert got.dtype == dataset.frame["status"].dtype and got.index.equals(dataset.frame.index)
    assert len(set(expected)) > 1
