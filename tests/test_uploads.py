"""Uploads in the dashboard, without Streamlit: ACLED exports, spreadsheets and other GeoJSON imported with a
preview (kind, mapping, skipped rows and warnings with their lines), incident GeoJSON read as it is, links into the
data already open, and hostile text kept out of Markdown."""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd
import pytest

from incidents import Dataset, IncidentDataError, IncidentFilter, load_incidents, load_incidents_bytes
from incidents import load as load_module
from incidents.datasources import read_upload, upload_suffixes, with_upload
from incidents.detail import problems_markdown
from incidents.importers import import_table, load_mapping
from incidents.load import load_incident_features
from incidents.model import NESTED_FIELDS
from incidents.safety import escape_markdown
from incidents.uploads import (
    KIND_LABELS,
    Upload,
    UploadOptions,
    counted,
    failure_hint,
    looks_like_incidents,
    mapping_frame,
    notes_markdown,
    read_as_markdown,
    summary_markdown,
    unused_markdown,
)

from .conftest import BUNDLED, DATA

IMPORT = DATA / "import"
KHAN = "2017-04-04-khan-sheikhoun-chemical-attack"
SHEET = ("title,date,lat,lon,category,status,source,Notes\n"
         "Synthetic shelling of a market,2017-04-04,35.4394,36.6511,shelling,claimed,Example News Agency,a note\n"
         "Synthetic airstrike near a bridge,5 April 2017,35.93,36.63,Airstrike,Verified,Example Daily,\n"
         "Synthetic event without a location,2017-04-06,,,other,claimed,Example Daily,\n")


def read(name: str, data: bytes | str, **options: Any) -> Upload:
    return read_upload(name, data.encode() if isinstance(data, str) else data, options=UploadOptions(**options))


def feature(ident: str, **properties: Any) -> dict[str, Any]:
    props = {"id": ident, "title": f"Incident {ident}", "category": "airstrike", "start": "2017-04-05",
             "status": "claimed", "sources": [{"title": "Field report"}], **properties}
    return {"type": "Feature", "id": ident, "geometry": {"type": "Point", "coordinates": [36.6, 35.4]},
            "properties": props}


def collection(*features: dict[str, Any]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


# -- ACLED ---------------------------------------------------------------------------------------------------------
def test_an_acled_export_is_detected_previewed_and_added(syria: Dataset) -> None:
    upload = read("acled-sample.csv", (IMPORT / "acled-sample.csv").read_bytes())
    assert upload.read_as == "acled" and upload.detected
    assert read_as_markdown(upload) == "Read as **ACLED export** (detected from its columns)"
    assert upload.preview is not None and upload.dataset is not None
    assert upload.preview.summary == "imported 25 rows, skipped 0, 0 warnings"
    assert summary_markdown(upload) == "acled\\-sample\\.csv: imported 25 rows\\, skipped 0\\, 0 warnings"
    mapping = dict(upload.preview.mapping)
    assert mapping["id"] == "event_id_cnty" and mapping["category"] == "sub_event_type"
    assert mapping["status"] == "Claimed (every ACLED event)"
    frame = mapping_frame(upload.preview)
    assert list(frame.columns) == ["Incident field", "From the file"] and len(frame) == len(mapping)
    assert upload.preview.skipped == upload.preview.warnings == () and upload.problems == ()
    combined, problems = with_upload(syria, upload)
    assert problems == () and len(combined) == len(syria) + 25 == 31
    assert "acled-SYR90000" in set(combined.frame["id"])
    assert len(IncidentFilter(statuses={"claimed"}).apply(combined)) == 1 + 25  # ACLED events are claims
    assert failure_hint(upload) is None


def test_acled_rows_that_are_skipped_or_warned_about_are_listed_with_their_lines(syria: Dataset) -> None:
    upload = read("acled-bad.csv", (IMPORT / "acled-bad.csv").read_bytes())
    assert upload.preview is not None and upload.dataset is not None
    assert upload.preview.summary == "imported 7 rows, skipped 8, 7 warnings"
    skipped = notes_markdown(upload.preview.skipped)
    assert skipped.splitlines()[1] == ("- line 5\\: event\\_date\\: \\'2017\\-02\\-30\\' names no such day \\(day is "
                                       "out of range for month\\)")
    assert [note.line for note in upload.preview.skipped] == [4, 5, 6, 8, 9, 10, 15, 17]
    assert notes_markdown(upload.preview.skipped, limit=3).splitlines()[-1] == "- … and 5 more"
    assert "line 3\\: latitude and longitude are empty" in notes_markdown(upload.preview.warnings)
    assert len(with_upload(syria, upload)[0]) == 6 + 7


def test_the_kind_and_the_defaults_can_be_chosen(syria: Dataset) -> None:
    data = (IMPORT / "acled-sample.csv").read_bytes().replace(b",", b"\t")  # tab-separated, named .txt
    upload = read("export.txt", data, kind="acled", default_status="verified", default_source="Team notes",
                  default_category="shelling")  # (a default category does not apply to ACLED)
    assert upload.read_as == "acled" and not upload.detected and upload.dataset is not None
    assert read_as_markdown(upload) == "Read as **ACLED export** (chosen under Import options)"
    assert set(upload.dataset.frame["status"]) == {"verified"}
    assert upload.preview is not None and dict(upload.preview.mapping)["status"] == "Verified (Import options)"
    assert dict(upload.preview.mapping)["source"] == "where empty: Team notes (Import options)"
    # the same file read as a spreadsheet: ACLED's columns are not the spreadsheet's names
    as_csv = read("export.txt", data, kind="csv")
    assert as_csv.dataset is None and as_csv.read_as == "csv"
    assert "missing required fields: title" in str(as_csv.problems[0])
    assert upload_suffixes() == ["csv", "geojson", "json", "tsv", "txt"]
    assert list(KIND_LABELS) == ["detect", "incidents", "acled", "csv", "geojson"]


def test_the_added_incidents_take_the_shape_of_the_data_already_open(syria: Dataset) -> None:
    upload = read("acled-sample.csv", (IMPORT / "acled-sample.csv").read_bytes())
    assert upload.dataset is not None and "sources" not in upload.dataset.frame.columns  # as the dashboard loads
    nested, _ = with_upload(syria, upload)
    sources = nested.frame.set_index("id").at["acled-SYR90000", "sources"]
    assert [s["title"] for s in sources] == ["Synthetic Observatory for Human Rights", "Example News Agency"]
    flat, _ = with_upload(load_incidents(BUNDLED, nested=False), upload)
    assert len(flat) == 31 and not set(NESTED_FIELDS) & set(flat.frame.columns)


# -- spreadsheets ------------------------------------------------------------------------------------------------
def test_a_spreadsheet_with_latitude_and_longitude_is_imported() -> None:
    upload = read("sheet.csv", SHEET)
    assert upload.read_as == "csv" and upload.dataset is not None and upload.preview is not None
    assert read_as_markdown(upload) == "Read as **CSV spreadsheet** (detected: a table that is not an ACLED export)"
    frame = upload.dataset.frame
    assert len(frame) == 3 and list(frame["status"]) == ["claimed", "verified", "claimed"]
    assert list(frame["category"]) == ["shelling", "airstrike", "other"]
    points = frame.geometry.dropna()
    assert len(points) == 2 and (points.x.round(4).tolist(), points.y.round(4).tolist()) == \
        ([36.6511, 36.63], [35.4394, 35.93])
    mapping = dict(upload.preview.mapping)
    assert mapping["latitude"] == "lat" and mapping["longitude"] == "lon" and mapping["start"] == "date"
    assert upload.preview.unused == ("Notes",)
    assert unused_markdown(upload.preview) == "Not used (kept in each incident's provenance): Notes"
    assert [note.line for note in upload.preview.warnings] == [None, 4]  # no id column; no location on line 4
    assert counted(1, "row") == "1 row" and counted(2, upload.preview.unit) == "2 rows"


def test_a_spreadsheet_missing_required_columns_says_what_is_needed(syria: Dataset) -> None:
    data = "Ref,title,date,lat,lon\nA-1,Synthetic event,2017-04-04,35.1,36.1\n"
    upload = read("sheet.csv", data)
    assert upload.dataset is None and upload.preview is None and upload.read_as == "csv"
    [problem] = upload.problems
    assert str(problem) == (
        "sheet.csv: missing required fields: category (--field category=COLUMN or --category CODE); status "
        "(--field status=COLUMN or --status STATUS); source (--field source=COLUMN or --source TEXT). Map them "
        "with these options or in a mapping file (--map). The file's columns are: Ref, title, date, lat, lon")
    hint = failure_hint(upload)
    assert hint is not None and "Import options" in hint
    assert with_upload(syria, upload) == (syria, (problem,))
    # the defaults under Import options fill what the file has no column for
    fixed = read("sheet.csv", data, default_status="claimed", default_category="other", default_source="Team notes")
    assert fixed.dataset is not None and len(fixed.dataset) == 1
    assert fixed.preview is not None
    assert dict(fixed.preview.mapping)["category"] == "Other (Import options)"
    record = json.loads(fixed.dataset.frame["properties_json"].iat[0])
    assert record["sources"][0]["title"] == "Team notes" and record["status"] == "claimed"


def test_a_bad_row_is_listed_with_its_line_and_the_others_are_added() -> None:
    data = SHEET.replace("5 April 2017", "2017-13-01")
    upload = read("sheet.csv", data)
    assert upload.dataset is not None and len(upload.dataset) == 2
    assert upload.preview is not None and upload.preview.summary == "imported 2 rows, skipped 1, 2 warnings"
    [note] = upload.preview.skipped
    assert note.line == 3 and "2017-13-01" in note.message
    assert notes_markdown(upload.preview.skipped).startswith(
        "- line 3\\: start \\(from \\'date\\'\\)\\: \\'2017\\-13\\-01\\' names no such date")


def test_a_file_where_every_row_is_skipped_is_not_added(syria: Dataset) -> None:
    data = "title,date,lat,lon,category,status,source\nA,yesterday,35,36,other,claimed,X\nB,,35,36,other,claimed,X\n"
    upload = read("sheet.csv", data)
    assert upload.dataset is None and upload.preview is not None and len(upload.preview.skipped) == 2
    assert str(upload.problems[0]) == ("sheet.csv: nothing could be imported (imported 0 rows, skipped 2, "
                                       "1 warning): see the rows listed")
    assert with_upload(syria, upload)[0] is syria


def test_files_that_are_not_tables_are_refused_with_a_reason() -> None:
    workbook = read("sheet.csv", b"PK\x03\x04 not really a workbook")
    assert workbook.dataset is None and workbook.read_as is None and read_as_markdown(workbook) is None
    assert "is an Excel workbook or a zip archive: save the sheet as 'CSV UTF-8'" in str(workbook.problems[0])
    empty = read("empty.csv", b"")
    assert str(empty.problems[0]) == "empty.csv: is empty: expected CSV with a header line, or GeoJSON"
    latin1 = read("sheet.csv", SHEET.replace("market", "marché").encode("latin-1"))
    assert latin1.dataset is None and "UTF-8" in str(latin1.problems[0])
    other = read("notes.pdf", b"%PDF-1.4")
    assert str(other.problems[0]) == ("notes.pdf: is not a file the dashboard can read; add a .csv, .geojson, "
                                      ".json, .tsv, .txt file")


# -- GeoJSON -----------------------------------------------------------------------------------------------------
def test_incident_geojson_is_read_as_it_is_and_other_geojson_is_imported() -> None:
    full = (DATA / "good" / "full.geojson").read_bytes()
    ours = read("full.geojson", full)
    assert ours.read_as == "incidents" and ours.preview is None and ours.dataset is not None and len(ours.dataset) == 6
    assert read_as_markdown(ours) == "Read as **Incident GeoJSON** (detected: a GeoJSON file in the incident format)"
    bad = read("many-problems.geojson", (DATA / "bad" / "many-problems.geojson").read_bytes())
    assert bad.read_as == "incidents" and bad.dataset is None and len(bad.problems) >= 4  # listed, not imported
    assert "Other GeoJSON" in (failure_hint(bad) or "")
    # chosen as "other GeoJSON", a file in the incident format maps itself
    imported = read("full.geojson", full, kind="geojson")
    assert imported.read_as == "geojson" and imported.preview is not None and imported.dataset is not None
    assert imported.preview.summary.startswith("imported 6 features")
    foreign = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": 7, "geometry": {"type": "Point", "coordinates": [36.6, 35.4]},
         "properties": {"title": "Synthetic strike", "start": "2017-04-04", "category": "Airstrike", "team": "B"}}]}
    data = json.dumps(foreign).encode()
    assert not looks_like_incidents(foreign) and looks_like_incidents(json.loads(full))
    missing = read("other.geojson", data)
    assert missing.read_as == "geojson" and missing.dataset is None
    assert "missing required fields: status" in str(missing.problems[0])
    other = read("other.geojson", data, default_status="claimed", default_source="Team notes")
    assert other.read_as == "geojson" and other.detected and other.dataset is not None
    assert other.preview is not None and other.preview.unused == ("team",)
    assert list(other.dataset.frame["category"]) == ["airstrike"]
    # the Kind "incident GeoJSON" reads a foreign file as it is: its problems are listed
    strict = read("other.geojson", data, kind="incidents")
    assert strict.dataset is None and strict.read_as == "incidents" and not strict.detected


def test_links_from_an_upload_to_the_data_already_open_resolve(syria: Dataset) -> None:
    linked = collection(feature("upload-1", related=[{"id": KHAN, "relation": "follows"}]),
                        feature("upload-2", related=[{"id": "upload-1", "relation": "context"}]))
    with pytest.raises(IncidentDataError, match="is not the id of any incident loaded"):
        load_incidents_bytes(linked, name="linked.geojson")  # on its own the file still links nowhere
    upload = read("linked.geojson", linked)
    assert upload.dataset is not None and upload.problems == ()
    combined, problems = with_upload(syria, upload)
    assert problems == () and len(combined) == 8
    assert combined.frame.set_index("id").at["upload-1", "related_ids"] == KHAN
    # an id found nowhere is refused, with where it is
    nowhere = read("nowhere.geojson", collection(feature("upload-3", related=[{"id": "no-such-incident",
                                                                               "relation": "follows"}])))
    assert nowhere.dataset is not None  # read; refused when added
    combined, problems = with_upload(syria, nowhere)
    assert combined is syria
    assert [str(p) for p in problems] == ["nowhere.geojson: feature #1 (upload-3): related[0].id: 'no-such-incident' "
                                          "is not the id of any incident loaded"]
    # a spreadsheet row may link to the data already open too (the CSV export's JSON column)
    sheet = SHEET.replace("Notes\n", "related\n", 1).replace(
        ",a note\n", ',"[{""id"": ""' + KHAN + '"", ""relation"": ""follows""}]"\n')
    added, problems = with_upload(syria, read("sheet.csv", sheet))
    assert problems == () and KHAN in set(added.frame["related_ids"])


# -- hostile text --------------------------------------------------------------------------------------------------
HOSTILE = "<img src=x onerror=alert(1)>"
LINK = "[click](javascript:alert(1))"
IMAGE = "![x](http://example.invalid/p.png)"
# a tag, a link target, an image or emphasis whose first character is not escaped
_ACTIVE = re.compile(r"(?<!\\)(?:<img|\]\(|!\[|\*\*bold)")


def inert(text: str | None) -> bool:
    """No tag, link, image or emphasis from the file can start in ``text``."""
    return text is not None and not _ACTIVE.search(text)


def test_hostile_text_in_a_spreadsheet_never_reaches_markdown_unescaped() -> None:
    data = (f'title,date,lat,lon,category,status,source,"{HOSTILE}"\n'
            f'"{LINK}",{IMAGE},35,36,other,claimed,X,y\n'
            f'"{HOSTILE}",2017-04-04,35,36,{LINK},claimed,X,y\n'
            f'ok,2017-04-04,{IMAGE},36,other,claimed,X,y\n')
    name = f"**bold** {LINK}.csv"
    upload = read(name, data)
    assert upload.preview is not None and upload.dataset is not None
    assert len(upload.preview.skipped) == 2 and upload.problems  # the unknown category: a warning
    markdown = [summary_markdown(upload), unused_markdown(upload.preview), notes_markdown(upload.preview.skipped),
                notes_markdown(upload.preview.warnings), problems_markdown(upload.problems)]
    assert all(inert(text) for text in markdown), markdown
    joined = "\n".join(text or "" for text in markdown)
    for value in (HOSTILE, LINK, IMAGE, name):
        assert escape_markdown(value) in joined, value  # there, and escaped
    # a file that fails as a whole, too
    failed = read(name, f'"{HOSTILE}",{LINK}\n1,2\n')
    assert failed.dataset is None and HOSTILE in str(failed.problems[0])
    assert inert(problems_markdown(failed.problems)) and escape_markdown(HOSTILE) in problems_markdown(failed.problems)
    assert read_as_markdown(failed) == "Read as **CSV spreadsheet** (detected: a table that is not an ACLED export)"
    # the mapping goes to a table widget as plain cells (never interpreted)
    assert not inert(HOSTILE) and not inert(LINK) and not inert(IMAGE)  # (the check itself)
    assert HOSTILE in upload.preview.unused and mapping_frame(upload.preview)["From the file"].dtype == "string"


def test_an_import_tells_how_far_it_has_come() -> None:
    told: list[str] = []
    data = (IMPORT / "acled-sample.csv").read_bytes()
    upload = read_upload("acled-sample.csv", data, progress=told.append)
    assert upload.dataset is not None
    rows = len(data.decode("utf-8-sig").splitlines())
    assert told and told[-1] == f"acled-sample.csv: {rows:,} of {rows:,} rows read"


@pytest.mark.parametrize(("name", "kind", "mapping"), [
    ("acled-sample.csv", "acled", None), ("acled-bad.csv", "acled", None), ("sheet-wkt.csv", "csv", None),
    ("sheet-latlon.csv", "csv", "sheet-latlon.toml"), ("foreign.geojson", "geojson", "foreign-map.yaml")])
def test_imported_rows_checked_in_memory_are_what_their_geojson_would_load_as(name: str, kind: Any,
                                                                             mapping: str | None) -> None:
    data = (IMPORT / name).read_bytes()
    fields = None if mapping is None else load_mapping((IMPORT / mapping).read_bytes(), name=mapping)
    result = import_table(data, name=name, kind=kind, mapping=fields, default_status="claimed",
                          default_source="Notes")
    assert result.features
    in_memory = load_incident_features(result.features, name=name, sha256="0" * 64, size=len(data), nested=False)
    written = load_incidents_bytes(result.to_bytes(), name=name, nested=False)
    pd.testing.assert_frame_equal(in_memory.frame, written.frame)
    pd.testing.assert_frame_equal(in_memory.history, written.history)
    assert in_memory.warnings == written.warnings
    assert in_memory.files[0].features == written.files[0].features == len(result.features)


def test_an_upload_in_the_incident_format_tells_how_far_its_check_has_come(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load_module, "_PROGRESS_EVERY", 2)
    told: list[str] = []
    upload = read_upload("full.geojson", (DATA / "good" / "full.geojson").read_bytes(), progress=told.append)
    assert upload.dataset is not None
    assert told == ["full.geojson: 2 features checked", "full.geojson: 4 features checked",
                    "full.geojson: 6 features checked"]
