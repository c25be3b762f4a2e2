"""Warn when an incident lies far outside the country it names: swapped longitude/latitude, or a wrong code.

The check uses the committed Natural Earth country outlines (``geodata/basemap/countries-50m.geojson``, built by
``geodata/basemap/build_countries.py``; properties ``name`` and ``iso_a2``), loaded once per process. It is
vectorised: one ``intersects`` over all incidents against their own country's (prepared) outline; for the few
outside, the country is cut into small pieces indexed by an STRtree, the pieces within a box just large enough to
hold everything closer than the threshold are queried at once, and the distance to them is measured on a local
equirectangular projection around each incident. Distances are approximate (the 1:50m outlines are generalised,
and small islands are missing), which is why this is a warning with a generous threshold.

Where Natural Earth draws an area apart from the country an ISO code names (Somaliland, Northern Cyprus, Kosovo,
the Siachen Glacier, Australia's Indian Ocean territories) or inside another country (Crimea), that area counts
for each code that may be given for it: the warning is about coordinates, not borders. Codes without an outline
(e.g. ``TV``, ``GF``: too small for 1:50m, or drawn as part of another country) are not checked.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from .errors import Problem
from .validate import Row

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
OUTLINES_FILE: Final = REPO_ROOT / "geodata" / "basemap" / "countries-50m.geojson"
DEFAULT_THRESHOLD_KM: Final = 100.0
KM_PER_DEGREE: Final = 6371.0088 * math.pi / 180  # mean Earth radius (IUGG), one degree of a great circle
# Natural Earth features without an ISO code (or drawn apart), and the codes they count for.
EXTRA_AREAS: Final[dict[str, tuple[str, ...]]] = {
    "Somaliland": ("SO",),
    "N. Cyprus": ("CY",),
    "Kosovo": ("RS",),
    "Siachen Glacier": ("IN", "PK"),
    "Indian Ocean Ter.": ("CC", "CX"),
}
# Parts of one country's outline that also count for another code: (code, outline clipped, lon/lat box).
EXTRA_CLIPS: Final[tuple[tuple[str, str, tuple[float, float, float, float]], ...]] = (
    ("UA", "RU", (32.4, 44.3, 36.65, 46.3)),  # Crimea, drawn inside Russia by Natural Earth
)
MAX_PIECE_COORDINATES: Final = 64


@dataclass(frozen=True, slots=True)
class CountryOutlines:
    """Country areas by ISO 3166-1 alpha-2 code (prepared for fast ``intersects``) and their names."""

    areas: dict[str, BaseGeometry]
    names: dict[str, str]
    _indexes: dict[str, tuple[shapely.STRtree, NDArray[np.object_]]] = field(default_factory=dict)

    def pieces(self, code: str) -> tuple[shapely.STRtree, NDArray[np.object_]]:
        """The area of ``code`` cut into small polygons (at most :data:`MAX_PIECE_COORDINATES` coordinates each),
        and an STRtree over them: distances are then computed on a few small pieces instead of a whole country."""
        if code not in self._indexes:
            pieces = np.array(_subdivide(self.areas[code], MAX_PIECE_COORDINATES), dtype=object)
            self._indexes[code] = (shapely.STRtree(pieces), pieces)
        return self._indexes[code]


@cache
def load_outlines(path: Path = OUTLINES_FILE) -> CountryOutlines:
    """The country outlines in ``path`` (read once per process; the objects are shared: never modify them)."""
    text = path.read_text(encoding="utf-8")
    document = json.loads(text)
    shapes = shapely.get_parts(shapely.from_geojson(text))  # the features' geometries, in order
    parts: dict[str, list[BaseGeometry]] = {}
    names: dict[str, str] = {}
    for feature, shape in zip(document["features"], shapes, strict=True):
        properties = feature.get("properties") or {}
        code, name = properties.get("iso_a2"), properties.get("name")
        if isinstance(code, str):
            parts.setdefault(code, []).append(shape)
            if isinstance(name, str):
                names.setdefault(code, name)
        for extra in EXTRA_AREAS.get(str(name), ()):
            parts.setdefault(extra, []).append(shape)
    for code, source, box in EXTRA_CLIPS:
        if source in parts:
            piece = shapely.intersection(shapely.union_all(parts[source]), shapely.box(*box))
            if not piece.is_empty:
                parts.setdefault(code, []).append(piece)
    areas = {code: pieces[0] if len(pieces) == 1 else shapely.union_all(pieces) for code, pieces in parts.items()}
    for code in areas:
        names.setdefault(code, _country_name(code))
    shapely.prepare(list(areas.values()))
    return CountryOutlines(areas=areas, names=names)


def country_mismatch_warnings(
    rows_or_frame: Sequence[Row] | pd.DataFrame,
    *,
    threshold_km: float = DEFAULT_THRESHOLD_KM,
    outlines: Path = OUTLINES_FILE,
) -> list[Problem]:
    """A warning for each incident whose ``country`` is set but whose geometry lies more than ``threshold_km``
    outside that country, saying so when swapping longitude and latitude would put it in (or near) it.

    Takes the validated rows of a load or a loaded frame (columns ``country``, ``geometry``, ``file``,
    ``feature``, ``id``). Incidents without a geometry or country, or with a code that has no outline, are not
    checked. If the outline file cannot be read, one warning says that the check was skipped.
    """
    files, features, ids, codes, shapes = _columns(rows_or_frame)
    located = np.asarray(pd.notna(codes), dtype=bool) & ~shapely.is_missing(shapes)
    located[located] = ~shapely.is_empty(shapes[located])
    wanted = np.flatnonzero(located)
    if not len(wanted):
        return []
    try:
        known = load_outlines(outlines)
    except (OSError, ValueError, KeyError, TypeError, shapely.errors.GEOSException) as error:
        return [Problem(files[wanted[0]], f"the country check was skipped: the outlines {outlines} cannot be read "
                        f"({error}); they are committed with the repository", severity="warning")]
    country = codes[wanted].astype(str)
    outlined = np.isin(country, list(known.areas))
    index, country = wanted[outlined], country[outlined]
    if not len(index):
        return []
    areas: NDArray[np.object_] = np.array([known.areas[code] for code in country], dtype=object)
    incidents: NDArray[np.object_] = shapes[index]
    raised = np.asarray(shapely.has_z(incidents), dtype=bool)
    if raised.any():  # only these are copied: at a million incidents a copy of all of them costs memory
        incidents[raised] = shapely.force_2d(incidents[raised])
    far = np.flatnonzero(~shapely.intersects(areas, incidents))
    far = far[~_within_km(known, country[far], incidents[far], threshold_km)]
    if not len(far):
        return []
    would_fit = _swap_fits(known, country[far], areas[far], incidents[far], threshold_km)
    estimates = _distance_estimates_km(known, country[far], incidents[far])
    problems: list[Problem] = []
    for position, fits, km in zip(far, would_fit, estimates, strict=True):
        row = int(index[position])
        code = str(codes[row])
        problems.append(
            Problem(str(files[row]), _message(shapes[row], code, known.names[code], km, str(fits), threshold_km),
                    int(features[row]), None if ids[row] is None else str(ids[row]), "geometry", "warning")
        )
    return problems


def _columns(rows_or_frame: Sequence[Row] | pd.DataFrame) -> tuple[Any, Any, Any, NDArray[np.object_],
                                                                    NDArray[np.object_]]:
    """Files, features and ids (read by position), country codes and shapes (object arrays) of the incidents."""
    if isinstance(rows_or_frame, pd.DataFrame):
        frame = rows_or_frame  # read by position where needed: lists of a million would cost a second and memory
        return (frame["file"].array, frame["feature"].to_numpy(), frame["id"].array,
                frame["country"].to_numpy(dtype=object), frame.geometry.to_numpy())
    rows = list(rows_or_frame)
    shapes = np.empty(len(rows), dtype=object)
    shapes[:] = [shapely.Point(r.geometry) if isinstance(r.geometry, tuple) else r.geometry for r in rows]
    codes = np.empty(len(rows), dtype=object)
    codes[:] = [r.properties.get("country") for r in rows]
    return [r.file for r in rows], [r.feature for r in rows], [r.id for r in rows], codes, shapes


def _within_km(
    known: CountryOutlines, codes: NDArray[np.str_], shapes: NDArray[np.object_], km: float
) -> NDArray[np.bool_]:
    """Whether each shape (lon/lat) lies within ``km`` of the area of its code, across the antimeridian too.

    For each shape, only the pieces of its country within a box that holds everything closer than ``km`` are
    considered (an STRtree query); a lower bound from the planar distance in degrees settles most of them, and
    the rest are measured on a local equirectangular projection centred on the shape.
    """
    minx, miny, maxx, maxy = shapely.bounds(shapes).T
    dlat = km / KM_PER_DEGREE
    # Everything within km lies inside this box: a degree of longitude is shortest at the box's poleward edge.
    edge = np.minimum(np.maximum(np.abs(miny), np.abs(maxy)) + dlat, 89.0)
    dlon = np.minimum(dlat / np.cos(np.radians(edge)), 180.0)
    radius = np.hypot(dlat, dlon)  # the box's half-diagonal in degrees: nothing within km is farther
    lower_scale = KM_PER_DEGREE * np.cos(np.radians(edge))  # km per degree, at least, anywhere in the box
    near = np.zeros(len(shapes), dtype=bool)
    for shift in (0.0, 360.0, -360.0):
        rows = np.flatnonzero(~near & (maxx + dlon + shift >= -180) & (minx - dlon + shift <= 180))
        for code in np.unique(codes[rows]):
            group = rows[codes[rows] == code]
            moved = shapes[group]
            if shift:
                offset = np.array([shift, 0.0])
                moved = shapely.transform(moved, lambda xy, o=offset: xy + o)
            tree, pieces = known.pieces(str(code))
            which, piece = tree.query(moved, predicate="dwithin", distance=radius[group])
            if not len(which):
                continue
            lower = shapely.distance(moved[which], pieces[piece]) * lower_scale[group[which]]
            keep = lower <= km
            which, piece = which[keep], piece[keep]
            if not len(which):
                continue
            x0 = (minx[group[which]] + maxx[group[which]]) / 2 + shift
            y0 = (miny[group[which]] + maxy[group[which]]) / 2
            distance = shapely.distance(_local(pieces[piece], x0, y0), _local(moved[which], x0, y0))
            near[group[which[distance <= km]]] = True
    return near


def _local(shapes: NDArray[np.object_], x0: NDArray[np.float64], y0: NDArray[np.float64]) -> NDArray[np.object_]:
    """Each shape on an equirectangular projection in km centred on its own (x0, y0)."""
    coordinates, owner = shapely.get_coordinates(shapes, return_index=True)
    scale = np.cos(np.radians(y0))[owner]
    projected = np.column_stack(((coordinates[:, 0] - x0[owner]) * scale, coordinates[:, 1] - y0[owner]))
    result: NDArray[np.object_] = shapely.set_coordinates(np.array(shapes, dtype=object), projected * KM_PER_DEGREE)
    return result


def _swap_fits(
    known: CountryOutlines, codes: NDArray[np.str_], areas: NDArray[np.object_], shapes: NDArray[np.object_],
    km: float,
) -> NDArray[np.str_]:
    """For each shape, ``"in"`` if exchanging x and y puts it in its area, ``"near"`` if within ``km`` of it,
    else ``""`` (also where a longitude would not be a valid latitude)."""
    minx, _, maxx, _ = shapely.bounds(shapes).T
    fits = np.full(len(shapes), "", dtype="<U4")
    rows = np.flatnonzero((minx >= -90) & (maxx <= 90))
    if not len(rows):
        return fits
    exchanged = shapely.transform(shapes[rows], lambda xy: xy[:, ::-1])
    inside = shapely.intersects(areas[rows], exchanged)
    fits[rows[inside]] = "in"
    rest = np.flatnonzero(~inside)
    if len(rest):
        within = _within_km(known, codes[rows[rest]], exchanged[rest], km)
        fits[rows[rest[within]]] = "near"
    return fits


def _distance_estimates_km(
    known: CountryOutlines, codes: NDArray[np.str_], shapes: NDArray[np.object_]
) -> NDArray[np.float64]:
    """Great-circle length of the shortest planar line from each shape to its country (for messages)."""
    nearest = np.empty(len(shapes), dtype=object)
    for code in np.unique(codes):
        group = np.flatnonzero(codes == code)
        tree, pieces = known.pieces(str(code))
        which, piece = tree.query_nearest(shapes[group], all_matches=False)
        nearest[group[which]] = pieces[piece]
    ends = shapely.get_coordinates(shapely.shortest_line(shapes, nearest)).reshape(-1, 2, 2)
    lon1, lat1, lon2, lat2 = (np.radians(v) for v in (ends[:, 0, 0], ends[:, 0, 1], ends[:, 1, 0], ends[:, 1, 1]))
    haversine = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    result: NDArray[np.float64] = 2 * np.degrees(np.arcsin(np.sqrt(np.minimum(haversine, 1.0)))) * KM_PER_DEGREE
    return result


def _subdivide(area: BaseGeometry, limit: int) -> list[BaseGeometry]:
    """``area`` cut into polygons of at most ``limit`` coordinates (halving boxes, as PostGIS ST_Subdivide)."""
    done: list[BaseGeometry] = []
    todo = list(shapely.get_parts(area))
    while todo:
        shape = todo.pop()
        minx, miny, maxx, maxy = shape.bounds
        if shapely.get_num_coordinates(shape) <= limit or max(maxx - minx, maxy - miny) < 1e-6:
            done.append(shape)
            continue
        if maxx - minx >= maxy - miny:
            middle = (minx + maxx) / 2
            halves = [shapely.box(minx, miny, middle, maxy), shapely.box(middle, miny, maxx, maxy)]
        else:
            middle = (miny + maxy) / 2
            halves = [shapely.box(minx, miny, maxx, middle), shapely.box(minx, middle, maxx, maxy)]
        for half in shapely.intersection(shape, halves):
            todo.extend(p for p in shapely.get_parts(half) if p.geom_type == "Polygon" and not p.is_empty)
    return done


def _message(shape: object, code: str, name: str, km: float, swap_fits: str, threshold_km: float) -> str:
    distance = f"about {round(float(km), -1):.0f} km" if km > threshold_km else f"more than {threshold_km:g} km"
    point = shape if isinstance(shape, shapely.Point) else None
    head = f"[{_number(point.x)}, {_number(point.y)}] lies" if point is not None else "lies"
    text = f"{head} {distance} outside {name} ({code}), the incident's country"
    if not swap_fits:
        return text + "; check the coordinates and the country"
    swapped = f"[{_number(point.y)}, {_number(point.x)}]" if point is not None else "with them swapped, it"
    return text + f" (are longitude and latitude swapped? {swapped} would fall {swap_fits} {name})"


def _number(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _country_name(code: str) -> str:
    import pycountry

    country = pycountry.countries.get(alpha_2=code)
    return str(country.name) if country is not None else code
