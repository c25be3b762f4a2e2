"""Counts of incidents by status, category and month."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd

from .vocab import CATEGORIES, STATUSES


def summarize(frame: gpd.GeoDataFrame) -> dict[str, Any]:
    """Counts by status, category and month of ``start`` (incidents without a location counted apart)."""
    statuses = frame["status"].value_counts()
    categories = frame["category"].value_counts()
    months = pd.Series(frame["start_time"].to_numpy().astype("datetime64[M]").astype(str)).value_counts()
    return {
        "total": len(frame),
        "unlocated": int(frame.geometry.isna().sum()),
        "by_status": {code: int(statuses.get(code, 0)) for code in STATUSES},
        "by_category": {code: int(categories[code]) for code in _category_order(categories.index)},
        "by_month": {month: int(months[month]) for month in sorted(months.index)},
    }


def format_summary(summary: dict[str, Any]) -> str:
    lines = [f"{summary['total']} incidents ({summary['unlocated']} without a location)", "", "by status"]
    lines += [f"  {code:<20} {count:>8}" for code, count in summary["by_status"].items()]
    lines += ["", "by category"]
    lines += [f"  {code:<20} {count:>8}" for code, count in summary["by_category"].items()]
    lines += ["", "by month"]
    lines += [f"  {month:<20} {count:>8}" for month, count in summary["by_month"].items()]
    return "\n".join(lines)


def _category_order(codes: Any) -> list[str]:
    present = set(codes)
    return [c for c in CATEGORIES if c in present] + sorted(present - CATEGORIES.keys())
