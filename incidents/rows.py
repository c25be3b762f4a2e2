"""Taking rows out of a dataset's frame without copying whole text columns.

The frame's text columns are Arrow arrays in many chunks (one per block read, or per batch of the cache file), and
pyarrow's ``take`` on a chunked text column first joins every chunk into one copy: for a million incidents' records
that is 1.1 GB and some 0.2 s (3 s when the cache file's pages are first touched) for every take, however few rows
it keeps. Taking from each chunk the rows that fall in it copies only the kept rows.

Arrow's ``take`` runs outside Python's lock, so a large take reads the text columns on worker threads while this
one takes the other columns. At a million incidents the map's columns of a tenth of them came in 46 ms instead of
58, of nine tenths in 103 ms instead of 174 (docs/benchmarks.md).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Final, TypeVar, cast

import numpy as np
import pandas as pd
import pyarrow as pa

from .model import arrow_text, is_arrow_text

Frame = TypeVar("Frame", bound=pd.DataFrame)

THREADED_ROWS: Final = 20_000  # rows taken, at least, for the text columns to be taken on worker threads
_MAX_THREADS: Final = 4


def take_rows(frame: Frame, positions: np.ndarray) -> Frame:
    """``frame.iloc[positions]`` (same index, columns and types), for positions in increasing order."""
    chunked = {name: chunks for name in frame.columns if (chunks := _chunked_text(frame[name])) is not None}
    if not chunked or not _increasing(positions):
        return cast(Frame, frame.iloc[positions])
    _check_in_range(positions, len(frame))
    pieces = _Pieces(positions)
    threads = min(_MAX_THREADS, os.cpu_count() or 1, len(chunked))
    if threads < 2 or len(positions) < THREADED_ROWS:
        taken = frame.drop(columns=list(chunked)).iloc[positions]
        texts = {name: pieces.take(chunks) for name, chunks in chunked.items()}
    else:
        with ThreadPoolExecutor(threads, thread_name_prefix="incidents-take") as pool:
            futures = {name: pool.submit(pieces.take, chunks) for name, chunks in chunked.items()}
            taken = frame.drop(columns=list(chunked)).iloc[positions]  # meanwhile, here
            texts = {name: future.result() for name, future in futures.items()}
    for name, values in texts.items():
        taken[name] = pd.array(values, dtype=frame[name].dtype)
    return cast(Frame, taken[list(frame.columns)])


def take_series(series: pd.Series, positions: np.ndarray) -> pd.Series:
    """``series.iloc[positions]``, for positions in increasing order."""
    chunks = _chunked_text(series)
    if chunks is None or not _increasing(positions):
        return series.iloc[positions]
    _check_in_range(positions, len(series))
    values = pd.array(_Pieces(positions).take(chunks), dtype=series.dtype)
    return pd.Series(values, index=series.index[positions], name=series.name)


def _chunked_text(series: pd.Series) -> pa.ChunkedArray | None:
    """The Arrow chunks behind a text column held in more than one chunk, else None."""
    if not is_arrow_text(series):
        return None
    chunks = arrow_text(series)
    return chunks if chunks.num_chunks > 1 else None


def _increasing(positions: np.ndarray) -> bool:
    """Positions from 0 up, each above the one before (as ``np.flatnonzero`` gives them)."""
    if positions.ndim != 1 or positions.dtype.kind not in "iu":
        return False
    return len(positions) == 0 or (positions[0] >= 0 and bool((np.diff(positions) > 0).all()))


def _check_in_range(positions: np.ndarray, length: int) -> None:
    if len(positions) and positions[-1] >= length:
        raise IndexError(f"position {positions[-1]} is out of range for {length} rows")


class _Pieces:
    """Increasing ``positions`` cut by the chunks of a column, each piece counted from its chunk's start: made once
    for every column whose chunks have the same lengths (as a frame's columns usually do)."""

    def __init__(self, positions: np.ndarray) -> None:
        self._positions = positions
        self._by_lengths: dict[tuple[int, ...], list[tuple[int, pa.Array]]] = {}

    def take(self, chunks: pa.ChunkedArray) -> pa.ChunkedArray:
        lengths = tuple(len(chunk) for chunk in chunks.chunks)
        pieces = self._by_lengths.get(lengths)
        if pieces is None:  # a race between threads at worst cuts the same pieces twice
            pieces = self._by_lengths[lengths] = self._cut(lengths)
        return pa.chunked_array([chunks.chunk(number).take(indices) for number, indices in pieces], type=chunks.type)

    def _cut(self, lengths: tuple[int, ...]) -> list[tuple[int, pa.Array]]:
        positions = self._positions
        ends = np.cumsum(np.array(lengths, dtype=np.int64))
        starts = ends - np.array(lengths, dtype=np.int64)
        firsts = np.searchsorted(positions, starts)
        lasts = np.searchsorted(positions, ends)
        return [(number, pa.array(positions[first:last] - start))
                for number, (start, first, last) in enumerate(zip(starts, firsts, lasts, strict=True))
                if last > first]
