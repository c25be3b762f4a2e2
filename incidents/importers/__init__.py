"""Importers: ACLED exports, spreadsheets (CSV) and other GeoJSON → the incident format.

For an uploaded file::

    result = import_table(data, name="upload.csv")            # kind detected; or kind="acled"/"csv"/"geojson"
    result.collection                                          # a FeatureCollection that loads without errors
    result.report.summary()                                    # "imported 98 rows, skipped 2, 3 warnings"
    dataset = load_incidents_bytes(result.to_bytes(), name="upload.csv")
"""

from __future__ import annotations

from .acled import CATEGORY_TABLE, GEO_PRECISIONS, TIME_PRECISIONS
from .api import import_table
from .detect import detect_kind
from .mapping import FieldMapping, MappingError, load_mapping, mapping_from_dict, mapping_from_options
from .reading import rows_read
from .report import ImportFailed, ImportReport, ImportResult, Kind, RowNote

__all__ = [
    "CATEGORY_TABLE",
    "GEO_PRECISIONS",
    "TIME_PRECISIONS",
    "FieldMapping",
    "ImportFailed",
    "ImportReport",
    "ImportResult",
    "Kind",
    "MappingError",
    "RowNote",
    "detect_kind",
    "import_table",
    "load_mapping",
    "mapping_from_dict",
    "mapping_from_options",
    "rows_read",
]
