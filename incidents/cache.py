"""A cache of checked datasets, keyed by the content of the file they were read from.

The first load of a GeoJSON file parses and checks every feature; the result is written as GeoParquet under
the cache folder, named by the file's SHA-256 and this code's version, so a later load of the same bytes reads
the fast format, and any change to the file or to the checking code misses the cache. The folder is private to
the user (mode 0700): its files are trusted the way a program trusts its own output.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Final

from . import __version__
from .model import Dataset

CACHE_ENV: Final = "INCIDENTS_CACHE_DIR"
# The modules whose behaviour decides what a cached dataset holds.
_CODE: Final = ("validate.py", "model.py", "dates.py", "reader.py", "geocheck.py", "store.py", "vocab.py")


def cache_dir() -> Path:
    """``$INCIDENTS_CACHE_DIR``, else ``$XDG_CACHE_HOME/incidents``, else ``~/.cache/incidents``."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "incidents"


@cache
def code_version() -> str:
    """A digest of the package version and the checking code: a new release or a local change misses."""
    digest = hashlib.sha256(__version__.encode())
    here = Path(__file__).resolve().parent
    for name in _CODE:
        path = here / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def entry_path(content_sha256: str) -> Path:
    return cache_dir() / f"{content_sha256}-{code_version()}.parquet"


def lookup(content_sha256: str) -> Dataset | None:
    """The cached dataset for a file with this content, or ``None``."""
    from .store import read_geoparquet

    path = entry_path(content_sha256)
    if not path.is_file():
        return None
    try:
        return read_geoparquet(path)
    except Exception:  # a damaged or partial entry is a miss, and is replaced
        path.unlink(missing_ok=True)
        return None


def store(content_sha256: str, dataset: Dataset) -> None:
    """Write the entry atomically; a cache that cannot be written only costs speed."""
    from .store import write_geoparquet

    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=folder, suffix=".partial")
        os.close(handle)
        try:
            write_geoparquet(dataset, temporary)
            os.replace(temporary, entry_path(content_sha256))
        finally:
            Path(temporary).unlink(missing_ok=True)
    except OSError:
        return
