"""Synthetic incident datasets for benchmarks and scale tests: realistic fields, seeded and reproducible.

Every record is valid in the incident format: claims by several parties, sources with kinds and links, status
histories that end in the status, casualty ranges, related links, a share of polygons, lines and unlocated
incidents. Titles and names are visibly synthetic.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any, Final

from .vocab import CATEGORIES, STANCES, STATUSES

PARTIES: Final = (
    "Government forces", "Opposition coalition", "Allied air force", "Militia A", "Militia B", "Local council",
    "Defence ministry", "Monitoring group", "Civil defence", "Foreign ministry", "Armed group C", "Unknown",
)
PUBLISHERS: Final = ("Wire agency", "Regional daily", "Monitoring NGO", "Ministry statement", "Local network",
                     "Broadcaster", "Lab report", "Open-source collective")
KINDS: Final = ("news", "official", "ngo", "social", "lab", "other")
PLACES: Final = tuple(f"Synthetic town {i}" for i in range(400))
REGIONS: Final = tuple(f"Province {i}" for i in range(14))
# A box around the Levant: incidents cluster around a few hundred towns inside it.
WEST, SOUTH, EAST, NORTH = 35.6, 32.3, 42.3, 37.3
FIRST_DAY: Final = date(2011, 3, 15)
DAYS: Final = 4000


def synthetic_features(count: int, *, seed: int = 7) -> Iterator[dict[str, Any]]:
    """``count`` synthetic incident Features; the same ``seed`` gives the same features."""
    rng = random.Random(seed)
    towns = [(rng.uniform(WEST, EAST), rng.uniform(SOUTH, NORTH)) for _ in PLACES]
    categories = list(CATEGORIES)
    statuses = list(STATUSES)
    for index in range(count):
        yield _feature(rng, index, towns, categories, statuses)


def synthetic_collection(count: int, *, seed: int = 7) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(synthetic_features(count, seed=seed))}


def write_synthetic_geojson(path: str, count: int, *, seed: int = 7) -> None:
    """Write a FeatureCollection of ``count`` synthetic incidents, streaming one feature per line."""
    with open(path, "w", encoding="utf-8") as out:
        out.write('{"type":"FeatureCollection","features":[\n')
        for index, feature in enumerate(synthetic_features(count, seed=seed)):
            if index:
                out.write(",\n")
            out.write(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
        out.write("\n]}\n")


def _rounded(value: Any) -> Any:
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return round(value, 5)


def _feature(rng: random.Random, index: int, towns: list[tuple[float, float]], categories: list[str],
             statuses: list[str]) -> dict[str, Any]:
    incident_id = f"synthetic-{index:07d}"
    town_index = rng.randrange(len(towns))
    lon, lat = towns[town_index]
    lon += rng.gauss(0, 0.05)
    lat += rng.gauss(0, 0.05)
    day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
    category = rng.choice(categories)
    status = rng.choices(statuses, weights=(30, 45, 20, 5))[0]
    roll = rng.random()
    geometry: dict[str, Any] | None
    if roll < 0.03:
        geometry = None
    elif roll < 0.06:
        size = rng.uniform(0.01, 0.08)
        geometry = {"type": "Polygon", "coordinates": [[
            [lon - size, lat - size], [lon + size, lat - size], [lon + size, lat + size], [lon - size, lat + size],
            [lon - size, lat - size]]]}
    elif roll < 0.08:
        geometry = {"type": "LineString", "coordinates": [[lon, lat], [lon + rng.uniform(-0.1, 0.1),
                                                                       lat + rng.uniform(-0.1, 0.1)]]}
    else:
        geometry = {"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]}
    if geometry is not None and geometry["type"] != "Point":
        geometry["coordinates"] = _rounded(geometry["coordinates"])
    precision_roll = rng.random()
    if precision_roll < 0.15:
        start = f"{day.isoformat()}T{rng.randrange(24):02d}:{rng.randrange(60):02d}+03:00"
    elif precision_roll < 0.9:
        start = day.isoformat()
    else:
        start = day.isoformat()[:7]
    sources = [
        {
            "id": f"s{k}",
            "title": f"Report {k + 1} on incident {index}",
            "publisher": rng.choice(PUBLISHERS),
            "url": f"https://example.org/reports/{index}/{k}",
            "date": (day + timedelta(days=k)).isoformat(),
            "kind": rng.choice(KINDS),
        }
        for k in range(rng.randint(1, 3))
    ]
    claims = [
        {
            "by": party,
            "date": (day + timedelta(days=rng.randint(0, 3))).isoformat(),
            "stance": rng.choice(list(STANCES)),
            "text": f"Statement by {party.lower()} on incident {index}",
            "source": rng.randrange(len(sources)),
        }
        for party in rng.sample(PARTIES, rng.randint(0, 3))
    ]
    history: list[dict[str, Any]] = [{"date": day.isoformat(), "status": "claimed", "source": 0}]
    if status != "claimed":
        history.append({"date": (day + timedelta(days=rng.randint(1, 90))).isoformat(), "status": status,
                        "source": len(sources) - 1})
    properties: dict[str, Any] = {
        "id": incident_id,
        "title": f"{CATEGORIES[category].label} near {PLACES[town_index]} (synthetic #{index})",
        "description": f"Synthetic incident {index} for benchmarks: {CATEGORIES[category].label.lower()} "
                       f"reported near {PLACES[town_index]}.",
        "category": category,
        "start": start,
        "place": PLACES[town_index],
        "admin1": REGIONS[town_index % len(REGIONS)],
        "location_precision": rng.choice(("exact", "town", "approximate")),
        "status": status,
        "status_history": history,
        "perpetrator": rng.choice(PARTIES),
        "claims": claims,
        "sources": sources,
        "tags": rng.sample(["market", "hospital", "school", "convoy", "checkpoint", "night"], rng.randint(0, 2)),
    }
    if rng.random() < 0.4:
        properties["uncertainty_m"] = rng.choice((500, 1000, 2000, 5000, 10000))
    if rng.random() < 0.5:
        properties["casualties"] = {"killed": rng.randint(0, 40)}
        if rng.random() < 0.3:
            properties["casualties"]["injured"] = {"min": 5, "max": rng.randint(10, 200)}
    if index > 0 and rng.random() < 0.05:
        properties["related"] = [{"id": f"synthetic-{rng.randrange(index):07d}", "relation": "related_to"}]
    return {"type": "Feature", "id": incident_id, "geometry": geometry, "properties": properties}
