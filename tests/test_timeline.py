"""The timeline histogram: bins chosen by span, counts per bin and status, a Vega-Lite spec with no network."""

from __future__ import annotations

import json
import re
from datetime import date

import numpy as np

from incidents import Dataset, IncidentFilter
from incidents.controls import Extent, data_extent
from incidents.timeline import bin_ends, bin_starts, bin_unit, histogram, histogram_spec


def extent(first: date, last: date) -> Extent:
    return Extent(first=first, last=last, known_until=last)


def test_the_bin_follows_the_span() -> None:
    assert bin_unit(extent(date(2017, 4, 1), date(2017, 7, 29))) == "day"  # 120 days
    assert bin_unit(extent(date(2017, 4, 1), date(2017, 7, 30))) == "week"
    assert bin_unit(extent(date(2013, 8, 21), date(2017, 4, 12))) == "week"
    assert bin_unit(extent(date(2011, 1, 1), date(2017, 4, 12))) == "month"


def test_bins_start_on_the_day_the_monday_or_the_first_of_the_month() -> None:
    days = np.array(["2017-04-04", "2017-04-09", "2017-04-10", "2016-02-29"], dtype="datetime64[D]")
    assert bin_starts(days, "day").tolist() == days.tolist()
    assert [str(d) for d in bin_starts(days, "week")] == ["2017-04-03", "2017-04-03", "2017-04-10", "2016-02-29"]
    months = bin_starts(days, "month")
    assert [str(d) for d in months] == ["2017-04-01", "2017-04-01", "2017-04-01", "2016-02-01"]
    assert [str(d) for d in bin_ends(months, "month")] == ["2017-05-01", "2017-05-01", "2017-05-01", "2016-03-01"]


def test_counts_per_week_and_status_show_gaps_and_bursts(syria: Dataset) -> None:
    counts = histogram(syria.frame, unit="week")
    rows = counts[["start", "end", "status", "count"]].to_dict(orient="records")
    assert rows == [
        {"start": "2013-08-19", "end": "2013-08-26", "status": "Verified", "count": 1},
        {"start": "2017-04-03", "end": "2017-04-10", "status": "Verified", "count": 2},
        {"start": "2017-04-03", "end": "2017-04-10", "status": "Claimed", "count": 1},
        {"start": "2017-04-10", "end": "2017-04-17", "status": "Verified", "count": 1},
        {"start": "2017-04-10", "end": "2017-04-17", "status": "Disputed", "count": 1},
    ]
    assert counts["period"].iloc[1] == "week of 3 April 2017"


def test_the_status_is_the_one_shown_as_of_the_filter_date(syria: Dataset) -> None:
    as_known = IncidentFilter(as_of="2017-04-05").apply(syria)
    counts = histogram(as_known, unit="day")  # Ghouta (2013), and the two Khan Sheikhoun reports of 4 April
    assert dict(zip(counts["status"], counts["count"], strict=True)) == {"Verified": 1, "Claimed": 2}
    assert histogram(as_known.iloc[0:0], unit="day").empty


def test_the_spec_spans_the_extent_shades_the_window_and_fetches_nothing(syria: Dataset) -> None:
    span = data_extent(syria)
    assert span is not None
    spec = histogram_spec(histogram(syria.frame, unit="week"), extent=span,
                          window=(date(2017, 4, 4), date(2017, 4, 13)), unit="week")
    assert spec["datasets"]["extent"] == [{"from": "2013-08-21", "to": "2017-04-13"}]
    assert spec["datasets"]["window"] == [{"from": "2017-04-04", "to": "2017-04-14"}]
    bars = spec["layer"][-1]
    assert bars["encoding"]["color"]["scale"]["range"] == ["#009E73", "#E69F00", "#CC79A7", "#6E6E6E"]
    assert sum(row["count"] for row in spec["datasets"]["bars"]) == 6
    text = json.dumps(spec)
    assert not re.search(r"https?:|//", text) and '"url"' not in text  # no data or schema loaded from anywhere
