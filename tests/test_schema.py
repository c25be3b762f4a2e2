"""The shipped JSON Schema agrees with the validator on the files in tests/data and the bundled data."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

import incidents

from .conftest import BUNDLED, DATA


def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(incidents.schema_path().read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", [BUNDLED, *sorted((DATA / "good").rglob("*.geojson"))], ids=lambda p: p.name)
def test_good_files_match_the_schema(path: Path) -> None:
    errors = [e.message for e in validator().iter_errors(json.loads(path.read_text()))]
    assert errors == []


@pytest.mark.parametrize(
    "name",
    ["missing-required.geojson", "unknown-field.geojson", "bad-date.geojson", "bad-status.geojson",
     "coordinates-out-of-range.geojson", "coordinates-not-numbers.geojson", "many-problems.geojson"],
)
def test_bad_files_fail_the_schema_too(name: str) -> None:
    document = json.loads((DATA / "bad" / name).read_text())
    assert list(validator().iter_errors(document))
