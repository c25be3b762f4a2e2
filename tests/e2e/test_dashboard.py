"""The dashboard in a real browser (Chromium) against a real ``streamlit run``: the map is visible and draws every
incident, filters change the map and the export, a link reproduces a view, the download is the CLI's export, a
marker's click shows its record, and the page never leaves the server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from incidents import IncidentFilter, load_incidents

from .conftest import MAP_IFRAME, ROOT, Session

pytestmark = pytest.mark.browser
BUNDLED = ROOT / "geodata" / "incidents"
SHAYRAT = "2017-04-07-shayrat-airbase-missile-strike"
KHAN = "2017-04-04-khan-sheikhoun-chemical-attack"


def cli_export(*args: str) -> dict[str, Any]:
    result = subprocess.run([sys.executable, "-m", "incidents", "export", str(BUNDLED), *args],
                            capture_output=True, check=True, cwd=ROOT)
    exported: dict[str, Any] = json.loads(result.stdout)
    return exported


def download(session: Session, label: str) -> tuple[str, bytes]:
    """Click a download button; the file's suggested name and content."""
    button = session.page.get_by_role("button", name=re.compile(label))
    with session.page.expect_download(timeout=30_000) as info:
        button.click()
    result = info.value
    path = result.path()
    return result.suggested_filename, Path(path).read_bytes()


def summary(session: Session) -> str:
    return session.page.locator('[data-testid="stSidebar"] [data-testid="stMarkdown"]', has_text=" incidents").first \
        .inner_text()


def test_the_map_is_visible_and_draws_every_incident(session: Session) -> None:
    session.open()
    assert session.wait_for_map() == 6
    box = session.page.locator(MAP_IFRAME).bounding_box()
    assert box is not None and box["height"] >= 500
    the_map = session.map()
    assert the_map.locator(".im-marker").count() == 6
    for i in range(6):  # the map is fitted to the incidents: every symbol inside the frame
        marker = the_map.locator(".im-marker").nth(i).bounding_box()
        assert marker is not None and box["x"] <= marker["x"] and marker["x"] + marker["width"] <= box["x"] + \
            box["width"] and box["y"] <= marker["y"] and marker["y"] + marker["height"] <= box["y"] + box["height"]
    assert the_map.locator(".leaflet-container").get_attribute("data-incidents-mode") == "symbols"
    the_map.locator('.leaflet-container[data-basemap="loaded"]').wait_for(timeout=10_000)  # the local base map
    assert the_map.locator(".im-legend").inner_text().startswith("Status\nVerified (4)")
    assert the_map.locator("path.im-link").count() >= 1  # related incidents joined by a line
    assert the_map.locator("path.im-uncertainty").count() >= 1  # location uncertainty as a radius
    assert summary(session) == "6 of 6 incidents: all incidents"


def test_a_filter_changed_in_the_page_changes_the_map_the_link_and_the_export(session: Session) -> None:
    session.open()
    session.page.get_by_role("button", name="Remove Claimed (1)").click()
    session.wait_for_map(drawn=5)
    assert session.map().locator(".im-marker").count() == 5
    session.wait_for_query("status=verified&status=disputed&status=debunked")
    name, data = download(session, "Download GeoJSON")
    exported = json.loads(data)
    expected = cli_export("--status", "verified,disputed,debunked")
    assert name == "incidents-verified-disputed-debunked.geojson"
    assert exported["features"] == expected["features"] and len(exported["features"]) == 5
    assert exported["export"]["description"] == expected["export"]["description"]
    # the window's end thumb, moved to its first day: only the Ghouta attacks of 21 August 2013 remain
    end = session.page.locator('input[type="range"][aria-label="Date window — end"]')
    end.focus()
    end.press("Home")
    session.wait_for_map(drawn=1)
    session.wait_for_query("status=verified&status=disputed&status=debunked&to=2013-08-21")
    name, data = download(session, "Download CSV")
    assert name == "incidents-verified-disputed-debunked-start_to_2013-08-21.csv"
    assert data.count(b"\r\n") == 2 and b"2013-08-21-ghouta-sarin-attacks" in data


def test_a_shared_link_reproduces_the_view_and_its_export(session: Session) -> None:
    query = "status=verified&category=chemical_attack&from=2017-04-04&to=2017-04-13"
    session.open(query)
    assert session.wait_for_map(drawn=1) == 1
    assert session.map().locator(f'.im-marker[data-incident-id="{KHAN}"]').count() == 1
    assert summary(session) == "1 of 6 incidents: verified chemical attacks, 4–13 April 2017"
    assert session.page.get_by_role("button", name="Remove Verified (1)").count() == 1
    session.wait_for_query(query)  # the link is kept as it was written
    name, data = download(session, "Download GeoJSON")
    exported = json.loads(data)
    expected = cli_export("--status", "verified", "--category", "chemical_attack", "--from", "2017-04-04",
                          "--to", "2017-04-13")
    assert name == "incidents-verified-chemical_attack-2017-04-04_to_2017-04-13.geojson"
    assert exported["features"] == expected["features"]
    assert exported["export"]["description"] == expected["export"]["description"] == \
        "verified chemical attacks, 4–13 April 2017"
    # the window (4–12 April inside the data) stepped back by its own length keeps the other filters
    assert session.page.get_by_role("button", name="Later ▶").is_disabled()
    session.page.get_by_role("button", name="◀ Earlier").click()
    session.wait_for_query("status=verified&category=chemical_attack&from=2017-03-26&to=2017-04-03")
    assert session.wait_for_map(drawn=0) == 0
    assert summary(session) == "0 of 6 incidents: verified chemical attacks, 26 March – 3 April 2017"


def test_a_bad_link_warns_and_the_map_still_draws(session: Session) -> None:
    session.open("status=verified,confirmed&from=yesterday")
    assert session.wait_for_map(drawn=4) == 4
    warnings = session.page.locator('[data-testid="stAlertContentWarning"]').all_inner_texts()
    assert any("'confirmed' is not one of" in text for text in warnings), warnings
    assert any(text.startswith("Link: from:") for text in warnings), warnings


def test_clicking_a_marker_shows_its_whole_story(session: Session, artifacts: Path) -> None:
    session.open()
    marker = session.map().locator(f'.im-marker[data-incident-id="{SHAYRAT}"]')
    marker.hover()
    assert session.map().locator(".leaflet-tooltip").inner_text() == "US missile strike on Shayrat airbase"
    marker.click()
    popup = session.map().locator(".leaflet-popup-content")
    text = popup.inner_text()
    for part in ("US missile strike on Shayrat airbase", "Verified", "Missile strike",
                 "7 April 2017, 04:40 (+03:00) (precise to the hour)", "Shayrat airbase", "United States",
                 "Status history", "Claims", "Sergei Lavrov, Russian Foreign Minister disputes", "Sources"):
        assert part in text, part
    links = popup.locator("a")
    assert links.count() >= 1
    assert all(links.nth(i).get_attribute("rel") == "noopener noreferrer" for i in range(links.count()))
    panel = session.page.locator(".st-key-clicked-record")
    panel.wait_for(timeout=20_000)  # the click reruns the app, which shows the record beside the map
    assert panel.get_by_role("heading").first.inner_text() == "US missile strike on Shayrat airbase"
    assert "Perpetrator: United States" in panel.inner_text()
    session.page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)  # docs/screenshot.png's source


def test_a_table_row_shows_its_record_and_the_table_follows_the_filter(session: Session) -> None:
    session.open("perpetrator=coalition")
    assert session.wait_for_map(drawn=2) == 2
    grid = session.page.locator('[data-testid="stDataFrame"]')
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    session.page.mouse.click(box["x"] + 15, box["y"] + 35 + 35 * 1 + 17)  # the second row's selection box
    record = session.page.locator(".st-key-table-record")
    record.wait_for(timeout=20_000)
    assert record.get_by_role("heading").first.inner_text() == \
        "Claimed coalition strike on a toxic-materials depot near Deir ez-Zor"
    assert "Disputed" in record.inner_text() and "Claims" in record.inner_text()


def test_online_tiles_are_contacted_only_when_switched_on(session: Session) -> None:
    session.open()
    session.page.wait_for_timeout(1000)
    assert session.outside == []
    session.page.get_by_text("OpenStreetMap — contacts tile.openstreetmap.org").click()
    session.page.get_by_text("your browser now contacts a third-party server").wait_for(timeout=20_000)
    deadline = 100
    while not session.outside and deadline:
        session.page.wait_for_timeout(200)
        deadline -= 1
    assert session.outside and all(url.startswith("https://tile.openstreetmap.org/") for url in session.outside)
    session.outside.clear()  # blocked by the test's gate; the app did what the switch said


def test_the_page_makes_no_request_outside_the_server(session: Session) -> None:
    session.open()
    page = session.page
    # open every popup and tooltip, the timeline's tooltips, a date picker, then a filtered view
    for i in range(session.map().locator(".im-marker").count()):
        session.map().locator(".im-marker").nth(i).hover(force=True)
        session.map().locator(".im-marker").nth(i).click(force=True)
    page.locator('[data-testid="stVegaLiteChart"]').hover()
    page.get_by_role("button", name="Remove Verified (4)").click()
    session.wait_for_map(drawn=2)
    page.locator('[data-testid="stDateInput"]').click()
    page.wait_for_timeout(1000)
    origin = session.server
    assert session.requests and all(url.startswith((origin, "data:", "blob:", "about:")) for url in
                                    session.requests), [u for u in session.requests if not u.startswith(origin)]
    assert session.outside == []
    statics = {url.removeprefix(origin) for url in session.requests if "/app/static/" in url}
    assert {"/app/static/vendor/leaflet/leaflet.js", "/app/static/incidents/incident-map.js",
            "/app/static/basemap/countries-50m.geojson"} <= statics


def test_the_same_features_as_the_cli_for_the_whole_data(session: Session) -> None:
    session.open()
    _, data = download(session, "Download GeoJSON")
    exported = json.loads(data)
    expected = cli_export()
    assert exported["features"] == expected["features"] and len(exported["features"]) == 6
    assert exported["export"]["description"] == expected["export"]["description"] == "all incidents"
    assert exported["export"]["datasets"] == expected["export"]["datasets"]
    assert [f["id"] for f in exported["features"]] == list(IncidentFilter().apply(load_incidents(BUNDLED))["id"])
