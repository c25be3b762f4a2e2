"""The analyst's dashboard: ``streamlit run app.py`` (widgets in, calls into the ``incidents`` package)."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st
from streamlit_folium import st_folium

from incidents import Dataset, IncidentFilter, load_incidents
from incidents.render import build_map

BUNDLED = Path(__file__).resolve().parent / "geodata" / "incidents"


@st.cache_data(show_spinner="Loading incidents…")
def load(paths: tuple[str, ...], stamps: tuple[float, ...]) -> Dataset:
    del stamps  # part of the cache key: a changed file is read again
    return load_incidents(list(paths))


def main() -> None:
    st.set_page_config(page_title="Incident map", layout="wide")
    raw = os.environ.get("INCIDENTS_PATH")
    paths = tuple(raw.split(os.pathsep)) if raw else (str(BUNDLED),)
    dataset = load(paths, tuple(Path(p).stat().st_mtime if Path(p).exists() else 0.0 for p in paths))
    frame = IncidentFilter().apply(dataset)
    st.title("Incident map")
    st_folium(build_map(frame), key="incident-map", returned_objects=[], height=560, use_container_width=True)


main()
