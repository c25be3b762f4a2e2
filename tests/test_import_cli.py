"""``incidents import …`` run as a subprocess, and its output checked with ``incidents validate``."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from incidents.cli import main

from .conftest import DATA, ROOT

IMPORT = DATA / "import"


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "incidents", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, input=stdin.decode() if stdin is not None else None)


def test_import_acled_to_a_file_then_validate(tmp_path: Path) -> None:
    out = tmp_path / "acled.geojson"
    result = run("import", "acled", str(IMPORT / "acled-sample.csv"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{IMPORT / 'acled-sample.csv'}: imported 25 rows, skipped 0, 0 warnings",
        f"wrote 25 incidents to {out}",
    ]
    checked = run("validate", str(out))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == "valid: 25 incidents in 1 file (0 without a location, 0 warnings)"


def test_import_acled_with_bad_rows_lists_them_and_writes_valid_geojson_to_stdout(tmp_path: Path) -> None:
    result = run("import", "acled", str(IMPORT / "acled-bad.csv"), "--status", "disputed")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    name = str(IMPORT / "acled-bad.csv")
    assert lines[-1] == f"{name}: imported 7 rows, skipped 8, 7 warnings"
    assert f"skipped: {name}: line 5: event_date: '2017-02-30' names no such day (day is out of range for month)" \
        in lines
    assert f"warning: {name}: line 3: latitude and longitude are empty: imported without a location (listed, not " \
        "drawn)" in lines
    assert len([line for line in lines if line.startswith("skipped: ")]) == 8
    document = json.loads(result.stdout)
    assert {f["properties"]["status"] for f in document["features"]} == {"disputed"}
    out = tmp_path / "bad.geojson"
    out.write_text(result.stdout)
    checked = run("validate", str(out))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == "valid: 7 incidents in 1 file (1 without a location, 0 warnings)"


def test_import_csv_with_a_mapping_file_and_flags(tmp_path: Path) -> None:
    out = tmp_path / "sheet.geojson"
    result = run("import", "csv", str(IMPORT / "sheet-latlon.csv"), "--map", str(IMPORT / "sheet-latlon.toml"),
                 "--field", "x_notes=Notes", "--status", "verified", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-2:] == [
        f"{IMPORT / 'sheet-latlon.csv'}: imported 5 rows, skipped 5, 4 warnings", f"wrote 5 incidents to {out}"]
    features = json.loads(out.read_text())["features"]
    assert {f["properties"]["status"] for f in features} == {"verified"}
    assert features[0]["properties"]["x_notes"] == "Made-up row for the test suite, with a comma"
    checked = run("validate", str(out))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == "valid: 5 incidents in 1 file (1 without a location, 1 warning)"


def test_import_csv_with_wkt_and_geojson_with_a_yaml_mapping(tmp_path: Path) -> None:
    for args, count in (
        (("csv", str(IMPORT / "sheet-wkt.csv")), 4),
        (("geojson", str(IMPORT / "foreign.geojson"), "--map", str(IMPORT / "foreign-map.yaml")), 3),
    ):
        out = tmp_path / f"{args[0]}.geojson"
        result = run("import", *args, "-o", str(out))
        assert result.returncode == 0, result.stderr
        checked = run("validate", str(out))
        assert checked.returncode == 0, checked.stderr
        assert checked.stdout.startswith(f"valid: {count} incidents in 1 file")


def test_import_reads_standard_input() -> None:
    result = run("import", "acled", "-", stdin=(IMPORT / "acled-sample.csv").read_bytes())
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "stdin: imported 25 rows, skipped 0, 0 warnings"
    assert len(json.loads(result.stdout)["features"]) == 25


def run_here(*args: str) -> tuple[int, str, str]:
    """The command in this process (faster than a subprocess for the error paths)."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_missing_required_fields_exit_1_with_one_message() -> None:
    code, stdout, stderr = run_here("import", "csv", str(IMPORT / "sheet-latlon.csv"))
    assert (code, stdout) == (1, "")
    [line] = stderr.splitlines()
    assert line.startswith(f"error: {IMPORT / 'sheet-latlon.csv'}: missing required fields: title (--field "
                           "title=COLUMN); category")
    assert line.endswith("The file's columns are: Ref, Incident, Date, Type, Lat, Lon, Killed, Injured, Reported by, "
                         "Link, Tags, Notes")


def test_nothing_imported_or_unreadable_exits_1(tmp_path: Path) -> None:
    only_bad = tmp_path / "only-bad.csv"
    lines = (IMPORT / "acled-bad.csv").read_text().splitlines()
    only_bad.write_text("\n".join([lines[0], lines[4], lines[5]]) + "\n")
    out = tmp_path / "none.geojson"
    result = run("import", "acled", str(only_bad), "-o", str(out))
    assert result.returncode == 1
    assert result.stderr.splitlines()[-2:] == [
        f"{only_bad}: imported 0 rows, skipped 2, 0 warnings",
        f"nothing was imported from {only_bad}; no output written",
    ]
    assert not out.exists()
    code, _, stderr = run_here("import", "acled", str(tmp_path / "nope.csv"))
    assert (code, stderr.strip()) == (1, f"error: {tmp_path / 'nope.csv'}: does not exist")
    workbook = tmp_path / "book.csv"
    workbook.write_bytes(b"PK\x03\x04 not really a workbook")
    code, _, stderr = run_here("import", "csv", str(workbook))
    assert code == 1
    assert "is a zip archive or an Excel workbook (.xlsx), not CSV" in stderr


def test_usage_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    bad_map = tmp_path / "map.toml"
    bad_map.write_text("[fields]\ntitel = 'Incident'\n")
    sheet = str(IMPORT / "sheet-latlon.csv")
    for args in (
        ("import", "acled", sheet, "--status", "confirmed"),
        ("import", "csv", sheet, "--field", "title"),
        ("import", "csv", sheet, "--field", "titel=Incident"),
        ("import", "csv", sheet, "--map", str(bad_map)),
        ("import", "csv", sheet, "--map", str(tmp_path / "absent.toml")),
        ("import", "xlsx", sheet),
        ("import", "acled"),
        ("import", "acled", sheet, "--map", str(bad_map)),
        ("import", "acled", sheet, "--max-size", "0"),
    ):
        code, _, stderr = run_here(*args)
        assert code == 2, (args, stderr)
        assert len(stderr.strip().splitlines()) == 1, stderr
        assert stderr.startswith("incidents: error: "), stderr
    _, _, stderr = run_here("import", "csv", sheet, "--map", str(bad_map))
    assert stderr.strip() == (
        f"incidents: error: {bad_map}: 'titel' is not an incident field: did you mean 'title'? fields are id, title, "
        "description, category, start, end, time_precision, first_reported, place, admin1, country, "
        "location_precision, uncertainty_m, status, perpetrator, killed, injured, casualties_note, source, "
        "source_url, source_publisher, source_kind, source_date, tags, latitude, longitude, wkt, casualties, claims, "
        "status_history, related, or x_… for an extension field (see 'incidents import csv --help')")
    # a subprocess too, as scripts run it
    result = run("import", "csv", sheet, "--field", "title")
    assert (result.returncode, result.stderr.strip()) == (
        2, "incidents: error: --field: 'title' is not FIELD=COLUMN, e.g. --field title=Event (see 'incidents import "
           "csv --help')")
