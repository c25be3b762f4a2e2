"""Load incident files and folders into a :class:`~incidents.model.Dataset`, or fail with every problem.

A file is never handed to a library as a path or URL. A GeoJSON file is read in chunks: a block of lines at a time
when it is written one feature per line (:mod:`incidents.bulk`), else one feature at a time
(:mod:`incidents.streaming`). A block of ordinary incidents written plainly is checked at once, straight into the
frame's columns (:mod:`incidents.blocks`; so is a batch of GeoParquet records); any other feature is checked by
itself (an ordinary one by :mod:`incidents.quickcheck`, which gives what the full check gives). Either way memory
holds the columns and not the whole parsed file. A file that is not plain strict JSON is read whole by
:mod:`incidents.reader` instead, which says exactly what is wrong with it. Files are then checked against each other
(unique ids, ``related`` ids that exist) and joined. With ``cache=True`` a checked file is kept keyed by its
content (:mod:`incidents.cache`), so loading the same bytes again skips parsing and checking.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import cache as content_cache
from .blocks import Block, check_records
from .bulk import quick_row_or_read_whole, read_lines
from .errors import IncidentDataError, Problem
from .geocheck import country_mismatch_warnings
from .helper import AGAIN, Answer, BlockHelper, InOrder, Mark, helper_for
from .model import Dataset, FrameBuilder, PreparedBlock, SourceFile, expand_nested, frame_from_rows
from .quickcheck import quick_row
from .reader import check_size, max_bytes_from_env, parse_json_bytes, read_file_bytes
from .store import PARQUET_SUFFIXES, batch_features, geoparquet_batches
from .streaming import STREAMED, NotStreamable, ReadWhole, file_chunks, memory_chunks, stream_collection
from .validate import FeatureCollector, check_header

DATA_SUFFIXES: Final = (".geojson", ".json", *PARQUET_SUFFIXES)
_REMOTE: Final = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://|/vsi[a-z0-9_]+/)")
_HASH_CHUNK: Final = 8 * 1024 * 1024
_PROGRESS_EVERY: Final = 100_000
_pause_lock = threading.Lock()
_paused = 0
_collector_was_on = [True]

PathLike = str | os.PathLike[str]
Progress = Callable[[str], None]


def load_incidents(
    paths: PathLike | Sequence[PathLike],
    *,
    max_bytes: int | None = None,
    nested: bool = True,
    cache: bool = False,
    progress: Progress | None = None,
) -> Dataset:
    """Load incident files (GeoJSON or incident GeoParquet), or every such file under the folders given.

    Raises :class:`IncidentDataError` listing every problem in every file; warnings come back in
    ``Dataset.warnings``. ``max_bytes`` caps each file's size (default: ``INCIDENTS_MAX_FILE_MB`` or 1 GiB).
    ``nested=False`` leaves the nested fields out of the frame (they stay in ``properties_json``).
    ``cache=True`` reuses the checked result of a file with the same content (see :mod:`incidents.cache`).
    ``progress`` is told, in words, what is being done.
    """
    limit = max_bytes if max_bytes is not None else max_bytes_from_env()
    problems: list[Problem] = []
    parts: list[Dataset] = []
    with _collector_paused():
        for path in expand_paths(paths, problems):
            name = str(path)
            try:
                part = _load_path(path, name=name, limit=limit, cache=cache, progress=progress)
            except IncidentDataError as error:
                problems.extend(error.problems)
                continue
            problems.extend(part.warnings)
            parts.append(part)
        return _join(parts, problems, nested=nested)


def load_incidents_bytes(
    data: bytes,
    *,
    name: str,
    max_bytes: int | None = None,
    nested: bool = True,
    cache: bool = False,
    links: bool = True,
    progress: Progress | None = None,
) -> Dataset:
    """Load one file's content (an upload, say); ``name`` only labels the messages; ``progress`` as for
    :func:`load_incidents`.

    ``links=False`` leaves ``related`` ids that name no incident of this file unchecked, for a file that links to
    data loaded separately: :func:`combine` checks them against everything combined (and refuses ids found
    nowhere).
    """
    limit = max_bytes if max_bytes is not None else max_bytes_from_env()
    digest = hashlib.sha256(data).hexdigest()
    with _collector_paused():
        try:
            part = _cached(digest, name) if cache else None
            if part is None:
                check_size(len(data), name=name, max_bytes=limit)
                try:
                    part = _check_stream(lambda: memory_chunks(data), name=name, progress=progress, size=len(data))
                except NotStreamable:
                    part = _check_document(parse_json_bytes(data, name=name, max_bytes=limit),
                                           SourceFile(name=name, sha256=digest, size=len(data), features=0))
                if cache:
                    content_cache.store(digest, part)
        except IncidentDataError as error:
            raise IncidentDataError(error.problems) from None
        return _join([part], list(part.warnings), nested=nested, links=links)


def load_incident_features(
    features: Iterable[Any],
    *,
    name: str,
    sha256: str,
    size: int,
    nested: bool = True,
    links: bool = True,
) -> Dataset:
    """Check features already in memory (an importer's output: plain JSON values) as a file's features are checked,
    without writing them out and parsing them again; ``name``, ``sha256`` and ``size`` describe the file they came
    from. ``links`` as for :func:`load_incidents_bytes`."""
    with _collector_paused():
        try:
            part = _check_features(features, [], SourceFile(name=name, sha256=sha256, size=size, features=0))
        except IncidentDataError as error:
            raise IncidentDataError(error.problems) from None
        return _join([part], list(part.warnings), nested=nested, links=links)


def expand_paths(paths: PathLike | Sequence[PathLike], problems: list[Problem]) -> list[Path]:
    """The data files named by ``paths``: files as given, folders searched (sorted, recursively)."""
    given = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    if not given:
        problems.append(Problem("(no path)", "no incident file or folder was given"))
    found: list[Path] = []
    for item in given:
        text = os.fspath(item)
        if _REMOTE.match(text):
            problems.append(Problem(text, "is a URL or remote path: download the file and open the local copy"))
            continue
        path = Path(text)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in DATA_SUFFIXES and p.is_file())
            if not files:
                problems.append(Problem(text, "is a folder with no incident files (.geojson, .json, .parquet)"))
            found.extend(files)
        elif path.exists():
            found.append(path)
        else:
            problems.append(Problem(text, "does not exist"))
    return found


def _load_path(path: Path, *, name: str, limit: int, cache: bool, progress: Progress | None) -> Dataset:
    if cache:
        try:
            check_size(path.stat().st_size, name=name, max_bytes=limit)  # the cap holds for cached files too
        except OSError as error:
            raise IncidentDataError([Problem(name, f"cannot be read: {error.strerror or error}")]) from None
        digest = content_cache.file_digest(path, lambda: _file_digest(path, name=name, limit=limit))
        cached = _cached(digest, name)
        if cached is not None:
            _tell(progress, f"{name}: read from the cache")
            return cached
    _tell(progress, f"{name}: reading")
    part = _read_path(path, name=name, limit=limit, progress=progress)
    if cache:
        _tell(progress, f"{name}: caching")
        content_cache.store(part.files[0].sha256, part)
    return part


def _read_path(path: Path, *, name: str, limit: int, progress: Progress | None) -> Dataset:
    if path.suffix.lower() in PARQUET_SUFFIXES:
        source = SourceFile(name=name, sha256=_file_digest(path, name=name, limit=limit), size=path.stat().st_size,
                            features=0)
        return _check_parquet(path, source)
    streamed = _stream_path(path, name=name, limit=limit, progress=progress)
    if streamed is not None:
        return streamed
    data = read_file_bytes(path, name=name, max_bytes=limit)
    source = SourceFile(name=name, sha256=hashlib.sha256(data).hexdigest(), size=len(data), features=0)
    _tell(progress, f"{name}: parsing {source.size / 1e6:.1f} MB")
    document = parse_json_bytes(data, name=name, max_bytes=limit)
    del data
    _tell(progress, f"{name}: checking")
    return _check_document(document, source)


def _stream_path(path: Path, *, name: str, limit: int, progress: Progress | None) -> Dataset | None:
    """The file read and checked one feature at a time, or None when it must be read whole (see
    :mod:`incidents.streaming`); that read then reports what is wrong with it."""
    try:
        if not path.is_file() or path.stat().st_size > limit:
            return None
        return _check_stream(lambda: file_chunks(path, max_bytes=limit), name=name, progress=progress,
                             size=path.stat().st_size)
    except (NotStreamable, OSError):
        _tell(progress, f"{name}: reading it whole")
        return None


def _check_stream(chunks: Callable[[], Iterable[bytes]], *, name: str, progress: Progress | None,
                  size: int) -> Dataset:
    """Check a file of ``size`` bytes read as ``chunks()``: many lines at a time when it is laid out one feature
    per line (:mod:`incidents.bulk`; a large file with a helper process checking every other block,
    :mod:`incidents.helper`), else one feature at a time (:mod:`incidents.streaming`); raise with every problem,
    or return it as a dataset of its own.

    Raises :class:`NotStreamable` when it is not plain JSON (the whole-file reader then says what is wrong).
    """
    try:
        with helper_for(size) as helper:
            return _check_chunks(chunks(), name=name, progress=progress, by_lines=True, helper=helper)
    except ReadWhole:
        raise
    except NotStreamable:
        return _check_chunks(chunks(), name=name, progress=progress, by_lines=False)


def _check_chunks(chunks: Iterable[bytes], *, name: str, progress: Progress | None, by_lines: bool,
                  helper: BlockHelper | None = None) -> Dataset:
    with _ThreadedDigest() as digest:
        return _check_hashed_chunks(chunks, digest, name=name, progress=progress, by_lines=by_lines, helper=helper)


class _ThreadedDigest:
    """The SHA-256 of the chunks added, computed by a thread while the caller checks them (hashlib lets go of
    Python's lock: about 1.2 s of a million incidents' first load on the other core)."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="incidents-sha256")
        self._pending: deque[Future[None]] = deque()

    def __enter__(self) -> _ThreadedDigest:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def update(self, chunk: bytes) -> None:
        try:
            self._pending.append(self._pool.submit(self._digest.update, chunk))
        except RuntimeError:  # no thread to be had: hashed here, after what is pending
            while self._pending:
                self._pending.popleft().result()
            self._digest.update(chunk)
        while len(self._pending) > 2:  # a few chunks held at most
            self._pending.popleft().result()

    def hexdigest(self) -> str:
        while self._pending:
            self._pending.popleft().result()
        return self._digest.hexdigest()


def _check_hashed_chunks(chunks: Iterable[bytes], digest: _ThreadedDigest, *, name: str, progress: Progress | None,
                         by_lines: bool, helper: BlockHelper | None) -> Dataset:
    size = 0

    def hashed() -> Iterator[bytes]:
        nonlocal size
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            yield chunk

    builder = FrameBuilder()
    collector = FeatureCollector(name, builder.add, quick=quick_row_or_read_whole)
    told = 0

    def checked(count: int) -> None:
        nonlocal told
        if count >= told + _PROGRESS_EVERY:
            told = count - count % _PROGRESS_EVERY
            _tell(progress, f"{name}: {told:,} features checked")

    if by_lines:
        header = read_lines(hashed(), collector, on_block=checked, blocks=builder.add_block, helper=helper)
        if helper is not None:
            helper.close()  # every block answered: its memory handed back before the frame is built
    else:
        def on_feature(feature: Any) -> None:
            collector.check(feature)
            checked(collector.count)

        members = stream_collection(hashed(), on_feature)
        header = {key: [] if value is STREAMED else value for key, value in members.items()}
    problems, features = check_header(header, file=name)
    if features is None:
        raise IncidentDataError(problems)
    source = SourceFile(name=name, sha256=digest.hexdigest(), size=size, features=collector.count)
    return _finish(builder, [*problems, *collector.problems], source)


def _check_document(document: Any, source: SourceFile) -> Dataset:
    """Check one file's document; raise with every problem, or return it as a dataset of its own."""
    problems, features = check_header(document, file=source.name)
    return _check_features(features or (), problems, source)


def _check_features(features: Iterable[Any], problems: list[Problem], source: SourceFile) -> Dataset:
    """Check the features of one file whose header gave ``problems``."""
    builder = FrameBuilder()
    collector = FeatureCollector(source.name, builder.add, quick=quick_row)
    for feature in features:
        collector.check(feature)
    return _finish(builder, [*problems, *collector.problems], replace(source, features=collector.count))


def _check_parquet(path: Path, source: SourceFile) -> Dataset:
    """Check an incident GeoParquet file: a batch of ordinary records at once (a large file's every other batch by
    a helper process), any other one record at a time."""
    with helper_for(source.size) as helper:
        return _check_parquet_batches(path, source, helper)


Batch = tuple[pa.Array, np.ndarray, int]  # a GeoParquet batch's records, shapes, and the number of the first


def _check_parquet_batches(path: Path, source: SourceFile, helper: BlockHelper | None) -> Dataset:
    builder = FrameBuilder()
    collector = FeatureCollector(source.name, builder.add, quick=quick_row)
    problems: list[Problem] = []  # records that are not strict JSON

    def check(batch: Batch) -> Block | None:
        records, shapes, first = batch
        return check_records(records, shapes, file=source.name, first=first)

    def finish(batch: Batch, answer: Answer) -> None:
        wrong = isinstance(answer, PreparedBlock) and answer.count != len(batch[0])  # not this batch's: checked here
        checked = check(batch) if answer is AGAIN or wrong else answer
        if checked is None:
            records, shapes, first = batch
            for feature in batch_features(records, shapes, first, name=source.name, problems=problems):
                collector.check(feature)
            return
        assert not isinstance(checked, Mark)
        collector.count += checked.count
        builder.add_block(checked)

    def hand(batch: Batch, helper: BlockHelper) -> bool:
        records, shapes, first = batch
        return helper.hand_records(records, shapes, file=source.name, first=first)

    batches = InOrder(helper, finish)
    for batch in geoparquet_batches(path, name=source.name):
        batches.add(batch, hand=functools.partial(hand, batch), check=functools.partial(check, batch))
    batches.flush()
    if helper is not None:
        helper.close()  # every batch answered: its memory handed back before the frame is built
    if problems:
        raise IncidentDataError(problems)
    return _finish(builder, collector.problems, replace(source, features=collector.count))


def _finish(builder: FrameBuilder, problems: list[Problem], source: SourceFile) -> Dataset:
    frame, history = builder.build(nested=False)
    if any(p.severity == "error" for p in problems):
        # Repeated ids among the features that did load are reported in the same pass; links to other
        # incidents are checked once every file loads.
        raise IncidentDataError([*problems, *check_across(frame, links=False)])
    problems.extend(country_mismatch_warnings(frame))
    return Dataset(frame=frame, history=history, warnings=tuple(problems), files=(source,),
                   consistent=not check_across(frame))


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a load builds millions of objects (parsed JSON has no cycles;
    memory is still freed as usual): each pass would otherwise walk every object built so far, which made a first
    load of 100,000 incidents two to three times slower."""
    global _paused
    with _pause_lock:
        _paused += 1
        if _paused == 1:
            _collector_was_on[0] = gc.isenabled()
            gc.disable()
    try:
        yield
    finally:
        with _pause_lock:
            _paused -= 1
            if _paused == 0 and _collector_was_on[0]:
                gc.enable()


def _cached(digest: str, name: str) -> Dataset | None:
    found = content_cache.lookup(digest)
    if found is None:
        return None
    # The same content may have been cached under another name: messages and rows name this file.
    old = {f.name for f in found.files}
    if old == {name}:
        return found
    frame = found.frame.assign(file=name)
    warnings = tuple(replace(w, file=name) if w.file in old else w for w in found.warnings)
    files = tuple(replace(f, name=name) for f in found.files)
    return replace(found, frame=frame, warnings=warnings, files=files)


def _file_digest(path: Path, *, name: str, limit: int) -> str:
    digest = hashlib.sha256()
    try:
        if path.stat().st_size > limit:
            read_file_bytes(path, name=name, max_bytes=limit)  # raises the size message
        with path.open("rb") as stream:
            while chunk := stream.read(_HASH_CHUNK):
                digest.update(chunk)
    except OSError as error:
        raise IncidentDataError([Problem(name, f"cannot be read: {error.strerror or error}")]) from None
    return digest.hexdigest()


def _join(parts: Sequence[Dataset], problems: list[Problem], *, nested: bool, links: bool = True) -> Dataset:
    joined = _join_frames([(p.frame, p.history) for p in parts], files=tuple(f for p in parts for f in p.files))
    failed = any(p.severity == "error" for p in problems)
    checked = len(parts) == 1 and parts[0].consistent  # one file, checked on its own when it was first read
    # When a file failed, links into it would look broken: they are checked once everything loads.
    if not checked:
        problems.extend(check_across(joined.frame, links=links and not failed))
    if any(p.severity == "error" for p in problems):
        raise IncidentDataError(problems)
    frame = expand_nested(joined.frame) if nested else joined.frame
    return Dataset(frame=frame, history=joined.history, warnings=tuple(problems), files=joined.files,
                   consistent=checked or links)


def _join_frames(pieces: Sequence[tuple[gpd.GeoDataFrame, pd.DataFrame]], *, files: tuple[SourceFile, ...]
                 ) -> Dataset:
    if len(pieces) == 1:
        frame, history = pieces[0]
        return Dataset(frame=frame, history=history, warnings=(), files=files)
    if not pieces:
        frame, history = frame_from_rows([], nested=False)
        return Dataset(frame=frame, history=history, warnings=(), files=files)
    offsets = np.cumsum([0] + [len(frame) for frame, _ in pieces[:-1]])
    frame = gpd.GeoDataFrame(pd.concat([f for f, _ in pieces], ignore_index=True), geometry="geometry",
                             crs="EPSG:4326")
    history = pd.concat([h.assign(row=h["row"] + offset) for (_, h), offset in zip(pieces, offsets, strict=True)],
                        ignore_index=True)
    return Dataset(frame=frame, history=history, warnings=(), files=files)


def check_across(frame: pd.DataFrame, *, links: bool = True) -> list[Problem]:
    """Ids unique across every file; ``related`` ids (when ``links``) pointing at incidents that exist."""
    problems: list[Problem] = []
    ids = frame["id"]
    # Arrow's hash of the text (pandas' would make a Python string of each first); counted, not copied
    ids_arrow = pa.array(ids.array)
    repeated = np.zeros(len(ids), dtype=bool)
    if pc.count_distinct(ids_arrow).as_py() < len(ids):
        repeated = ids.duplicated(keep="first").to_numpy()
    if repeated.any():
        first = {i: pos for pos, i in reversed(list(enumerate(ids)))}
        for pos in np.flatnonzero(repeated):
            earlier = first[ids.iat[pos]]
            problems.append(Problem(
                str(frame["file"].iat[pos]),
                f"{ids.iat[pos]!r} is already the id of feature #{frame['feature'].iat[earlier]} in "
                f"{frame['file'].iat[earlier]}; ids must be unique across all files",
                int(frame["feature"].iat[pos]), str(ids.iat[pos]), "id"))
    related = frame["related_ids"]
    has_links = (related.notna() & (related != "")).to_numpy()
    if links and has_links.any():
        rows = np.flatnonzero(has_links)
        lists = pc.split_pattern(_one_array(pa.array(related.iloc[rows])), "\n")
        targets = pc.list_flatten(lists)
        known = pc.is_in(targets, value_set=ids_arrow.cast(targets.type)).to_numpy(zero_copy_only=False)
        unknown = np.flatnonzero(~known)
        if len(unknown):
            parents = pc.list_parent_indices(lists).to_numpy()
            offsets = lists.offsets.to_numpy()
            for flat in unknown:
                pos, target, index = rows[parents[flat]], targets[flat].as_py(), flat - offsets[parents[flat]]
                problems.append(Problem(
                    str(frame["file"].iat[pos]), f"{target!r} is not the id of any incident loaded",
                    int(frame["feature"].iat[pos]), str(ids.iat[pos]), f"related[{index}].id"))
    return problems


def _one_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A column in one piece (a frame built a block at a time holds its text in chunks)."""
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def combine(datasets: Sequence[Dataset]) -> Dataset:
    """One dataset from several loaded separately (the bundled data plus an upload, say).

    Raises :class:`IncidentDataError` when two of them use the same incident id or a link points nowhere.
    """
    if len(datasets) == 1:
        return datasets[0]
    joined = _join_frames([(d.frame, d.history) for d in datasets], files=tuple(f for d in datasets for f in d.files))
    problems = [p for p in check_across(joined.frame) if p.severity == "error"]
    if problems:
        raise IncidentDataError(problems)
    return Dataset(frame=joined.frame, history=joined.history, warnings=tuple(w for d in datasets for w in d.warnings),
                   files=joined.files)


def _tell(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)
