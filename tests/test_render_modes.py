"""Every rendering mode shows the same incidents: symbols (few), canvas points (many), grid cells (very many).

Whatever is drawn, each incident on the map stays reachable (a click on its point, or on its cell and then the
cell's list), and the counts drawn add up to the incidents shown. Payload sizes are deterministic, so they are
pinned here; timings are not (see bench/).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest
import shapely

from incidents import Dataset, IncidentFilter, load_incidents_bytes
from incidents.grid import CELLS_ACROSS, Grid, grid_for
from incidents.render import (
    COORDINATE_UNIT,
    GRID_LIMIT,
    SYMBOLS_LIMIT,
    MapOptions,
    build_map,
    cell_at,
    choose_mode,
    incidents_at,
    map_payload,
)
from incidents.synth import synthetic_collection

COUNT = 3000


@pytest.fixture(scope="module")
def many() -> Dataset:
    data = json.dumps(synthetic_collection(COUNT, seed=11)).encode()
    return load_incidents_bytes(data, name="synthetic.geojson", nested=False)


def on_map(dataset: Dataset) -> np.ndarray:
    geometry = dataset.frame.geometry.to_numpy()
    return ~(shapely.is_missing(geometry) | shapely.is_empty(geometry))


def unpack(text: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


def test_the_mode_follows_the_number_of_incidents_shown() -> None:
    assert choose_mode(SYMBOLS_LIMIT) == "symbols"
    assert choose_mode(SYMBOLS_LIMIT + 1) == "points"
    assert choose_mode(GRID_LIMIT) == "points"
    assert choose_mode(GRID_LIMIT + 1) == "grid"
    assert choose_mode(10, "grid") == "grid"


def test_points_carry_every_located_incident_with_its_status_and_category(many: Dataset) -> None:
    payload = map_payload(many.frame, options=MapOptions(mode="points"))
    points = payload["points"]
    located = many.frame[on_map(many)]
    assert points["count"] == len(located) < COUNT  # the synthetic data has unlocated incidents
    lat = unpack(points["lat"], "<i4") * COORDINATE_UNIT
    lng = unpack(points["lng"], "<i4") * COORDINATE_UNIT
    statuses = [points["status_codes"][i] for i in unpack(points["status"], "u1")]
    categories = [points["category_codes"][i] for i in unpack(points["category"], "<u2")]
    assert statuses == list(located["status"]) and categories == list(located["category"])
    assert points["title"] == list(located["title"])
    kinds = located.geometry.geom_type.to_numpy()
    is_point = kinds == "Point"
    shapes = located.geometry.to_numpy()
    assert np.allclose(lat[is_point], shapely.get_y(shapes[is_point]), atol=COORDINATE_UNIT)
    assert np.allclose(lng[is_point], shapely.get_x(shapes[is_point]), atol=COORDINATE_UNIT)
    # shapes are drawn at a point inside them
    inside = shapely.contains_xy(located.geometry[kinds == "Polygon"].to_numpy(), lng[kinds == "Polygon"],
                                 lat[kinds == "Polygon"])
    assert inside.all()


def test_a_click_on_any_point_finds_its_incident(many: Dataset) -> None:
    points = map_payload(many.frame, options=MapOptions(mode="points"))["points"]
    lat = unpack(points["lat"], "<i4") * COORDINATE_UNIT
    lng = unpack(points["lng"], "<i4") * COORDINATE_UNIT
    located = many.frame[on_map(many)]
    for position in range(0, len(located), 97):
        found = incidents_at(many.frame, float(lat[position]), float(lng[position]))
        assert located["id"].iat[position] in set(found["id"])


def test_the_points_payload_is_compact(many: Dataset) -> None:
    """11 bytes per incident, about 15 in base64, without titles (the 100k target is 3 MB); titles come only
    below 20k."""
    payload = map_payload(many.frame, options=MapOptions(mode="points"))
    without_titles = {k: v for k, v in payload["points"].items() if k != "title"}
    per_incident = len(json.dumps(without_titles)) / payload["points"]["count"]
    assert 14 <= per_incident <= 15.5


def test_grid_cells_add_up_to_the_incidents_shown(many: Dataset) -> None:
    payload = map_payload(many.frame, options=MapOptions(mode="grid"))
    grid = payload["grid"]
    located = many.frame[on_map(many)]
    cells = np.array(grid["cells"])
    assert grid["count"] == len(located) == cells[:, 2].sum()
    assert (cells[:, 3:].sum(axis=1) == cells[:, 2]).all()
    by_status = dict(zip(grid["status_codes"], cells[:, 3:].sum(axis=0).tolist(), strict=True))
    counts = located["status"].value_counts()
    assert by_status == {code: int(counts.get(code, 0)) for code in grid["status_codes"]}
    assert "incidents" not in payload and "points" not in payload  # no per-incident data in this mode


def test_every_incident_is_reachable_through_its_cell(many: Dataset) -> None:
    grid = map_payload(many.frame, options=MapOptions(mode="grid"))["grid"]
    step = grid["step"]
    reached: list[str] = []
    for row, column, total, *_ in grid["cells"]:
        cell = cell_at(many.frame, (row + 0.5) * step, (column + 0.5) * step)
        assert len(cell.incidents) == total
        reached += list(cell.incidents["id"])
        # narrowing the filter to the cell keeps all of the cell's incidents (and those on its edges)
        if total > 40:
            narrowed = IncidentFilter(bbox=cell.bbox).apply(many)
            assert set(cell.incidents["id"]) <= set(narrowed["id"])
            assert choose_mode(len(narrowed)) == "symbols"
    assert sorted(reached) == sorted(many.frame[on_map(many)]["id"])


def test_the_grid_has_about_the_wanted_number_of_cells_across() -> None:
    anchors = np.array([[33.0, 36.0], [37.0, 42.0]])
    grid = grid_for(anchors)
    assert 6.0 / grid.step <= CELLS_ACROSS and 6.0 / grid.step > CELLS_ACROSS / 3
    assert Grid(0.05).bbox(700, 720) == (36.0, 35.0, 36.05, 35.05)


def test_every_mode_renders_a_safe_map(many: Dataset) -> None:
    hostile = many.frame.copy()
    hostile.loc[0, "title"] = "</script><script>window.__pwned=1</script>"
    hostile.loc[0, "category"] = "</script><img src=x onerror=alert(1)>"
    for mode in ("symbols", "points", "grid"):
        html = build_map(hostile, options=MapOptions(mode=mode)).get_root().render()
        assert "<script>window.__pwned" not in html and "<img src=x" not in html, mode
        assert f'"mode": "{mode}"' in html or f'"mode":"{mode}"' in html


def _cells(payload: dict[str, Any]) -> int:
    return len(payload["grid"]["cells"])


def test_a_filter_changes_the_cells(many: Dataset) -> None:
    everything = map_payload(many.frame, options=MapOptions(mode="grid"))
    verified = map_payload(IncidentFilter(statuses=frozenset({"verified"})).apply(many),
                           options=MapOptions(mode="grid"))
    assert verified["grid"]["count"] < everything["grid"]["count"]
    assert 0 < _cells(verified) <= _cells(everything) or verified["grid"]["step"] != everything["grid"]["step"]
