"""The dashboard's non-widget parts: the table, the record as Markdown, uploads, downloads, data paths."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from incidents import Dataset, IncidentFilter, load_incidents
from incidents.datasources import BUNDLED, data_paths, data_stamp, read_upload, upload_suffixes, with_upload
from incidents.detail import incident_markdown, markdown_link, problems_markdown, record_markdown
from incidents.downloads import download_bytes, download_label, file_name
from incidents.errors import Problem
from incidents.export import to_geojson
from incidents.render import record_model, unlocated_titles
from incidents.safety import escape_markdown
from incidents.table import COLUMNS, table_frame

from .conftest import BUNDLED as BUNDLED_FILE
from .conftest import DATA

KHAN = "2017-04-04-khan-sheikhoun-chemical-attack"


# -- table -------------------------------------------------------------------------------------------------------
def test_the_table_has_one_row_per_filtered_incident_in_order(syria: Dataset, full: Dataset) -> None:
    selected = IncidentFilter(statuses={"verified"}).apply(syria)
    table = table_frame(selected)
    assert list(table.columns) == list(COLUMNS)
    assert list(table["ID"]) == list(selected["id"])
    khan = table[table["ID"] == KHAN].iloc[0]
    assert khan["Status"] == "Verified" and khan["Category"] == "Chemical attack"
    assert str(khan["Start"]) == "2017-04-04 06:00:00"
    assert khan["Claims"] == 12 and khan["Sources"] >= 5
    assert "Russian Defence Ministry" in khan["Claimed by"]
    assert khan["Claimed by"].count("Sergei Lavrov") == 1  # each party once
    assert table["Start"].dtype.kind == "M"  # sortable as time
    on_map = dict(zip(*table_frame(full.frame)[["ID", "On map"]].to_dict(orient="list").values(), strict=True))
    assert not on_map["full-unlocated"] and sum(on_map.values()) == 5
    assert len(table_frame(selected.iloc[0:0])) == 0
    assert list(table_frame(syria.frame, limit=2)["ID"]) == list(syria.frame["id"][:2])  # a long table is cut
    assert len(table_frame(syria.frame, limit=None)) == 6


def test_the_table_shows_the_status_as_of_the_filter_date(syria: Dataset) -> None:
    table = table_frame(IncidentFilter(as_of="2017-04-05").apply(syria))
    assert dict(zip(table["ID"], table["Status"], strict=True))[KHAN] == "Claimed"


# -- record and problems as Markdown ----------------------------------------------------------------------------
def test_escape_markdown_leaves_no_construct_and_one_line() -> None:
    assert escape_markdown("![x](https://evil.example/track.png)") == r"\!\[x\]\(https\:\/\/evil\.example\/track\.png\)"
    assert escape_markdown("<img src=x onerror=alert(1)>") == r"\<img src\=x onerror\=alert\(1\)\>"
    assert escape_markdown(":red[alarm] $x$ **b** `c` # h\n- item\r\n1. x") == (
        r"\:red\[alarm\] \$x\$ \*\*b\*\* \`c\` \# h \- item 1\. x")
    assert escape_markdown("a\u2028b\x00c") == "a b\ufffdc"
    assert escape_markdown("\u202eabc") == "\u202eabc\u202c"
    assert escape_markdown(42) == "42"


def test_links_only_from_safe_urls_and_never_ending_early() -> None:
    assert markdown_link("https://example.org/a_(b)?q=\"x\"", "T [1]") == (
        r"[T \[1\]](https://example.org/a_%28b%29?q=%22x%22)")
    assert markdown_link("javascript:alert(1)", "click") == "click"
    assert markdown_link(None, "no url") == "no url"


def test_the_record_tells_the_whole_story(syria: Dataset) -> None:
    row = int(syria.frame.index[syria.frame["id"] == KHAN][0])
    text = record_markdown(record_model(syria.properties(row)))
    assert text.startswith("##### Chemical attack on Khan Sheikhoun\n**Verified** · Chemical attack")
    for part in ("**When:** 4 April 2017\\, 06\\:30 \\(\\+03\\:00\\) \\(precise to the hour\\)", "**Where:**",
                 "**Perpetrator:** Syrian Arab Air Force", "**Casualties:**", "**Status history**", "**Claims**",
                 "- **Russian Defence Ministry** ", "**Sources**", "](https://", "ID: 2017\\-04\\-04"):
        assert part in text, part


def test_a_hostile_record_stays_text(tmp_path: Path) -> None:
    payload = "![x](https://evil.example/t.png) <img src=x onerror=alert(1)> [a](javascript:alert(1))"
    record = record_model({"id": "x", "title": payload, "category": payload, "start": "2017", "status": "claimed",
                           "claims": [{"by": payload, "stance": "asserts", "text": payload}],
                           "sources": [{"title": payload, "url": "javascript:alert(1)"}]})
    text = record_markdown(record)
    # no unescaped bracket, angle bracket or bang: no link, image or tag can start
    assert re.findall(r"(?<!\\)[\[\]<>!]", text) == []
    assert text.count("\\!\\[x\\]") == 5  # title, category, claimant, claim, source title (no link made)


def test_problems_as_a_list_errors_first_and_bounded() -> None:
    problems = [Problem("f", "w", severity="warning"), *(Problem("f", f"e{i} <b>", i) for i in range(3))]
    assert problems_markdown(problems, limit=2) == (
        "- f\\: feature \\#0\\: e0 \\<b\\>\n- f\\: feature \\#1\\: e1 \\<b\\>\n- … and 2 more")


# -- data and uploads -------------------------------------------------------------------------------------------
def test_data_paths_from_the_environment(tmp_path: Path) -> None:
    assert data_paths({}) == (str(BUNDLED),)
    assert data_paths({"INCIDENTS_PATH": f"a.geojson{os.pathsep}folder{os.pathsep}"}) == ("a.geojson", "folder")
    (tmp_path / "x.geojson").write_text("{}")
    first = data_stamp([str(tmp_path)])
    assert [Path(name).name for name, _, _ in first] == ["x.geojson"]
    (tmp_path / "y.json").write_text("{}")
    assert data_stamp([str(tmp_path)]) != first  # a new file changes the cache key


def test_an_upload_is_read_from_bytes_and_added(syria: Dataset) -> None:
    upload = read_upload("full.geojson", (DATA / "good" / "full.geojson").read_bytes())
    assert upload.dataset is not None
    combined, problems = with_upload(syria, upload)
    assert len(combined) == len(syria) + len(upload.dataset) == 12
    assert problems == upload.dataset.warnings and all(p.severity == "warning" for p in problems)
    assert with_upload(syria, None) == (syria, ())


def test_a_bad_upload_is_reported_and_not_added(syria: Dataset) -> None:
    bad = read_upload("many-problems.geojson", (DATA / "bad" / "many-problems.geojson").read_bytes())
    assert bad.dataset is None and len(bad.problems) >= 4
    assert str(bad.problems[0]).startswith("many-problems.geojson: feature #")
    combined, problems = with_upload(syria, bad)
    assert combined is syria and problems == bad.problems
    duplicate = read_upload("again.geojson", BUNDLED_FILE.read_bytes())
    combined, problems = with_upload(syria, duplicate)
    assert combined is syria
    assert len(problems) == 6 and "is already the id of feature #1" in str(problems[0])
    other = read_upload("notes.pdf", b"hello")
    assert other.dataset is None
    assert str(other.problems[0]) == ("notes.pdf: is not a file the dashboard can read; add a .csv, .geojson, .json, "
                                      ".tsv, .txt file")
    assert upload_suffixes() == ["csv", "geojson", "json", "tsv", "txt"]


def test_an_upload_is_never_opened_as_a_path(tmp_path: Path) -> None:
    secret = tmp_path / "secret.geojson"
    secret.write_bytes(BUNDLED_FILE.read_bytes())
    upload = read_upload(str(secret), str(secret).encode())  # a "file" whose content is a path
    assert upload.dataset is None
    assert "JSON" in str(upload.problems[0]) or "json" in str(upload.problems[0])


# -- downloads --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["geojson", "csv"])
def test_downloads_are_the_cli_export(syria: Dataset, fmt: str) -> None:
    flt = IncidentFilter(statuses={"verified"}, categories={"chemical_attack"}, date_from="2017-04-04",
                         date_to="2017-04-13")
    data = download_bytes(syria, flt, fmt)  # type: ignore[arg-type]
    assert file_name(flt, fmt) == f"incidents-verified-chemical_attack-2017-04-04_to_2017-04-13.{fmt}"  # type: ignore[arg-type]
    if fmt == "csv":
        assert data.startswith(b"\xef\xbb\xbfid,title,") and data.count(b"\r\n") == 2
    else:
        exported, expected = json.loads(data), json.loads(to_geojson(syria, flt))
        assert exported["features"] == expected["features"] and len(exported["features"]) == 1
        assert exported["export"]["description"] == "verified chemical attacks, 4–13 April 2017"
    assert download_label(fmt, 1).endswith("(1 incident)")  # type: ignore[arg-type]


def test_the_export_of_everything_is_named_plainly(syria: Dataset) -> None:
    assert file_name(IncidentFilter(), "geojson") == "incidents.geojson"
    assert len(json.loads(download_bytes(load_incidents(BUNDLED_FILE), IncidentFilter(), "geojson"))["features"]) \
        == len(syria)


def test_an_incident_as_markdown_is_its_record_with_the_status_shown(syria: Dataset) -> None:
    titles = dict(zip(syria.frame["id"], syria.frame["title"], strict=True))
    text = incident_markdown(syria, 0, status="disputed", titles=titles)
    assert text == record_markdown(record_model(syria.properties(0), status="disputed", titles=titles))
    assert text.startswith(f"##### {escape_markdown(syria.frame.at[0, 'title'])}\n**Disputed**")


def test_unlocated_titles_are_the_incidents_the_map_cannot_draw(full: Dataset) -> None:
    unlocated = unlocated_titles(full.frame)
    assert list(unlocated.index) == list(full.frame.index[full.frame.geometry.isna()])
    assert len(unlocated) == 1 and unlocated_titles(full.frame.iloc[0:0]).empty
