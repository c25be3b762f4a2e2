"""What the benchmarks share: the synthetic data files (generated once, reused), medians, peak memory, tables.

Data lives outside the repo, in ``--data-dir`` (default ``/tmp/incidents-bench``): ``synth-N-seedS.geojson``
written by :func:`incidents.synth.write_synthetic_geojson` and ``synth-N-seedS.parquet`` written from it by
``incidents convert``. A file is written under a temporary name and renamed when complete, so an interrupted
run never leaves a truncated file that a later run would reuse.
"""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

from incidents.synth import write_synthetic_geojson

ROOT: Final = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR: Final = Path("/tmp/incidents-bench")
# The 1M GeoJSON is about 1.13 GB, over the loader's default 1 GiB cap.
MAX_FILE_MB: Final = "4096"
RESULT_PREFIX: Final = "BENCH-RESULT "

T = TypeVar("T")


def bench_environment() -> None:
    """Raise the loader's file size cap for this process and its children (unless the caller set one)."""
    os.environ.setdefault("INCIDENTS_MAX_FILE_MB", MAX_FILE_MB)


def parse_sizes(text: str) -> list[int]:
    """``1000,10k,1M`` → ``[1000, 10000, 1000000]``."""
    sizes: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", part)
        if not match:
            raise ValueError(f"{part!r} is not a size (e.g. 1000, 10k, 1M)")
        factor = {"": 1, "k": 1000, "m": 1_000_000}[match[2].lower()]
        sizes.append(int(float(match[1]) * factor))
    return sizes


def label(n: int) -> str:
    """``1000`` → ``1k``, ``1000000`` → ``1M``."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def geojson_path(data_dir: Path, n: int, seed: int) -> Path:
    return data_dir / f"synth-{n}-seed{seed}.geojson"


def parquet_path(data_dir: Path, n: int, seed: int) -> Path:
    return data_dir / f"synth-{n}-seed{seed}.parquet"


def commit() -> str:
    """The repo's commit (``git log -1 --format=%h``), and the code files that differ from it (uncommitted changes
    also change the numbers; tests, docs and bench/ do not)."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h"], capture_output=True, text=True,
                              check=False).stdout.strip() or "?"
        changed = subprocess.run(["git", "-C", str(ROOT), "diff", "HEAD", "--name-only", "--", "app.py", "incidents"],
                                 capture_output=True, text=True, check=False).stdout.split()
    except OSError:
        return "?"
    return f"{head} + uncommitted changes to {', '.join(changed)}" if changed else head


def note(message: str) -> None:
    """Progress, on stderr (the table goes to stdout)."""
    print(message, file=sys.stderr, flush=True)


def ensure_geojson(data_dir: Path, n: int, seed: int) -> Path:
    path = geojson_path(data_dir, n, seed)
    if not path.is_file():
        data_dir.mkdir(parents=True, exist_ok=True)
        note(f"generating {n:,} synthetic incidents into {path} (once; reused later)")
        partial = path.with_name(path.name + ".partial")
        write_synthetic_geojson(str(partial), n, seed=seed)
        os.replace(partial, path)
    return path


def current_parquet_schema() -> Any:
    """The schema ``write_geoparquet`` writes now (from five synthetic incidents), without its metadata."""
    import pyarrow.parquet as pq

    from incidents import load_incidents
    from incidents.store import write_geoparquet

    with tempfile.TemporaryDirectory() as folder:
        sample = Path(folder) / "sample.geojson"
        write_synthetic_geojson(str(sample), 5)
        write_geoparquet(load_incidents(sample, nested=False), Path(folder) / "sample.parquet")
        return pq.read_schema(Path(folder) / "sample.parquet").remove_metadata()


def ensure_parquet(data_dir: Path, n: int, seed: int) -> Path:
    """The GeoParquet file ``incidents convert`` writes from the GeoJSON (in a subprocess: it loads it all); written
    again when the format changed since (its columns differ from what ``write_geoparquet`` writes now)."""
    import pyarrow.parquet as pq

    path = parquet_path(data_dir, n, seed)
    if path.is_file() and not pq.read_schema(path).remove_metadata().equals(current_parquet_schema()):
        note(f"{path.name} was written in an older GeoParquet layout: converting again")
        path.unlink()
    if not path.is_file():
        source = ensure_geojson(data_dir, n, seed)
        note(f"converting {source.name} to GeoParquet with `incidents convert` (once; reused later)")
        partial = path.with_name(path.stem + ".partial.parquet")
        subprocess.run([sys.executable, "-m", "incidents", "convert", str(source), str(partial), "--no-cache"],
                       check=True, env={**os.environ, "INCIDENTS_MAX_FILE_MB": MAX_FILE_MB})
        os.replace(partial, path)
    return path


@dataclass
class Timing:
    median: float
    runs: int
    result: Any


def timed(run: Callable[[], T], repeat: int, *, budget: float | None = None,
          before: Callable[[], None] | None = None) -> Timing:
    """The median of ``repeat`` runs of ``run`` (``before`` runs untimed ahead of each). With a ``budget`` (seconds),
    stop early rather than exceed it: at least one run, then another only while the total stays within budget."""
    times: list[float] = []
    result: Any = None
    for _ in range(max(1, repeat)):
        if times and budget is not None and sum(times) + times[-1] > budget:
            break
        if before is not None:
            before()
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return Timing(statistics.median(times), len(times), result)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports ``ru_maxrss`` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_worker(script: Path, argv: Sequence[str], *, env: dict[str, str] | None = None,
               cwd: Path | None = None) -> dict[str, Any]:
    """Run ``script argv`` in a fresh Python (its own peak memory); its result is the JSON line it printed last
    with :data:`RESULT_PREFIX`. Its progress (stderr) passes through."""
    completed = subprocess.run([sys.executable, str(script), *argv], stdout=subprocess.PIPE, text=True,
                               env={**os.environ, **(env or {})}, cwd=cwd, check=False)
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"{script.name} {' '.join(argv)} failed (exit {completed.returncode}):\n"
                           f"{completed.stdout[-4000:]}")
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT_PREFIX):])
    return result


def emit_result(result: dict[str, Any]) -> None:
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 0.01:
        return f"{value * 1000:.1f} ms"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s"


def megabytes(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 0.1:
        return f"{value * 1000:.1f} kB"
    return f"{value:.1f} MB"


def ratio(ours: float | None, naive: float | None) -> str:
    """How many times faster (or smaller) ours is: naive ÷ ours."""
    if ours is None or naive is None or ours <= 0:
        return "—"
    value = naive / ours
    if value >= 10:
        return f"{value:.0f}×"
    return f"{value:.1f}×" if value >= 1 else f"{value:.2g}×"


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, markdown: bool = False) -> str:
    """A plain-text table (columns padded; numbers right-aligned), or a Markdown one to paste into the docs."""
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    right = [i for i in range(len(header)) if all(_numeric(row[i]) for row in rows) and rows]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(row) for row in rows)])


def _numeric(cell: str) -> bool:
    return bool(re.match(r"^[—\d.,]+\s*(?:ms|s|MB|kB|×|k|M)?$", cell.strip()))


def parse_table(text: str) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the first table printed by :func:`format_table` (plain text: two or more spaces
    separate cells; a blank line ends it), for the smoke tests."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines[:-1]) if lines[i + 1].strip() and set(lines[i + 1]) <= {"-", " "})
    header = re.split(r"\s{2,}", lines[start].strip())
    rows: list[list[str]] = []
    for line in lines[start + 2:]:
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return header, rows
