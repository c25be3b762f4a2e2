"""A cache of checked datasets, keyed by the content of the file they were read from.

The first load of a file parses and checks every feature; the result is written under the cache folder as an
uncompressed Arrow file (:func:`incidents.store.write_arrow`), named by the file's SHA-256 and this code's
version, so a later load of the same bytes maps it into memory instead of checking again, and any change to the
file or to the checking code misses the cache. Hashing a large file costs time too, so a small index remembers
the digest of a file by its identity (path, size, modification time, inode): a file that is rewritten, even with
the same size, gets a new modification time and is hashed again. The folder is private to the user
(mode 0700): its files are trusted the way a program trusts its own output.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Final

from . import __version__
from .model import Dataset, give_back_freed_memory

CACHE_ENV: Final = "INCIDENTS_CACHE_DIR"
BACKGROUND_ROWS: Final = 50_000  # datasets this large are written to the cache by a thread
_WRITING: set[threading.Thread] = set()
_WRITING_LOCK: Final = threading.Lock()
# The modules whose behaviour decides what a cached dataset holds.
_CODE: Final = ("validate.py", "quickcheck.py", "bulk.py", "blocks.py", "streaming.py", "model.py", "dates.py",
                 "reader.py", "geocheck.py", "store.py", "vocab.py", "safety.py", "load.py")


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
    return cache_dir() / f"{content_sha256}-{code_version()}.arrow"


def lookup(content_sha256: str) -> Dataset | None:
    """The cached dataset for a file with this content, or ``None``."""
    from .store import read_arrow

    path = entry_path(content_sha256)
    if not path.is_file():
        return None
    try:
        return read_arrow(path)
    except Exception:  # a damaged or partial entry is a miss, and is replaced
        path.unlink(missing_ok=True)
        return None


def store(content_sha256: str, dataset: Dataset) -> None:
    """Write the entry atomically; a cache that cannot be written only costs speed.

    The table is laid out now; a dataset of :data:`BACKGROUND_ROWS` incidents or more is then written to disk by a
    thread, so the load returns without waiting for the disk (some 2 GB and 4–6 s for a million incidents here).
    The process waits for the thread before it exits; :func:`wait_for_writes` waits for it sooner.
    """
    from .store import arrow_table, write_arrow_table

    background = len(dataset) >= BACKGROUND_ROWS
    if background:
        # the parser's leftovers handed back: the entry's layout comes on top of the dataset only (a first load of
        # a million incidents peaked at 2.80–2.85 GiB without)
        give_back_freed_memory()
    table = arrow_table(dataset)
    target, root = entry_path(content_sha256), cache_dir()

    def write_entry() -> None:
        _write_atomically(target, lambda temporary: write_arrow_table(table, temporary), root=root)

    if not background:
        write_entry()
        return

    def write() -> None:
        try:
            write_entry()
        except Exception:  # a cache that cannot be written only costs speed, and never shows a traceback
            pass
        finally:
            with _WRITING_LOCK:
                _WRITING.discard(thread)

    thread = threading.Thread(target=write, name=f"incidents-cache-{content_sha256[:12]}")
    with _WRITING_LOCK:  # started under the lock: wait_for_writes never meets a thread not started yet
        try:
            thread.start()
        except RuntimeError:  # no thread to be had: the entry is not written (it only costs speed)
            return
        _WRITING.add(thread)


def wait_for_writes() -> None:
    """Return once every cache entry being written in the background is on disk (or given up)."""
    with _WRITING_LOCK:
        writing = list(_WRITING)
    for thread in writing:
        thread.join()


def file_digest(path: Path, compute: Callable[[], str]) -> str:
    """The SHA-256 of ``path``'s content: remembered by the file's identity, else ``compute()``d and remembered."""
    try:
        status = path.stat()
    except OSError:
        return compute()
    identity = f"{path.resolve()}\0{status.st_size}\0{status.st_mtime_ns}\0{status.st_ino}\0{status.st_dev}"
    index = cache_dir() / "by-identity" / hashlib.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest()
    try:
        known = index.read_text(encoding="ascii").strip()
        if len(known) == 64 and all(c in "0123456789abcdef" for c in known):
            return known
    except (OSError, UnicodeDecodeError):
        pass
    digest = compute()

    def write(temporary: str) -> None:
        Path(temporary).write_text(digest, encoding="ascii")

    _write_atomically(index, write, root=cache_dir())
    return digest


def _write_atomically(target: Path, write: Callable[[str], None], *, root: Path) -> None:
    """Write ``target`` (under the cache folder ``root``) through a temporary file renamed over it."""
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        target.parent.mkdir(exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".partial")
        os.close(handle)
        try:
            write(temporary)
            os.replace(temporary, target)
        finally:
            Path(temporary).unlink(missing_ok=True)
    except OSError:
        return
