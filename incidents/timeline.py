"""The timeline: incidents per day, week or month, by status, as a Vega-Lite chart (drawn by the Vega library
bundled with Streamlit, so it needs no network). No Streamlit in this module."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from .controls import Extent
from .dates import format_day
from .vocab import STATUSES

Unit = Literal["day", "week", "month"]

#: Spans up to this many days are binned by day, up to WEEK_LIMIT by week, longer ones by month.
DAY_LIMIT: Final = 120
WEEK_LIMIT: Final = 4 * 366
COLUMNS: Final = ("start", "end", "status", "rank", "count", "period")


def bin_unit(extent: Extent) -> Unit:
    """Days for short spans, weeks up to four years, months beyond: a few dozen to a few hundred bars."""
    span = (extent.last - extent.first).days + 1
    if span <= DAY_LIMIT:
        return "day"
    return "week" if span <= WEEK_LIMIT else "month"


def bin_starts(days: np.ndarray, unit: Unit) -> np.ndarray:
    """The first day of the bin of each day (``datetime64[D]``); weeks start on Monday."""
    days = days.astype("datetime64[D]")
    if unit == "day":
        return days
    if unit == "week":
        weekday = (days.astype("int64") + 3) % 7  # 1970-01-01 was a Thursday
        mondays: np.ndarray = days - weekday.astype("timedelta64[D]")
        return mondays
    months: np.ndarray = days.astype("datetime64[M]").astype("datetime64[D]")
    return months


def bin_ends(starts: np.ndarray, unit: Unit) -> np.ndarray:
    """The day after each bin (exclusive end)."""
    if unit == "day":
        return starts + np.timedelta64(1, "D")
    if unit == "week":
        return starts + np.timedelta64(7, "D")
    return (starts.astype("datetime64[M]") + np.timedelta64(1, "M")).astype("datetime64[D]")


#: The columns :func:`histogram` reads (``IncidentFilter.apply(dataset, columns=HISTOGRAM_COLUMNS)``).
HISTOGRAM_COLUMNS: Final = ("start_time", "status")


def histogram(frame: pd.DataFrame, *, unit: Unit) -> pd.DataFrame:
    """Incidents per bin of their start day and status (as shown: as of the filter's date), one row per
    non-empty bin and status: ``start``/``end`` (ISO days, end exclusive), ``status`` (label), ``rank`` (its
    place in the stack), ``count`` and ``period`` (the bin in words)."""
    if frame.empty:
        return pd.DataFrame({name: pd.Series(dtype="object") for name in COLUMNS})
    starts = bin_starts(frame["start_time"].to_numpy(), unit)
    grouped = (
        pd.DataFrame({"start": starts, "status": frame["status"].to_numpy()})
        .groupby(["start", "status"], sort=True)
        .size()
        .reset_index(name="count")
    )
    order = {code: i for i, code in enumerate(STATUSES)}
    grouped = grouped.assign(rank=grouped["status"].map(order)).sort_values(["start", "rank"], kind="stable")
    bin_start = grouped["start"].to_numpy().astype("datetime64[D]")
    return pd.DataFrame({
        "start": np.datetime_as_string(bin_start, unit="D"),
        "end": np.datetime_as_string(bin_ends(bin_start, unit), unit="D"),
        "status": [STATUSES[code].label for code in grouped["status"]],
        "rank": grouped["rank"].to_numpy(dtype="int64"),
        "count": grouped["count"].to_numpy(dtype="int64"),
        "period": [period_words(day, unit) for day in bin_start.astype(object)],
    })


def period_words(first: date, unit: Unit) -> str:
    """``4 April 2017``, ``week of 3 April 2017``, ``April 2017``."""
    moment = pd.Timestamp(first).to_pydatetime()
    if unit == "day":
        return format_day(moment)
    if unit == "week":
        return f"week of {format_day(moment)}"
    return f"{moment:%B %Y}"


def histogram_spec(counts: pd.DataFrame, *, extent: Extent, window: tuple[date, date], unit: Unit,
                   height: int = 140) -> dict[str, Any]:
    """A Vega-Lite spec: stacked bars of ``counts`` (from :func:`histogram`) coloured by status over the whole
    extent, with the date window shaded. Only dates, numbers and our own labels go into it."""
    utc = {"type": "utc"}
    band = {"x": {"field": "from", "type": "temporal", "scale": utc}, "x2": {"field": "to"}}
    return {
        "height": height,
        "padding": {"left": 4, "right": 4, "top": 4, "bottom": 0},
        "datasets": {
            "extent": [_span(extent.first, extent.last)],
            "window": [_span(*window)],
            "bars": counts.to_dict(orient="records"),
        },
        "layer": [
            # The whole extent (which also fixes the axis to the slider's range) and the window on it.
            {"data": {"name": "extent"}, "mark": {"type": "rect", "color": "#f0f2f6"}, "encoding": band},
            {"data": {"name": "window"}, "mark": {"type": "rect", "color": "#4c78a8", "opacity": 0.15},
             "encoding": band},
            {
                "data": {"name": "bars"},
                "mark": {"type": "bar", "stroke": "#ffffff", "strokeWidth": 0.3},
                "encoding": {
                    "x": {"field": "start", "type": "temporal", "scale": utc,
                          "axis": {"title": None, "labelOverlap": True}},
                    "x2": {"field": "end"},
                    "y": {"field": "count", "type": "quantitative", "stack": "zero",
                          "axis": {"title": f"per {unit}", "tickMinStep": 1, "format": "d"}},
                    "color": {
                        "field": "status", "type": "nominal",
                        "scale": {"domain": [s.label for s in STATUSES.values()],
                                  "range": [s.colour for s in STATUSES.values()]},
                        "legend": {"orient": "top", "title": None},
                    },
                    "order": {"field": "rank", "type": "quantitative"},
                    "tooltip": [
                        {"field": "period", "type": "nominal", "title": unit.capitalize()},
                        {"field": "status", "type": "nominal", "title": "Status"},
                        {"field": "count", "type": "quantitative", "title": "Incidents"},
                    ],
                },
            },
        ],
    }


def _span(first: date, last: date) -> dict[str, str]:
    """Days ``first``…``last`` (inclusive) as a Vega-Lite band from midnight to midnight."""
    return {"from": first.isoformat(), "to": (last + timedelta(days=1)).isoformat()}
