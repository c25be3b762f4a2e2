"""The bundled Syria, April 2017 dataset holds what the article reports, each fact with its sources."""

from __future__ import annotations

import json

from incidents import Dataset


def props(dataset: Dataset, incident_id: str) -> dict[str, object]:
    row = dataset.frame.index[dataset.frame["id"] == incident_id][0]
    return dataset.properties(int(row))


def test_the_six_incidents_are_there(syria: Dataset) -> None:
    assert set(syria.frame["id"]) >= {
        "2017-04-04-khan-sheikhoun-chemical-attack", "2017-04-04-khan-sheikhoun-hospital-strike",
        "2017-04-07-shayrat-airbase-missile-strike", "2017-04-11-tabqa-coalition-strike-on-sdf",
        "2017-04-12-deir-ez-zor-claimed-coalition-strike", "2013-08-21-ghouta-sarin-attacks"}
    assert syria.warnings == ()


def test_every_incident_has_sources_claims_status_and_history(syria: Dataset) -> None:
    for row in range(len(syria)):
        record = syria.properties(row)
        assert record["sources"], record["id"]
        assert record["claims"], record["id"]
        assert record["status_history"], record["id"]
        assert record["status_history"][-1]["status"] == record["status"]


def test_khan_sheikhoun_became_verified_with_the_opcw_finding(syria: Dataset) -> None:
    record = props(syria, "2017-04-04-khan-sheikhoun-chemical-attack")
    history = record["status_history"]
    assert isinstance(history, list)
    verified = next(h for h in history if h["status"] == "verified")
    assert verified["date"] == "2017-06-30"
    sources = record["sources"]
    assert isinstance(sources, list)
    source = next(s for s in sources if s.get("id") == verified["source"])
    assert "OPCW" in json.dumps(source)


def test_claims_quote_the_parties(syria: Dataset) -> None:
    khan = props(syria, "2017-04-04-khan-sheikhoun-chemical-attack")
    claims = khan["claims"]
    assert isinstance(claims, list)
    assert any(c["stance"] == "denies" and "fabricated" in c.get("text", "") for c in claims)
    deir = props(syria, "2017-04-12-deir-ez-zor-claimed-coalition-strike")
    stances = {c["stance"] for c in deir["claims"]}  # type: ignore[union-attr]
    assert {"asserts", "cannot_confirm", "denies"} <= stances


def test_related_incidents_are_linked(syria: Dataset) -> None:
    shayrat = props(syria, "2017-04-07-shayrat-airbase-missile-strike")
    assert {"id": "2017-04-04-khan-sheikhoun-chemical-attack", "relation": "response_to"} in shayrat["related"]  # type: ignore[operator]
