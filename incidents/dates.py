"""ISO 8601 dates with reduced precision, each standing for the period it names.

``2017-04`` is the whole of April 2017; ``2017-04-04T06:30+03:00`` is one minute. Times are kept on the local
clock as written (the offset is read and checked, not applied), so a day filter means the day an analyst reads.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Final

from .vocab import TIME_PRECISIONS

MIN_YEAR: Final = 1000
MAX_YEAR: Final = 2999

EXPECTED: Final = "an ISO 8601 date such as 2017, 2017-04, 2017-W14, 2017-04-04 or 2017-04-04T06:30+03:00"

_PATTERN: Final = re.compile(
    r"""
    (?P<year>\d{4})
    (?:-(?:
        W(?P<week>\d{2})
        |
        (?P<month>\d{2})
        (?:-(?P<day>\d{2})
            (?:T(?P<hour>\d{2})
                (?::(?P<minute>\d{2})
                    (?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?
                )?
                (?P<offset>Z|[+-]\d{2}(?::?\d{2})?)?
            )?
        )?
    ))?
    """,
    re.VERBOSE,
)

# English month names, fixed: ``calendar.month_name`` follows the process locale and calls strftime on every lookup.
MONTH_NAMES: Final = ("", "January", "February", "March", "April", "May", "June", "July", "August", "September",
                      "October", "November", "December")


class DateError(ValueError):
    """A date that is not ISO 8601 or names an impossible moment; the message says what was expected."""


@dataclass(frozen=True, slots=True)
class PartialDate:
    """A date as written, with the period ``[start, end)`` it stands for on the local clock."""

    text: str
    precision: str
    start: datetime
    end: datetime

    def widened(self, precision: str) -> PartialDate:
        """The period of ``precision`` that contains this date (``week`` is the ISO week, Monday first)."""
        if precision == self.precision:
            return self
        if TIME_PRECISIONS.index(precision) < TIME_PRECISIONS.index(self.precision):
            raise DateError(
                f"time_precision {precision!r} is finer than {self.text!r}, which is only precise to the "
                f"{self.precision}; use {self.precision!r} or coarser"
            )
        start, end = _period(self.start, precision)
        return PartialDate(self.text, precision, start, end)


def parse_date(text: object) -> PartialDate:
    """Parse ``text``; raise :class:`DateError` repeating the bad value and what was expected."""
    if not isinstance(text, str):
        raise DateError(f"expected {EXPECTED} as a string, got {_describe(text)}")
    return _parse_cached(text)


@lru_cache(maxsize=65536)
def _parse_cached(text: str) -> PartialDate:
    match = _PATTERN.fullmatch(text)
    if match is None:
        raise DateError(f"{_shorten(text)!r} is not {EXPECTED}")
    parts = match.groupdict()
    year = int(parts["year"])
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise DateError(f"{text!r}: year {year} is outside {MIN_YEAR}–{MAX_YEAR}")
    try:
        if parts["week"] is not None:
            week = int(parts["week"])
            monday = date.fromisocalendar(year, week, 1)
            start = datetime(monday.year, monday.month, monday.day)
            return PartialDate(text, "week", start, start + timedelta(days=7))
        if parts["month"] is None:
            return PartialDate(text, "year", *_period(datetime(year, 1, 1), "year"))
        month = int(parts["month"])
        if parts["day"] is None:
            return PartialDate(text, "month", *_period(datetime(year, month, 1), "month"))
        day = int(parts["day"])
        if parts["hour"] is None:
            start = datetime(year, month, day)
            return PartialDate(text, "day", start, start + timedelta(days=1))
        _check_offset(text, parts["offset"])
        hour = int(parts["hour"])
        if parts["minute"] is None:
            start = datetime(year, month, day, hour)
            return PartialDate(text, "hour", start, start + timedelta(hours=1))
        minute = int(parts["minute"])
        second = int(parts["second"] or 0)
        start = datetime(year, month, day, hour, minute, second)
        # Seconds are finer than the vocabulary goes: such a time is precise to the minute.
        return PartialDate(text, "minute", start.replace(second=0), start.replace(second=0) + timedelta(minutes=1))
    except ValueError as error:
        raise DateError(f"{text!r} names no such date or time ({error})") from None


def _check_offset(text: str, offset: str | None) -> None:
    if offset is None or offset == "Z":
        return
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 14 or minutes > 59 or (hours == 14 and minutes):
        raise DateError(f"{text!r}: UTC offset {offset} is outside -14:00…+14:00")


def _period(moment: datetime, precision: str) -> tuple[datetime, datetime]:
    if precision == "year":
        start = datetime(moment.year, 1, 1)
        return start, datetime(moment.year + 1, 1, 1)
    if precision == "month":
        start = datetime(moment.year, moment.month, 1)
        days = calendar.monthrange(moment.year, moment.month)[1]
        return start, start + timedelta(days=days)
    if precision == "week":
        day = datetime(moment.year, moment.month, moment.day)
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    if precision == "day":
        start = datetime(moment.year, moment.month, moment.day)
        return start, start + timedelta(days=1)
    if precision == "hour":
        start = moment.replace(minute=0, second=0, microsecond=0)
        return start, start + timedelta(hours=1)
    start = moment.replace(second=0, microsecond=0)
    return start, start + timedelta(minutes=1)


def format_day(moment: datetime) -> str:
    """``4 April 2017``."""
    return f"{moment.day} {MONTH_NAMES[moment.month]} {moment.year}"


def format_period(date: PartialDate) -> str:
    """A date in words at its own precision: ``April 2017``, ``4 April 2017, 06:30 (+03:00)``."""
    start = date.start
    if date.precision == "year":
        return str(start.year)
    if date.precision == "month":
        return f"{MONTH_NAMES[start.month]} {start.year}"
    if date.precision == "week":
        iso = start.isocalendar()
        return f"week {iso.week} of {iso.year} (from {format_day(start)})"
    text = format_day(start)
    if date.precision == "day":
        return text
    clock = start.strftime("%H:00" if date.precision == "hour" else "%H:%M")
    offset = _PATTERN.fullmatch(date.text)
    suffix = f" ({offset['offset']})" if offset and offset["offset"] else ""
    return f"{text}, {clock}{suffix}"


def format_range(first: datetime, last: datetime) -> str:
    """A run of days in words: ``4–13 April 2017``, ``30 March – 2 April 2017``."""
    if first.date() == last.date():
        return format_day(first)
    if first.year == last.year and first.month == last.month:
        return f"{first.day}–{format_day(last)}"
    if first.year == last.year:
        return f"{first.day} {MONTH_NAMES[first.month]} – {format_day(last)}"
    return f"{format_day(first)} – {format_day(last)}"


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return f"a {type(value).__name__}"


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
