"""Record, verify, filter, map and export conflict incidents with their attribution and sources."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__version__ = "0.1.0"

from .dates import DateError, PartialDate, parse_date
from .errors import IncidentDataError, Problem
from .export import csv_bytes, csv_pieces, geojson_pieces, to_csv, to_geojson, write_pieces
from .filters import FilterError, IncidentFilter
from .load import combine, load_incidents, load_incidents_bytes
from .model import Dataset, SourceFile, expand_nested
from .stats import summarize
from .vocab import CATEGORIES, STANCES, STATUSES


def schema_path() -> Path:
    """The JSON Schema of the incident format, shipped inside the package."""
    return Path(str(files("incidents") / "schema" / "incidents.schema.json"))


__all__ = [
    "CATEGORIES",
    "STANCES",
    "STATUSES",
    "Dataset",
    "DateError",
    "FilterError",
    "IncidentDataError",
    "IncidentFilter",
    "PartialDate",
    "Problem",
    "SourceFile",
    "__version__",
    "combine",
    "csv_bytes",
    "csv_pieces",
    "expand_nested",
    "geojson_pieces",
    "load_incidents",
    "load_incidents_bytes",
    "parse_date",
    "schema_path",
    "summarize",
    "to_csv",
    "to_geojson",
    "write_pieces",
]
