"""The table of filtered incidents: one row per incident, in the order of the filtered frame, with the columns
an analyst sorts by. Cells are plain values (a table widget never interprets them). No Streamlit here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd

from .vocab import STATUSES, category_for

#: The table shows at most this many rows (the first ones); the map and the export always cover every incident.
#: (Each row costs about 200 bytes sent to the browser on every change: 2,000 rows keep a view of 100,000
#: incidents under its 3 MB budget.)
ROW_LIMIT: Final = 2_000
COLUMNS: Final = ("Start", "Title", "Status", "Category", "Place", "Country", "Perpetrator", "Claims", "Claimed by",
                  "Sources", "Killed", "On map", "ID")


def table_frame(selected: gpd.GeoDataFrame, *, limit: int | None = ROW_LIMIT) -> pd.DataFrame:
    """The table for ``selected`` (a filtered incident frame): row ``i`` is ``selected.iloc[i]``, for the first
    ``limit`` incidents (all of them when ``limit`` is None).

    ``Start`` is a timestamp (sortable), ``Status`` the status as shown (as of the filter's date),
    ``Killed`` the figure or range as text, ``On map`` False for incidents without a location.
    """
    if limit is not None:
        selected = selected.iloc[:limit]
    geometry = selected.geometry
    located = (geometry.notna() & ~geometry.is_empty).to_numpy(dtype=bool) if len(selected) else np.zeros(0, bool)
    return pd.DataFrame(
        {
            "Start": pd.to_datetime(selected["start_time"].to_numpy()),
            "Title": selected["title"].to_numpy(dtype=object),
            "Status": _labels(selected["status"], lambda code: STATUSES[code].label if code in STATUSES else code),
            "Category": _labels(selected["category"], lambda code: category_for(code).label),
            "Place": selected["place"].to_numpy(dtype=object),
            "Country": selected["country"].to_numpy(dtype=object),
            "Perpetrator": selected["perpetrator"].to_numpy(dtype=object),
            "Claims": selected["claim_count"].to_numpy(dtype="int64"),
            "Claimed by": [", ".join(dict.fromkeys(text.split("\n"))) if text else "" for text in
                           selected["claimants"]],
            "Sources": selected["source_count"].to_numpy(dtype="int64"),
            "Killed": [_figure(low, high) for low, high in
                       zip(selected["killed_min"], selected["killed_max"], strict=True)],
            "On map": located,
            "ID": selected["id"].to_numpy(dtype=object),
        },
        columns=list(COLUMNS),
    )


def _labels(codes: pd.Series, label: Callable[[str], str]) -> np.ndarray:
    """The label of each code, each distinct code looked up once."""
    distinct = codes.unique()
    labels: np.ndarray = codes.map({code: label(str(code)) for code in distinct}).to_numpy(dtype=object)
    return labels


def _figure(low: float, high: float) -> str:
    if np.isnan(low) and np.isnan(high):
        return ""
    if np.isnan(high):
        return f"≥ {low:g}"
    if np.isnan(low):
        return f"≤ {high:g}"
    return f"{low:g}" if low == high else f"{low:g}–{high:g}"
