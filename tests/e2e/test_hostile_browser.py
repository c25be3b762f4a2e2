"""Issue 4 in a real browser: a dataset with script payloads in every text field (titles, places, claims, sources,
category codes, ids, ``x_`` names) is opened in the dashboard; every tooltip and popup is opened, every record is
shown beside the map and below the table, and nothing runs: no ``__pwned`` marker on the page or in the map's frame,
the page title unchanged, no dialog, no request for a payload's image; and the map still draws every located
incident."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from incidents import load_incidents

from .conftest import MAP_IFRAME, ROOT, Session

pytestmark = pytest.mark.browser
HOSTILE = ROOT / "tests" / "data" / "hostile" / "script-payloads.geojson"
PAGE_TITLE = "Incident map"
MARKERS = ("window.__pwned", "parent.__pwned")


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"INCIDENTS_PATH": str(HOSTILE)}


def shown(text: str) -> str:
    """Text as a page shows it: blanks (and U+2028/U+2029) collapsed, bidi and other format characters dropped."""
    visible = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return re.sub(r"\s+", " ", visible).strip()


def assert_nothing_ran(session: Session, dialogs: list[str]) -> None:
    page = session.page
    for expression in ("window.__pwned", "window.parent.__pwned"):
        assert page.evaluate(f"typeof {expression}") == "undefined", expression
        assert session.map_frame().evaluate(f"typeof {expression}") == "undefined", f"map frame: {expression}"
    assert page.title() == PAGE_TITLE
    assert session.map_frame().evaluate("window.parent.document.title") == PAGE_TITLE
    assert dialogs == []
    payload_fetches = [url for url in session.requests if re.search(r"/x(?:$|[?#])", url)]
    assert payload_fetches == [], payload_fetches  # an <img src=x> that became markup would have asked for /x


def test_script_payloads_in_every_field_never_run(session: Session, artifacts: Path) -> None:
    dataset = load_incidents(HOSTILE)
    frame = dataset.frame
    located = frame[frame.geometry.notna()]
    titles = {shown(str(title)) for title in frame["title"]}
    assert len(located) >= 10 and len(located) < len(frame)  # points, a line, a polygon and one unlocated
    dialogs: list[str] = []
    session.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    session.page.set_viewport_size({"width": 1500, "height": 2600})  # the whole table on screen
    session.open()
    assert session.wait_for_map() == len(located)
    the_map = session.map()
    markers = the_map.locator(".im-marker")
    assert markers.count() == len(located)

    # every tooltip and popup of every symbol; each click also shows the record beside the map
    panel = session.page.locator(".st-key-clicked-record")
    for i in range(markers.count()):
        marker = markers.nth(i)
        title = shown(marker.get_attribute("aria-label") or "")
        assert title in titles
        # the events a pointer sends, straight to the symbol (another symbol or an open popup may cover it)
        marker.dispatch_event("mouseover")
        tooltip = the_map.locator(".leaflet-tooltip")
        assert shown(tooltip.last.inner_text()) == title
        marker.dispatch_event("click")
        popup = the_map.locator(".leaflet-popup-content").last  # (the one before may still be fading out)
        assert shown(popup.locator(".im-title").inner_text()) == title
        assert popup.locator("script, img, iframe, svg:not([aria-hidden]), style, a[href^='javascript']").count() == 0
        panel.get_by_role("heading").filter(has_text=title[:20]).first.wait_for(timeout=20_000)
        assert title in [shown(text) for text in panel.get_by_role("heading").all_inner_texts()]
    assert_nothing_ran(session, dialogs)

    # the shapes (line, polygon, their parts) and the lines joining related incidents: hover and click
    shapes = the_map.locator("path.leaflet-interactive")
    assert shapes.count() >= 2
    for i in range(shapes.count()):
        for event in ("mouseover", "mousemove", "click", "mouseout"):
            shapes.nth(i).dispatch_event(event)
    assert_nothing_ran(session, dialogs)

    # every category label (payload codes included) in the filter's drop-down
    session.page.locator('[data-testid="stMultiSelect"]').nth(1).click()
    options = session.page.get_by_role("option")
    assert options.count() >= 6
    assert any("<a href" in options.nth(i).inner_text() for i in range(options.count()))  # shown as text
    session.page.keyboard.press("Escape")

    # every row of the table, each record shown below it
    grid = session.page.locator('[data-testid="stDataFrame"]')
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None and box["height"] >= 35 * (len(frame) + 1)
    record = session.page.locator(".st-key-table-record")
    for row in range(len(frame)):
        box = grid.bounding_box()  # again each time: the record shown below (and beside the map) moves the page
        assert box is not None
        session.page.mouse.click(box["x"] + 15, box["y"] + 35 * (row + 1) + 17)
        heading = shown(str(frame["title"].iloc[row]))
        record.get_by_role("heading").filter(has_text=heading[:20]).first.wait_for(timeout=20_000)
        assert shown(record.get_by_role("heading").first.inner_text()) == heading
    unlocated = shown(str(frame.loc[frame.geometry.isna(), "title"].iloc[0]))
    assert unlocated in shown(session.page.locator('[data-testid="stMain"]').inner_text())  # listed beside the map

    session.page.screenshot(path=str(artifacts / "hostile.png"), full_page=True)
    assert_nothing_ran(session, dialogs)
    assert session.wait_for_map() == len(located)  # and the map is still drawn
    assert session.page.locator(MAP_IFRAME).count() == 1
