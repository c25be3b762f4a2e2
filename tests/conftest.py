from __future__ import annotations

from pathlib import Path

import pytest

from incidents import Dataset, load_incidents

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
BUNDLED = ROOT / "geodata" / "incidents" / "syria-2017-04.geojson"


@pytest.fixture(scope="session")
def syria() -> Dataset:
    return load_incidents(BUNDLED)


@pytest.fixture(scope="session")
def full() -> Dataset:
    return load_incidents(DATA / "good" / "full.geojson")
