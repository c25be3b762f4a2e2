"""The dashboard's downloads: exactly the filtered incidents, made by the same functions as ``incidents export``
(:func:`~incidents.export.geojson_pieces`, :func:`~incidents.export.csv_pieces`), named after the filter.
No Streamlit."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Final, Literal

from .export import CSV_BOM, csv_pieces, geojson_pieces, write_pieces
from .filters import IncidentFilter
from .model import Dataset

Format = Literal["geojson", "csv"]


@dataclass(frozen=True, slots=True)
class Kind:
    label: str
    suffix: str
    mime: str


KINDS: Final[dict[Format, Kind]] = {
    "geojson": Kind("GeoJSON", ".geojson", "application/geo+json"),
    "csv": Kind("CSV", ".csv", "text/csv"),
}


def file_name(flt: IncidentFilter, fmt: Format) -> str:
    """``incidents-verified-chemical_attack-2017-04-04_to_2017-04-13.geojson``."""
    return flt.slug() + KINDS[fmt].suffix


def download_bytes(dataset: Dataset, flt: IncidentFilter, fmt: Format) -> bytes:
    """The file ``incidents export --format FMT`` writes for the same data and filter."""
    buffer = io.BytesIO()  # written a piece at a time: a million incidents' export is held once, not three times
    if fmt == "csv":
        write_pieces(buffer, csv_pieces(dataset, flt), bom=CSV_BOM)
    else:
        write_pieces(buffer, geojson_pieces(dataset, flt))
    return buffer.getvalue()


def download_label(fmt: Format, count: int) -> str:
    """``Download GeoJSON (4 incidents)``."""
    return f"Download {KINDS[fmt].label} ({count} incident{'' if count == 1 else 's'})"
