"""Which incidents the dashboard opens: the bundled data, the files and folders named by ``INCIDENTS_PATH``, and
files added in the browser for one session (read from their bytes, never from a path or URL). No Streamlit here.

Upload readers are looked up by file suffix in :data:`UPLOAD_READERS` (a reader takes the file's bytes, its name,
the :class:`~incidents.uploads.UploadOptions` and a progress callback, and returns an
:class:`~incidents.uploads.Upload`, never raising for a bad file). Every accepted suffix is read by
:func:`incidents.uploads.read_file`: GeoJSON in the incident format as it is; ACLED exports, spreadsheets and other
GeoJSON through the importers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Final

from .errors import IncidentDataError, Problem
from .load import Progress, combine, expand_paths
from .model import NESTED_FIELDS, Dataset, expand_nested
from .uploads import UPLOAD_SUFFIXES, Upload, UploadOptions, read_file

ENV_VAR: Final = "INCIDENTS_PATH"
BUNDLED: Final = Path(__file__).resolve().parent.parent / "geodata" / "incidents"

UploadReader = Callable[[bytes, str, UploadOptions | None, Progress | None], Upload]

#: File suffix (lower case, with the dot) -> the reader for uploads of that kind.
UPLOAD_READERS: Final[Mapping[str, UploadReader]] = dict.fromkeys(UPLOAD_SUFFIXES, read_file)


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


def upload_suffixes(readers: Mapping[str, UploadReader] = UPLOAD_READERS) -> list[str]:
    """The accepted suffixes without their dot (for a file picker)."""
    return sorted(suffix.lstrip(".") for suffix in readers)


def read_upload(name: str, data: bytes, *, options: UploadOptions | None = None, progress: Progress | None = None,
                readers: Mapping[str, UploadReader] = UPLOAD_READERS) -> Upload:
    """Read an uploaded file from its bytes with the reader for its suffix (``options``: its kind and the
    defaults for imported rows), validated like any other load; ``progress`` is told how far it has come."""
    suffix = Path(name).suffix.lower()
    reader = readers.get(suffix)
    if reader is None:
        accepted = ", ".join(f".{s}" for s in upload_suffixes(readers))
        return Upload(name, None, (Problem(name, f"is not a file the dashboard can read; add a {accepted} file"),))
    return reader(data, name, options, progress)


def with_upload(base: Dataset, upload: Upload | None) -> tuple[Dataset, tuple[Problem, ...]]:
    """``base`` with the uploaded incidents added, and the upload's problems. The upload's ``related`` links may
    point at incidents of ``base``. An upload that cannot be read, that reuses an incident id of ``base`` or that
    links to an id found in neither, is not added: ``base`` comes back with the problems that say why.

    The uploaded incidents take the shape of ``base``: the nested fields as columns when ``base`` has them."""
    if upload is None:
        return base, ()
    if upload.dataset is None:
        return base, upload.problems
    added = upload.dataset
    has_nested = [all(name in d.frame.columns for name in NESTED_FIELDS) for d in (base, added)]
    if has_nested[0] and not has_nested[1]:
        added = replace(added, frame=expand_nested(added.frame))
    elif has_nested[1] and not has_nested[0]:
        added = replace(added, frame=added.frame.drop(columns=list(NESTED_FIELDS)))
    try:
        return combine([base, added]), upload.problems
    except IncidentDataError as error:
        return base, error.problems
