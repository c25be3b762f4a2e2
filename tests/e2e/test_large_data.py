"""Thousands of incidents in a real browser: loading shows a spinner, the map switches to one canvas layer of points
(issue 5's path), and a click on a point still shows that incident's full record beside the map."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import shapely

from incidents import IncidentFilter, load_incidents
from incidents.render import POINT_TITLES_LIMIT, SYMBOLS_LIMIT, MapOptions, map_payload
from incidents.synth import write_synthetic_geojson

from .conftest import MAP_IFRAME, Session

pytestmark = pytest.mark.browser
# Above SYMBOLS_LIMIT, at most POINT_TITLES_LIMIT (points keep their titles), and slow enough to load (over a second
# here) that the spinner shows.
COUNT = 20_000

# Remember every spinner text the page ever showed, however briefly (runs in the page before its own scripts).
SPINNER_WATCH = """
window.__spinners = [];
new MutationObserver(() => {
  document.querySelectorAll('[data-testid="stSpinner"]').forEach((node) => {
    const text = node.textContent.trim();
    if (text && !window.__spinners.includes(text)) window.__spinners.push(text);
  });
}).observe(document, { subtree: true, childList: true, characterData: true });
"""


@pytest.fixture(scope="module")
def data_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("large") / "synthetic.geojson"
    write_synthetic_geojson(str(path), COUNT)
    return path


@pytest.fixture(scope="module")
def server_env(data_file: Path) -> dict[str, str]:
    return {"INCIDENTS_PATH": str(data_file)}


def test_loading_shows_progress_and_many_incidents_are_drawn_as_points(session: Session, data_file: Path) -> None:
    assert SYMBOLS_LIMIT < COUNT <= POINT_TITLES_LIMIT
    dataset = load_incidents(data_file)
    located = dataset.frame[dataset.frame.geometry.notna()]
    session.page.add_init_script(SPINNER_WATCH)
    session.open()  # the first visit to this server: the data is read now
    assert "Loading incidents…" in session.page.evaluate("window.__spinners")
    assert session.wait_for_map() == len(located)
    container = session.map().locator(".leaflet-container")
    assert container.get_attribute("data-incidents-mode") == "points"
    assert session.map().locator(".im-marker").count() == 0
    assert session.map().locator("canvas.im-points").count() == 1
    assert session.page.get_by_text(f"{len(dataset)} of {len(dataset)} incidents").count() == 1

    # a click on one point (the one farthest from any other: nothing else under the pointer): a popup with its
    # title, and its full record beside the map
    points = located.geometry.to_numpy()
    _, distances = shapely.STRtree(points).query_nearest(points, exclusive=True, return_distance=True,
                                                         all_matches=False)
    first = located.iloc[int(np.argmax(distances))]
    props = json.loads(first["properties_json"])
    lat, lng = round(first.geometry.y, 5), round(first.geometry.x, 5)
    x, y = session.map_frame().evaluate(
        "([lat, lng]) => { const p = map_div.latLngToContainerPoint([lat, lng]); return [p.x, p.y]; }", [lat, lng])
    box = session.page.locator(MAP_IFRAME).bounding_box()
    assert box is not None
    session.page.mouse.click(box["x"] + x, box["y"] + y)
    assert session.map().locator(".leaflet-popup-content .im-title").inner_text() == props["title"]
    panel = session.page.locator(".st-key-clicked-record")
    panel.get_by_role("heading", name=props["title"]).first.wait_for(timeout=20_000)
    text = panel.inner_text()
    assert "Sources" in text and f"ID: {props['id']}" in text
    assert all(source["title"] in text for source in props["sources"])
    assert all(claim["by"] in text for claim in props.get("claims", []))


def test_the_density_grid_counts_incidents_and_a_cell_drills_down_to_them(session: Session, data_file: Path) -> None:
    """The grid mode (automatic above GRID_LIMIT incidents, or switched on): cells count the incidents; a click lists
    a cell's incidents with their records, and narrowing the filter to the cell draws them one by one."""
    dataset = load_incidents(data_file)
    located = dataset.frame[dataset.frame.geometry.notna()]
    session.open()
    session.page.get_by_text("Density grid").click()
    container = session.map().locator(".leaflet-container[data-incidents-mode='grid']")
    container.wait_for(timeout=30_000)
    assert int(container.get_attribute("data-incidents-drawn") or -1) == len(located)
    assert session.map().locator("canvas.im-points").count() == 1
    legend = session.map().locator(".im-legend").inner_text()
    counts = located["status"].value_counts()
    assert f"Verified ({counts['verified']})" in legend and f"Claimed ({counts['claimed']})" in legend

    first = located[located.geometry.geom_type == "Point"].iloc[0]
    lat, lng = first.geometry.y, first.geometry.x
    step = map_payload(dataset.frame, options=MapOptions(mode="grid"))["grid"]["step"]
    centre = [(math.floor(lat / step) + 0.5) * step, (math.floor(lng / step) + 0.5) * step]  # of the point's cell
    x, y = session.map_frame().evaluate(
        "([lat, lng]) => { const p = map_div.latLngToContainerPoint([lat, lng]); return [p.x, p.y]; }", centre)
    box = session.page.locator(MAP_IFRAME).bounding_box()
    assert box is not None
    session.page.mouse.click(box["x"] + x, box["y"] + y)
    popup = session.map().locator(".leaflet-popup-content .im-title").inner_text()
    in_cell = int(popup.split(" ")[0])
    assert popup == f"{in_cell} incidents in this cell" and in_cell >= 1
    cell = session.page.locator(".st-key-clicked-cell")
    cell.wait_for(timeout=20_000)
    assert session.page.get_by_text(f"a cell of {in_cell:,} incidents").count() == 1
    cell.get_by_text(str(first["title"]), exact=False).first.click()  # its record opens in the list
    cell.get_by_text(f"ID: {first['id']}").first.wait_for(timeout=10_000)

    session.page.get_by_role("button", name="Narrow the filter to this cell").click()
    session.page.wait_for_function("() => new URL(location.href).searchParams.has('bbox')", timeout=20_000)
    query = dict(part.split("=", 1) for part in session.page.url.split("?", 1)[1].split("&"))
    west, south, east, north = (float(v) for v in query["bbox"].replace("%2C", ",").split(","))
    assert west <= lng <= east and south <= lat <= north
    narrowed = IncidentFilter(bbox=(west, south, east, north)).apply(dataset)
    assert in_cell <= len(narrowed) < len(dataset)
    session.page.get_by_text("Density grid").click()  # back to drawing each incident
    narrowed_located = narrowed[narrowed.geometry.notna()]
    assert session.wait_for_map(len(narrowed_located)) == len(narrowed_located)
    assert session.page.get_by_text(f"{len(narrowed)} of {len(dataset)} incidents").count() == 1
