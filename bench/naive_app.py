"""The naive dashboard the benchmarks compare against: ``geopandas.read_file``, a status multiselect and a date
window, one ``folium.Marker`` with a ``folium.Popup`` of the title per incident, handed to ``st_folium``.

Run by ``bench/bench_scale.py`` through Streamlit's AppTest (``INCIDENTS_PATH`` names one GeoJSON file); the same
widget keys as app.py (``status``) so one driver works for both.
"""

from __future__ import annotations

import os
from datetime import date

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

STATUSES = ["verified", "claimed", "disputed", "debunked"]


@st.cache_resource
def load(path: str) -> gpd.GeoDataFrame:
    return gpd.read_file(path)


def main() -> None:
    frame = load(os.environ["INCIDENTS_PATH"])
    days = pd.to_datetime(frame["start"].str.slice(0, 10), format="mixed", errors="coerce").dt.date
    first, last = min(days.dropna()), max(days.dropna())
    statuses = st.multiselect("Verification status", STATUSES, default=STATUSES, key="status")
    window: tuple[date, date] = st.slider("Date window", min_value=first, max_value=last, value=(first, last))
    selected = frame[frame["status"].isin(statuses) & (days >= window[0]) & (days <= window[1])]
    st.markdown(f"**{len(selected)} of {len(frame)} incidents**: naive")
    fmap = folium.Map(location=[35.0, 39.0], zoom_start=6)
    for title, geometry in zip(selected["title"], selected.geometry, strict=True):
        if geometry is None or geometry.is_empty:
            continue
        point = geometry if geometry.geom_type == "Point" else geometry.representative_point()
        folium.Marker([point.y, point.x], popup=folium.Popup(title)).add_to(fmap)
    st_folium(fmap, key="map")


main()
