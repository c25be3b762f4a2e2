"""The smallest Streamlit page, for ``bench/bench_browser.py``'s baseline: how long any Streamlit page takes to
first paint on this machine (its scripts, the websocket, one script run), whatever the app does."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="Incident map", layout="wide")
st.write("Streamlit baseline page: ready")
