"""The map, rendered to HTML/JS and asserted on without a browser (as folium's own tests do)."""

from __future__ import annotations

import base64
import json
import re

import folium
import geopandas as gpd
import numpy as np
import pytest
from streamlit_folium import _get_map_string

from incidents import Dataset, IncidentFilter, assets
from incidents.render import (
    MapOptions,
    build_map,
    choose_mode,
    incidents_at,
    layer_map,
    map_layer,
    map_payload,
    record_model,
)

URL = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")


def rendered(fmap: folium.Map) -> str:
    return fmap.get_root().render()


def unescaped(script: str) -> str:
    """The map's script with the JSON data's ``\\uXXXX`` escapes read back."""
    return re.sub(r"\\u([0-9a-f]{4})", lambda match: chr(int(match.group(1), 16)), script)


def links_of(fmap: folium.Map) -> list[str]:
    fmap.get_root().render()
    found: list[str] = []
    for element in [fmap, *fmap._children.values()]:
        found += [url for _, url in getattr(element, "default_js", [])]
        found += [url for _, url in getattr(element, "default_css", [])]
    return found


def test_offline_by_default_every_asset_is_local(syria: Dataset) -> None:
    fmap = build_map(syria.frame)
    assert set(links_of(fmap)) <= assets.ALLOWED_URLS
    script = _get_map_string(fmap)
    # the only URLs in the map's script are the sources' links, which the page does not load
    source_urls = {s.get("url") for row in range(len(syria)) for s in syria.properties(row)["sources"]}
    found = set(URL.findall(unescaped(script)))
    assert found and found <= source_urls, found - source_urls


def handed(fmap: folium.Map) -> object:
    """The payload a map's script hands to ``IncidentMap.addIncidents``, read back."""
    script = _get_map_string(fmap)
    start = script.index("{", script.index("IncidentMap.addIncidents("))
    return json.JSONDecoder().raw_decode(script, start)[0]


@pytest.mark.parametrize("mode", ["symbols", "points", "grid"])
def test_one_layer_makes_any_number_of_maps_each_drawing_all_of_it(syria: Dataset, mode: str) -> None:
    options = MapOptions(mode=mode)  # type: ignore[arg-type]
    layer = map_layer(syria.frame, options=options)
    first, second = layer_map(layer, options=options), layer_map(layer, options=options)
    assert first is not second
    assert handed(first) == handed(second) == handed(build_map(syria.frame, options=options)) == map_payload(
        syria.frame, options=options)
    assert first.location == build_map(syria.frame, options=options).location
    with pytest.raises(AttributeError):
        layer.script = ""  # type: ignore[misc]  # kept and shared between reruns: it cannot be altered
    assert hash(layer) == hash(map_layer(syria.frame, options=options))


def test_a_layer_of_nothing_is_fitted_to_the_default_view(syria: Dataset) -> None:
    options = MapOptions()
    layer = map_layer(syria.frame.iloc[0:0], options=options)
    assert layer.bounds is None
    fmap = layer_map(layer, options=options)
    assert fmap.location == [35.25, 39.25]
    assert handed(fmap) == map_payload(syria.frame.iloc[0:0], options=options)


def test_online_tiles_are_an_explicit_option(syria: Dataset) -> None:
    payload = map_payload(syria.frame, options=MapOptions(tiles="osm"))
    assert payload["tiles"]["url"].startswith("https://tile.openstreetmap.org/")
    assert payload["basemap"] is None
    assert map_payload(syria.frame, options=MapOptions())["tiles"] is None


def test_symbols_mode_carries_every_incident_with_its_whole_story(syria: Dataset) -> None:
    payload = map_payload(syria.frame, options=MapOptions())
    assert payload["meta"]["mode"] == "symbols"
    assert len(payload["incidents"]) == 6
    khan = next(i for i in payload["incidents"] if i["record"]["id"] == "2017-04-04-khan-sheikhoun-chemical-attack")
    record = khan["record"]
    assert record["when"] == "4 April 2017, 06:30 (+03:00) (precise to the hour)"
    assert record["status_label"] == "Verified"
    assert any("Verified" in line and "30 June 2017" in line for line in record["history"])
    assert any(claim["stance"] == "denies" and claim["text"] for claim in record["claims"])
    assert all(source["title"] for source in record["sources"])
    assert khan["anchor"] == [35.439, 36.648]
    assert khan["uncertainty_m"] == 2000


def test_related_incidents_are_joined_by_a_line(syria: Dataset) -> None:
    links = map_payload(syria.frame, options=MapOptions())["links"]
    labels = [link["label"] for link in links]
    assert ("2017-04-07-shayrat-airbase-missile-strike — response to — 2017-04-04-khan-sheikhoun-chemical-attack"
            in labels)
    assert map_payload(syria.frame, options=MapOptions(show_related=False))["links"] == []


def test_the_map_fits_the_filtered_incidents(syria: Dataset) -> None:
    shayrat = IncidentFilter(query="shayrat").apply(syria)
    assert map_payload(shayrat, options=MapOptions())["bounds"] == [[34.49, 36.909], [34.49, 36.909]]


def test_unlocated_incidents_are_not_drawn(full: Dataset) -> None:
    payload = map_payload(full.frame, options=MapOptions())
    ids = [i["record"]["id"] for i in payload["incidents"]]
    assert "full-unlocated" not in ids and len(ids) == 5
    polygon = next(i for i in payload["incidents"] if i["record"]["id"] == "full-polygon")
    assert polygon["geometry"]["type"] == "Polygon"


def test_points_mode_for_many_incidents(full: Dataset) -> None:
    payload = map_payload(full.frame, options=MapOptions(mode="points"))
    points = payload["points"]
    assert points["count"] == 5
    statuses = np.frombuffer(base64.b64decode(points["status"]), dtype="u1")
    assert [points["status_codes"][s] for s in statuses] == ["verified", "verified", "disputed", "claimed",
                                                             "claimed"]
    assert choose_mode(2000) == "symbols" and choose_mode(2001) == "points"


def test_script_payload_is_inert_inside_the_page(full: Dataset) -> None:
    hostile = full.frame.copy()
    props = json.loads(hostile.loc[0, "properties_json"])
    props["title"] = "</script><script>window.__pwned=1</script>${window.__pwned=1}`"
    hostile.loc[0, "properties_json"] = json.dumps(props)
    html = rendered(build_map(gpd.GeoDataFrame(hostile, geometry="geometry")))
    assert "</script><script>window.__pwned" not in html
    assert "${window.__pwned" not in html
    assert "\\u003c/script\\u003e\\u003cscript\\u003ewindow.\\u005f\\u005fpwned=1" in html


def test_record_model_refuses_unsafe_links() -> None:
    record = record_model({"id": "x", "title": "t", "category": "other", "start": "2017", "status": "claimed",
                           "sources": [{"title": "a", "url": "javascript:alert(1)"},
                                       {"title": "b", "url": "https://example.org/x"}]})
    assert [s["url"] for s in record["sources"]] == [None, "https://example.org/x"]


def test_clicked_position_finds_the_incidents_drawn_there(syria: Dataset, full: Dataset) -> None:
    found = incidents_at(syria.frame, 35.439, 36.648)
    assert sorted(found["id"]) == ["2017-04-04-khan-sheikhoun-chemical-attack",
                                   "2017-04-04-khan-sheikhoun-hospital-strike"]
    inside_polygon = incidents_at(full.frame, 33.55, 36.35)
    assert list(inside_polygon["id"]) == ["full-polygon"] or "full-polygon" in set(inside_polygon["id"])
    assert len(incidents_at(syria.frame, 0.0, 0.0)) == 0


@pytest.mark.parametrize("tiles", ["none", "osm", "imagery"])
def test_every_tile_choice_renders(syria: Dataset, tiles: str) -> None:
    html = rendered(build_map(syria.frame, options=MapOptions(tiles=tiles)))  # type: ignore[arg-type]
    assert "IncidentMap.addIncidents(" in html


def test_template_syntax_in_data_is_text_not_a_template(full: Dataset) -> None:
    """branca compiles each macro's output as a Jinja template: data reaching it would run on the server
    (``{{ 7*7 }}`` became 49, and unsandboxed Jinja reaches Python's globals) or stop the map (``{% raw %}``)."""
    hostile = full.frame.copy()
    props = json.loads(hostile.loc[0, "properties_json"])
    props["title"] = "A{{ 7*7 }}B{{ cycler.__init__.__globals__.os.getpid() }}C{% raw %}D{# E"
    hostile.loc[0, "properties_json"] = json.dumps(props)
    fmap = build_map(gpd.GeoDataFrame(hostile, geometry="geometry"))
    literal = "A{{ 7*7 }}B{{ cycler.__init__.__globals__.os.getpid() }}C{% raw %}D{# E"
    html = rendered(fmap)
    assert literal in unescaped(html) and "A49B" not in html
    assert literal in unescaped(_get_map_string(fmap))
    assert html.count(assets.LEAFLET_JS) == 1 and assets.INCIDENT_MAP_CSS in html  # the layer's assets still load
