"""The dashboard's filter controls as plain values: what each widget shows for a filter, and the filter the widgets
make. The URL query (``IncidentFilter.to_query``/``from_query``) and the widgets meet here, so that a shared
link, the sidebar and the export all mean the same thing. No Streamlit in this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

import numpy as np
import pandas as pd

from .dates import format_day, parse_date
from .filters import IncidentFilter
from .model import Dataset
from .vocab import CATEGORIES, STATUSES, category_for

ONE_DAY: Final = timedelta(days=1)
_COUNT: Final = re.compile(r" \(\d+\)\Z")  # the count after a label: "Claimed (1)"


@dataclass(frozen=True, kw_only=True, slots=True)
class Extent:
    """The days the data covers: ``first``…``last`` (inclusive) are the first and last day any incident touches;
    ``known_until`` is the last day anything about them was reported (status histories, first reports), which
    bounds the "as known on" date."""

    first: date
    last: date
    known_until: date

    @property
    def window(self) -> tuple[date, date]:
        return self.first, self.last

    def describe(self) -> str:
        return f"{format_day(_midnight(self.first))} – {format_day(_midnight(self.last))}"


def data_extent(dataset: Dataset) -> Extent | None:
    """The extent of ``dataset``, or None when it holds no incident."""
    frame = dataset.frame
    if frame.empty:
        return None
    first = _day(frame["start_time"].min())
    last = _day(frame["end_time"].max() - np.timedelta64(1, "s"))
    known = [last, _day(frame["first_reported"].max())]
    if not dataset.history.empty:
        known.append(_day(dataset.history["date"].max()))
    return Extent(first=first, last=last, known_until=max(known))


@dataclass(frozen=True, kw_only=True, slots=True)
class Controls:
    """What the filter widgets hold. ``statuses`` lists the statuses shown (all of them, or none chosen, means
    no status filter); ``categories`` empty means every category; ``window`` is a pair of days inside the data's
    extent (the whole extent means no date filter); empty texts mean no text filter."""

    statuses: tuple[str, ...] = tuple(STATUSES)
    categories: tuple[str, ...] = ()
    window: tuple[date, date] | None = None
    as_of: date | None = None
    perpetrator: str = ""
    claimant: str = ""
    query: str = ""


def controls_for(flt: IncidentFilter, extent: Extent | None) -> tuple[Controls, list[str]]:
    """The widget values that show ``flt`` over data of ``extent``, and warnings for what cannot be shown.

    A date window reaching beyond the data is clipped to it (the same incidents match); a window that misses the
    data altogether cannot be shown on the slider and is dropped with a warning.
    """
    warnings: list[str] = []
    window = None if extent is None else extent.window
    if extent is not None and (flt.date_from or flt.date_to):
        first = parse_date(flt.date_from).start.date() if flt.date_from else extent.first
        last = _last_day(flt.date_to) if flt.date_to else extent.last
        if first > extent.last or last < extent.first:
            warnings.append(
                f"the date window {flt.date_from or '…'} to {flt.date_to or '…'} lies outside the data "
                f"({extent.describe()}); showing the whole period instead"
            )
        else:
            window = (max(first, extent.first), min(last, extent.last))
    controls = Controls(
        statuses=tuple(code for code in STATUSES if not flt.statuses or code in flt.statuses),
        categories=tuple(category_order(flt.categories)),
        window=window,
        as_of=_last_day(flt.as_of) if flt.as_of else None,
        perpetrator=flt.perpetrator or "",
        claimant=flt.claimant or "",
        query=flt.query or "",
    )
    return controls, warnings


def filter_for(controls: Controls, extent: Extent | None, *, link: IncidentFilter | None = None) -> IncidentFilter:
    """The filter the widgets make.

    ``link`` is the filter of the page's link: where the widgets still show its window or "as known on" date, its
    dates are kept as written (``to=2017-04-13`` beyond the data's last day, ``from=2017-04``), so that the view,
    its description and its export stay those of the link; its ``bbox`` (no widget of its own) is carried over.
    """
    link = link or IncidentFilter()
    shown, warnings = controls_for(link, extent)
    window_from_link = not warnings  # (its only warnings are about a window that misses the data)
    chosen = frozenset(controls.statuses)
    date_from = date_to = None
    if extent is not None and controls.window is not None:
        first, last = controls.window
        if window_from_link and controls.window == shown.window:
            date_from, date_to = link.date_from, link.date_to
        else:
            date_from = first.isoformat() if first > extent.first else None
            date_to = last.isoformat() if last < extent.last else None
    as_of = link.as_of if controls.as_of is not None and controls.as_of == shown.as_of else None
    return IncidentFilter(
        statuses=frozenset() if chosen >= STATUSES.keys() else chosen,
        categories=frozenset(controls.categories),
        date_from=date_from,
        date_to=date_to,
        as_of=as_of or (controls.as_of.isoformat() if controls.as_of else None),
        bbox=link.bbox,
        perpetrator=controls.perpetrator,
        claimant=controls.claimant,
        query=controls.query,
    )


def clamp_window(window: tuple[date, date] | None, extent: Extent) -> tuple[date, date]:
    """``window`` inside ``extent`` (the whole extent when there is none or it misses the data)."""
    if window is None:
        return extent.window
    first, last = sorted(window)
    if first > extent.last or last < extent.first:
        return extent.window
    return max(first, extent.first), min(last, extent.last)


def step_window(window: tuple[date, date], extent: Extent, steps: int) -> tuple[date, date]:
    """``window`` moved by ``steps`` times its own length (negative: back in time), kept inside ``extent``
    with its length unchanged where the extent allows."""
    first, last = window
    length = last - first + ONE_DAY
    first, last = first + steps * length, last + steps * length
    if first < extent.first:
        first, last = extent.first, min(extent.first + length - ONE_DAY, extent.last)
    if last > extent.last:
        first, last = max(extent.last - length + ONE_DAY, extent.first), extent.last
    return first, last


def as_of_range(extent: Extent, as_of: date | None) -> tuple[date, date]:
    """The days an "as known on" date can take: the data's first day to the last report, widened to ``as_of``."""
    if as_of is None:
        return extent.first, extent.known_until
    return min(extent.first, as_of), max(extent.known_until, as_of)


def status_counts(dataset: Dataset, flt: IncidentFilter) -> dict[str, int]:
    """How many incidents each status would add to the view: every part of ``flt`` but the status applies."""
    counts = flt.replace(statuses=frozenset()).apply(dataset, columns=["status"])["status"].value_counts()
    return {code: int(counts.get(code, 0)) for code in STATUSES}


def category_counts(dataset: Dataset, flt: IncidentFilter) -> dict[str, int]:
    """Incidents per category code under every part of ``flt`` but the category, for every code in the data or
    the filter, in vocabulary order."""
    counts = flt.replace(categories=frozenset()).apply(dataset, columns=["category"])["category"].value_counts()
    codes = set(dataset.frame["category"].unique()) | set(flt.categories)
    return {code: int(counts.get(code, 0)) for code in category_order(codes)}


def status_label(code: str, count: int) -> str:
    return f"{STATUSES[code].label} ({count})"


def category_label(code: str, count: int) -> str:
    return f"{category_for(code).label} ({count})"


def status_codes(values: Iterable[object]) -> list[str]:
    """The status codes a status widget holds, each once. Its options are labelled with counts; when the counts
    change between two runs, the browser may send back a label it showed before ("Claimed (1)"), which Streamlit
    then returns as that text: such a label is mapped back to its code, and text that names no status dropped."""
    by_label = {status.label: code for code, status in STATUSES.items()}
    codes = [text if text in STATUSES else by_label.get(_COUNT.sub("", text)) for text in map(str, values)]
    return list(dict.fromkeys(code for code in codes if code is not None))


def category_codes(values: Iterable[object]) -> list[str]:
    """The category codes a category widget holds, each once: as :func:`status_codes`, a label with a count it
    showed before is mapped back to its code (an unknown code is its own label)."""
    by_label = {category.label: code for code, category in CATEGORIES.items()}
    codes: list[str] = []
    for text in map(str, values):
        label = _COUNT.sub("", text)
        codes.append(text if label == text else by_label.get(label, label))
    return list(dict.fromkeys(codes))


def drop_unknown_categories(flt: IncidentFilter, dataset: Dataset) -> tuple[IncidentFilter, list[str]]:
    """``flt`` without the category codes (from a link, say) that are neither in the vocabulary nor in the data,
    and a warning for each: such a code matches nothing, and the category list could not show it."""
    outside = flt.categories - CATEGORIES.keys()
    if not outside:
        return flt, []
    missing = sorted(outside - set(dataset.frame["category"].unique()))  # only read for codes outside the vocabulary
    warnings = [f"category: {code!r} is neither one of {', '.join(CATEGORIES)} nor a category of this data; "
                "ignored" for code in missing]
    return flt.replace(categories=flt.categories - set(missing)), warnings


def category_order(codes: frozenset[str] | set[str]) -> list[str]:
    """Known categories in vocabulary order, then unknown codes sorted."""
    return [code for code in CATEGORIES if code in codes] + sorted(set(codes) - CATEGORIES.keys())


def _last_day(text: str) -> date:
    return (parse_date(text).end - timedelta(seconds=1)).date()


def _day(value: object) -> date:
    day: date = pd.Timestamp(value).date()
    return day


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)
