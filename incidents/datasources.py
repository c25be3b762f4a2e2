"""Which incidents the dashboard opens: the bundled data, the files and folders named by ``INCIDENTS_PATH``, and
files added in the browser for one session (read from their bytes, never from a path or URL). No Streamlit here.

Upload readers are looked up by file suffix in :data:`UPLOAD_READERS`; an importer adds its own there (a reader
takes the file's bytes and name and returns a :class:`~incidents.model.Dataset` or raises
:class:`~incidents.errors.IncidentDataError`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .errors import IncidentDataError, Problem
from .load import combine, expand_paths, load_incidents_bytes
from .model import Dataset

ENV_VAR: Final = "INCIDENTS_PATH"
BUNDLED: Final = Path(__file__).resolve().parent.parent / "geodata" / "incidents"

UploadReader = Callable[[bytes, str], Dataset]


def _read_geojson(data: bytes, name: str) -> Dataset:
    return load_incidents_bytes(data, name=name)


#: File suffix (lower case, with the dot) -> the reader for uploads of that kind.
UPLOAD_READERS: Final[Mapping[str, UploadReader]] = {".geojson": _read_geojson, ".json": _read_geojson}


def data_paths(environ: Mapping[str, str] | None = None, *, default: Path = BUNDLED) -> tuple[str, ...]:
    """The files and folders to open: ``INCIDENTS_PATH`` (separated by ``os.pathsep``) or the bundled data."""
    raw = (os.environ if environ is None else environ).get(ENV_VAR, "")
    paths = tuple(part for part in raw.split(os.pathsep) if part.strip())
    return paths or (str(default),)


def data_stamp(paths: Sequence[str]) -> tuple[tuple[str, int, int], ...]:
    """Every data file under ``paths`` with its modification time and size: a cache key that changes when a
    file is edited, added or removed."""
    stamps: list[tuple[str, int, int]] = []
    for path in expand_paths(list(paths), []):
        try:
            status = path.stat()
        except OSError:
            continue
        stamps.append((str(path), status.st_mtime_ns, status.st_size))
    return tuple(stamps)


@dataclass(frozen=True, slots=True)
class Upload:
    """A file added in the browser: its dataset when it could be read, and what was found wrong with it
    (errors when ``dataset`` is None, otherwise warnings)."""

    name: str
    dataset: Dataset | None
    problems: tuple[Problem, ...]


def upload_suffixes(readers: Mapping[str, UploadReader] = UPLOAD_READERS) -> list[str]:
    """The accepted suffixes without their dot (for a file picker)."""
    return sorted(suffix.lstrip(".") for suffix in readers)


def read_upload(name: str, data: bytes, *, readers: Mapping[str, UploadReader] = UPLOAD_READERS) -> Upload:
    """Read an uploaded file from its bytes with the reader for its suffix, validated like any other load."""
    suffix = Path(name).suffix.lower()
    reader = readers.get(suffix)
    if reader is None:
        accepted = ", ".join(f".{s}" for s in upload_suffixes(readers))
        return Upload(name, None, (Problem(name, f"is not a file the dashboard can read; add a {accepted} file"),))
    try:
        dataset = reader(data, name)
    except IncidentDataError as error:
        return Upload(name, None, error.problems)
    return Upload(name, dataset, dataset.warnings)


def with_upload(base: Dataset, upload: Upload | None) -> tuple[Dataset, tuple[Problem, ...]]:
    """``base`` with the uploaded incidents added, and the upload's problems. An upload that cannot be read, or
    that reuses an incident id of ``base``, is not added: ``base`` comes back with the problems that say why."""
    if upload is None:
        return base, ()
    if upload.dataset is None:
        return base, upload.problems
    try:
        return combine([base, upload.dataset]), upload.problems
    except IncidentDataError as error:
        return base, error.problems
