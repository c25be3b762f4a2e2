"""The controlled vocabularies of the incident format: statuses, categories, stances, source kinds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Status:
    code: str
    label: str
    colour: str
    meaning: str


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    label: str
    plural: str
    symbol: str


# Okabe-Ito colours: distinguishable with the common forms of colour blindness.
STATUSES: Final[dict[str, Status]] = {
    s.code: s
    for s in (
        Status("verified", "Verified", "#009E73",
               "independently confirmed, or acknowledged by the party responsible"),
        Status("claimed", "Claimed", "#E69F00", "asserted by a party, not independently confirmed"),
        Status("disputed", "Disputed", "#CC79A7", "conflicting claims that the evidence does not settle"),
        Status("debunked", "Debunked", "#6E6E6E", "shown to be false"),
    )
}

CATEGORIES: Final[dict[str, Category]] = {
    c.code: c
    for c in (
        Category("chemical_attack", "Chemical attack", "chemical attacks", "hexagon"),
        Category("airstrike", "Airstrike", "airstrikes", "triangle"),
        Category("missile_strike", "Missile strike", "missile strikes", "diamond"),
        Category("friendly_fire", "Friendly fire", "friendly-fire incidents", "cross"),
        Category("shelling", "Shelling", "shelling incidents", "star"),
        Category("attack_on_medical", "Attack on medical care", "attacks on medical care", "plus"),
        Category("siege", "Siege", "sieges", "square"),
        Category("other", "Other", "other incidents", "circle"),
    )
}

GENERIC_SYMBOL: Final = "generic"

STANCES: Final[dict[str, str]] = {
    "asserts": "asserts",
    "denies": "denies",
    "acknowledges": "acknowledges",
    "disputes": "disputes",
    "cannot_confirm": "cannot confirm",
}

SOURCE_KINDS: Final = ("news", "official", "ngo", "social", "lab", "intercept", "other")

LOCATION_PRECISIONS: Final = ("exact", "town", "approximate", "region")

# Finest first: a precision may be widened (made coarser), never narrowed.
TIME_PRECISIONS: Final = ("minute", "hour", "day", "week", "month", "year")

RELATIONS: Final = ("response_to", "same_event", "part_of", "related_to", "context", "follows")


def category_for(code: str) -> Category:
    """The category for ``code``; an unknown code gets the generic symbol and its code as label."""
    known = CATEGORIES.get(code)
    if known is not None:
        return known
    return Category(code, code, code, GENERIC_SYMBOL)


def status_for(code: str) -> Status:
    return STATUSES[code]
