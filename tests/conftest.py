from __future__ import annotations

import os
from pathlib import Path

import pytest

from incidents import Dataset, load_incidents

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
BUNDLED = ROOT / "geodata" / "incidents" / "syria-2017-04.geojson"


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every test (and every command it runs) caches into a fresh folder, never the user's own cache."""
    folder = tmp_path_factory.mktemp("incidents-cache")
    os.environ["INCIDENTS_CACHE_DIR"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def syria() -> Dataset:
    return load_incidents(BUNDLED)


@pytest.fixture(scope="session")
def full() -> Dataset:
    return load_incidents(DATA / "good" / "full.geojson")


NO_SKIP_RULE = "no test may be skipped"
_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped and exitstatus == 0:
        print(f"\n{NO_SKIP_RULE}: {len(_skipped)} skipped: {', '.join(_skipped[:10])}")
        session.exitstatus = 1
