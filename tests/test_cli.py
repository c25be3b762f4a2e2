"""The command line, run as a subprocess the way scripts run it."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from incidents import cli
from incidents.cli import main
from incidents.progress import terminal_progress

from .conftest import BUNDLED, DATA, ROOT


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "incidents", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_validate_ok_prints_a_summary_and_warnings() -> None:
    result = run("validate", str(DATA / "good" / "full.geojson"))
    assert result.returncode == 0
    assert result.stdout.strip() == "valid: 6 incidents in 1 file (1 without a location, 1 warning)"
    assert "warning: " in result.stderr and "'drone_sighting' is not a known category" in result.stderr


def test_validate_lists_every_problem_and_exits_1() -> None:
    result = run("validate", str(DATA / "bad" / "many-problems.geojson"), str(DATA / "bad" / "bad-status.geojson"))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 5
    assert result.stderr.strip().endswith("5 problems found; nothing was loaded")
    assert "Traceback" not in result.stderr


def test_export_geojson_to_stdout_with_filters() -> None:
    result = run("export", str(BUNDLED), "--status", "verified", "--category", "chemical_attack",
                 "--from", "2017-04-04", "--to", "2017-04-13")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert [f["id"] for f in document["features"]] == ["2017-04-04-khan-sheikhoun-chemical-attack"]
    assert document["export"]["description"] == "verified chemical attacks, 4–13 April 2017"


def test_export_csv_to_a_file_with_comma_separated_statuses(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = run("export", str(BUNDLED), "--status", "claimed,disputed", "--format", "csv", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "wrote 2 incidents (claimed or disputed incidents) to" in result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert sorted(r["status"] for r in rows) == ["claimed", "disputed"]


def test_export_as_of_bbox_claimant_and_query() -> None:
    result = run("export", str(BUNDLED), "--as-of", "2017-04-13", "--status", "disputed", "--bbox",
                 "35,32,42,37.5", "--claimant", "assad", "--query", "sarin", "-o", "-")
    assert result.returncode == 0, result.stderr
    assert [f["id"] for f in json.loads(result.stdout)["features"]] == ["2017-04-04-khan-sheikhoun-chemical-attack"]


def test_stats_counts_by_status_category_and_month() -> None:
    result = run("stats", str(BUNDLED), "--json")
    assert result.returncode == 0
    summary = json.loads(result.stdout)
    assert summary["total"] == 6
    assert summary["by_status"] == {"verified": 4, "claimed": 1, "disputed": 1, "debunked": 0}
    assert summary["by_month"] == {"2013-08": 1, "2017-04": 5}
    text = run("stats", str(BUNDLED)).stdout
    assert text.startswith("6 incidents (0 without a location)")


def test_usage_errors_exit_2_with_one_line() -> None:
    for args in (("export", str(BUNDLED), "--status", "confirmed"), ("export", str(BUNDLED), "--from", "yesterday"),
                 ("export",), ("frobnicate",), ("export", str(BUNDLED), "--bbox", "1,2"),
                 ("export", str(BUNDLED), "--format", "xml")):
        result = run(*args)
        assert result.returncode == 2, args
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("incidents: error: ")


def test_max_size_refuses_big_files_before_parsing() -> None:
    result = run("validate", str(BUNDLED), "--max-size", "0.001")
    assert result.returncode == 1
    assert "above the 0.0 MB limit; raise the limit with INCIDENTS_MAX_FILE_MB" in result.stderr


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "incidents"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "incidents 0.1.0"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_goes_to_a_terminal_and_is_cleared_but_never_to_a_pipe(tmp_path: Path) -> None:
    path = str(DATA / "good" / "full.geojson")
    terminal, piped = Terminal(), io.StringIO()
    assert main(["validate", "--no-cache", path], stdout=io.StringIO(), stderr=terminal) == 0
    assert main(["validate", "--no-cache", path], stdout=io.StringIO(), stderr=piped) == 0
    shown = terminal.getvalue()
    assert shown.startswith(f"\r\x1b[K{path}: reading")
    assert shown.replace(piped.getvalue(), "").endswith("\r\x1b[K")  # the progress line is cleared before warnings
    assert "\x1b" not in piped.getvalue()
    acled = str(DATA / "import" / "acled-sample.csv")
    terminal = Terminal()
    assert main(["import", "acled", acled, "-o", str(tmp_path / "out.geojson")], stdout=io.StringIO(),
                stderr=terminal) == 0
    assert f"\r\x1b[K{acled}: " in terminal.getvalue() and " rows read\r\x1b[K" in terminal.getvalue()


def test_terminal_progress_is_one_screen_line_without_control_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.get_terminal_size", lambda: os.terminal_size((40, 24)))
    terminal = Terminal()
    with terminal_progress(terminal) as progress:
        assert progress is not None
        progress("a/\x1b[31mred\x07/" + "x" * 100)
    written = terminal.getvalue()
    assert written == "\r\x1b[K" + "a/?[31mred?/" + "x" * 26 + "…" + "\r\x1b[K"
    with terminal_progress(io.StringIO()) as nothing:
        assert nothing is None


def test_export_to_a_file_replaces_it_whole_or_leaves_it_as_it_was(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out.geojson"
    out.write_text("the analyst's earlier export\n")
    out.chmod(0o640)
    err = io.StringIO()
    assert main(["export", str(BUNDLED), "--status", "verified", "-o", str(out)], stdout=io.StringIO(),
                stderr=err) == 0
    document = json.loads(out.read_text())
    assert document["export"]["count"] == len(document["features"]) > 0
    assert f"wrote {len(document['features'])} incidents (verified incidents) to {out}" in err.getvalue()
    assert stat.S_IMODE(out.stat().st_mode) == 0o640  # an existing file keeps its mode
    written = out.read_bytes()

    def broken(*args: object, **kwargs: object) -> Iterator[str]:
        yield '{"type": "FeatureCollection", "features": [\n'
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli, "geojson_pieces", broken)
    err = io.StringIO()
    assert main(["export", str(BUNDLED), "-o", str(out)], stdout=io.StringIO(), stderr=err) == 2
    assert err.getvalue().strip() == f"incidents: error: cannot write {out}: No space left on device"
    assert out.read_bytes() == written  # not half a file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.geojson"]  # no partial file left behind


def test_export_to_a_new_file_gets_the_usual_mode_and_a_device_is_written_not_replaced(tmp_path: Path) -> None:
    out = tmp_path / "new.csv"
    assert main(["export", str(BUNDLED), "--format", "csv", "-o", str(out)], stdout=io.StringIO(),
                stderr=io.StringIO()) == 0
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    assert out.read_bytes().startswith(b"\xef\xbb\xbfid,title,")
    assert main(["export", str(BUNDLED), "-o", os.devnull], stdout=io.StringIO(), stderr=io.StringIO()) == 0
    assert stat.S_ISCHR(Path(os.devnull).stat().st_mode)
    assert not list(Path(os.devnull).parent.glob(".null.*.partial"))


def test_export_to_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    err = io.StringIO()
    target = tmp_path / "no-such-folder" / "out.geojson"
    assert main(["export", str(BUNDLED), "-o", str(target)], stdout=io.StringIO(), stderr=err) == 2
    assert err.getvalue().strip() == f"incidents: error: cannot write {target}: No such file or directory"
