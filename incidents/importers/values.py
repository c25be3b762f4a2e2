"""Turning cell text into the values of the incident format: dates, numbers, casualty figures, countries, ids.

Each function either returns the value or raises :class:`ValueError` whose message repeats the bad text and says
what was expected.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date
from functools import cache, lru_cache
from typing import Any, Final

from ..dates import EXPECTED, DateError, parse_date
from ..vocab import CATEGORIES

MONTHS: Final[dict[str, int]] = {}
for _number, _names in enumerate(
    (("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
     ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
     ("november", "nov"), ("december", "dec")),
    start=1,
):
    for _name in _names:
        MONTHS[_name] = _number

_DAY_MONTH_YEAR: Final = re.compile(r"(\d{1,2})[ -]([A-Za-z]+)\.?[ -](\d{4})")
_ISO_DAY: Final = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_SPACE_TIME: Final = re.compile(r"(\d{4}-\d{2}-\d{2}) (\d{2}(?::\d{2}){0,2}(?:[.,]\d+)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)")
_THOUSANDS: Final = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_RANGE: Final = re.compile(r"([0-9][0-9,]*)\s*(?:-|–|—|to)\s*([0-9][0-9,]*)")
_AT_LEAST: Final = re.compile(r"(?:at least|>=|≥|min(?:imum)?\.?)\s*([0-9][0-9,]*)|([0-9][0-9,]*)\s*\+")
_AT_MOST: Final = re.compile(r"(?:at most|up to|<=|≤|max(?:imum)?\.?)\s*([0-9][0-9,]*)")
_SLUG_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_.-]+")
DATE_FORMS: Final = "an ISO date such as 2017-04-04 (or 2017-04, 2017-04-04T06:30) or a date such as 4 April 2017"


@lru_cache(maxsize=65536)
def day_date(text: str) -> date:
    """``2017-04-04`` or ``4 April 2017`` / ``04-Apr-2017`` as a calendar day (ACLED's two date forms)."""
    value = text.strip()
    iso = _ISO_DAY.fullmatch(value)
    named = None if iso else _DAY_MONTH_YEAR.fullmatch(value)
    month = MONTHS.get(named[2].casefold()) if named else None
    if iso is None and (named is None or month is None):
        raise ValueError(f"{_show(text)} is not a date: expected YYYY-MM-DD or DD Month YYYY "
                         "(e.g. 2017-04-04 or 04 April 2017)")
    try:
        if iso is not None:
            day = date(int(iso[1]), int(iso[2]), int(iso[3]))
        else:
            assert named is not None and month is not None
            day = date(int(named[3]), month, int(named[1]))
    except ValueError as error:
        raise ValueError(f"{_show(text)} names no such day ({error})") from None
    parse_date(day.isoformat())  # the format's own limits (years 1000–2999)
    return day


@lru_cache(maxsize=65536)
def normalise_date(text: str) -> str:
    """A date cell as an ISO 8601 date of the incident format: ISO text is kept as written (a space before the
    time becomes ``T``), ``4 April 2017`` becomes ``2017-04-04``."""
    value = text.strip()
    spaced = _SPACE_TIME.fullmatch(value)
    if spaced:
        value = f"{spaced[1]}T{spaced[2]}"
    try:
        parse_date(value)
        return value
    except DateError as error:
        iso_error = str(error)
    if _DAY_MONTH_YEAR.fullmatch(value):
        return day_date(value).isoformat()
    if value[:4].isdigit() and value[4:5] == "-":
        raise ValueError(iso_error)
    raise ValueError(f"{_show(text)} is not a date: expected {DATE_FORMS}")


def check_date_text(value: object) -> str:
    """A date from a GeoJSON property (text) or a cell, normalised; numbers are refused with a hint."""
    if isinstance(value, str):
        return normalise_date(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"{value!r} is a number, not a date: expected {EXPECTED} as text (a timestamp in "
                         "seconds or milliseconds cannot be told apart; convert it first)")
    raise ValueError(f"{_show(value)} is not a date: expected {EXPECTED}")


def parse_number(value: object) -> float:
    """A finite number from a cell: ``12``, ``12.5``, ``1,234``; blank cells are the caller's business."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip().replace("\u00a0", "").replace(" ", "")
        if _THOUSANDS.fullmatch(text):
            text = text.replace(",", "")
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{_show(value)} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{_show(value)} is not a finite number")
    return number


def parse_count(value: object) -> int:
    """A whole number ≥ 0: ``12``, ``12.0``, ``1,234``."""
    number = parse_number(value)
    if number < 0 or not number.is_integer():
        raise ValueError(f"{_show(value)} is not a whole number ≥ 0")
    return int(number)


def parse_casualties(value: object) -> int | dict[str, int]:
    """A casualty figure: ``12``, a range ``10-20`` / ``10–20`` / ``10 to 20``, ``at least 5`` / ``5+`` (min only)
    or ``up to 8`` (max only)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return parse_count(value)
    text = str(value).strip().casefold()
    figure: dict[str, int] | None = None
    if match := _RANGE.fullmatch(text):
        figure = {"min": parse_count(match[1]), "max": parse_count(match[2])}
        if figure["min"] > figure["max"]:
            raise ValueError(f"{_show(value)}: the lower figure is above the higher one")
    elif match := _AT_LEAST.fullmatch(text):
        figure = {"min": parse_count(match[1] or match[2])}
    elif match := _AT_MOST.fullmatch(text):
        figure = {"max": parse_count(match[1])}
    if figure is not None:
        return figure
    try:
        return parse_count(value)
    except ValueError:
        raise ValueError(f"{_show(value)} is not a casualty figure: expected a whole number such as 12, a range "
                         "such as 10-20, or 'at least 5'") from None


# English names that differ from the ISO 3166 names in pycountry (as ACLED and spreadsheets write them).
COUNTRY_ALIASES: Final[dict[str, str]] = {
    "turkey": "TR", "ivory coast": "CI", "democratic republic of congo": "CD",
    "democratic republic of the congo": "CD", "drc": "CD", "republic of congo": "CG", "congo brazzaville": "CG",
    "cape verde": "CV", "caribbean netherlands": "BQ", "bonaire, saint eustatius and saba": "BQ",
    "swaziland": "SZ", "east timor": "TL", "vatican": "VA", "burma": "MM", "uk": "GB", "usa": "US",
    "united states of america": "US", "russia": "RU", "syria": "SY", "iran": "IR", "south korea": "KR",
    "north korea": "KP", "laos": "LA", "vietnam": "VN", "palestine": "PS", "moldova": "MD", "bolivia": "BO",
    "venezuela": "VE", "tanzania": "TZ", "taiwan": "TW", "micronesia": "FM", "brunei": "BN",
    "macedonia": "MK", "czech republic": "CZ", "saint barthelemy": "BL", "saint martin": "MF",
    "virgin islands, u.s.": "VI", "virgin islands, british": "VG", "falkland islands": "FK",
}


def _name_key(text: str) -> str:
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(plain.casefold().replace("-", " ").split())


@cache
def _countries() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    import pycountry

    numeric: dict[str, str] = {}
    codes: dict[str, str] = {}
    names: dict[str, str] = {}
    for country in pycountry.countries:
        numeric[str(country.numeric).zfill(3)] = country.alpha_2
        codes[country.alpha_2] = country.alpha_2
        codes[country.alpha_3] = country.alpha_2
        for attribute in ("name", "official_name", "common_name"):
            label = getattr(country, attribute, None)
            if isinstance(label, str):
                names[_name_key(label)] = country.alpha_2
    names.update(COUNTRY_ALIASES)
    return numeric, codes, names


@lru_cache(maxsize=4096)
def country_code(value: str) -> str:
    """ISO 3166-1 alpha-2 from an alpha-2 or alpha-3 code, a numeric code (ACLED's ``iso``) or an English name
    (exact, ignoring case and accents; no guessing: Kosovo, which has no ISO code, stays without one)."""
    numeric, codes, names = _countries()
    text = value.strip()
    by_name = None if text.isdigit() else codes.get(text.upper()) or names.get(_name_key(text))
    found = numeric.get(text.zfill(3)) if text.isdigit() else by_name
    if found is None:
        raise ValueError(f"{_show(value)} is not an ISO 3166-1 country (code, numeric code or English name)")
    return found


@lru_cache(maxsize=1024)
def category_code(value: str) -> str:
    """A category code from its code or label in any case (``Chemical attack`` → ``chemical_attack``); other text
    comes back stripped (the format accepts unknown codes with a warning)."""
    text = value.strip()
    key = re.sub(r"[\s/-]+", "_", text.casefold())
    if key in CATEGORIES:
        return key
    for code, category in CATEGORIES.items():
        if text.casefold() in (category.label.casefold(), category.plural.casefold()):
            return code
    return text


def slug(value: str) -> str:
    """``value`` as an id-safe slug that stays recognisable: ``SYR 12345`` → ``SYR-12345``."""
    return _SLUG_UNSAFE.sub("-", value.strip()).strip("-.")


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _show(value: object, limit: int = 60) -> str:
    """``value`` quoted for a message, shortened when long."""
    if not isinstance(value, str):
        return repr(value)
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")
