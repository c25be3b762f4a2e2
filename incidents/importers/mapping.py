"""Which column (CSV) or property (GeoJSON) feeds which incident field: mapping files and command-line options.

A mapping file is TOML, JSON or YAML (chosen by its suffix) with up to four keys::

    separator = ";"            # splits several tags / sources in one cell (default ";")
    [fields]                   # incident field = column or property name
    title = "Event"
    start = "Date"
    x_team = "Team"            # any x_… field copies the column as an extension field
    [defaults]                 # used when the column is absent or the cell is empty
    status = "claimed"
    source = "Team spreadsheet"
    [values.category]          # cell text (any case) -> value written
    "Air strike" = "airstrike"
"""

from __future__ import annotations

import difflib
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import Any, Final

from ..vocab import STATUSES
from .report import ImportFailed

# The fields a column can feed, in the order they are listed in messages.
TARGETS: Final = (
    "id", "title", "description", "category", "start", "end", "time_precision", "first_reported", "place",
    "admin1", "country", "location_precision", "uncertainty_m", "status", "perpetrator", "killed", "injured",
    "casualties_note", "source", "source_url", "source_publisher", "source_kind", "source_date", "tags",
    "latitude", "longitude", "wkt", "casualties", "claims", "status_history", "related",
)
# Fields read as JSON (a list or object in a GeoJSON property, JSON text in a cell as our CSV export writes it).
JSON_TARGETS: Final = ("casualties", "claims", "status_history", "related")
GEOMETRY_TARGETS: Final = ("latitude", "longitude", "wkt")
# Fields that cannot be given one value for the whole file.
NO_DEFAULT: Final = ("id", "title", "start", *GEOMETRY_TARGETS)
REQUIRED: Final = ("title", "start", "category", "status", "source")
FILE_KEYS: Final = ("fields", "defaults", "values", "separator")


class MappingError(ImportFailed):
    """A mapping file or option that cannot be used (a usage error: fix the mapping, not the data)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class FieldMapping:
    """``fields`` maps an incident field to a column/property name, ``defaults`` gives a value for the whole file
    where the column is absent or empty, ``values`` rewrites cell text per field (matched ignoring case)."""

    fields: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    separator: str = ";"
    name: str = "mapping"

    def __post_init__(self) -> None:
        for target in (*self.fields, *self.values):
            _check_target(target, self.name)
        for target, value in self.defaults.items():
            _check_target(target, self.name)
            if target in NO_DEFAULT:
                raise MappingError(self.name, f"defaults.{target}: {target} cannot have one value for the whole "
                                   f"file; map it to a column with fields.{target}")
            if not isinstance(value, str) or not value.strip():
                raise MappingError(self.name, f"defaults.{target} is {value!r}, expected non-empty text")
        status = self.defaults.get("status")
        if status is not None and status not in STATUSES:
            raise MappingError(self.name, f"default status {status!r} is not one of {', '.join(STATUSES)}")
        for target, column in self.fields.items():
            if not isinstance(column, str) or not column.strip():
                raise MappingError(self.name, f"fields.{target} is {column!r}, expected a column name")
        if not isinstance(self.separator, str) or not self.separator:
            raise MappingError(self.name, f"separator is {self.separator!r}, expected a character such as ';'")
        lowered: dict[str, Mapping[str, str]] = {}
        for target, table in self.values.items():
            if not isinstance(table, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in table.items()
            ):
                raise MappingError(self.name, f"values.{target} must be a table of text = text, e.g. "
                                   "\"Air strike\" = \"airstrike\"")
            lowered[target] = {k.strip().casefold(): v for k, v in table.items()}
        object.__setattr__(self, "values", lowered)

    def merged(self, other: FieldMapping) -> FieldMapping:
        """This mapping with ``other``'s fields, defaults and value tables taking precedence."""
        return replace(
            self,
            fields={**self.fields, **other.fields},
            defaults={**self.defaults, **other.defaults},
            values={**self.values, **other.values},
            separator=other.separator if other.separator != ";" else self.separator,
        )

    def rewrite(self, target: str, value: str) -> str:
        """``value`` through the ``values`` table of ``target`` (unchanged when it has no entry)."""
        table = self.values.get(target)
        if not table:
            return value
        return table.get(value.strip().casefold(), value)


def _check_target(target: object, name: str) -> None:
    if isinstance(target, str) and (target in TARGETS or (target.startswith("x_") and len(target) > 2)):
        return
    guess = difflib.get_close_matches(str(target), TARGETS, n=1, cutoff=0.7)
    hint = f"did you mean {guess[0]!r}? " if guess else ""
    raise MappingError(name, f"{target!r} is not an incident field: {hint}fields are {', '.join(TARGETS)}, "
                       "or x_… for an extension field")


def mapping_from_dict(data: object, *, name: str) -> FieldMapping:
    """A mapping from parsed TOML/JSON/YAML; unknown keys are refused with a suggestion."""
    if not isinstance(data, dict):
        raise MappingError(name, f"is {type(data).__name__}, expected a table with {', '.join(FILE_KEYS)}")
    for key in data:
        if key not in FILE_KEYS:
            guess = difflib.get_close_matches(str(key), FILE_KEYS, n=1, cutoff=0.6)
            hint = f" (did you mean {guess[0]!r}?)" if guess else ""
            raise MappingError(name, f"unknown key {key!r}{hint}: a mapping file has {', '.join(FILE_KEYS)}")
    tables: dict[str, Any] = {}
    for key in ("fields", "defaults", "values"):
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise MappingError(name, f"{key} is {type(value).__name__}, expected a table")
        tables[key] = value
    separator = data.get("separator", ";")
    if not isinstance(separator, str):
        raise MappingError(name, f"separator is {separator!r}, expected text such as ';'")
    return FieldMapping(fields=tables["fields"], defaults=tables["defaults"], values=tables["values"],
                        separator=separator, name=name)


def load_mapping(data: bytes, *, name: str) -> FieldMapping:
    """Parse a mapping file's content; its format comes from ``name``'s suffix (.toml, .json, .yaml/.yml)."""
    suffix = PurePath(name).suffix.lower()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise MappingError(name, f"is not valid UTF-8 (byte {error.start}); save it as UTF-8") from None
    parsed: object
    try:
        if suffix == ".toml":
            parsed = tomllib.loads(text)
        elif suffix == ".json":
            parsed = json.loads(text)
        elif suffix in (".yaml", ".yml"):
            parsed = _load_yaml(text, name)
        else:
            raise MappingError(name, f"has suffix {suffix or '(none)'!r}: name the mapping file .toml, .json, "
                               ".yaml or .yml so that its format is known")
    except tomllib.TOMLDecodeError as error:
        raise MappingError(name, f"is not valid TOML: {error}") from None
    except json.JSONDecodeError as error:
        raise MappingError(name, f"is not valid JSON: {error.msg} at line {error.lineno}, column "
                           f"{error.colno}") from None
    return mapping_from_dict(parsed, name=name)


def _load_yaml(text: str, name: str) -> object:
    try:
        import yaml
    except ImportError:  # pragma: no cover - pyyaml is a dependency
        raise MappingError(name, "YAML mapping files need the pyyaml package (pip install pyyaml); or write "
                           "the mapping as TOML or JSON") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise MappingError(name, f"is not valid YAML: {' '.join(str(error).split())}") from None


def mapping_from_options(
    fields: Sequence[str] = (),
    *,
    status: str | None = None,
    source: str | None = None,
    category: str | None = None,
) -> FieldMapping:
    """A mapping from ``--field TARGET=COLUMN`` options and the ``--status/--source/--category`` defaults."""
    mapped: dict[str, str] = {}
    for option in fields:
        target, equals, column = option.partition("=")
        if not equals or not target.strip() or not column.strip():
            raise MappingError("--field", f"{option!r} is not FIELD=COLUMN, e.g. --field title=Event")
        mapped[target.strip()] = column.strip()
    defaults = {key: value for key, value in (("status", status), ("source", source), ("category", category))
                if value is not None}
    return FieldMapping(fields=mapped, defaults=defaults, name="--field")
