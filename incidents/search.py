"""Substring search over a text column, one chunk of Arrow text at a time.

A chunk's text lies in one buffer, each row's between two offsets. Python's ``re`` finds a literal in that buffer
(read in place, through a ``memoryview``) several times faster than Arrow's ``match_substring`` tests each row
apart: at a million incidents (some 470 MB of search text) a word found nowhere took 0.12–0.15 s, against
0.34–0.35 s for Arrow on two threads (docs/benchmarks.md). Each occurrence is placed in its row by the offsets, the
search going on from the next row's start: an occurrence that runs over the end of its row is no match, and any
occurrence it overlaps that would be one starts in the next row. UTF-8 makes the bytes' test the text's: no
character's encoding starts inside another's.

Each row found costs a Python step, so once the term has been found in more than one row in :data:`_DENSE_EVERY`
of a chunk, Arrow searches the chunk's remaining rows: it runs outside Python's lock, on worker threads, while
``re`` goes on with the next chunk here.
"""

from __future__ import annotations

import os
import re
from bisect import bisect_right
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .model import arrow_text

_DENSE_EVERY: Final = 4  # rows per row found, at least, for re to go on with a chunk
_DENSE_AFTER: Final = 64  # rows found before a chunk can be called dense
_THREADED_BYTES: Final = 16 * 1024 * 1024  # below this, Arrow searches here too
_MAX_THREADS: Final = 4


def contains_all(column: pd.Series, terms: list[str]) -> np.ndarray:
    """Which rows of a text column contain every one of ``terms`` (case as given; missing text contains nothing)."""
    found = np.ones(len(column), dtype=bool)
    if not terms or not len(column):
        return found
    text = arrow_text(column)
    for term in terms:
        found &= contains(text, term)
    return found


def contains(text: pa.ChunkedArray, term: str) -> np.ndarray:
    """Which rows of ``text`` contain ``term``."""
    if not term:
        return _valid(text)
    needle = _Needle(term)
    threads = min(_MAX_THREADS, os.cpu_count() or 1)
    threaded = threads >= 2 and text.nbytes >= _THREADED_BYTES
    with ThreadPoolExecutor(threads, thread_name_prefix="incidents-search") if threaded else nullcontext() as pool:
        parts: list[tuple[np.ndarray, int, np.ndarray | Future[np.ndarray] | None]] = []
        for chunk in text.chunks:
            found, rest = needle.rows_in(chunk)
            later: np.ndarray | Future[np.ndarray] | None = None
            if rest < len(chunk):
                left = chunk.slice(rest)
                later = pool.submit(needle.arrow_rows_in, left) if pool is not None else needle.arrow_rows_in(left)
            parts.append((found, rest, later))
        for found, rest, later in parts:
            if later is not None:
                found[rest:] = later.result() if isinstance(later, Future) else later
    return np.concatenate([found for found, _, _ in parts]) if parts else np.zeros(0, dtype=bool)


class _Needle:
    """A term searched for: as text (for Arrow), as UTF-8 and as a pattern finding it."""

    __slots__ = ("encoded", "pattern", "term")

    def __init__(self, term: str) -> None:
        self.term = term
        self.encoded = term.encode()
        self.pattern = re.compile(re.escape(self.encoded))

    def rows_in(self, chunk: pa.Array) -> tuple[np.ndarray, int]:
        """Which rows of ``chunk`` hold the term, found with ``re`` in its buffer, and from which row on that is
        yet to be found (the chunk's length when re searched it all)."""
        count = len(chunk)
        found = np.zeros(count, dtype=bool)
        if pa.types.is_large_string(chunk.type):
            offset_type: type[np.signedinteger] = np.int64
        elif pa.types.is_string(chunk.type):
            offset_type = np.int32
        else:
            return found, 0
        _, offset_buffer, data = chunk.buffers()
        if not count or data is None or offset_buffer is None:
            return found, count
        offsets = np.frombuffer(offset_buffer, dtype=offset_type)[chunk.offset:chunk.offset + count + 1]
        text, length, search = memoryview(data), len(self.encoded), self.pattern.search
        at, end = int(offsets[0]), int(offsets[-1])
        starts: list[int] | None = None  # the offsets as a list, from the first occurrence on
        rows = 0
        while (match := search(text, at, end)) is not None:
            if starts is None:
                starts = offsets.tolist()
            row = bisect_right(starts, match.start()) - 1
            at = starts[row + 1]  # on from the next row
            if match.start() + length <= at:
                found[row] = True
                rows += 1
                if rows > _DENSE_AFTER and rows * _DENSE_EVERY > row + 1:
                    return self._valid_only(found, chunk), row + 1
        return self._valid_only(found, chunk), count

    def arrow_rows_in(self, chunk: pa.Array) -> np.ndarray:
        matched = pc.fill_null(pc.match_substring(chunk, pattern=self.term), False)
        return np.asarray(matched.to_numpy(zero_copy_only=False), dtype=bool)

    @staticmethod
    def _valid_only(found: np.ndarray, chunk: pa.Array) -> np.ndarray:
        if chunk.null_count:  # a missing row's offsets may still span text
            found &= _valid(chunk)
        return found


def _valid(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
