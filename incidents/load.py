"""Load incident files and folders into a :class:`~incidents.model.Dataset`, or fail with every problem."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

import geopandas as gpd
import pandas as pd

from .errors import IncidentDataError, Problem
from .model import Dataset, SourceFile, frame_from_rows
from .reader import max_bytes_from_env, parse_json_bytes, read_file_bytes
from .validate import Row, check_collection

DATA_SUFFIXES: Final = (".geojson", ".json")
_REMOTE: Final = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://|/vsi[a-z0-9_]+/)")

PathLike = str | os.PathLike[str]


def load_incidents(
    paths: PathLike | Sequence[PathLike], *, max_bytes: int | None = None, nested: bool = True
) -> Dataset:
    """Load incident GeoJSON files, or every ``.geojson``/``.json`` file under the folders given.

    Raises :class:`IncidentDataError` listing every problem in every file; warnings come back in
    ``Dataset.warnings``. ``max_bytes`` caps each file's size (default: ``INCIDENTS_MAX_FILE_MB`` or 1 GiB).
    ``nested=False`` leaves the nested fields out of the frame (they stay in ``properties_json``).
    """
    limit = max_bytes if max_bytes is not None else max_bytes_from_env()
    problems: list[Problem] = []
    inputs: list[tuple[str, bytes]] = []
    for path in expand_paths(paths, problems):
        try:
            inputs.append((str(path), read_file_bytes(path, name=str(path), max_bytes=limit)))
        except IncidentDataError as error:
            problems.extend(error.problems)
    return _load(inputs, problems, limit, nested=nested)


def load_incidents_bytes(
    data: bytes, *, name: str, max_bytes: int | None = None, nested: bool = True
) -> Dataset:
    """Load one file's content (an upload, say); ``name`` only labels the messages."""
    limit = max_bytes if max_bytes is not None else max_bytes_from_env()
    return _load([(name, data)], [], limit, nested=nested)


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
                problems.append(Problem(text, f"is a folder with no {' or '.join(DATA_SUFFIXES)} files"))
            found.extend(files)
        elif path.exists():
            found.append(path)
        else:
            problems.append(Problem(text, "does not exist"))
    return found


def _load(inputs: Iterable[tuple[str, bytes]], problems: list[Problem], limit: int, *, nested: bool) -> Dataset:
    rows: list[Row] = []
    files: list[SourceFile] = []
    for name, data in inputs:
        try:
            document = parse_json_bytes(data, name=name, max_bytes=limit)
        except IncidentDataError as error:
            problems.extend(error.problems)
            continue
        result = check_collection(document, file=name)
        problems.extend(result.problems)
        rows.extend(result.rows)
        features = document.get("features") if isinstance(document, dict) else None
        files.append(
            SourceFile(
                name=name,
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
                features=len(features) if isinstance(features, list) else 0,
            )
        )
    problems.extend(check_across_files(rows))
    if any(p.severity == "error" for p in problems):
        raise IncidentDataError(problems)
    frame, history = frame_from_rows(rows, nested=nested)
    return Dataset(frame=frame, history=history, warnings=tuple(problems), files=tuple(files))


def check_across_files(rows: Sequence[Row]) -> list[Problem]:
    """Ids unique across every file; ``related`` ids pointing at incidents that exist."""
    problems: list[Problem] = []
    first_seen: dict[str, Row] = {}
    for row in rows:
        earlier = first_seen.get(row.id)
        if earlier is not None:
            problems.append(
                Problem(row.file, f"{row.id!r} is already the id of feature #{earlier.feature} in "
                        f"{earlier.file}; ids must be unique across all files", row.feature, row.id, "id")
            )
        else:
            first_seen[row.id] = row
    for row in rows:
        for i, link in enumerate(row.properties.get("related") or []):
            target = link.get("id")
            if isinstance(target, str) and target not in first_seen:
                problems.append(
                    Problem(row.file, f"{target!r} is not the id of any incident loaded", row.feature, row.id,
                            f"related[{i}].id")
                )
    return problems


def combine(datasets: Sequence[Dataset]) -> Dataset:
    """One dataset from several loaded separately (the bundled data plus an upload, say).

    Raises :class:`IncidentDataError` when two of them use the same incident id.
    """
    if len(datasets) == 1:
        return datasets[0]
    problems: list[Problem] = []
    seen: dict[str, tuple[str, int]] = {}
    for dataset in datasets:
        for incident_id, file, feature in zip(dataset.frame["id"], dataset.frame["file"], dataset.frame["feature"],
                                              strict=True):
            if incident_id in seen:
                other_file, other_feature = seen[incident_id]
                problems.append(
                    Problem(file, f"{incident_id!r} is already the id of feature #{other_feature} in {other_file}; "
                            "ids must be unique across all files", int(feature), incident_id, "id")
                )
            else:
                seen[incident_id] = (file, int(feature))
    if problems:
        raise IncidentDataError(problems)
    offsets = [0]
    for dataset in datasets[:-1]:
        offsets.append(offsets[-1] + len(dataset.frame))
    frame = gpd.GeoDataFrame(
        pd.concat([d.frame for d in datasets], ignore_index=True), geometry="geometry", crs="EPSG:4326"
    )
    history = pd.concat(
        [d.history.assign(row=d.history["row"] + offset) for d, offset in zip(datasets, offsets, strict=True)],
        ignore_index=True,
    )
    return Dataset(
        frame=frame,
        history=history,
        warnings=tuple(w for d in datasets for w in d.warnings),
        files=tuple(f for d in datasets for f in d.files),
    )
