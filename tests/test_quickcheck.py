"""The quick check is only a shortcut: whatever it accepts, the full check accepts without a word, as the same row.

Run on every feature of every test file and of the bundled dataset, and on thousands of seeded mutations of valid
features (a field removed, retyped, emptied, given a bad value, an item added to a list …).
"""

from __future__ import annotations

import copy
import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
import shapely

from incidents.quickcheck import quick_row
from incidents.synth import synthetic_features
from incidents.validate import FeatureChecker, Row

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


def _features() -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    paths = [*sorted(DATA.rglob("*.geojson")), ROOT / "geodata" / "incidents" / "syria-2017-04.geojson"]
    for path in paths:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(document, dict) and isinstance(document.get("features"), list):
            found.extend((path.name, feature) for feature in document["features"])
    return found


def _same(quick: Row, full: Row) -> bool:
    geometry_same = (quick.geometry == full.geometry if not isinstance(full.geometry, shapely.Geometry)
                     else shapely.equals_exact(quick.geometry, full.geometry, tolerance=0))
    return geometry_same and (quick.file, quick.feature, quick.id, quick.properties, quick.start, quick.end,
                              quick.first_reported, quick.history) == (
        full.file, full.feature, full.id, full.properties, full.start, full.end, full.first_reported, full.history)


def _agree(feature: Any, index: int = 1) -> bool | None:
    """True when the quick check accepts (and must agree), False when it refuses, None when the full check also
    refuses: fails the test on a disagreement."""
    quick = quick_row(feature, "f.geojson", index)
    checker = FeatureChecker("f.geojson", index)
    try:
        full = checker.check(copy.deepcopy(feature))
    except OverflowError:  # an integer of hundreds of digits: the reader refuses it before any check
        assert quick is None
        return None
    if quick is None:
        return False if full is not None and not checker.problems else None
    assert full is not None and not checker.problems, (feature, checker.problems)
    assert _same(quick, full), (quick, full)
    return True


def test_every_test_file_feature_gets_the_full_checks_answer() -> None:
    features = _features()
    outcomes = [_agree(feature, index) for index, (_, feature) in enumerate(features, start=1)]
    assert len(features) > 100
    assert outcomes.count(True) >= 20  # the bundled incidents and the good files take the quick way


def test_the_bundled_dataset_takes_the_quick_way_entirely() -> None:
    document = json.loads((ROOT / "geodata" / "incidents" / "syria-2017-04.geojson").read_text(encoding="utf-8"))
    assert all(_agree(feature, i) for i, feature in enumerate(document["features"], start=1))


def test_synthetic_features_take_the_quick_way() -> None:
    features = list(synthetic_features(500, seed=3))
    assert all(_agree(feature, i) for i, feature in enumerate(features, start=1))


_ODD_VALUES: tuple[Any, ...] = (
    None, "", " ", "x", "\x00", "a\x00b", 0, -1, 1, 2, 1.5, 5.0, -0.0, 1e300, True, False, [], [1], {}, {"a": 1},
    "2017", "2017-04", "2017-W14", "2017-04-04", "2017-04-04T06:30+03:00", "2017-02-30", "04/04/2017", "9999",
    "verified", "claimed", "disputed", "debunked", "chemical_attack", "nonsense", "SY", "sy", "ZZ", "town", "day",
    "year", "minute", "asserts", "news", "part_of", "s0", "s1", "synthetic-0000001", "https://example.org/a",
    "javascript:alert(1)", "//host/x", " padded ", "x" * 201, [0.0, 0.0], [181.0, 0.0], [0.0, 91.0],
    [1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0], ["1", "2"], [True, 1.0], {"min": 1, "max": 0}, {"min": 2},
    {"min": None, "max": None}, {"min": 1.5}, [{"date": "2017-04-04", "status": "verified"}],
    {"type": "Point", "coordinates": [0, 0]}, {"type": "Point", "coordinates": [0, 0], "x": 1},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
    {"type": "LineString", "coordinates": [[0, 0]]}, {"type": "GeometryCollection", "geometries": []},
    json.loads("[" * 59 + "]" * 59), json.loads("[" * 61 + "]" * 61), {"a": json.loads("[" * 60 + "]" * 60)},
    # not from JSON, but an importer's features are checked too
    math.nan, math.inf, [math.nan, 0.0], [0.0, -math.inf], [0.0, 0.0, math.nan],
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*prefix, index)))
    return found


def _mutated(feature: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    result = copy.deepcopy(feature)
    if rng.random() < 0.05 and isinstance(result.get("properties"), dict):  # a link to itself
        own = result["properties"].get("id", result.get("id"))
        result["properties"]["related"] = [{"id": own, "relation": "same_event"}]
        return result
    for _ in range(rng.choice((1, 1, 1, 2))):
        path = rng.choice(_paths(result))
        parent: Any = result
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        action = rng.random()
        if action < 0.15 and isinstance(parent, dict):
            del parent[last]
        elif action < 0.25 and isinstance(parent, dict):
            parent[rng.choice(("x_note", "x_deep", "extra", "bbox", "titel", "id", "end", "time_precision", "country",
                               "first_reported", "uncertainty_m", "casualties", "related", "tags",
                               "provenance"))] = rng.choice(_ODD_VALUES)
        elif action < 0.35 and isinstance(parent[last], list) and parent[last]:
            parent[last].append(copy.deepcopy(rng.choice(parent[last])))
        elif action < 0.5:  # a value from elsewhere in the same feature (its own id as a related id, say)
            donor: Any = result
            for step in rng.choice(_paths(result)):
                donor = donor[step]
            parent[last] = copy.deepcopy(donor)
        else:
            parent[last] = copy.deepcopy(rng.choice(_ODD_VALUES))
    return result


@pytest.mark.parametrize("seed", range(4))
def test_mutated_features_get_the_full_checks_answer(seed: int) -> None:
    rng = random.Random(seed)
    bundled = json.loads((ROOT / "geodata" / "incidents" / "syria-2017-04.geojson").read_text(encoding="utf-8"))
    bases = [*bundled["features"], *synthetic_features(60, seed=seed)]
    outcomes = [_agree(_mutated(rng.choice(bases), rng)) for _ in range(1500)]
    # Both kinds occur: mutations the quick check still accepts (checked equal above) and ones it leaves to the
    # full check.
    assert outcomes.count(True) > 100
    assert outcomes.count(None) > 100
