"""The map: a folium Map whose incidents are drawn by our own Leaflet code from JSON data.

Untrusted text never becomes markup here: the incident data is serialised with
:func:`incidents.safety.script_json` and the browser places every string with ``textContent``
(``incidents/web/src/incident-map.js``). Assets are served locally (``incidents.assets``); online tiles are an
explicit option.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from branca.element import CssLink, Element, Figure, JavascriptLink, MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from . import assets
from .dates import format_period, parse_date
from .grid import Grid, aggregate, grid_for, in_cell
from .model import geometry_columns
from .safety import is_script_json, safe_url, script_json
from .vocab import CATEGORIES, STANCES, STATUSES, category_for

TileChoice = Literal["none", "osm", "imagery"]
Mode = Literal["symbols", "points", "grid"]
ModeChoice = Literal["auto", "symbols", "points", "grid"]

#: Above this many incidents shown, individual SVG symbols give way to one canvas layer of points.
SYMBOLS_LIMIT: Final = 2000
#: Up to this many points, the canvas layer also carries titles for its popups.
POINT_TITLES_LIMIT: Final = 20000
#: Above this many incidents shown, the map draws grid cells with counts (see :mod:`incidents.grid`).
GRID_LIMIT: Final = 250_000
#: Point coordinates travel as integers of this many degrees (about a metre).
COORDINATE_UNIT: Final = 1e-5

ONLINE_TILES: Final[dict[str, dict[str, str]]] = {
    "osm": {
        "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "attribution": "© OpenStreetMap contributors",
        "host": "tile.openstreetmap.org",
    },
    "imagery": {
        "url": "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}",
        "attribution": "Imagery © Esri, Maxar, Earthstar Geographics",
        "host": "server.arcgisonline.com",
    },
}

DEFAULT_VIEW: Final = ((33.0, 36.0), (37.5, 42.5))  # south-west, north-east corners (Syria) for an empty map


@dataclass(frozen=True, kw_only=True, slots=True)
class MapOptions:
    """How to draw the map. ``tiles`` other than ``"none"`` contacts a third-party tile server."""

    tiles: TileChoice = "none"
    mode: ModeChoice = "auto"
    show_uncertainty: bool = True
    show_related: bool = True
    height: int = 560


class Verbatim(Element):
    """Text put into the page exactly as given.

    branca's ``Element(text)`` compiles ``text`` as a Jinja template, and ``MacroElement.render`` wraps each macro's
    output in one: incident data that reached it would run on the server (``{{ 7*7 }}`` renders ``49``, and
    Jinja without a sandbox reaches Python's globals) or, with ``{% raw %}``, stop the map with a syntax error.
    """

    _template = Template("{{ this.text }}")

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Verbatim"
        self.text = text


class IncidentLayer(JSCSSMixin, MacroElement):
    """Hands the incident payload to ``IncidentMap.addIncidents`` in the browser."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        IncidentMap.addIncidents({{ this._parent.get_name() }}, {{ this.payload_js }});
        {% endmacro %}
        """
    )
    default_js = [("incident_map_js", assets.INCIDENT_MAP_JS)]  # noqa: RUF012 (folium reads the class attribute)
    default_css = [("incident_map_css", assets.INCIDENT_MAP_CSS)]  # noqa: RUF012

    def __init__(self, layer: MapLayer) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "IncidentLayer"
        self.payload_js = layer.script  # script_json's text (MapLayer holds no other), put into the page as it is

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]  # as MacroElement.render
        """Like ``JSCSSMixin.render``, but the script (which carries the data) is added as :class:`Verbatim` text,
        never compiled as a template."""
        figure = self.get_root()
        assert isinstance(figure, Figure), "render the map (its Figure), not the layer alone"
        for name, url in self.default_js:
            figure.header.add_child(JavascriptLink(url), name=name)
        for name, url in self.default_css:
            figure.header.add_child(CssLink(url), name=name)
        script = self._template.module.script
        figure.script.add_child(Verbatim(script(self, kwargs)), name=self.get_name())


def choose_mode(count: int, requested: ModeChoice = "auto") -> Mode:
    """How to draw ``count`` incidents: each as a symbol with its whole record, as canvas points, or as grid cells."""
    if requested != "auto":
        return requested
    if count <= SYMBOLS_LIMIT:
        return "symbols"
    return "points" if count <= GRID_LIMIT else "grid"


def mode_for(frame: gpd.GeoDataFrame, requested: ModeChoice = "auto") -> Mode:
    """The mode :func:`build_map` uses for ``frame``: by the number of incidents it can draw."""
    return choose_mode(int(Placement.of(frame).on_map.sum()), requested)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a frame's incidents are drawn: which rows are on the map, each one's [lat, lng] anchor and shape type
    (read from the columns computed at load, :func:`incidents.model.geometry_columns`)."""

    on_map: np.ndarray
    anchors: np.ndarray
    kinds: np.ndarray

    @classmethod
    def of(cls, frame: gpd.GeoDataFrame) -> Placement:
        if "geometry_type" in frame.columns:
            kinds = frame["geometry_type"].to_numpy()
            lat, lng = frame["anchor_lat"].to_numpy(), frame["anchor_lng"].to_numpy()
        else:  # a frame made by hand
            computed = geometry_columns(frame.geometry.to_numpy())
            kinds, lat, lng = computed["geometry_type"], computed["anchor_lat"], computed["anchor_lng"]
        on_map = np.asarray(kinds >= 0, dtype=bool)
        return cls(on_map, np.column_stack([lat[on_map], lng[on_map]]), kinds[on_map])

    def bounds(self, frame: gpd.GeoDataFrame) -> list[list[float]] | None:
        """[[south, west], [north, east]] of what is drawn: points from their anchors, shapes from their outlines."""
        if not self.on_map.any():
            return None
        south, west = self.anchors.min(axis=0)
        north, east = self.anchors.max(axis=0)
        shapes = self.kinds > 0
        if shapes.any():
            outlines = shapely.total_bounds(frame.geometry.to_numpy()[self.on_map][shapes])
            west, south = min(west, outlines[0]), min(south, outlines[1])
            east, north = max(east, outlines[2]), max(north, outlines[3])
        return [[float(south), float(west)], [float(north), float(east)]]


def unlocated_titles(frame: gpd.GeoDataFrame) -> pd.Series:
    """The titles of the incidents in ``frame`` that the map cannot draw (they have no location), in order."""
    return frame["title"][~Placement.of(frame).on_map]


@dataclass(frozen=True, slots=True)
class MapLayer:
    """What the browser draws, made once for a frame and options (:func:`map_layer`): the payload as script-safe
    JSON and the bounds it is fitted to. Text and tuples only, so that it can be kept and shared between reruns and
    sessions; :func:`layer_map` makes a new folium map of it each time (``st_folium`` alters the map it renders)."""

    script: str
    bounds: tuple[tuple[float, float], tuple[float, float]] | None

    def __post_init__(self) -> None:
        # the script goes into the page as it is: any text that script_json did not write is refused, once, here
        if not is_script_json(self.script):
            raise ValueError("the map's data must be written by incidents.safety.script_json (render.map_layer does): "
                             "it holds characters that could end or alter the page's script")


def build_map(frame: gpd.GeoDataFrame, *, options: MapOptions | None = None,
              all_ids: Mapping[str, str] | None = None) -> folium.Map:
    """A folium map of the incidents in ``frame`` (a filtered incident frame), fitted to them.

    ``all_ids`` maps incident ids to titles for the whole dataset, so that popups can name related incidents
    that the filter hides.
    """
    settings = options or MapOptions()
    return layer_map(map_layer(frame, options=settings, all_ids=all_ids), options=settings)


def map_layer(frame: gpd.GeoDataFrame, *, options: MapOptions, all_ids: Mapping[str, str] | None = None) -> MapLayer:
    """The incidents of ``frame`` as the browser draws them (the costly part of :func:`build_map`)."""
    payload = map_payload(frame, options=options, all_ids=all_ids)
    bounds = payload["bounds"]
    return MapLayer(script=script_json(payload), bounds=None if bounds is None else
                    ((float(bounds[0][0]), float(bounds[0][1])), (float(bounds[1][0]), float(bounds[1][1]))))


def layer_map(layer: MapLayer, *, options: MapOptions) -> folium.Map:
    """A new folium map drawing ``layer``, fitted to it (only ``options.height`` is read: the rest is in the layer)."""
    south_west, north_east = layer.bounds or DEFAULT_VIEW
    centre = ((south_west[0] + north_east[0]) / 2, (south_west[1] + north_east[1]) / 2)
    fmap = folium.Map(location=centre, zoom_start=6, tiles=None, control_scale=True, height=options.height,
                      maxZoom=18, minZoom=2, worldCopyJump=True)
    fmap.default_js = [*assets.MAP_JS]
    fmap.default_css = [*assets.MAP_CSS]
    IncidentLayer(layer).add_to(fmap)
    if layer.bounds is None:
        fmap.fit_bounds([list(south_west), list(north_east)])
    return fmap


def map_payload(frame: gpd.GeoDataFrame, *, options: MapOptions, all_ids: Mapping[str, str] | None = None
                ) -> dict[str, Any]:
    """The JSON the browser draws from: metadata, the incidents in the chosen mode, links and bounds."""
    placement = Placement.of(frame)
    on_map, anchors = placement.on_map, placement.anchors
    mode = choose_mode(int(on_map.sum()), options.mode)
    payload: dict[str, Any] = {
        "meta": {
            "mode": mode,
            "statuses": {code: {"label": s.label, "colour": s.colour} for code, s in STATUSES.items()},
            "categories": {code: {"label": category_for(code).label, "symbol": category_for(code).symbol}
                           for code in sorted(set(frame["category"].unique()) | set(CATEGORIES))},
        },
        "basemap": assets.BASEMAP_GEOJSON if options.tiles == "none" else None,
        "tiles": ({k: v for k, v in ONLINE_TILES[options.tiles].items() if k != "host"}
                  if options.tiles != "none" else None),
        "bounds": placement.bounds(frame),
    }
    if mode == "symbols":
        located = frame[on_map]
        titles = dict(all_ids) if all_ids is not None else dict(zip(frame["id"], frame["title"], strict=True))
        payload["incidents"] = _symbol_incidents(located, anchors, titles, options)
        payload["links"] = _links(located, anchors) if options.show_related else []
    elif mode == "points":
        point_titles = frame["title"][on_map] if on_map.sum() <= POINT_TITLES_LIMIT else None
        payload["points"] = _points(anchors, frame["status"][on_map], frame["category"][on_map], point_titles)
    else:
        payload["grid"] = _grid(anchors, frame["status"][on_map])
    return payload


def _symbol_incidents(located: gpd.GeoDataFrame, anchors: np.ndarray, titles: Mapping[str, str],
                      options: MapOptions) -> list[dict[str, Any]]:
    incidents: list[dict[str, Any]] = []
    for position, (geometry, props_text, status) in enumerate(
        zip(located.geometry, located["properties_json"], located["status"], strict=True)
    ):
        props = json.loads(props_text)
        uncertainty = props.get("uncertainty_m") if options.show_uncertainty else None
        incidents.append({
            "status": status,
            "category": props["category"],
            "anchor": [round(float(anchors[position][0]), 6), round(float(anchors[position][1]), 6)],
            "geometry": None if geometry.geom_type == "Point" else json.loads(shapely.to_geojson(geometry)),
            "uncertainty_m": uncertainty,
            "record": record_model(props, status=status, titles=titles),
        })
    return incidents


def _links(located: gpd.GeoDataFrame, anchors: np.ndarray) -> list[dict[str, Any]]:
    """Lines between related incidents that are both on the map."""
    where = {incident_id: anchors[i] for i, incident_id in enumerate(located["id"])}
    links: list[dict[str, Any]] = []
    for incident_id, props_text in zip(located["id"], located["properties_json"], strict=True):
        for link in json.loads(props_text).get("related") or []:
            target = link.get("id")
            if target in where:
                links.append({
                    "from": [float(v) for v in where[incident_id]],
                    "to": [float(v) for v in where[target]],
                    "label": f"{incident_id} — {str(link.get('relation', '')).replace('_', ' ')} — {target}",
                })
    return links


def _points(anchors: np.ndarray, statuses: pd.Series, categories: pd.Series, titles: pd.Series | None
            ) -> dict[str, Any]:
    """The canvas layer's data as packed little-endian arrays in base64 (about 11 bytes per incident):
    coordinates as int32 multiples of :data:`COORDINATE_UNIT`, status and category as uint8 indexes."""
    status_codes = list(STATUSES)
    category_codes = sorted(categories.unique())
    points: dict[str, Any] = {
        "count": len(anchors),
        "unit": COORDINATE_UNIT,
        "lat": _packed(np.round(anchors[:, 0] / COORDINATE_UNIT), "<i4"),
        "lng": _packed(np.round(anchors[:, 1] / COORDINATE_UNIT), "<i4"),
        "status": _packed(_codes(statuses, status_codes), "u1"),
        "status_codes": status_codes,
        "category": _packed(_codes(categories, category_codes), "<u2"),
        "category_codes": category_codes,
    }
    if titles is not None:
        points["title"] = [str(t) for t in titles]
    return points


def _grid(anchors: np.ndarray, statuses: pd.Series) -> dict[str, Any]:
    status_codes = list(STATUSES)
    cells = aggregate(anchors, _codes(statuses, status_codes), statuses=len(status_codes), grid=grid_for(anchors))
    return {**cells, "status_codes": status_codes, "count": len(anchors)}


def _codes(values: pd.Series, codes: list[str]) -> np.ndarray:
    """The index in ``codes`` of each value (all of them are in ``codes``)."""
    found = pc.index_in(pa.array(values, type=pa.large_string()), value_set=pa.array(codes, type=pa.large_string()))
    return np.asarray(found.fill_null(0).to_numpy(zero_copy_only=False))


def _packed(values: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype=dtype).tobytes()).decode("ascii")


def record_model(props: Mapping[str, Any], *, status: str | None = None,
                 titles: Mapping[str, str] | None = None) -> dict[str, Any]:
    """An incident's whole story as plain strings, for the popup and the detail panel.

    Nothing here is markup: every value is text to be placed with ``textContent`` (or escaped). Source URLs are
    kept only when :func:`incidents.safety.safe_url` accepts them.
    """
    sources = list(props.get("sources") or [])
    shown_status = status or str(props.get("status"))
    category = category_for(str(props.get("category")))
    return {
        "id": str(props.get("id")),
        "title": str(props.get("title")),
        "status": shown_status,
        "status_label": STATUSES[shown_status].label if shown_status in STATUSES else shown_status,
        "category": category.code,
        "category_label": category.label,
        "when": _when(props),
        "where": _where(props),
        "perpetrator": _text(props.get("perpetrator")),
        "casualties": _casualties(props.get("casualties"), sources),
        "description": _text(props.get("description")),
        "history": [_history_line(entry, sources) for entry in props.get("status_history") or []],
        "claims": [
            {
                "by": str(claim.get("by")),
                "stance": STANCES.get(str(claim.get("stance")), str(claim.get("stance"))),
                "date": _date_words(claim.get("date")),
                "text": _text(claim.get("text")),
                "source": _source_title(claim.get("source"), sources),
            }
            for claim in props.get("claims") or []
        ],
        "sources": [
            {
                "title": str(source.get("title")),
                "url": safe_url(source.get("url")),
                "details": ", ".join(
                    part for part in (
                        _text(source.get("publisher")), _date_words(source.get("date")), _text(source.get("kind"))
                    ) if part
                ),
            }
            for source in sources
        ],
        "related": [
            f"{str(link.get('relation', '')).replace('_', ' ')}: "
            f"{(titles or {}).get(str(link.get('id')), str(link.get('id')))}"
            for link in props.get("related") or []
        ],
        "tags": [str(tag) for tag in props.get("tags") or []],
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _date_words(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return format_period(parse_date(value))
    except ValueError:
        return str(value)


def _when(props: Mapping[str, Any]) -> str:
    start = parse_date(props["start"])
    precision = props.get("time_precision") or start.precision
    text = format_period(start)
    if props.get("end"):
        text += f" to {_date_words(props['end'])}"
    return f"{text} (precise to the {precision})"


def _where(props: Mapping[str, Any]) -> str | None:
    names = [str(props[k]) for k in ("place", "admin1", "country") if props.get(k)]
    details = [str(props["location_precision"])] if props.get("location_precision") else []
    if props.get("uncertainty_m"):
        metres = float(props["uncertainty_m"])
        details.append(f"±{metres / 1000:g} km" if metres >= 1000 else f"±{metres:g} m")
    if not names and not details:
        return None
    return ", ".join(names) + (f" ({', '.join(details)})" if details else "")


def _figure(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        low, high = value.get("min"), value.get("max")
        if low is not None and high is not None:
            return f"{low}–{high}"
        return f"at least {low}" if low is not None else f"at most {high}"
    return str(value)


def _casualties(value: Any, sources: list[Any]) -> str | None:
    if not isinstance(value, dict):
        return None
    parts = [f"{_figure(value[k])} {k}" for k in ("killed", "injured") if value.get(k) is not None]
    if value.get("note"):
        parts.append(f"({value['note']})")
    cited = _source_title(value.get("source"), sources)
    if cited:
        parts.append(f"— {cited}")
    return " ".join(parts) if parts else None


def _source_title(reference: Any, sources: list[Any]) -> str | None:
    if reference is None:
        return None
    if isinstance(reference, int) and not isinstance(reference, bool) and 0 <= reference < len(sources):
        return str(sources[reference].get("title"))
    for source in sources:
        if source.get("id") == reference:
            return str(source.get("title"))
    return str(reference)


def _history_line(entry: Mapping[str, Any], sources: list[Any]) -> str:
    status = STATUSES[entry["status"]].label if entry.get("status") in STATUSES else str(entry.get("status"))
    line = f"{_date_words(entry.get('date'))}: {status}"
    if entry.get("note"):
        line += f" — {entry['note']}"
    cited = _source_title(entry.get("source"), sources)
    if cited:
        line += f" [{cited}]"
    return line


def incidents_at(frame: gpd.GeoDataFrame, lat: float, lng: float, *, tolerance_deg: float = 1e-5
                 ) -> gpd.GeoDataFrame:
    """The incidents drawn at a clicked position: those whose map anchor is there, else whose shape is there."""
    placement = Placement.of(frame)
    on_map, anchors = placement.on_map, placement.anchors
    if not on_map.any():
        return frame.iloc[0:0]
    near = (np.abs(anchors[:, 0] - lat) <= tolerance_deg) & (np.abs(anchors[:, 1] - lng) <= tolerance_deg)
    if near.any():
        return frame[_spread(on_map, near)]
    hit = np.asarray(shapely.dwithin(frame.geometry.to_numpy()[on_map], shapely.Point(lng, lat), 1e-3), dtype=bool)
    return frame[_spread(on_map, hit)]


@dataclass(frozen=True, slots=True)
class Cell:
    """A grid cell the analyst clicked: its incidents and its west, south, east, north."""

    incidents: gpd.GeoDataFrame
    bbox: tuple[float, float, float, float]


def cell_at(frame: gpd.GeoDataFrame, lat: float, lng: float) -> Cell:
    """The grid cell of the map drawn for ``frame`` (in grid mode) that contains ``lat``, ``lng``."""
    placement = Placement.of(frame)
    on_map, anchors = placement.on_map, placement.anchors
    grid: Grid = grid_for(anchors)
    inside, (row, column) = in_cell(anchors, grid, lat, lng)
    return Cell(frame[_spread(on_map, inside)], grid.bbox(row, column))


def _spread(on_map: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """A mask over every row from a mask over the rows on the map."""
    mask = np.zeros(len(on_map), dtype=bool)
    mask[np.flatnonzero(on_map)[chosen]] = True
    return mask
