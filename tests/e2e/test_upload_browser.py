"""Uploading an ACLED export and a spreadsheet in a real browser (Chromium) against a real ``streamlit run``: the
preview says how the file was read and what was imported or skipped, the summary counts the added incidents and
the map draws them; a file that cannot be imported is refused while the rest keeps working."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import ROOT, Session

pytestmark = pytest.mark.browser
IMPORT = ROOT / "tests" / "data" / "import"
SIDEBAR = '[data-testid="stSidebar"]'


def summary(session: Session) -> str:
    return session.page.locator(f'{SIDEBAR} [data-testid="stMarkdown"]', has_text=" incidents").first.inner_text()


def add_file(session: Session, path: Path) -> None:
    session.page.locator(f'{SIDEBAR} [data-testid="stFileUploader"] input[type="file"]').set_input_files(str(path))


def sidebar_text(session: Session, text: str) -> str:
    """Wait (up to 30 s) for an element of the sidebar holding ``text``; its whole text."""
    element = session.page.locator(f'{SIDEBAR} [data-testid="stElementContainer"]:not([data-stale="true"])',
                                   has_text=text).last
    element.wait_for(timeout=30_000)
    return element.inner_text()


def test_an_acled_export_is_previewed_added_and_drawn(session: Session, tmp_path: Path) -> None:
    session.open()
    assert session.wait_for_map() == 6
    add_file(session, IMPORT / "acled-sample.csv")
    assert sidebar_text(session, "Read as ACLED export") == "Read as ACLED export (detected from its columns)"
    assert sidebar_text(session, "Import: acled-sample") == \
        "Import: acled-sample.csv: imported 25 rows, skipped 0, 0 warnings"
    assert sidebar_text(session, "Added 25") == "Added 25 incidents from acled-sample.csv."
    assert session.wait_for_map(drawn=31) == 31
    assert summary(session) == "31 of 31 incidents: all incidents"
    the_map = session.map()
    assert the_map.locator(".im-marker").count() == 31
    assert the_map.locator('.im-marker[data-incident-id="acled-SYR90000"]').count() == 1
    assert the_map.locator('.im-marker[data-incident-id="2017-04-07-shayrat-airbase-missile-strike"]').count() == 1
    # the mapping, one click away
    session.page.locator(SIDEBAR).get_by_text("Column → field mapping (14 fields)").click()
    grid = session.page.locator(f'{SIDEBAR} [data-testid="stDataFrame"]')
    grid.wait_for(state="visible", timeout=10_000)
    box = grid.bounding_box()
    assert box is not None and box["height"] > 100

    # a file with bad rows: each listed with its line; its good rows replace the first file's
    add_file(session, IMPORT / "acled-bad.csv")
    assert sidebar_text(session, "Import: acled-bad") == \
        "Import: acled-bad.csv: imported 7 rows, skipped 8, 7 warnings"
    skipped = sidebar_text(session, "line 5: event_date")
    assert "line 5: event_date: '2017-02-30' names no such day" in skipped
    assert "line 17: has 4 cells where the header has 31" in skipped
    assert session.wait_for_map(drawn=12) == 12  # 6 + 7, one of them without a location
    assert summary(session) == "13 of 13 incidents: all incidents"

    # a spreadsheet missing required columns is refused with what it needs; the bundled data stays on the map
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("Ref,Incident,Date,Lat,Lon\nA-1,Synthetic event,2017-04-04,35.1,36.1\n")
    add_file(session, sheet)
    error = sidebar_text(session, "sheet.csv was not added")
    assert error.startswith("sheet.csv was not added:\n\nsheet.csv: missing required fields: title")
    assert session.wait_for_map(drawn=6) == 6
    assert summary(session) == "6 of 6 incidents: all incidents"


def test_filters_changed_one_after_another_keep_working(session: Session) -> None:
    """The status and category options are labelled with counts; a rerun after the counts changed (here: two text
    filters in turn) used to send back a label of an earlier run and stop the app with a FilterError."""
    session.open()
    for label, text, drawn in (("Perpetrator", "coalition", 2), ("Claimant", "Syrian", 1), ("Search", "depot", 1)):
        box = session.page.get_by_role("textbox", name=label)
        box.fill(text)
        box.press("Enter")
        assert session.wait_for_map(drawn=drawn) == drawn
    assert session.page.locator('[data-testid="stException"]').count() == 0
    assert summary(session).startswith("1 of 6 incidents")
