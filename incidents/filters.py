"""The filter: one frozen value that selects incidents, describes itself in words, and travels as a URL query,
a CLI argument list or JSON — so the dashboard, the command line and the export all mean the same thing."""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from .dates import DateError, format_day, format_range, parse_date
from .model import Dataset, arrow_text
from .rows import take_rows, take_series
from .search import contains_all
from .vocab import CATEGORIES, STATUSES, category_for

# The URL query / export keys, in the order they are written.
QUERY_KEYS: Final = ("status", "category", "from", "to", "as_of", "bbox", "perpetrator", "claimant", "q")
_SLUG_UNSAFE: Final = re.compile(r"[^a-z0-9_]+")


class FilterError(ValueError):
    """A filter value that cannot be used; the message repeats it and says what was expected."""


@dataclass(frozen=True, kw_only=True, slots=True)
class IncidentFilter:
    """Which incidents to show. Every field is optional; an empty filter keeps everything.

    ``date_from``/``date_to`` are ISO dates of any precision (``2017-04`` means all of April) and select by
    overlap; ``as_of`` shows what was known at the end of that day; text fields match case-insensitively.
    """

    statuses: frozenset[str] = field(default_factory=frozenset)
    categories: frozenset[str] = field(default_factory=frozenset)
    date_from: str | None = None
    date_to: str | None = None
    as_of: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    perpetrator: str | None = None
    claimant: str | None = None
    query: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "statuses", frozenset(self.statuses))
        object.__setattr__(self, "categories", frozenset(self.categories))
        for name in ("perpetrator", "claimant", "query", "date_from", "date_to", "as_of"):
            value = getattr(self, name)
            if value is not None and not str(value).strip():
                object.__setattr__(self, name, None)
            elif value is not None:
                object.__setattr__(self, name, str(value).strip())
        unknown = sorted(self.statuses - STATUSES.keys())
        if unknown:
            raise FilterError(f"status {', '.join(map(repr, unknown))} is not one of {', '.join(STATUSES)}")
        for name, label in (("date_from", "from"), ("date_to", "to"), ("as_of", "as of")):
            value = getattr(self, name)
            if value is not None:
                try:
                    parse_date(value)
                except DateError as error:
                    raise FilterError(f"{label} date: {error}") from None
        if self.date_from and self.date_to and parse_date(self.date_to).end <= parse_date(self.date_from).start:
            raise FilterError(f"the window ends ({self.date_to}) before it starts ({self.date_from})")
        if self.bbox is not None:
            object.__setattr__(self, "bbox", _check_bbox(self.bbox))

    # -- selecting ----------------------------------------------------------------------------------------
    @property
    def is_empty(self) -> bool:
        return self == IncidentFilter()

    def mask(self, dataset: Dataset) -> tuple[np.ndarray, pd.Series]:
        """A boolean mask over ``dataset.frame`` and the status of every incident as of ``as_of``."""
        frame = dataset.frame
        keep = np.ones(len(frame), dtype=bool)
        status = frame["status"]
        if self.as_of:
            known_by = np.datetime64(parse_date(self.as_of).end, "s")
            keep &= frame["first_reported"].to_numpy() < known_by
            status = status_as_of(dataset, known_by)
        if self.statuses:
            keep &= status.isin(self.statuses).to_numpy()
        if self.categories:
            keep &= frame["category"].isin(self.categories).to_numpy()
        if self.date_from:
            keep &= frame["end_time"].to_numpy() > np.datetime64(parse_date(self.date_from).start, "s")
        if self.date_to:
            keep &= frame["start_time"].to_numpy() < np.datetime64(parse_date(self.date_to).end, "s")
        if self.bbox is not None:
            box = shapely.box(*self.bbox)
            geometry = frame.geometry.to_numpy()
            keep &= np.asarray(shapely.intersects(geometry, box), dtype=bool)
        for column, text in (("perpetrator", self.perpetrator), ("claimants", self.claimant)):
            if text:
                _narrow_by_text(keep, frame[column], [text.casefold()])
        if self.query:  # the search text is casefolded when it is made
            _narrow_by_text(keep, frame["search_text"], query_terms(self.query), casefold=False)
        return keep, status

    def apply(self, dataset: Dataset, *, columns: Sequence[str] | None = None) -> gpd.GeoDataFrame:
        """The matching incidents, in the dataset's order; ``status`` is the status as of ``as_of``.

        ``columns`` limits the result to those columns (cheaper when only counts are needed).
        """
        return self.select(dataset).rows(columns=columns)

    def select(self, dataset: Dataset) -> Selection:
        """The matching incidents as positions in ``dataset.frame``, to take a few columns a piece at a time
        (an export of a million incidents need not copy them all at once)."""
        keep, status = self.mask(dataset)
        return Selection(dataset.frame, np.flatnonzero(keep), status if self.as_of else None)

    # -- describing ----------------------------------------------------------------------------------------
    def describe(self) -> str:
        """The filter in plain English: ``verified chemical attacks, 4–13 April 2017``."""
        statuses = [code for code in STATUSES if code in self.statuses]
        if self.categories:
            nouns = [category_for(code).plural for code in _ordered_categories(self.categories)]
            subject = _join(nouns, "and")
        else:
            subject = "incidents"
        if statuses and len(statuses) < len(STATUSES):
            subject = f"{_join(statuses, 'or')} {subject}"
        parts = [subject if (statuses or self.categories) else "all incidents"]
        window = self._describe_window()
        if window:
            parts.append(window)
        if self.as_of:
            parts.append(f"as known on {format_day(parse_date(self.as_of).end - timedelta(seconds=1))}")
        if self.perpetrator:
            parts.append(f"perpetrator matching “{self.perpetrator}”")
        if self.claimant:
            parts.append(f"with a claim by “{self.claimant}”")
        if self.query:
            parts.append(f"mentioning “{self.query}”")
        if self.bbox is not None:
            west, south, east, north = self.bbox
            parts.append(f"within {west:g}°…{east:g}° E, {south:g}°…{north:g}° N")
        return ", ".join(parts)

    def _describe_window(self) -> str | None:
        if self.date_from and self.date_to:
            first = parse_date(self.date_from).start
            last = parse_date(self.date_to).end - timedelta(seconds=1)
            return format_range(first, last)
        if self.date_from:
            return f"from {format_day(parse_date(self.date_from).start)}"
        if self.date_to:
            return f"until {format_day(parse_date(self.date_to).end - timedelta(seconds=1))}"
        return None

    def slug(self) -> str:
        """A short file-name-safe summary: ``incidents-verified-chemical_attack-2017-04-04_to_2017-04-13``."""
        parts = ["incidents"]
        parts += [code for code in STATUSES if code in self.statuses]
        parts += _ordered_categories(self.categories)
        if self.date_from or self.date_to:
            parts.append(f"{self.date_from or 'start'}_to_{self.date_to or 'end'}")
        if self.as_of:
            parts.append(f"as-of-{self.as_of}")
        for text in (self.perpetrator, self.claimant, self.query):
            if text:
                parts.append(_SLUG_UNSAFE.sub("-", text.casefold()).strip("-")[:30])
        if self.bbox is not None:
            parts.append("bbox")
        slug = "-".join(p for p in parts if p)
        return _SLUG_UNSAFE.sub("-", slug.casefold()).strip("-")[:150]

    # -- travelling ----------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data, only the fields that are set (sorted lists for sets)."""
        data: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None or value == frozenset():
                continue
            if isinstance(value, frozenset):
                value = sorted(value)
            elif isinstance(value, tuple):
                value = list(value)
            data[item.name] = value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IncidentFilter:
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise FilterError(f"unknown filter field {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        values = dict(data)
        if values.get("bbox") is not None:
            values["bbox"] = tuple(values["bbox"])
        return cls(**values)

    def to_query(self) -> dict[str, list[str]]:
        """URL query parameters (``status``, ``category``, ``from``, ``to``, ``as_of``, ``bbox``, ``q``, …)."""
        query: dict[str, list[str]] = {}
        if self.statuses:
            query["status"] = [code for code in STATUSES if code in self.statuses]
        if self.categories:
            query["category"] = _ordered_categories(self.categories)
        for key, value in (("from", self.date_from), ("to", self.date_to), ("as_of", self.as_of)):
            if value:
                query[key] = [value]
        if self.bbox is not None:
            query["bbox"] = [",".join(f"{v:g}" for v in self.bbox)]
        for key, value in (("perpetrator", self.perpetrator), ("claimant", self.claimant), ("q", self.query)):
            if value:
                query[key] = [value]
        return query

    @classmethod
    def from_query(cls, params: Mapping[str, str | Sequence[str]]) -> tuple[IncidentFilter, list[str]]:
        """Read a filter from URL query parameters, keeping what is valid and explaining what is not.

        Values may be repeated (``status=verified&status=claimed``) or comma-separated. Returns the filter and a
        list of warnings, one per value that was ignored.
        """
        warnings: list[str] = []
        values: dict[str, Any] = {}

        def items(key: str) -> list[str]:
            raw = params.get(key)
            if raw is None:
                return []
            listed = [raw] if isinstance(raw, str) else list(raw)
            return [part.strip() for entry in listed for part in str(entry).split(",") if part.strip()]

        def single(key: str) -> str | None:
            raw = params.get(key)
            if raw is None:
                return None
            listed = [raw] if isinstance(raw, str) else list(raw)
            if len(listed) > 1:
                warnings.append(f"{key}: several values given, using the last one ({listed[-1]!r})")
            return str(listed[-1]) if listed else None

        unknown = sorted(set(params) - set(QUERY_KEYS))
        for key in unknown:
            warnings.append(f"{key}: not a filter parameter (known: {', '.join(QUERY_KEYS)}); ignored")
        statuses = items("status")
        for code in statuses:
            if code not in STATUSES:
                warnings.append(f"status: {code!r} is not one of {', '.join(STATUSES)}; ignored")
        values["statuses"] = frozenset(code for code in statuses if code in STATUSES)
        values["categories"] = frozenset(items("category"))
        for key, name in (("from", "date_from"), ("to", "date_to"), ("as_of", "as_of")):
            text = single(key)
            if text is None:
                continue
            try:
                parse_date(text)
            except DateError as error:
                warnings.append(f"{key}: {error}; ignored")
                continue
            values[name] = text
        bbox_text = single("bbox")
        if bbox_text is not None:
            try:
                values["bbox"] = parse_bbox(bbox_text)
            except FilterError as error:
                warnings.append(f"bbox: {error}; ignored")
        for key, name in (("perpetrator", "perpetrator"), ("claimant", "claimant"), ("q", "query")):
            text = single(key)
            if text is not None:
                values[name] = text
        try:
            return cls(**values), warnings
        except FilterError as error:  # a window that ends before it starts
            warnings.append(f"{error}; the date window was ignored")
            values.pop("date_from", None)
            values.pop("date_to", None)
            return cls(**values), warnings

    def replace(self, **changes: Any) -> IncidentFilter:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Selection:
    """What :meth:`IncidentFilter.select` found: the rows of ``frame`` at ``positions``, with each incident's
    status as of the filter's date when it has one (``as_of_status``, over the whole frame)."""

    frame: gpd.GeoDataFrame
    positions: np.ndarray
    as_of_status: pd.Series | None

    def __len__(self) -> int:
        return len(self.positions)

    def rows(self, *, columns: Sequence[str] | None = None, start: int = 0, stop: int | None = None
             ) -> gpd.GeoDataFrame:
        """The selected rows ``start:stop`` (all by default) of ``columns`` (all by default), in the dataset's order,
        ``status`` as of the filter's date."""
        frame = self.frame if columns is None else self.frame[list(columns)]
        taken = self.positions[start:stop]
        everything = len(taken) == len(self.frame)
        # Everything kept: a shallow copy (copy-on-write keeps the dataset's own frame unchanged) instead of a take
        selected = frame.copy(deep=False) if everything else take_rows(frame, taken)
        if self.as_of_status is not None and "status" in selected.columns:
            status = self.as_of_status if everything else take_series(self.as_of_status, taken)
            selected = selected.assign(status=status)
        return selected

    def pieces(self, *, columns: Sequence[str], rows: int) -> Iterator[gpd.GeoDataFrame]:
        """:meth:`rows` of ``columns``, ``rows`` at a time."""
        for start in range(0, len(self.positions), rows):
            yield self.rows(columns=columns, start=start, stop=start + rows)


def status_as_of(dataset: Dataset, known_by: np.datetime64) -> pd.Series:
    """Each incident's status from its last history entry before ``known_by`` (the first entry if all are
    later; its own status if it has no history)."""
    frame, history = dataset.frame, dataset.history
    if history.empty:
        return frame["status"].copy()
    rows = history["row"].to_numpy()
    order = np.arange(len(rows))
    first = np.full(len(frame), len(rows))  # each incident's first entry (len(rows): none)
    np.minimum.at(first, rows, order)
    known = history["date"].to_numpy() < known_by
    last = np.full(len(frame), -1)  # its last entry known by then (-1: none)
    np.maximum.at(last, rows[known], order[known])
    entry = np.where(last >= 0, last, first)
    from_history = entry < len(rows)
    # statuses as codes into the few distinct ones: no Python string per incident
    history_status, own_status = arrow_text(history["status"]), arrow_text(frame["status"])
    distinct = pc.unique(pa.chunked_array([*history_status.chunks, *own_status.chunks], type=pa.large_string()))
    codes = pc.index_in(own_status, value_set=distinct).fill_null(-1).to_numpy().copy()  # -1: missing
    history_codes = pc.index_in(history_status, value_set=distinct).fill_null(-1).to_numpy()
    codes[from_history] = history_codes[entry[from_history]]
    taken = distinct.take(pa.array(codes, mask=codes < 0))
    return pd.Series(pd.array(taken, dtype=frame["status"].dtype), index=frame.index, name="status")


def query_terms(query: str) -> list[str]:
    """Search terms: words, or "quoted phrases"; all must occur (case-insensitive)."""
    try:
        terms = shlex.split(query)
    except ValueError:  # an unbalanced quote: search the words as typed
        terms = query.replace('"', " ").split()
    return [term.casefold() for term in terms if term.strip()]


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``W,S,E,N`` in degrees."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 4:
        raise FilterError(f"{text!r} is not W,S,E,N (four numbers separated by commas), e.g. 35.5,32.3,42.4,37.3")
    try:
        numbers = tuple(float(part) for part in parts)
    except ValueError:
        raise FilterError(f"{text!r} is not W,S,E,N: every part must be a number") from None
    return _check_bbox(numbers)


def _check_bbox(values: Iterable[float]) -> tuple[float, float, float, float]:
    numbers = tuple(float(v) for v in values)
    if len(numbers) != 4 or not all(math.isfinite(v) for v in numbers):
        raise FilterError(f"bbox {numbers!r} must be four finite numbers W,S,E,N")
    west, south, east, north = numbers
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90 and -90 <= north <= 90):
        raise FilterError(f"bbox {text_bbox(numbers)} is outside -180…180 longitude, -90…90 latitude")
    if west > east or south > north:
        raise FilterError(f"bbox {text_bbox(numbers)} must be west,south,east,north with west ≤ east, south ≤ north")
    return west, south, east, north


def text_bbox(values: Sequence[float]) -> str:
    return ",".join(f"{v:g}" for v in values)


def _narrow_by_text(keep: np.ndarray, column: pd.Series, terms: list[str], *, casefold: bool = True) -> None:
    """``keep &=`` each term occurs in ``column`` (casefolded first unless already so); only the rows still kept
    are searched, so a text search after a narrow status or date filter reads a fraction of the text."""
    positions = np.flatnonzero(keep)
    if not len(positions):
        return
    text = column if len(positions) == len(column) else take_series(column, positions)
    if casefold:
        text = text.fillna("").str.casefold()
    keep[positions] = contains_all(text, terms)


def _ordered_categories(codes: frozenset[str]) -> list[str]:
    return [c for c in CATEGORIES if c in codes] + sorted(codes - CATEGORIES.keys())


def _join(words: list[str], conjunction: str) -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def day_bounds(dataset: Dataset) -> tuple[datetime, datetime] | None:
    """The first and last day any incident touches, for sliders and summaries."""
    frame = dataset.frame
    if frame.empty:
        return None
    first = pd.Timestamp(frame["start_time"].min()).to_pydatetime()
    last = pd.Timestamp(frame["end_time"].max()).to_pydatetime() - timedelta(seconds=1)
    return first, last
