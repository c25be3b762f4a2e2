"""Build the offline country-outline base map from Natural Earth (via the npm ``world-atlas`` package).

Usage (from the repo root, after ``npm ci --prefix incidents/web``)::

    python geodata/basemap/build_countries.py            # 1:50m, 4 decimals
    python geodata/basemap/build_countries.py --check    # rebuild in memory, compare with the committed file

What it does:

1. reads ``incidents/web/node_modules/world-atlas/countries-<scale>.json`` (TopoJSON, Natural Earth
   admin-0 countries, public domain; world-atlas packaging is ISC);
2. decodes the quantized, delta-encoded arcs into GeoJSON (same algorithm as topojson-client's
   ``feature()``), in plain Python, and re-cuts shapes at the antimeridian (see below);
3. snaps coordinates to a ``10**-decimals`` degree grid with ``shapely.set_precision`` (keeps
   polygons valid while rounding), repairs with ``shapely.make_valid`` only where a shape is invalid,
   and orients exterior rings counter-clockwise (RFC 7946);
4. derives ``iso_a2`` from world-atlas's ISO 3166-1 numeric ``id`` with ``pycountry``; features
   without an ISO code keep ``iso_a2: null`` / ``iso_n3: null`` and get a ``note``;
5. writes ``geodata/basemap/countries-<scale>.geojson``, one feature per line (reviewable diffs).

Antimeridian: Natural Earth cuts shapes at +/-180, but world-atlas stitches them back together for
spherical d3-geo, so Russia (mainland, Wrangel Island) and Fiji have rings that jump from +179 to
-179, and Antarctica's rings circle the South Pole. Read as flat lon/lat, those are invalid and
``make_valid`` would fill a band round the globe. This script cuts them again at +/-180 (and closes
Antarctica along -90), so every output shape lies within [-180, 180] and is valid in the plane.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pycountry
import shapely
import shapely.affinity
from shapely.geometry import Polygon, mapping

REPO_ROOT = Path(__file__).resolve().parents[2]
WORLD_ATLAS_DIR = REPO_ROOT / "incidents" / "web" / "node_modules" / "world-atlas"
OUT_DIR = Path(__file__).resolve().parent

# Features that Natural Earth draws but ISO 3166-1 does not code (world-atlas gives them no id).
NOTES: dict[str, str] = {
    "Kosovo": "No ISO 3166-1 code; 'XK' is a user-assigned code used by some bodies, not ISO.",
    "N. Cyprus": "No ISO 3166-1 code; Natural Earth draws it apart from Cyprus (CY).",
    "Somaliland": "No ISO 3166-1 code; Natural Earth draws it apart from Somalia (SO).",
    "Siachen Glacier": "No ISO 3166-1 code; disputed area drawn separately by Natural Earth.",
    "Indian Ocean Ter.": "Australian Indian Ocean Territories: Christmas Island (CX) and Cocos "
    "(Keeling) Islands (CC) merged into one feature by Natural Earth.",
}

Ring = list[tuple[float, float]]


def decode_arcs(topology: dict[str, Any]) -> list[Ring]:
    """Return the topology's arcs as absolute lon/lat coordinates."""
    transform = topology.get("transform")
    arcs: list[Ring] = []
    for arc in topology["arcs"]:
        if transform is None:
            arcs.append([(float(p[0]), float(p[1])) for p in arc])
            continue
        (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
        x = y = 0
        points: Ring = []
        for p in arc:
            x += p[0]
            y += p[1]
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring_from_arcs(arc_ids: Sequence[int], arcs: list[Ring]) -> Ring:
    """Stitch arcs into one closed ring (topojson-client's algorithm)."""
    points: Ring = []
    for i in arc_ids:
        if points:
            points.pop()
        arc = arcs[~i] if i < 0 else arcs[i]
        points.extend(reversed(arc) if i < 0 else arc)
    if len(points) < 4:
        points.append(points[0])
    return points


def unwrap(ring: Ring) -> Ring:
    """Make longitudes continuous across the antimeridian (values may leave [-180, 180])."""
    out: Ring = [ring[0]]
    offset = 0.0
    for (x0, _), (x1, y1) in itertools.pairwise(ring):
        if x1 - x0 > 180:
            offset -= 360
        elif x1 - x0 < -180:
            offset += 360
        out.append((x1 + offset, y1))
    return out


def wrap_to_world(shape: Any) -> Any:
    """Cut an unwrapped shape at the antimeridian and shift the pieces back into [-180, 180]."""
    pieces = []
    for k in (-2, -1, 0, 1, 2):
        window = shapely.box(-180 + 360 * k, -90, 180 + 360 * k, 90)
        piece = shapely.intersection(shape, window)
        if not piece.is_empty:
            pieces.append(shapely.affinity.translate(piece, xoff=-360 * k))
    return shapely.union_all(pieces)


def ring_region(ring: Ring) -> tuple[Any, bool]:
    """Planar region of one ring in [-180, 180]; True if the ring circles a pole.

    world-atlas stitches Natural Earth's antimeridian cuts back together (it is made for spherical
    d3-geo), so a ring may jump from +179 to -179 (Russia, Fiji) or circle a pole (Antarctica).
    A pole-circling ring is closed along the pole's latitude; it then bounds the cap towards that pole.
    """
    flat = unwrap(ring)
    net = flat[-1][0] - flat[0][0]
    if abs(net) < 1:
        return wrap_to_world(Polygon(flat)), False
    pole = -90.0 if sum(y for _, y in flat) < 0 else 90.0
    flat = [*flat, (flat[-1][0], pole), (flat[0][0], pole), flat[0]]
    return wrap_to_world(Polygon(flat)), True


def polygon_region(rings: list[Ring]) -> Any:
    """Planar region of one TopoJSON polygon (exterior ring first, then holes)."""
    if not any(abs(a[0] - b[0]) > 180 for r in rings for a, b in itertools.pairwise(r)):
        return Polygon(rings[0], rings[1:])  # the common case: nothing crosses the antimeridian
    region, _ = ring_region(rings[0])
    for hole in rings[1:]:
        hole_region, circles_pole = ring_region(hole)
        # Two nested pole caps (Antarctica: a tiny cap at -89.999 and the coastline) leave the band
        # between them, hence the symmetric difference; an ordinary hole is subtracted.
        region = region.symmetric_difference(hole_region) if circles_pole else region.difference(hole_region)
    return region


def to_shape(geom: dict[str, Any], arcs: list[Ring]) -> Any:
    """Build a planar shapely (Multi)Polygon from a TopoJSON geometry object."""
    if geom["type"] == "Polygon":
        polys = [geom["arcs"]]
    elif geom["type"] == "MultiPolygon":
        polys = geom["arcs"]
    else:
        raise ValueError(f"unexpected geometry type {geom['type']!r}")
    regions = [polygon_region([ring_from_arcs(r, arcs) for r in poly]) for poly in polys]
    return regions[0] if len(regions) == 1 else shapely.union_all(regions)


def clean(shape: Any, decimals: int) -> tuple[Any, bool]:
    """Snap to the grid, keep only polygonal parts, orient exteriors CCW; return (shape, repaired)."""
    repaired = False
    if not shape.is_valid:
        shape = shapely.make_valid(shape)
        repaired = True
    snapped = shapely.set_precision(shape, grid_size=10.0**-decimals)
    if snapped.geom_type == "GeometryCollection":
        parts = [g for g in snapped.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        snapped = shapely.union_all(parts)
        repaired = True
    if snapped.is_empty or not snapped.is_valid:
        raise ValueError("geometry empty or invalid after snapping")
    return shapely.orient_polygons(snapped, exterior_cw=False), repaired


def round_coords(obj: Any, decimals: int) -> Any:
    """Round nested coordinate lists (removes float noise left by the grid snap)."""
    if isinstance(obj, float | int):
        value = round(float(obj), decimals)
        return int(value) if value.is_integer() else value
    return [round_coords(o, decimals) for o in obj]


def iso_codes(numeric: str | None) -> tuple[str | None, str | None]:
    """Map an ISO 3166-1 numeric code to (alpha-2, numeric), or (None, None)."""
    if numeric is None:
        return None, None
    country = pycountry.countries.get(numeric=numeric)
    if country is None:
        raise ValueError(f"ISO numeric code {numeric!r} not known to pycountry")
    return str(country.alpha_2), numeric


def build(scale: str, decimals: int) -> tuple[str, list[str]]:
    """Return the GeoJSON text and a list of log lines."""
    src = WORLD_ATLAS_DIR / f"countries-{scale}.json"
    if not src.is_file():
        raise SystemExit(f"{src} not found: run `npm ci --prefix incidents/web` first")
    topology = json.loads(src.read_text(encoding="utf-8"))
    arcs = decode_arcs(topology)
    log: list[str] = []
    lines: list[str] = []
    for geom in topology["objects"]["countries"]["geometries"]:
        name = geom["properties"]["name"]
        iso_a2, iso_n3 = iso_codes(geom.get("id"))
        note = NOTES.get(name) if iso_a2 is None else None
        if iso_a2 is None and note is None:
            raise ValueError(f"{name!r} has no ISO code and no note: add one to NOTES")
        shape, repaired = clean(to_shape(geom, arcs), decimals)
        if repaired:
            log.append(f"repaired with make_valid: {name}")
        geometry = mapping(shape)
        feature = {
            "type": "Feature",
            "properties": {"name": name, "iso_a2": iso_a2, "iso_n3": iso_n3, "note": note},
            "geometry": {
                "type": geometry["type"],
                "coordinates": round_coords(geometry["coordinates"], decimals),
            },
        }
        lines.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"
    log.append(f"{len(lines)} features, {len(text.encode('utf-8'))} bytes")
    return text, log


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scale", choices=["50m", "110m"], default="50m")
    parser.add_argument("--decimals", type=int, default=4, help="coordinate decimals (default 4)")
    parser.add_argument("--check", action="store_true", help="compare with the committed file, write nothing")
    args = parser.parse_args(argv)
    text, log = build(args.scale, args.decimals)
    out = OUT_DIR / f"countries-{args.scale}.geojson"
    if args.check:
        same = out.is_file() and out.read_text(encoding="utf-8") == text
        print(f"{out.name}: {'up to date' if same else 'DIFFERS from a fresh build'}")
        return 0 if same else 1
    out.write_text(text, encoding="utf-8")
    for line in log:
        print(line)
    print(f"wrote {out.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
