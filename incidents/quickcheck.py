"""A quick check for ordinary incidents, so that a large file is not checked field by field with every message
ready.

:func:`quick_row` accepts a feature only when it is an ordinary, valid incident — the format's fields and the
analyst's own ``x_…`` ones, known vocabulary, nothing that the full check
(:class:`incidents.validate.FeatureChecker`) would report or warn about — and returns the very
:class:`~incidents.validate.Row` the full check would make of it. For anything else it returns None, and the full
check decides and words the messages. It is only ever a shortcut: tests run both on every test file, the hostile
corpus and thousands of mutated features, and require the same row or a refusal.
"""

from __future__ import annotations

import math
from datetime import datetime
from functools import lru_cache
from typing import Any, Final

from .dates import DateError, PartialDate, parse_date
from .reader import MAX_DEPTH, too_deep
from .safety import url_problem
from .validate import (
    CASUALTY_FIELDS,
    CLAIM_FIELDS,
    FEATURE_MEMBERS,
    HISTORY_FIELDS,
    PROPERTY_FIELDS,
    RELATED_FIELDS,
    SOURCE_FIELDS,
    FeatureChecker,
    Row,
    _is_count,
    _is_valid_id,
    country_codes,
)
from .vocab import CATEGORIES, LOCATION_PRECISIONS, RELATIONS, SOURCE_KINDS, STANCES, STATUSES

_FEATURE_MEMBERS: Final = frozenset(FEATURE_MEMBERS)
_PROPERTY_FIELDS: Final = frozenset(PROPERTY_FIELDS)
_SOURCE_FIELDS: Final = frozenset(SOURCE_FIELDS)
_HISTORY_FIELDS: Final = frozenset(HISTORY_FIELDS)
_CLAIM_FIELDS: Final = frozenset(CLAIM_FIELDS)
_CASUALTY_FIELDS: Final = frozenset(CASUALTY_FIELDS)
_RELATED_FIELDS: Final = frozenset(RELATED_FIELDS)
_RANGE_FIELDS: Final = frozenset(("min", "max"))
_POINT_MEMBERS: Final = frozenset(("type", "coordinates", "bbox"))
_LOCATION_PRECISIONS: Final = frozenset(LOCATION_PRECISIONS)
_SOURCE_KINDS: Final = frozenset(SOURCE_KINDS)
_RELATIONS: Final = frozenset(RELATIONS)
_OPTIONAL_TEXT: Final = ("description", "place", "admin1", "perpetrator")
_NUMBERS: Final = (int, float)


class _Refused(Exception):
    """The feature is not ordinary: the full check decides."""


def quick_row(feature: Any, file: str, index: int) -> Row | None:
    """The row the full check makes of ``feature`` (numbered ``index`` in ``file``) when that check would find
    nothing to say about it; None when it might, or when the feature is not plain enough to tell quickly."""
    try:
        return _row(feature, file, index)
    except (_Refused, ArithmeticError, TypeError, ValueError):  # a number too large for a float, say
        return None


def _row(feature: Any, file: str, index: int) -> Row:
    if type(feature) is not dict or feature.get("type") != "Feature" or "geometry" not in feature:
        raise _Refused
    props: Any = feature.get("properties")
    if not _FEATURE_MEMBERS.issuperset(feature) or type(props) is not dict:
        raise _Refused
    if not _PROPERTY_FIELDS.issuperset(props):
        _extensions(props)
    get = props.get
    incident_id = _incident_id(feature.get("id"), get("id"))
    geometry = _geometry(feature, file, index)
    title, category, status = get("title"), get("category"), get("status")
    if not (type(title) is str and title.strip() and "\x00" not in title and type(category) is str
            and category in CATEGORIES and type(status) is str and status in STATUSES):
        raise _Refused
    for name in _OPTIONAL_TEXT:
        value = get(name)
        if value is not None and (type(value) is not str or "\x00" in value):
            raise _Refused
    precision, country, uncertainty = get("location_precision"), get("country"), get("uncertainty_m")
    if not ((precision is None or (type(precision) is str and precision in _LOCATION_PRECISIONS))
            and (country is None or (type(country) is str and country in country_codes()))
            and (uncertainty is None or (_finite(uncertainty) and uncertainty >= 0))):
        raise _Refused
    start, end = _period(get("start"), get("end"), get("time_precision"))
    sources: Any = get("sources")
    if type(sources) is not list or not sources:
        raise _Refused
    source_ids = _sources(sources)
    count = len(sources)
    history = _history(get("status_history"), status, count, source_ids)
    claim_dates = _claims(get("claims"), count, source_ids)
    _casualties(get("casualties"), count, source_ids)
    _related(get("related"), incident_id)
    tags = get("tags")
    if tags is not None and not (type(tags) is list and all(type(tag) is str and tag.strip() for tag in tags)):
        raise _Refused
    provenance = get("provenance")
    _need(provenance is None or (type(provenance) is dict and not too_deep(provenance, MAX_DEPTH - 4)))
    return Row(
        file=file,
        feature=index,
        id=incident_id,
        properties=props,
        geometry=geometry,
        start=start,
        end=end or start,
        first_reported=_first_reported(get("first_reported"), start, history, claim_dates, sources),
        history=history,
    )


def _extensions(props: dict[str, Any]) -> None:
    """Fields beyond the format's: only the analyst's own (``x_…``), none nested too deep."""
    for key in props.keys() - _PROPERTY_FIELDS:
        value = props[key]
        if not key.startswith("x_") or (type(value) in (dict, list) and too_deep(value, MAX_DEPTH - 4)):
            raise _Refused


def _need(condition: bool) -> None:
    if not condition:
        raise _Refused


def _incident_id(outer: Any, inner: Any) -> str:
    if inner is not None:
        _need(_is_valid_id(inner) and (outer is None or outer == inner))
        return str(inner)
    _need(_is_valid_id(outer))
    return str(outer)


def _geometry(feature: dict[str, Any], file: str, index: int) -> Any:
    geometry = feature["geometry"]
    if geometry is None:
        return None
    if type(geometry) is dict and geometry.get("type") == "Point" and _POINT_MEMBERS.issuperset(geometry):
        position: Any = geometry.get("coordinates")
        if type(position) is list and len(position) == 2:  # the common case, without a call per number
            lon, lat = position
            # (the range tests are false for NaN and infinity)
            if type(lon) in _NUMBERS and type(lat) in _NUMBERS and -180 <= lon <= 180 and -90 <= lat <= 90:
                return (float(lon), float(lat))
            raise _Refused
        _need(type(position) is list and 2 <= len(position) <= 3 and all(_finite(v) for v in position))
        _need(-180 <= position[0] <= 180 and -90 <= position[1] <= 90)
        return tuple(float(v) for v in position)
    return checked_shape(geometry, file, index)


def checked_shape(geometry: Any, file: str, index: int) -> Any:
    """The shape of a GeoJSON ``geometry`` (a line or shape, say) by the full geometry check, which builds it;
    refused when that check has anything to say."""
    checker = FeatureChecker(file, index)
    shape = checker._check_geometry({"geometry": geometry})
    _need(not checker.problems and not checker.failed)
    return shape


def _finite(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


# Text is tested inline where every incident passes (a title, each source's title, each claim): a call per value
# showed in the profile (with the date lookups, 6.0 -> 5.5-5.8 s at 100k). The tests: no NUL; where required, not blank.
def _optional_text(value: Any) -> bool:
    return value is None or (type(value) is str and "\x00" not in value)


_STARTS: dict[str, datetime] = {}  # a date's start by its text: incidents share a few thousand days
_STARTS_KEPT: Final = 100_000


def _start(value: Any) -> datetime:
    """When the date ``value`` begins (refused when it is not a date)."""
    if type(value) is str:
        found = _STARTS.get(value)
        if found is not None:
            return found
    start = _date(value).start
    if len(_STARTS) < _STARTS_KEPT:
        _STARTS[value] = start
    return start


def _date(value: Any) -> PartialDate:
    try:
        return parse_date(value)
    except DateError:
        raise _Refused from None


@lru_cache(maxsize=65536)
def _checked_period(start: str, end: str | None, precision: str | None) -> tuple[PartialDate, PartialDate | None]:
    checker = FeatureChecker("", 0)
    props: dict[str, Any] = {"start": start, "end": end, "time_precision": precision}
    first, last = checker._period(props)
    _need(first is not None and not checker.problems)
    assert first is not None
    return first, last


def _period(start: Any, end: Any, precision: Any) -> tuple[PartialDate, PartialDate | None]:
    _need(type(start) is str and (end is None or type(end) is str) and (precision is None or type(precision) is str))
    return _checked_period(start, end, precision)


def _sources(sources: list[Any]) -> frozenset[str]:
    ids: set[str] = set()
    for source in sources:
        if type(source) is not dict or not _SOURCE_FIELDS.issuperset(source):
            raise _Refused
        get = source.get
        title, publisher, kind, url = get("title"), get("publisher"), get("kind"), get("url")
        if not (type(title) is str and title.strip() and "\x00" not in title
                and (publisher is None or (type(publisher) is str and "\x00" not in publisher))
                and (kind is None or (type(kind) is str and kind in _SOURCE_KINDS))
                and (url is None or url_problem(url) is None)):
            raise _Refused
        if get("date") is not None:
            _start(source["date"])
        source_id = get("id")
        if source_id is not None:
            _need(_is_valid_id(source_id) and source_id not in ids)
            ids.add(source_id)
    return frozenset(ids)


def _source_ref(value: Any, count: int, ids: frozenset[str]) -> None:
    if value is None:
        return
    if type(value) is int:
        _need(0 <= value < count)
    else:
        _need(type(value) is str and value in ids)


def _history(value: Any, status: str, count: int, ids: frozenset[str]) -> list[tuple[datetime, str]]:
    if value is None:
        return []
    _need(type(value) is list)
    entries: list[tuple[datetime, str]] = []
    previous: datetime | None = None
    for entry in value:
        if type(entry) is not dict or not _HISTORY_FIELDS.issuperset(entry):
            raise _Refused
        entry_status, note = entry.get("status"), entry.get("note")
        if not (type(entry_status) is str and entry_status in STATUSES
                and (note is None or (type(note) is str and "\x00" not in note))):
            raise _Refused
        when = _start(entry.get("date"))
        if previous is not None and when < previous:
            raise _Refused
        _source_ref(entry.get("source"), count, ids)
        previous = when
        entries.append((when, entry_status))
    _need(not value or value[-1]["status"] == status)
    return entries


def _claims(value: Any, count: int, ids: frozenset[str]) -> list[datetime]:
    if value is None:
        return []
    _need(type(value) is list)
    dates: list[datetime] = []
    for claim in value:
        if type(claim) is not dict or not _CLAIM_FIELDS.issuperset(claim):
            raise _Refused
        get = claim.get
        by, stance, text = get("by"), get("stance"), get("text")
        if not (type(by) is str and by.strip() and "\x00" not in by and type(stance) is str and stance in STANCES
                and (text is None or (type(text) is str and "\x00" not in text))):
            raise _Refused
        if get("date") is not None:
            dates.append(_start(claim["date"]))
        _source_ref(claim.get("source"), count, ids)
    return dates


def _casualties(value: Any, count: int, ids: frozenset[str]) -> None:
    if value is None:
        return
    _need(type(value) is dict and _CASUALTY_FIELDS.issuperset(value))
    for name in ("killed", "injured"):
        figure = value.get(name)
        if figure is None:
            continue
        if type(figure) is dict:
            _need(_RANGE_FIELDS.issuperset(figure))
            low, high = figure.get("min"), figure.get("max")
            _need(low is not None or high is not None)
            _need((low is None or _is_count(low)) and (high is None or _is_count(high)))
            _need(low is None or high is None or low <= high)
        else:
            _need(_is_count(figure))
    _need(_optional_text(value.get("note")))
    _source_ref(value.get("source"), count, ids)


def _related(value: Any, incident_id: str) -> None:
    if value is None:
        return
    _need(type(value) is list)
    for link in value:
        _need(type(link) is dict and _RELATED_FIELDS.issuperset(link))
        target, relation = link.get("id"), link.get("relation")
        _need(_is_valid_id(target) and target != incident_id and type(relation) is str and relation in _RELATIONS)


def _first_reported(given: Any, start: PartialDate, history: list[tuple[datetime, str]], claim_dates: list[datetime],
                    sources: list[dict[str, Any]]) -> datetime:
    if given is not None:
        return _start(given)
    dated = [when for when, _ in history] + claim_dates
    dated.extend(_start(source["date"]) for source in sources if source.get("date") is not None)
    return min(dated) if dated else start.start
