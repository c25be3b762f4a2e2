from __future__ import annotations

from datetime import datetime

import pytest

from incidents.dates import DateError, format_period, format_range, parse_date


@pytest.mark.parametrize(
    ("text", "precision", "start", "end"),
    [
        ("2017", "year", datetime(2017, 1, 1), datetime(2018, 1, 1)),
        ("2017-02", "month", datetime(2017, 2, 1), datetime(2017, 3, 1)),
        ("2016-02", "month", datetime(2016, 2, 1), datetime(2016, 3, 1)),
        ("2017-W14", "week", datetime(2017, 4, 3), datetime(2017, 4, 10)),
        ("2017-04-04", "day", datetime(2017, 4, 4), datetime(2017, 4, 5)),
        ("2017-04-04T06", "hour", datetime(2017, 4, 4, 6), datetime(2017, 4, 4, 7)),
        ("2017-04-04T06:30", "minute", datetime(2017, 4, 4, 6, 30), datetime(2017, 4, 4, 6, 31)),
        ("2017-04-04T06:30:00+03:00", "minute", datetime(2017, 4, 4, 6, 30), datetime(2017, 4, 4, 6, 31)),
        ("2017-04-04T23:59:59.5Z", "minute", datetime(2017, 4, 4, 23, 59), datetime(2017, 4, 5, 0, 0)),
        ("2017-04-04T01:00-0500", "minute", datetime(2017, 4, 4, 1), datetime(2017, 4, 4, 1, 1)),
    ],
)
def test_reduced_precision_dates_stand_for_their_period(text: str, precision: str, start: datetime, end: datetime
                                                        ) -> None:
    parsed = parse_date(text)
    assert (parsed.text, parsed.precision, parsed.start, parsed.end) == (text, precision, start, end)


def test_times_keep_the_local_clock_as_written() -> None:
    # 01:00 at +03:00 is 22:00 UTC the day before; an analyst filtering by day means the local day.
    assert parse_date("2017-04-05T01:00+03:00").start.day == 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("04/04/2017", r"'04/04/2017' is not an ISO 8601 date such as 2017, 2017-04"),
        ("2017-13-01", r"'2017-13-01' names no such date or time \(month must be in 1..12\)"),
        ("2017-02-30", r"names no such date"),
        ("2017-04-04T25:00", r"names no such date"),
        ("2017-W54", r"names no such date"),
        ("0999-01-01", r"year 999 is outside 1000–2999"),
        ("2017-04-04T06:00+15:00", r"UTC offset \+15:00 is outside"),
        ("2017-04-04 06:00", r"is not an ISO 8601 date"),
        ("", r"'' is not an ISO 8601 date"),
    ],
)
def test_bad_dates_repeat_the_value_and_say_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(DateError, match=message):
        parse_date(text)


@pytest.mark.parametrize(("value", "kind"), [(2017, "the number 2017"), (None, "null"), (True, "the boolean true")])
def test_non_text_dates_are_refused(value: object, kind: str) -> None:
    with pytest.raises(DateError, match=f"as a string, got {kind}"):
        parse_date(value)


def test_widening_to_a_coarser_precision_and_refusing_a_finer_one() -> None:
    week = parse_date("2017-04-05").widened("week")
    assert (week.start, week.end) == (datetime(2017, 4, 3), datetime(2017, 4, 10))
    assert parse_date("2017-04-05").widened("month").end == datetime(2017, 5, 1)
    with pytest.raises(DateError, match="time_precision 'day' is finer than '2017-04', which is only precise to "
                                        "the month"):
        parse_date("2017-04").widened("day")


def test_dates_in_words() -> None:
    assert format_period(parse_date("2017-04-04T06:30+03:00")) == "4 April 2017, 06:30 (+03:00)"
    assert format_period(parse_date("2017-04")) == "April 2017"
    assert format_range(datetime(2017, 4, 4), datetime(2017, 4, 13)) == "4–13 April 2017"
    assert format_range(datetime(2017, 3, 30), datetime(2017, 4, 2)) == "30 March – 2 April 2017"
    assert format_range(datetime(2016, 12, 30), datetime(2017, 1, 2)) == "30 December 2016 – 2 January 2017"
