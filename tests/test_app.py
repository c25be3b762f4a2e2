"""The dashboard's widget logic with Streamlit's AppTest: filters, links, export, upload, clear-all, the map's
assets. (The real browser is in tests/e2e/.)"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from incidents import IncidentFilter, assets, load_incidents, render
from incidents.downloads import download_bytes
from incidents.safety import escape_markdown

from .conftest import BUNDLED, DATA, ROOT

APP = str(ROOT / "app.py")
SUMMARY = re.compile(r"^\*\*(\d+) of (\d+) incidents\*\*: (.*)$", re.S)
KHAN = "2017-04-04-khan-sheikhoun-chemical-attack"


def run(query: dict[str, Any] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, at.exception
    return at


def summary(at: AppTest) -> tuple[int, int, str]:
    """(shown, total, the filter in words) from the sidebar's summary line."""
    for element in at.markdown:
        match = SUMMARY.match(element.value)
        if match:
            return int(match[1]), int(match[2]), match[3]
    raise AssertionError("no summary line")


def the_map(at: AppTest) -> dict[str, Any]:
    maps = [e for e in at.main if e.type == "component_instance"]
    assert len(maps) == 1 and maps[0].proto.component_name == "streamlit_folium.st_folium"
    args: dict[str, Any] = json.loads(maps[0].proto.json_args)
    return args


def drawn_ids(at: AppTest) -> list[str]:
    """The incidents the map's script draws (the JSON handed to IncidentMap.addIncidents)."""
    script = the_map(at)["script"]
    start = script.index("IncidentMap.addIncidents(")
    payload, _ = json.JSONDecoder().raw_decode(script, script.index("{", start))
    return [incident["record"]["id"] for incident in payload["incidents"]]


def table_ids(at: AppTest) -> list[str]:
    return list(at.dataframe[0].value["ID"])


def query(at: AppTest) -> dict[str, list[str]]:
    return {key: value if isinstance(value, list) else [value] for key, value in at.query_params.items()}


def test_the_default_view_shows_everything_offline() -> None:
    at = run()
    assert summary(at) == (6, 6, "all incidents")
    assert at.multiselect(key="status").value == ["verified", "claimed", "disputed", "debunked"]
    assert at.multiselect(key="status").options == ["Verified (4)", "Claimed (1)", "Disputed (1)", "Debunked (0)"]
    assert at.slider[0].label == "Date window"
    assert at.slider[0].value == (date(2013, 8, 21), date(2017, 4, 12))  # the whole extent
    assert len(drawn_ids(at)) == 6 and len(table_ids(at)) == 6
    links = the_map(at)
    assert links["js_links"] and set(links["js_links"]) | set(links["css_links"]) <= assets.ALLOWED_URLS
    assert links["returned_objects"] == ["last_object_clicked"]  # panning and zooming do not rerun the app
    assert at.radio(key="tiles").value == "none"
    assert [b.label for b in at.get("download_button")] == ["Download GeoJSON (6 incidents)",
                                                            "Download CSV (6 incidents)"]
    assert at.query_params == {}
    charts = [e for e in at.main if e.type == "vega_lite_chart"]  # the timeline, drawn by the bundled Vega
    assert len(charts) == 1 and sorted(d.name for d in charts[0].proto.datasets) == ["bars", "extent", "window"]
    spec = json.loads(charts[0].proto.spec)
    assert spec["layer"][-1]["encoding"]["color"]["field"] == "status" and "http" not in charts[0].proto.spec


def test_filters_change_the_counts_the_map_and_the_table() -> None:
    at = run()
    at.multiselect(key="status").set_value(["verified"]).run()
    assert summary(at)[:2] == (4, 6)
    assert sorted(drawn_ids(at)) == sorted(table_ids(at)) and len(table_ids(at)) == 4
    assert at.multiselect(key="category").options == ["Chemical attack (2)", "Airstrike (0)", "Missile strike (1)",
                                                      "Friendly fire (1)", "Attack on medical care (0)"]
    at.multiselect(key="category").set_value(["chemical_attack"]).run()
    assert summary(at) == (2, 6, "verified chemical attacks")
    at.slider[0].set_value((date(2017, 4, 4), date(2017, 4, 10))).run()
    assert summary(at) == (1, 6, escape_markdown("verified chemical attacks, 4–10 April 2017"))
    assert drawn_ids(at) == table_ids(at) == [KHAN]
    assert query(at) == {"status": ["verified"], "category": ["chemical_attack"], "from": ["2017-04-04"],
                         "to": ["2017-04-10"]}
    assert at.get("download_button")[0].label == "Download GeoJSON (1 incident)"
    assert at.multiselect(key="status").options[0] == "Verified (1)"  # counts follow the other filters


def test_a_rerun_that_changes_nothing_neither_filters_nor_lays_out_the_map_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    st.cache_resource.clear()  # what earlier tests left kept (the same data, perhaps the same filters)
    st.cache_data.clear()
    at = run()
    calls: list[str] = []
    apply, payload = IncidentFilter.apply, render.map_payload

    def counted_apply(self: IncidentFilter, *args: Any, **kwargs: Any) -> Any:
        calls.append("filter")
        return apply(self, *args, **kwargs)

    def counted_payload(*args: Any, **kwargs: Any) -> Any:
        calls.append("map")
        return payload(*args, **kwargs)

    monkeypatch.setattr(IncidentFilter, "apply", counted_apply)
    monkeypatch.setattr(render, "map_payload", counted_payload)
    drawn, table = drawn_ids(at), table_ids(at)
    at.run()  # what a click on the map or a chosen row asks for, the filter unchanged
    assert not at.exception and calls == []
    assert drawn_ids(at) == drawn and table_ids(at) == table and summary(at)[:2] == (6, 6)
    at.multiselect(key="status").set_value(["claimed"]).run()
    assert not at.exception and "filter" in calls and calls.count("map") == 1
    assert drawn_ids(at) == table_ids(at) and summary(at)[:2] == (1, 6)
    calls.clear()
    at.run()
    assert calls == [] and summary(at)[:2] == (1, 6)


EQUAL_FILTERS = """
import importlib.util, itertools, sys
import streamlit as st
from incidents import IncidentFilter, load_incidents
spec = importlib.util.spec_from_file_location("dashboard", sys.argv[1])
dashboard = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dashboard)  # importing the app runs nothing (main() is guarded)
filtered = []
apply = IncidentFilter.apply
IncidentFilter.apply = lambda self, *args, **kwargs: filtered.append(self) or apply(self, *args, **kwargs)
dataset = load_incidents(sys.argv[2], nested=False)
statuses = ["verified", "claimed", "disputed", "debunked"]
filters = [IncidentFilter(statuses=frozenset(order)) for order in itertools.permutations(statuses)]
kept = {id(dashboard.selection_of(("bundled",), f, dataset)) for f in filters}
print(len({tuple(f.statuses) for f in filters}), len(filtered), len(kept))
"""


def test_an_equal_filter_finds_what_was_kept_for_it_whatever_the_order_of_its_sets() -> None:
    # PYTHONHASHSEED=2: these equal sets iterate in three orders, which Streamlit would hash as three keys
    result = subprocess.run([sys.executable, "-c", EQUAL_FILTERS, APP, str(BUNDLED)], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "PYTHONHASHSEED": "2"})
    assert result.returncode == 0, result.stderr
    orders, filtered, kept = map(int, result.stdout.split())
    assert orders == 3 and filtered == 1 and kept == 1


def test_text_filters_and_as_known_on() -> None:
    at = run()
    at.text_input(key="perpetrator").set_value("coalition").run()
    assert summary(at)[0] == 2
    at.text_input(key="perpetrator").set_value("").run()
    at.text_input(key="claimant").set_value("Lavrov").run()
    assert summary(at)[0] == 2
    at.text_input(key="claimant").set_value("").run()
    at.text_input(key="q").set_value('"toxic-materials depot"').run()
    assert summary(at)[0] == 1 and table_ids(at) == ["2017-04-12-deir-ez-zor-claimed-coalition-strike"]
    at.text_input(key="q").set_value("").run()
    at.date_input(key="as_of").set_value(date(2017, 4, 5)).run()
    assert summary(at)[:2] == (3, 6)
    table = at.dataframe[0].value
    assert dict(zip(table["ID"], table["Status"], strict=True))[KHAN] == "Claimed"  # the status on 5 April
    assert query(at) == {"as_of": ["2017-04-05"]}


def test_a_link_fills_the_widgets_and_reproduces_the_view() -> None:
    at = run({"status": ["verified", "claimed"], "category": "chemical_attack,attack_on_medical",
              "from": "2017-04", "q": "Khan", "perpetrator": "Syrian", "claimant": "Russian",
              "as_of": "2017-06-30"})
    assert at.multiselect(key="status").value == ["verified", "claimed"]
    assert at.multiselect(key="category").value == ["chemical_attack", "attack_on_medical"]
    assert at.slider[0].value == (date(2017, 4, 1), date(2017, 4, 12))
    assert at.date_input(key="as_of").value == date(2017, 6, 30)
    assert [at.text_input(key=k).value for k in ("perpetrator", "claimant", "q")] == ["Syrian", "Russian", "Khan"]
    assert not at.warning
    flt = IncidentFilter(statuses={"verified", "claimed"}, categories={"chemical_attack", "attack_on_medical"},
                         date_from="2017-04", as_of="2017-06-30", perpetrator="Syrian", claimant="Russian",
                         query="Khan")
    assert query(at) == flt.to_query()  # written back as the link wrote it (in a canonical order)
    assert summary(at)[2] == escape_markdown(flt.describe())
    assert table_ids(at) == [KHAN, "2017-04-04-khan-sheikhoun-hospital-strike"]
    again = run(query(at))  # the rewritten link opens the same view
    assert summary(again) == summary(at) and table_ids(again) == table_ids(at)


def test_bad_values_in_a_link_warn_and_the_rest_applies() -> None:
    at = run({"status": "verified,confirmed", "from": "yesterday", "as_of": "2017-02-30", "colour": "red",
              "category": "chemical_attack,nonsense"})
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 5, warnings
    assert "Link: " + escape_markdown("category: 'nonsense' is neither one of chemical_attack, airstrike, "
                                      "missile_strike, friendly_fire, shelling, attack_on_medical, siege, other "
                                      "nor a category of this data; ignored") in warnings
    assert any("confirmed" in w and "is not one of" in w for w in warnings)
    assert any(w.startswith("Link: from\\:") for w in warnings)
    assert any(w.startswith("Link: as\\_of\\:") for w in warnings)
    assert any("colour" in w and "not a filter parameter" in w for w in warnings)
    assert summary(at) == (2, 6, "verified chemical attacks")
    assert query(at) == {"status": ["verified"], "category": ["chemical_attack"]}
    outside = run({"from": "2020-01-01", "to": "2019-01-01"})
    assert [w.value for w in outside.warning] == [
        "Link: " + escape_markdown("the window ends (2019-01-01) before it starts (2020-01-01); the date window "
                                   "was ignored")]
    missing = run({"from": "2020-01-01"})
    assert "lies outside the data" in missing.warning[0].value and summary(missing)[0] == 6


def test_the_export_is_the_cli_export_for_the_same_filter() -> None:
    at = run({"status": "verified", "category": "chemical_attack", "from": "2017-04-04", "to": "2017-04-13"})
    flt, warnings = IncidentFilter.from_query(query(at))
    assert not warnings and summary(at)[2] == escape_markdown(flt.describe())
    cli = subprocess.run(
        [sys.executable, "-m", "incidents", "export", str(BUNDLED.parent), "--status", "verified",
         "--category", "chemical_attack", "--from", "2017-04-04", "--to", "2017-04-13"],
        capture_output=True, check=True, cwd=ROOT,
    )
    expected = json.loads(cli.stdout)
    dataset = load_incidents(BUNDLED.parent)  # what the app opens by default
    exported = json.loads(download_bytes(dataset, flt, "geojson"))
    assert exported["features"] == expected["features"] and [f["id"] for f in exported["features"]] == [KHAN]
    assert exported["export"]["description"] == expected["export"]["description"] == flt.describe()
    assert exported["export"]["datasets"] == expected["export"]["datasets"]
    assert at.get("download_button")[0].label.startswith("Download GeoJSON")
    csv = subprocess.run(
        [sys.executable, "-m", "incidents", "export", str(BUNDLED.parent), "--status", "verified", "--category",
         "chemical_attack", "--from", "2017-04-04", "--to", "2017-04-13", "--format", "csv"],
        capture_output=True, check=True, cwd=ROOT,
    )
    assert download_bytes(dataset, flt, "csv") == csv.stdout


def test_a_bad_upload_is_listed_and_the_app_keeps_working() -> None:
    at = run({"status": "verified"})
    bad = (DATA / "bad" / "many-problems.geojson").read_bytes()
    at.file_uploader(key="upload").set_value(("many-problems.geojson", bad, "application/geo+json")).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("many\\-problems\\.geojson was not added:")
    items = [line for line in errors[0].splitlines() if line.startswith("- ")]
    assert len(items) >= 4 and all("many\\-problems\\.geojson\\: feature \\#" in line for line in items)
    assert summary(at)[:2] == (4, 6) and len(drawn_ids(at)) == 4  # the rest works as before
    at.multiselect(key="status").set_value(["disputed"]).run()
    assert summary(at)[:2] == (1, 6)


def test_a_good_upload_is_added_and_a_duplicate_is_refused() -> None:
    at = run()
    full = (DATA / "good" / "full.geojson").read_bytes()
    at.file_uploader(key="upload").set_value(("full.geojson", full, "application/geo+json")).run()
    assert not at.exception and not at.error
    assert summary(at)[:2] == (12, 12)
    assert [s.value for s in at.success] == ["Added 6 incidents from full\\.geojson."]
    assert any("Not on the map (no location): 1" in m.value for m in at.markdown)  # listed beside the map
    assert at.slider[0].value == (date(2013, 1, 1), date(2018, 4, 30))  # the whole new extent: still no filter
    assert at.query_params == {}
    at.file_uploader(key="upload").set_value(("again.geojson", BUNDLED.read_bytes(), "application/geo+json")).run()
    assert summary(at)[:2] == (6, 6)
    assert "is already the id of feature \\#1" in at.error[0].value


def test_clear_all_resets_every_filter_and_the_link() -> None:
    at = run({"status": "verified", "q": "Khan", "from": "2017-04-04", "as_of": "2017-05-01",
              "bbox": "35,32,43,38"})
    assert summary(at)[0] == 1 and "within" in summary(at)[2]
    at.button(key="clear-all").click().run()
    assert summary(at) == (6, 6, "all incidents")
    assert at.query_params == {}
    assert at.multiselect(key="status").value == ["verified", "claimed", "disputed", "debunked"]
    assert at.text_input(key="q").value == "" and at.date_input(key="as_of").value is None
    assert at.slider[0].value == (date(2013, 8, 21), date(2017, 4, 12))


def test_the_window_steps_through_time_keeping_the_other_filters() -> None:
    at = run({"status": "verified,disputed", "from": "2017-04-01", "to": "2017-04-07"})
    assert at.button(key="step-back").proto.disabled is False
    at.button(key="step-on").click().run()
    assert at.slider[0].value == (date(2017, 4, 6), date(2017, 4, 12))  # a week, kept inside the data
    assert query(at) == {"status": ["verified", "disputed"], "from": ["2017-04-06"]}
    assert table_ids(at) == ["2017-04-07-shayrat-airbase-missile-strike", "2017-04-11-tabqa-coalition-strike-on-sdf",
                             "2017-04-12-deir-ez-zor-claimed-coalition-strike"]
    at.button(key="step-back").click().run()
    assert at.slider[0].value == (date(2017, 3, 30), date(2017, 4, 5))
    assert query(at)["status"] == ["verified", "disputed"] and table_ids(at) == [KHAN]


def test_choosing_a_table_row_shows_the_full_record() -> None:
    at = run({"q": "Shayrat"})
    assert not any(m.value.startswith("#####") for m in at.markdown)
    at.session_state["incident-table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    records = [m.value for m in at.markdown if m.value.startswith("#####")]
    assert len(records) == 1 and records[0].startswith("##### US missile strike on Shayrat airbase")
    assert "**Claims**" in records[0] and "**Sources**" in records[0]


def test_online_tiles_are_a_switch_that_warns() -> None:
    at = run()
    assert "tile.openstreetmap.org" not in the_map(at)["script"]
    at.radio(key="tiles").set_value("osm").run()
    assert any("contacts a third-party server" in w.value for w in at.warning)
    assert "https://tile.openstreetmap.org/" in the_map(at)["script"]
    assert set(the_map(at)["js_links"]) <= assets.ALLOWED_URLS
    assert query(at) == {}  # never part of a shared link


def test_incidents_path_opens_other_files_and_folders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENTS_PATH", os.pathsep.join([str(DATA / "good" / "full.geojson"),
                                                          str(BUNDLED.parent)]))
    at = run()
    assert summary(at)[:2] == (12, 12)
    assert any("full\\.geojson" in c.value and "syria\\-2017\\-04\\.geojson" in c.value for c in at.caption)


def test_a_bad_data_file_is_reported_instead_of_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENTS_PATH", str(DATA / "bad" / "bad-status.geojson"))
    at = run()
    assert len(at.error) == 1 and "could not be loaded" in at.error[0].value and "confirmed" in at.error[0].value


def loader_asking_for_a_rerun_midway(log: str) -> None:
    """An app whose cached load, half-way through, gets the rerun that a widget touched during it would ask for."""
    import streamlit as st
    from streamlit.runtime.scriptrunner import RerunData, get_script_run_ctx

    from app import progress_line

    @st.cache_resource(show_spinner=False)
    def load() -> int:
        with open(log, "a", encoding="utf-8") as stream:
            stream.write("start\n")
        with progress_line() as progress:
            for step in range(4):
                if step == 2 and not st.session_state.get("asked"):
                    st.session_state["asked"] = True
                    context = get_script_run_ctx()
                    assert context is not None
                    context.script_requests.request_rerun(RerunData())
                progress(f"step {step}")
        with open(log, "a", encoding="utf-8") as stream:
            stream.write("finished\n")
        return 42

    st.write(f"loaded {load()}")


def test_progress_during_a_load_never_lets_a_rerun_throw_the_load_away(tmp_path: Any) -> None:
    log = tmp_path / "log.txt"
    at = AppTest.from_function(loader_asking_for_a_rerun_midway, args=(str(log),), default_timeout=30).run()
    assert not at.exception
    assert log.read_text(encoding="utf-8").split() == ["start", "finished"]  # one load, finished and cached
    assert [m.value for m in at.markdown] == ["loaded 42"]
    assert not at.caption  # the progress line is emptied at the end, and not replayed
