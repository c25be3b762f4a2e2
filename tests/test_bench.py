"""Smoke tests of the benchmark scripts in bench/: each runs at a tiny N and prints the table it promises.

Only the shape of the output is checked, never a timing (timing belongs in docs/benchmarks.md). The browser
benchmark (bench/bench_browser.py: a real server and Chromium) is not run here.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import ROOT

BENCH = ROOT / "bench"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """bench/ holds scripts, not a package: import them as a script would (bench/ first on the path)."""
    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.setenv("INCIDENTS_MAX_FILE_MB", "4096")  # what the benches set (for the 1M file), undone afterwards
    return importlib.import_module("benchkit")


def test_the_scale_bench_prints_one_row_per_step(bench: ModuleType, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    scale = importlib.import_module("bench_scale")
    # the naive dashboard (a second AppTest process) is left out to keep this quick; its rows are still printed
    assert scale.main(["--sizes", "200", "--repeat", "1", "--data-dir", str(tmp_path), "--skip", "naive-app"]) == 0
    output = capsys.readouterr().out
    assert output.startswith("bench_scale: commit ")
    header, rows = bench.parse_table(output)
    assert header == list(scale.HEADER) == ["N", "step", "ours", "naive", "ratio", "detail"]
    assert [row[1] for row in rows] == [label for _, label, _ in scale.ROWS]
    assert all(len(row) == len(header) and row[0] == "200" for row in rows)
    by_step = {row[1]: row for row in rows}
    assert all(row[2] != "—" for row in rows), "every step of ours ran"
    naive_ran = [label for key, label, _ in scale.ROWS if not key.startswith(("app_", "rss_first", "rss_app"))]
    assert all(by_step[label][3] != "—" and by_step[label][4] != "—" for label in naive_ran)
    assert "mode symbols" in by_step["map build + HTML, all shown"][5]
    assert "same rows" in by_step["filter status + dates (~10%)"][5]
    assert "same rows" in by_step["filter text search"][5]
    assert by_step["dashboard filter change, all shown"][5].startswith("symbols, 200 shown")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["synth-200-seed7.geojson", "synth-200-seed7.parquet"]


def test_the_scale_bench_reuses_generated_data_and_writes_markdown(bench: ModuleType, tmp_path: Path) -> None:
    assert bench.parse_sizes("1000,10k,1M, 2.5k") == [1000, 10_000, 1_000_000, 2500]
    assert [bench.label(n) for n in (200, 1000, 100_000, 1_000_000)] == ["200", "1k", "100k", "1M"]
    path = bench.ensure_geojson(tmp_path, 50, 7)
    stamp = path.stat().st_mtime_ns
    assert bench.ensure_geojson(tmp_path, 50, 7) == path and path.stat().st_mtime_ns == stamp
    table = bench.format_table(["N", "step"], [["1k", "load"]], markdown=True)
    assert table.splitlines() == ["| N | step |", "| --- | --- |", "| 1k | load |"]


def test_the_import_bench_prints_its_table() -> None:
    result = subprocess.run([sys.executable, str(BENCH / "bench_import.py"), "--rows", "200", "--repeat", "1"],
                            capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["approach", "seconds", "rows/s"]
    assert lines[2].startswith("import_table") and lines[4].startswith("naive") and "speed-up" in lines[5]
