"""Files added in the dashboard for one session, read from their bytes (never from a path or URL): a GeoJSON file in
the incident format as it is, ACLED exports, spreadsheets (CSV) and other GeoJSON through
:func:`incidents.importers.import_table`, with a preview of what the import did (the kind it was read as, the
column → field mapping, the rows skipped and warned about, each with its line).

The file is hostile input: every text from it that these functions put into Markdown is escaped with
:func:`incidents.safety.escape_markdown`; the mapping is a frame for a table widget, which never interprets text.
No Streamlit here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import pandas as pd

from .errors import IncidentDataError, Problem
from .importers import ImportFailed, ImportReport, RowNote, detect_kind, import_table, rows_read
from .load import Progress, load_incident_features, load_incidents_bytes
from .model import Dataset
from .reader import parse_json_bytes
from .safety import escape_markdown
from .vocab import CATEGORIES, STATUSES

ReadAs = Literal["incidents", "acled", "csv", "geojson"]
UploadKind = Literal["detect", "incidents", "acled", "csv", "geojson"]

#: The kinds a user can choose for an upload, with their labels ("detect": from the file's name and content).
KIND_LABELS: Final[dict[UploadKind, str]] = {
    "detect": "Detect from the file",
    "incidents": "Incident GeoJSON",
    "acled": "ACLED export",
    "csv": "CSV spreadsheet",
    "geojson": "Other GeoJSON",
}
#: Suffixes (lower case, with the dot) of the files the dashboard accepts.
UPLOAD_SUFFIXES: Final = (".geojson", ".json", ".csv", ".tsv", ".txt")
#: Skipped rows and warnings listed in a preview; the rest are counted.
NOTES_LISTED: Final = 20
# A GeoJSON file is taken to be in the incident format when most of its features' properties hold at least this
# many of the five required fields of the format (so that its problems are reported as such, not imported away).
_REQUIRED: Final = frozenset({"title", "category", "start", "status", "sources"})
_OURS_AT_LEAST: Final = 4
_DETECTED: Final[dict[ReadAs, str]] = {
    "incidents": "detected: a GeoJSON file in the incident format",
    "acled": "detected from its columns",
    "csv": "detected: a table that is not an ACLED export",
    "geojson": "detected: a GeoJSON file not in the incident format",
}


@dataclass(frozen=True, slots=True)
class UploadOptions:
    """How to read an upload. ``kind`` ``"detect"`` decides from the file's name and content. The defaults apply
    to imported rows that have no value of their own: ``default_status`` (an ACLED export's is ``claimed``),
    ``default_source`` (a source title) and ``default_category`` (spreadsheets and other GeoJSON only: ACLED's
    categories come from its sub-event types). A file in the incident format ignores them."""

    kind: UploadKind = "detect"
    default_status: str | None = None
    default_source: str | None = None
    default_category: str | None = None


@dataclass(frozen=True, slots=True)
class ImportPreview:
    """What an import did, for the user to check: ``summary`` ("imported 98 rows, skipped 2, 3 warnings"),
    ``mapping`` (incident field, where its value comes from), the file's ``columns`` (or properties) and those no
    field used, and the rows skipped and warned about."""

    summary: str
    unit: Literal["row", "feature"]
    mapping: tuple[tuple[str, str], ...]
    columns: tuple[str, ...]
    unused: tuple[str, ...]
    skipped: tuple[RowNote, ...]
    warnings: tuple[RowNote, ...]


@dataclass(frozen=True, slots=True)
class Upload:
    """A file added in the browser: its dataset when it could be read, and what was found wrong with it
    (errors when ``dataset`` is None, otherwise warnings). ``read_as`` is the kind it was read as (None when
    that could not be told), ``detected`` whether that kind was detected rather than chosen, and ``preview`` what
    the importer did (None for a file in the incident format, or when the import failed as a whole)."""

    name: str
    dataset: Dataset | None
    problems: tuple[Problem, ...]
    read_as: ReadAs | None = None
    detected: bool = False
    preview: ImportPreview | None = None


def read_file(data: bytes, name: str, options: UploadOptions | None = None, progress: Progress | None = None
              ) -> Upload:
    """Read an uploaded file's bytes as ``options`` say (default: detect its kind). Never raises for a bad file:
    an upload that cannot be read as a whole comes back without a dataset and with the problems that say why.

    Detected, a GeoJSON file is loaded as it is when it is in the incident format (its problems are listed, as for
    any file), and imported as other GeoJSON when it is not (:func:`looks_like_incidents`); a table is an ACLED
    export when its header has ACLED's columns, a spreadsheet otherwise. The dataset's ``related`` links are not
    checked here: they may point at incidents already open, and :func:`incidents.datasources.with_upload` checks
    them against everything. The frame holds no nested fields as columns (they are in ``properties_json``;
    :func:`incidents.model.expand_nested` adds them), as the dashboard loads its data. ``progress`` is told, in
    words, how far an import has come."""
    options = options or UploadOptions()
    if options.kind != "detect":
        return _read_as(data, name=name, kind=options.kind, options=options, detected=False, progress=progress)
    try:
        kind = detect_kind(data, name)
    except ImportFailed as error:
        return Upload(name, None, (Problem(name, error.message),), detected=True)
    if kind == "geojson":
        upload = _read_as(data, name=name, kind="incidents", options=options, detected=True, progress=progress)
        if upload.dataset is not None or not _foreign(data, name=name):
            return upload
    return _read_as(data, name=name, kind=kind, options=options, detected=True, progress=progress)


def looks_like_incidents(document: Any) -> bool:
    """Whether a parsed GeoJSON document is meant to be in the incident format: most of its features'
    properties hold at least four of the format's five required fields (a collection without features counts)."""
    features = [document] if isinstance(document, dict) and document.get("type") == "Feature" else (
        document.get("features") if isinstance(document, dict) else None)
    if not isinstance(features, list):
        return True  # not a collection at all: the loader says what is wrong with it
    keys = [set(f["properties"]) for f in features if isinstance(f, dict) and isinstance(f.get("properties"), dict)]
    ours = sum(len(k & _REQUIRED) >= _OURS_AT_LEAST for k in keys)
    return not keys or 2 * ours >= len(keys)


def read_as_markdown(upload: Upload) -> str | None:
    """``Read as **ACLED export** (detected from its columns)``; None when the kind could not be told."""
    if upload.read_as is None:
        return None
    how = _DETECTED[upload.read_as] if upload.detected else "chosen under Import options"
    return f"Read as **{KIND_LABELS[upload.read_as]}** ({how})"


def summary_markdown(upload: Upload) -> str | None:
    """``upload.csv: imported 98 rows, skipped 2, 3 warnings`` (the name escaped); None without a preview."""
    if upload.preview is None:
        return None
    return f"{escape_markdown(upload.name)}: {escape_markdown(upload.preview.summary)}"


def notes_markdown(notes: Sequence[RowNote], *, limit: int = NOTES_LISTED) -> str:
    """Skipped rows or warnings as a Markdown list (``line 5: …``, each escaped: messages repeat cells of the
    file), at most ``limit`` of them, then a line saying how many more there are."""
    lines = [f"- {escape_markdown(note)}" for note in notes[:limit]]
    if len(notes) > limit:
        lines.append(f"- … and {len(notes) - limit} more")
    return "\n".join(lines)


def counted(count: int, noun: str) -> str:
    """``1 row``, ``2 rows``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def unused_markdown(preview: ImportPreview) -> str | None:
    """The file's columns that fed no field (escaped), or None."""
    if not preview.unused:
        return None
    return f"Not used (kept in each incident's provenance): {escape_markdown(', '.join(preview.unused))}"


def mapping_frame(preview: ImportPreview) -> pd.DataFrame:
    """The mapping as a two-column table (for a table widget: its cells are never interpreted)."""
    return pd.DataFrame(list(preview.mapping), columns=["Incident field", "From the file"], dtype="string")


def failure_hint(upload: Upload) -> str | None:
    """For an upload that was not added, what the dashboard offers to fix it (Markdown, our text only)."""
    if upload.dataset is not None:
        return None
    if upload.read_as in ("csv", "geojson"):
        return ("The dashboard finds columns by their names (see docs/import.md). Set a default status, source or "
                "category under *Import options*; for other column names rename them, or convert the file with "
                "`incidents import csv FILE --map MAPPING` and add the result.")
    if upload.read_as == "acled":
        return ("If this is not an ACLED export, choose *Detect from the file* or *CSV spreadsheet* under *Import "
                "options*.")
    if upload.read_as == "incidents":
        return ("If this GeoJSON file is not in the incident format, choose *Other GeoJSON* under *Import "
                "options* to import it.")
    return None


def _foreign(data: bytes, *, name: str) -> bool:
    """Whether JSON that did not load as incidents is GeoJSON from another tool (to be imported)."""
    try:
        document = parse_json_bytes(data, name=name)
    except IncidentDataError:
        return False  # not JSON: the loader's message says so
    return not looks_like_incidents(document)


def _read_as(data: bytes, *, name: str, kind: ReadAs, options: UploadOptions, detected: bool,
             progress: Progress | None) -> Upload:
    if kind == "incidents":
        try:
            dataset = load_incidents_bytes(data, name=name, nested=False, links=False, progress=progress)
        except IncidentDataError as error:
            return Upload(name, None, error.problems, kind, detected)
        return Upload(name, dataset, dataset.warnings, kind, detected)
    acled = kind == "acled"
    status = options.default_status or None
    source = (options.default_source or "").strip() or None
    category = None if acled else options.default_category or None
    try:
        result = import_table(data, name=name, kind=kind, default_status=status, default_source=source,
                              default_category=category, progress=rows_read(name, progress))
    except ImportFailed as error:
        return Upload(name, None, (Problem(name, error.message),), kind, detected)
    defaults = [("status", STATUSES[status].label if status in STATUSES else status, "Import options"),
                ("source", source, "Import options"),
                ("category", CATEGORIES[category].label if category in CATEGORIES else category, "Import options")]
    if acled and status is None:
        defaults[0] = ("status", STATUSES["claimed"].label, "every ACLED event")
    preview = _preview(result.report, defaults)
    if not result.features:
        problem = Problem(name, f"nothing could be imported ({result.report.summary()}): see the rows listed")
        return Upload(name, None, (problem,), kind, detected, preview)
    try:
        dataset = load_incident_features(result.features, name=name, sha256=hashlib.sha256(data).hexdigest(),
                                         size=len(data), nested=False, links=False)
    except IncidentDataError as error:
        return Upload(name, None, error.problems, kind, detected, preview)
    return Upload(name, dataset, dataset.warnings, kind, detected, preview)


def _preview(report: ImportReport, defaults: Sequence[tuple[str, str | None, str]]) -> ImportPreview:
    """The report as a preview; ``defaults`` are (field, value or None, where it comes from)."""
    mapping = list(report.mapping.items())
    for field, value, origin in defaults:
        if value is not None:
            where_empty = "where empty: " if field in report.mapping else ""
            mapping.append((field, f"{where_empty}{value} ({origin})"))
    used = set(report.mapping.values())
    unused = () if report.kind == "acled" else tuple(c for c in report.columns if c not in used)
    return ImportPreview(summary=report.summary(), unit="row" if report.unit == "line" else "feature",
                         mapping=tuple(mapping), columns=report.columns, unused=unused,
                         skipped=tuple(report.skipped), warnings=tuple(report.warnings))
