"""The analyst's dashboard: ``streamlit run app.py``.

A thin layer: widgets in, one :class:`~incidents.IncidentFilter` made from them, calls into the ``incidents``
package out. The filter lives in the URL query (a link reproduces the view); widgets without state of their own
(a new session, a cleared filter, a stepped window) start from it. Every string from a data file reaches the page
through the package's escaping path (``escape_markdown``, the map's JSON) or a widget that never interprets text
(table cells).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, Final, NamedTuple

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx
from streamlit_folium import st_folium

from incidents import Dataset, IncidentDataError, IncidentFilter, load_incidents
from incidents.controls import (
    Controls,
    Extent,
    as_of_range,
    category_codes,
    category_counts,
    category_label,
    clamp_window,
    controls_for,
    data_extent,
    drop_unknown_categories,
    filter_for,
    status_codes,
    status_counts,
    status_label,
    step_window,
)
from incidents.datasources import data_paths, data_stamp, read_upload, upload_suffixes, with_upload
from incidents.detail import incident_markdown, problems_markdown
from incidents.downloads import KINDS, download_bytes, download_label, file_name
from incidents.errors import Problem
from incidents.filters import text_bbox
from incidents.model import VIEW_COLUMNS, full_rows
from incidents.render import (
    GRID_LIMIT,
    ONLINE_TILES,
    Cell,
    MapLayer,
    MapOptions,
    TileChoice,
    cell_at,
    incidents_at,
    layer_map,
    map_layer,
    mode_for,
    unlocated_titles,
)
from incidents.safety import escape_markdown
from incidents.table import table_frame
from incidents.timeline import HISTOGRAM_COLUMNS, Unit, bin_unit, histogram, histogram_spec
from incidents.uploads import (
    KIND_LABELS,
    Upload,
    UploadKind,
    UploadOptions,
    counted,
    failure_hint,
    mapping_frame,
    notes_markdown,
    read_as_markdown,
    summary_markdown,
    unused_markdown,
)
from incidents.vocab import CATEGORIES, STATUSES

# Widget keys. The filter widgets' state is the filter; nothing derived is kept in the session.
STATUS: Final = "status"
CATEGORY: Final = "category"
AS_OF: Final = "as_of"
PERPETRATOR: Final = "perpetrator"
CLAIMANT: Final = "claimant"
QUERY: Final = "q"
WINDOW: Final = "window"  # + the extent, so that a new extent (an upload) starts a new slider from the link
FILTER_KEYS: Final = (STATUS, CATEGORY, AS_OF, PERPETRATOR, CLAIMANT, QUERY)
TILES: Final = "tiles"
DENSITY: Final = "density"
TABLE: Final = "incident-table"
MAP: Final = "incident-map"
UPLOAD: Final = "upload"
UPLOAD_KIND: Final = "upload-kind"
UPLOAD_STATUS: Final = "upload-status"
UPLOAD_CATEGORY: Final = "upload-category"
UPLOAD_SOURCE: Final = "upload-source"

TILE_CHOICES: Final[dict[TileChoice, str]] = {
    "none": "Offline: country outlines (no network)",
    "osm": f"OpenStreetMap — contacts {ONLINE_TILES['osm']['host']}",
    "imagery": f"Satellite imagery — contacts {ONLINE_TILES['imagery']['host']} (Esri)",
}
MAP_HEIGHT: Final = 560
TABLE_ROWS: Final = 20  # up to this many rows the table shows them all, beyond it scrolls
LISTED: Final = 50  # unlocated incidents listed beside the map by title

# Streamlit hashes a frozenset in its iteration order, which differs between equal sets built in another order: a
# filter's sets are hashed sorted, so that an equal filter always finds what was kept for it.
FILTER_HASH: Final[dict[type[Any] | str, Callable[[Any], Any]]] = {frozenset: sorted}

DataKey = tuple[tuple[str, ...], tuple[tuple[str, int, int], ...], tuple[str, str, UploadOptions] | None]


# -- loading (cached; keyed by the files' identity, never by a DataFrame) --------------------------------------
@st.cache_resource(show_spinner="Loading incidents…", max_entries=4)
def load_base(paths: tuple[str, ...], stamp: tuple[tuple[str, int, int], ...]) -> Dataset:
    del stamp  # part of the cache key: an edited, added or removed file is read again
    # cache=True: a file checked once (by any process) is read back from the content-keyed cache
    with progress_line() as progress:
        return load_incidents(list(paths), nested=False, cache=True, progress=progress)


@st.cache_resource(show_spinner="Reading the uploaded file…", max_entries=8)
def load_upload(name: str, file_id: str, options: UploadOptions, _data: bytes) -> Upload:
    del file_id  # the cache key (with the options): one entry per uploaded file, without hashing its bytes
    with progress_line() as progress:
        return read_upload(name, _data, options=options, progress=progress)


@contextlib.contextmanager
def progress_line() -> Iterator[Callable[[str], None]]:
    """A line that says how far a long load has come, emptied when it ends. It is made inside the cached function
    (Streamlit replays what is made there) and written from a short-lived thread: every write from the script's
    own thread is also where Streamlit stops the run for a pending rerun, which would throw away a load minutes in
    (and record each message for replay)."""
    line = st.empty()
    context = get_script_run_ctx()

    def off_script_thread(write: Callable[[], object]) -> None:
        writer = threading.Thread(target=write, daemon=True)
        add_script_run_ctx(writer, context)
        writer.start()
        writer.join()

    def tell(message: str) -> None:
        off_script_thread(lambda: line.caption(escape_markdown(message)))

    try:
        yield tell
    finally:
        off_script_thread(line.empty)


@st.cache_resource(show_spinner="Adding the uploaded incidents…", max_entries=8)
def open_data(key: DataKey, _upload: Upload | None) -> tuple[Dataset, tuple[Problem, ...]]:
    paths, stamp, _ = key
    return with_upload(load_base(paths, stamp), _upload)


@st.cache_resource(show_spinner=False, max_entries=8)
def titles_of(key: DataKey, _dataset: Dataset) -> dict[str, str]:
    del key
    return dict(zip(_dataset.frame["id"], _dataset.frame["title"], strict=True))


# -- what a filter shows besides the map (cached: a rerun that changes nothing, or only another part of the
# filter, does not count again; ``key`` names the data, the filter part the rest) ------------------------------
@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=FILTER_HASH)
def counts_by_status(key: DataKey, others: IncidentFilter, _dataset: Dataset) -> dict[str, int]:
    del key
    return status_counts(_dataset, others)


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=FILTER_HASH)
def counts_by_category(key: DataKey, others: IncidentFilter, _dataset: Dataset) -> dict[str, int]:
    del key
    return category_counts(_dataset, others)


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=FILTER_HASH)
def timeline_counts(key: DataKey, undated: IncidentFilter, unit: Unit, _dataset: Dataset) -> pd.DataFrame:
    del key
    return histogram(undated.apply(_dataset, columns=HISTOGRAM_COLUMNS), unit=unit)


# -- what the last two filters show, kept between reruns (a rerun that changes nothing — a click on the map, a row
# chosen — or a change back neither filters nor lays out the map again; the page never alters what these return) --
@st.cache_resource(show_spinner=False, max_entries=2, hash_funcs=FILTER_HASH)
def selection_of(key: DataKey, flt: IncidentFilter, _dataset: Dataset) -> gpd.GeoDataFrame:
    del key
    return flt.apply(_dataset, columns=VIEW_COLUMNS)


@st.cache_resource(show_spinner=False, max_entries=2, hash_funcs=FILTER_HASH)
def map_layer_of(key: DataKey, flt: IncidentFilter, options: MapOptions, _dataset: Dataset,
                 _selected: gpd.GeoDataFrame) -> MapLayer:
    del flt  # with ``key``, it names ``_selected``
    symbols = options.mode == "symbols"
    drawn = full_rows(_dataset, _selected) if symbols else _selected  # symbols carry whole records
    return map_layer(drawn, options=options, all_ids=titles_of(key, _dataset) if symbols else None)


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=FILTER_HASH)
def table_of(key: DataKey, flt: IncidentFilter, _selected: gpd.GeoDataFrame) -> pd.DataFrame:
    del key, flt
    return table_frame(_selected)


# -- the filter in the URL and in the widgets ---------------------------------------------------------------
def query_now() -> dict[str, list[str]]:
    return {key: st.query_params.get_all(key) for key in st.query_params}


def start_missing_widgets(controls: Controls, window_key: str) -> None:
    """Give every filter widget that has no state yet the value from the link."""
    values: dict[str, Any] = {
        STATUS: list(controls.statuses),
        CATEGORY: list(controls.categories),
        AS_OF: controls.as_of,
        PERPETRATOR: controls.perpetrator,
        CLAIMANT: controls.claimant,
        QUERY: controls.query,
        window_key: controls.window,
    }
    for key, value in values.items():
        if key not in st.session_state:
            st.session_state[key] = value


def widget_controls(window_key: str) -> Controls:
    state = st.session_state
    # A multiselect's options are labelled with counts; after the counts changed (an upload, another filter) the
    # browser may send back a label it showed before, which comes back as text. Map it to its code and store the
    # codes again (before the widget runs), which also sends the browser the current labels.
    for key, codes in ((STATUS, status_codes(state[STATUS])), (CATEGORY, category_codes(state[CATEGORY]))):
        if codes != list(state[key]):
            state[key] = codes
    window = state.get(window_key)
    return Controls(
        statuses=tuple(state[STATUS]),
        categories=tuple(state[CATEGORY]),
        window=None if window is None else (window[0], window[1]),
        as_of=state[AS_OF],
        perpetrator=state[PERPETRATOR],
        claimant=state[CLAIMANT],
        query=state[QUERY],
    )


def forget_filter_widgets(window_key: str) -> None:
    for key in (*FILTER_KEYS, window_key):
        st.session_state.pop(key, None)


# -- page parts ----------------------------------------------------------------------------------------------
def show_problems(title: str, problems: tuple[Problem, ...] | list[Problem], *, error: bool) -> None:
    text = f"{title}\n\n{problems_markdown(problems)}"
    if error:
        st.error(text)
    else:
        st.warning(text)


def show_record(dataset: Dataset, key: DataKey, row: pd.Series) -> None:
    """The whole record of the incident in ``row`` (a row of a filtered view, its status as shown)."""
    st.markdown(incident_markdown(dataset, int(row.name), status=str(row["status"]), titles=titles_of(key, dataset)))


def timeline(dataset: Dataset, key: DataKey, flt: IncidentFilter, extent: Extent, window: tuple[date, date]) -> None:
    unit = bin_unit(extent)
    counts = timeline_counts(key, flt.replace(date_from=None, date_to=None), unit, dataset)
    st.vega_lite_chart(histogram_spec(counts, extent=extent, window=window, unit=unit), width="stretch")


def import_options() -> UploadOptions:
    """How to read an uploaded file: its kind, and defaults for imported rows that have none."""
    with st.expander("Import options"):
        kind: UploadKind = st.selectbox(
            "Kind of file", options=list(KIND_LABELS), format_func=KIND_LABELS.__getitem__, key=UPLOAD_KIND,
            help="Detected: a GeoJSON file in the incident format is added as it is, other GeoJSON is imported; a "
                 "table is an ACLED export when it has ACLED's columns, else a spreadsheet") or "detect"
        status = st.selectbox(
            "Default status", options=[None, *STATUSES], key=UPLOAD_STATUS,
            format_func=lambda code: "From the file" if code is None else STATUSES[code].label,
            help="For imported rows without a status of their own (an ACLED export's events: Claimed)")
        category = st.selectbox(
            "Default category", options=[None, *CATEGORIES], key=UPLOAD_CATEGORY,
            format_func=lambda code: "From the file" if code is None else CATEGORIES[code].label,
            help="For spreadsheet and other GeoJSON rows without a category (ACLED's come from its sub-event types)")
        source = st.text_input("Default source", key=UPLOAD_SOURCE, placeholder="e.g. Field notes, team B",
                               help="The source title of imported rows that name none")
    return UploadOptions(kind=kind, default_status=status, default_source=source.strip() or None,
                         default_category=category)


def upload_report(upload: Upload, problems: tuple[Problem, ...]) -> None:
    """What became of the uploaded file: read as what, the import's summary, mapping and remarks; added or not."""
    read_as = read_as_markdown(upload)
    if read_as:
        st.caption(read_as)
    preview = upload.preview
    if preview is not None:
        st.markdown(f"**Import:** {summary_markdown(upload)}")
        with st.expander(f"Column → field mapping ({len(preview.mapping)} fields)"):
            st.dataframe(mapping_frame(preview), hide_index=True, width="stretch", key="upload-mapping")
            unused = unused_markdown(preview)
            if unused:
                st.caption(unused)
        if preview.skipped:
            with st.expander(f"{counted(len(preview.skipped), preview.unit)} skipped", expanded=True):
                st.markdown(notes_markdown(preview.skipped))
        if preview.warnings:
            with st.expander(f"{counted(len(preview.warnings), 'import warning')}"):
                st.markdown(notes_markdown(preview.warnings))
    if any(p.severity == "error" for p in problems):
        show_problems(f"{escape_markdown(upload.name)} was not added:", problems, error=True)
        hint = failure_hint(upload)
        if hint:
            st.caption(hint)
    elif upload.dataset is not None:
        st.success(f"Added {len(upload.dataset)} incidents from {escape_markdown(upload.name)}.")


def data_sidebar(paths: tuple[str, ...], stamp: tuple[tuple[str, int, int], ...]) -> tuple[Dataset, DataKey]:
    """The files opened and an uploaded file for the session (its import previewed, its problems listed); the
    data to show."""
    st.subheader("Data")
    uploaded = st.file_uploader("Add incidents for this session: GeoJSON, an ACLED export or a CSV spreadsheet",
                                type=upload_suffixes(), key=UPLOAD,
                                help="Kept for this browser session only; it is checked like any other file and "
                                     "added to the incidents above. See Import options for the kind and defaults.")
    options = import_options()
    upload = None
    if uploaded is not None:
        upload = load_upload(uploaded.name, uploaded.file_id, options, uploaded.getvalue())
    key: DataKey = (paths, stamp, None if uploaded is None else (uploaded.name, uploaded.file_id, options))
    dataset, upload_problems = open_data(key, upload)
    names = ", ".join(sorted({Path(f.name).name for f in dataset.files}))
    st.caption(f"{len(dataset)} incidents from {escape_markdown(names)}")
    if upload is not None:
        upload_report(upload, upload_problems)
    if dataset.warnings:
        with st.expander(f"{len(dataset.warnings)} warnings about the data"):
            st.markdown(problems_markdown(dataset.warnings, limit=200))
    return dataset, key


def filter_sidebar(dataset: Dataset, key: DataKey, flt: IncidentFilter, extent: Extent | None) -> None:
    """The filter widgets (their state is already set: from the link, or from the user)."""
    statuses = counts_by_status(key, flt.replace(statuses=frozenset()), dataset)
    st.multiselect("Verification status", options=list(STATUSES), key=STATUS,
                   format_func=lambda code: status_label(code, statuses[code]),
                   help="Counts: the incidents each status would show with the other filters")
    categories = counts_by_category(key, flt.replace(categories=frozenset()), dataset)
    st.multiselect("Category", options=list(categories), key=CATEGORY, placeholder="All categories",
                   format_func=lambda code: category_label(code, categories.get(code, 0)))
    st.text_input("Perpetrator", key=PERPETRATOR, placeholder="e.g. coalition",
                  help="The perpetrator contains this text (any case)")
    st.text_input("Claimant", key=CLAIMANT, placeholder="e.g. Russian",
                  help="A claim was made by a party matching this text")
    st.text_input("Search", key=QUERY, placeholder='words or "a phrase"',
                  help="Title, description, place, claims, sources, tags: every word must occur")
    low, high = as_of_range(extent, st.session_state[AS_OF]) if extent else (None, None)
    st.date_input("As known on", key=AS_OF, min_value=low, max_value=high, format="YYYY-MM-DD",
                  help="Leave out what was first reported later; show each status as it stood that day")


def export_sidebar(dataset: Dataset, flt: IncidentFilter, count: int) -> None:
    st.subheader("Export what is shown")
    for fmt, kind in KINDS.items():
        # the file is made when the button is pressed (not on every rerun), by the CLI's own export
        st.download_button(download_label(fmt, count), key=f"download-{fmt}",
                           data=functools.partial(download_bytes, dataset, flt, fmt),
                           file_name=file_name(flt, fmt), mime=kind.mime, on_click="ignore",
                           help="The same file as `incidents export` with this filter")


class MapLook(NamedTuple):
    tiles: TileChoice
    density: bool


def map_sidebar() -> MapLook:
    st.subheader("Map")
    tiles: TileChoice = st.radio("Base map", options=list(TILE_CHOICES), format_func=TILE_CHOICES.__getitem__,
                                 key=TILES) or "none"
    if tiles != "none":
        st.warning("Online tiles: your browser now contacts a third-party server, which sees your address "
                   "and the area you look at.")
    density = st.toggle("Density grid", key=DENSITY,
                        help=f"Count the incidents in grid cells instead of drawing each one (automatic above "
                             f"{GRID_LIMIT:,} incidents shown); click a cell to list its incidents")
    return MapLook(tiles, density)


def step_buttons(window: tuple[date, date], extent: Extent) -> tuple[date, date]:
    """◀ Earlier / Later ▶: the window moved by its own length when one was pressed."""
    earlier, later, note = st.columns([1, 1, 5])
    days = (window[1] - window[0]).days + 1
    back = earlier.button("◀ Earlier", key="step-back", disabled=window[0] <= extent.first,
                          help=f"Move the window {days} days back, keeping the other filters")
    on = later.button("Later ▶", key="step-on", disabled=window[1] >= extent.last,
                      help=f"Move the window {days} days on, keeping the other filters")
    note.caption(f"The data runs from {extent.describe()}; the window is {days} days long.")
    return step_window(window, extent, -1 if back else 1) if back or on else window


def map_and_clicked(dataset: Dataset, key: DataKey, flt: IncidentFilter, selected: gpd.GeoDataFrame,
                    look: MapLook) -> None:
    """The map; beside it what was clicked (an incident's record, or a grid cell's incidents), and the incidents
    that cannot be drawn."""
    map_column, side_column = st.columns([3, 1])
    mode = mode_for(selected, "grid" if look.density else "auto")
    with map_column:
        options = MapOptions(tiles=look.tiles, mode=mode, height=MAP_HEIGHT)
        fmap = layer_map(map_layer_of(key, flt, options, dataset, selected), options=options)
        result = st_folium(fmap, key=MAP, returned_objects=["last_object_clicked"], height=MAP_HEIGHT,
                           use_container_width=True)
    with side_column:
        clicked = (result or {}).get("last_object_clicked")
        if clicked and mode == "grid":
            show_cell(dataset, key, cell_at(selected, clicked["lat"], clicked["lng"]))
        else:
            here = incidents_at(selected, clicked["lat"], clicked["lng"]) if clicked else selected.iloc[0:0]
            if len(here):
                st.caption(f"Clicked on the map: {len(here)} incident{'s' if len(here) > 1 else ''}")
                with st.container(height=MAP_HEIGHT - 40, key="clicked-record"):
                    for _, row in here.head(LISTED).iterrows():
                        show_record(dataset, key, row)
            else:
                st.caption("Click a symbol on the map to see its full record here." if mode != "grid" else
                           "Each square counts the incidents in it. Click one to list them here.")
        unlocated = unlocated_titles(selected)
        if len(unlocated):
            st.markdown(f"**Not on the map (no location): {len(unlocated)}**")
            st.markdown("\n".join(f"- {escape_markdown(title)}" for title in unlocated.head(LISTED)))
            if len(unlocated) > LISTED:
                st.caption(f"… and {len(unlocated) - LISTED} more: see the table")


def show_cell(dataset: Dataset, key: DataKey, cell: Cell) -> None:
    """A clicked grid cell: its incidents listed (each with its record), and the filter narrowed to it on request."""
    count = len(cell.incidents)
    st.caption(f"Clicked on the map: a cell of {count:,} incidents ({text_bbox(cell.bbox)})")
    if st.button("Narrow the filter to this cell", key="narrow-to-cell", type="primary",
                 help="Adds the cell's area to the filter (and the link): its incidents are then drawn one by one"):
        st.query_params["bbox"] = text_bbox(cell.bbox)
        st.rerun()
    with st.container(height=MAP_HEIGHT - 90, key="clicked-cell"):
        for _, row in cell.incidents.head(LISTED).iterrows():
            status = STATUSES[str(row["status"])].label
            with st.expander(f"{escape_markdown(str(row['title']))} · {status}"):
                show_record(dataset, key, row)
        if count > LISTED:
            st.caption(f"… and {count - LISTED:,} more: narrow the filter to this cell to see them all")


def table_and_chosen(dataset: Dataset, key: DataKey, flt: IncidentFilter, selected: gpd.GeoDataFrame) -> None:
    """The table of the incidents shown; below it the record of the chosen row."""
    st.markdown("#### Incidents shown")
    table = table_of(key, flt, selected)
    event = st.dataframe(
        table, key=TABLE, on_select="rerun", selection_mode="single-row", hide_index=True,
        width="stretch", height="content" if len(table) <= TABLE_ROWS else "auto",
        column_config={
            "Start": st.column_config.DatetimeColumn(format="YYYY-MM-DD"),
            "On map": st.column_config.CheckboxColumn(help="False: the incident has no location"),
        },
    )
    if len(table) < len(selected):
        st.caption(f"The first {len(table):,} of {len(selected):,} incidents; narrow the filter to see others here "
                   "(the map and the export hold them all).")
    rows = [i for i in event.selection.rows if 0 <= i < len(table)] if event else []
    if rows:
        with st.container(border=True, key="table-record"):
            show_record(dataset, key, selected.iloc[rows[0]])
    else:
        st.caption("Choose a row (the box at its left) to see the incident's full record.")


def main() -> None:
    st.set_page_config(page_title="Incident map", layout="wide")
    paths = data_paths()
    stamp = data_stamp(paths)
    try:
        load_base(paths, stamp)
    except IncidentDataError as error:
        show_problems(f"The incident data could not be loaded ({escape_markdown(', '.join(paths))}). Fix these "
                      "problems and reload the page:", error.problems, error=True)
        st.stop()
    side_top, side_filters, side_export, side_map, side_data = (st.sidebar.container() for _ in range(5))
    with side_data:
        dataset, key = data_sidebar(paths, stamp)
    extent = data_extent(dataset)

    # The filter: widgets without state start from the link; the buttons run before the widgets they change.
    window_key = f"{WINDOW}:{extent.first}:{extent.last}" if extent else WINDOW
    link_filter, link_warnings = IncidentFilter.from_query(query_now())
    link_filter, category_warnings = drop_unknown_categories(link_filter, dataset)
    link_warnings += category_warnings
    link_controls, window_warnings = controls_for(link_filter, extent)
    with side_top:
        st.header("Filters")
        summary_box = st.container()
        if st.button("Clear all filters", key="clear-all", help="Show every incident; forget the link's filter"):
            st.query_params.clear()
            forget_filter_widgets(window_key)
            link_filter, link_warnings, window_warnings = IncidentFilter(), [], []
            link_controls = Controls(window=None if extent is None else extent.window)
    start_missing_widgets(link_controls, window_key)
    st.markdown("#### Incident map")
    warning_box, slider_box, chart_box, step_box = (st.container() for _ in range(4))
    if extent is not None:
        with step_box:
            st.session_state[window_key] = step_buttons(clamp_window(st.session_state[window_key], extent), extent)

    flt = filter_for(widget_controls(window_key), extent, link=link_filter)
    selected = selection_of(key, flt, dataset)
    if query_now() != flt.to_query():
        st.query_params.from_dict(flt.to_query())

    with summary_box:
        st.markdown(f"**{len(selected)} of {len(dataset)} incidents**: {escape_markdown(flt.describe())}")
    with warning_box:
        for warning in [*link_warnings, *window_warnings]:
            st.warning(f"Link: {escape_markdown(warning)}")
    if extent is not None:
        with slider_box:
            st.slider("Date window", min_value=extent.first, max_value=extent.last, key=window_key,
                      format="D MMM YYYY", help="Incidents whose period overlaps the window are shown")
        with chart_box:
            timeline(dataset, key, flt, extent, st.session_state[window_key])
    with side_filters:
        filter_sidebar(dataset, key, flt, extent)
    with side_export:
        export_sidebar(dataset, flt, len(selected))
    with side_map:
        look = map_sidebar()
    map_and_clicked(dataset, key, flt, selected, look)
    table_and_chosen(dataset, key, flt, selected)


if __name__ == "__main__":  # `streamlit run app.py` (and AppTest) run it as a script; importing it does nothing
    main()
