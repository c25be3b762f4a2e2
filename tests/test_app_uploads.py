"""The sidebar uploader with Streamlit's AppTest (which drives ``st.file_uploader``): ACLED exports and spreadsheets
previewed and added, the Import options, a failed import beside a working app, links into the bundled data, and
hostile text kept inert. (The same in a real browser: tests/e2e/test_upload_browser.py.)"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from streamlit.testing.v1 import AppTest

from incidents.safety import escape_markdown

from .conftest import DATA
from .test_app import drawn_ids, run, summary, table_ids

IMPORT = DATA / "import"
KHAN = "2017-04-04-khan-sheikhoun-chemical-attack"
# a tag, a link target or an image whose first character is not escaped
ACTIVE = re.compile(r"(?<!\\)(?:<img|\]\(|!\[)")


def upload(at: AppTest, name: str, data: bytes, mime: str = "text/csv") -> AppTest:
    at.file_uploader(key="upload").set_value((name, data, mime)).run()
    assert not at.exception, at.exception
    return at


def sidebar_texts(at: AppTest) -> Iterator[str]:
    """Every text the sidebar shows as Markdown (alerts, captions, Markdown, expander labels)."""
    for kind in ("markdown", "caption", "error", "warning", "success", "info"):
        for element in at.sidebar.get(kind):
            yield str(element.value)
    for expander in at.sidebar.expander:
        yield str(expander.label)


def test_an_acled_export_is_previewed_and_its_incidents_are_added() -> None:
    at = upload(run(), "acled-bad.csv", (IMPORT / "acled-bad.csv").read_bytes())
    texts = list(sidebar_texts(at))
    assert "Read as **ACLED export** (detected from its columns)" in texts
    assert "**Import:** acled\\-bad\\.csv: imported 7 rows\\, skipped 8\\, 7 warnings" in texts
    labels = [e.label for e in at.sidebar.expander]
    assert labels[:4] == ["Import options", "Column → field mapping (14 fields)", "8 rows skipped",
                          "7 import warnings"]
    skipped = next(t for t in texts if t.startswith("- line 4\\: longitude is empty"))
    assert len(skipped.splitlines()) == 8 and "- line 17\\: has 4 cells where the header has 31" in skipped
    mapping = at.sidebar.dataframe[0].value
    assert list(mapping.columns) == ["Incident field", "From the file"]
    assert dict(zip(mapping["Incident field"], mapping["From the file"], strict=True))["id"] == "event_id_cnty"
    assert [s.value for s in at.success] == ["Added 7 incidents from acled\\-bad\\.csv."] and not at.error
    assert summary(at) == (13, 13, "all incidents")
    drawn = drawn_ids(at)
    assert len(drawn) == 12 and {"acled-SYR1", "acled-XKX12"} <= set(drawn)  # SYR2 has no location
    assert "acled-SYR2" in table_ids(at)
    assert any("Not on the map (no location): 1" in m.value for m in at.markdown)
    at.multiselect(key="status").set_value(["claimed"]).run()  # the rest of the app works on the added data
    assert summary(at)[:2] == (8, 13)


def test_the_import_options_choose_the_kind_and_fill_missing_columns() -> None:
    sheet = b"Ref,title,date,lat,lon\nA-1,Synthetic event,2017-04-04,35.1,36.1\nA-2,Another,2017-04-05,35.2,36.2\n"
    at = upload(run(), "sheet.csv", sheet)
    [error] = at.error
    assert error.value.startswith("sheet\\.csv was not added:\n\n- sheet\\.csv\\: missing required fields\\: "
                                  "category")
    assert any(c.value.startswith("The dashboard finds columns by their names") for c in at.sidebar.caption)
    assert summary(at) == (6, 6, "all incidents") and len(drawn_ids(at)) == 6  # the rest keeps working
    at.selectbox(key="upload-status").set_value("claimed")
    at.selectbox(key="upload-category").set_value("shelling")
    at.text_input(key="upload-source").set_value("Team notes").run()
    assert not at.error and [s.value for s in at.success] == ["Added 2 incidents from sheet\\.csv."]
    assert summary(at)[:2] == (8, 8)
    mapping = at.sidebar.dataframe[0].value
    assert list(mapping["From the file"])[-3:] == ["Claimed (Import options)", "Team notes (Import options)",
                                                   "Shelling (Import options)"]
    assert "Not used (kept in each incident's provenance): Ref" in [c.value for c in at.sidebar.caption]
    # chosen as another kind: the file is read as that, and says so
    at.selectbox(key="upload-kind").set_value("acled").run()
    assert "Read as **ACLED export** (chosen under Import options)" in [c.value for c in at.sidebar.caption]
    assert "is not an ACLED export" in at.error[0].value and summary(at)[:2] == (6, 6)
    assert any(c.value.startswith("If this is not an ACLED export") for c in at.sidebar.caption)
    at.selectbox(key="upload-kind").set_value("detect").run()
    assert summary(at)[:2] == (8, 8)  # back as it was (cached by the file and the options)


def test_an_upload_may_link_to_the_bundled_incidents() -> None:
    linked = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "id": "upload-1", "geometry": {"type": "Point", "coordinates": [36.64, 35.44]},
        "properties": {"id": "upload-1", "title": "Synthetic follow-up report", "category": "other",
                       "start": "2017-04-05", "status": "claimed", "sources": [{"title": "Field report"}],
                       "related": [{"id": KHAN, "relation": "follows"}]}}]}
    at = upload(run(), "linked.geojson", json.dumps(linked).encode(), "application/geo+json")
    assert not at.error and summary(at)[:2] == (7, 7)
    assert "Read as **Incident GeoJSON** (detected: a GeoJSON file in the incident format)" in \
        [c.value for c in at.sidebar.caption]
    linked["features"][0]["properties"]["related"] = [{"id": "no-such-incident", "relation": "follows"}]
    at = upload(at, "nowhere.geojson", json.dumps(linked).encode(), "application/geo+json")
    assert summary(at)[:2] == (6, 6)
    assert "\\'no\\-such\\-incident\\' is not the id of any incident loaded" in at.error[0].value


def test_hostile_text_in_an_upload_stays_inert() -> None:
    hostile, link, image = "<img src=x onerror=alert(1)>", "[click](javascript:alert(1))", "![x](http://example.invalid/p.png)"
    data = (f'title,date,lat,lon,category,status,source,"{hostile}"\n"{link}",{image},35,36,other,claimed,X,y\n'
            f'"{hostile}",2017-04-04,35,36,{link},claimed,X,y\n').encode()
    at = upload(run(), f"{link}.csv", data)
    texts = list(sidebar_texts(at))
    assert [t for t in texts if ACTIVE.search(t)] == []
    joined = "\n".join(texts)
    assert escape_markdown(link) in joined and escape_markdown(image) in joined and escape_markdown(hostile) in joined
    assert summary(at)[:2] == (7, 7)
    assert all(not ACTIVE.search(m.value) for m in at.main.get("markdown"))
