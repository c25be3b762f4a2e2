"""Issue 5's scale benchmark: load, filter, map, dashboard rerun, export and peak memory at N incidents, each
beside the naive approach measured in the same run, as one table.

    python bench/bench_scale.py [--sizes 1k,10k,100k] [--repeat 3] [--data-dir /tmp/incidents-bench]
                                [--skip naive-app] [--markdown] [--json results.json]

1M is opt-in (``--sizes 1M``): its GeoJSON is about 1.13 GB and takes a few minutes to generate (once; it is
reused) and to load the first time. Synthetic data (``incidents.synth``, seeded) is generated into ``--data-dir``,
outside the repo, and reused by later runs.

Each step group runs in its own Python process, which reports its own peak resident memory:

- ``cold``, ``cold-parquet``: ``load_incidents(path, nested=False, cache=True)`` with ``INCIDENTS_CACHE_DIR`` an
  empty folder, for the GeoJSON and (in a process of its own) for the GeoParquet file ``incidents convert`` wrote
  (timed until it returns: a large dataset's cache entry is then written by a thread, waited for before the next
  run);
- ``ours``: the same loads again (cache hits), the filters, ``build_map`` rendered to HTML, GeoJSON exports
  written to a file a piece at a time (``geojson_pieces``, as ``incidents export -o FILE`` does);
- ``naive``: ``geopandas.read_file`` / ``read_parquet``, row-wise ``DataFrame.apply`` filters, one
  ``folium.Marker`` + ``folium.Popup`` per incident rendered to HTML, ``GeoDataFrame.to_file`` as GeoJSON;
- ``app``: app.py under Streamlit's AppTest (server time of a run; a filter change = the status multiselect);
- ``naive-app``: bench/naive_app.py (read_file + markers + ``st_folium``) driven the same way.

Times are medians of ``--repeat`` runs (naive steps stop repeating once they would exceed ``--naive-limit``
seconds; a naive map or dashboard estimated from a 10,000-marker run to take longer is skipped and says so).
"ratio" is naive ÷ ours: how many times faster or smaller ours is.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, Final

import benchkit
from benchkit import Timing, megabytes, note, seconds, timed

SCRIPT: Final = Path(__file__).resolve()
NAIVE_APP: Final = SCRIPT.parent / "naive_app.py"
PHASES: Final = ("cold", "cold-parquet", "ours", "naive", "app", "naive-app")
_FIRST_LOADS: Final = PHASES[:2]  # always run: the others need the warm cache they leave behind
# The ~10% filter: verified (about 30% of the synthetic data) in a window of about a third of its 11 years.
TENTH_STATUSES: Final = frozenset({"verified"})
TENTH_FROM: Final = "2015-01-01"
TENTH_TO: Final = "2018-08-31"
TEXT_QUERY: Final = "hospital"  # a tag: in about one incident in six
SAMPLE_ROWS: Final = 10_000  # a naive step over more rows is first timed on this many, and skipped if too slow

# (key, label, unit) in the order printed; unit "s" (seconds) or "MB".
ROWS: Final = (
    ("load_geojson_first", "load GeoJSON, first (empty cache)", "s"),
    ("load_geojson_again", "load GeoJSON again (cache hit)", "s"),
    ("load_parquet_first", "load GeoParquet, first (empty cache)", "s"),
    ("load_parquet_again", "load GeoParquet again (cache hit)", "s"),
    ("filter_tenth", "filter status + dates (~10%)", "s"),
    ("filter_tenth_mask", "filter status + dates, mask only", "s"),
    ("filter_tenth_view", "filter status + dates, the map's columns", "s"),
    ("filter_text", "filter text search", "s"),
    ("map_all", "map build + HTML, all shown", "s"),
    ("map_all_bytes", "map HTML size, all shown", "MB"),
    ("map_tenth", "map build + HTML, ~10% shown", "s"),
    ("map_tenth_bytes", "map HTML size, ~10% shown", "MB"),
    ("app_first", "dashboard first run (cache warm)", "s"),
    ("app_rerun", "dashboard rerun, nothing changed", "s"),
    ("app_all", "dashboard filter change, all shown", "s"),
    ("app_all_bytes", "dashboard elements, all shown", "MB"),
    ("app_tenth", "dashboard filter change, ~10% shown", "s"),
    ("app_tenth_bytes", "dashboard elements, ~10% shown", "MB"),
    ("export_all", "export GeoJSON, all", "s"),
    ("export_tenth", "export GeoJSON, ~10%", "s"),
    ("rss_first_load", "peak RSS: first load, GeoJSON", "MB"),
    ("rss_first_load_parquet", "peak RSS: first load, GeoParquet", "MB"),
    ("rss_work", "peak RSS: load, filter, map, export", "MB"),
    ("rss_app", "peak RSS: dashboard (AppTest)", "MB"),
)
HEADER: Final = ("N", "step", "ours", "naive", "ratio", "detail")

Measures = dict[str, dict[str, Any]]


# -- the worker processes ------------------------------------------------------------------------------------
def _put(measures: Measures, key: str, side: str, value: float | None, detail: str = "") -> None:
    entry = measures.setdefault(key, {})
    entry[side] = value
    if detail:
        entry[f"{side}_detail"] = detail


def _runs(timing: Timing, repeat: int) -> str:
    return f"{timing.runs} of {repeat} runs" if timing.runs < repeat else ""


def _fresh_caches(scratch: Path, warm: Path, repeat: int) -> Callable[[], None]:
    """Before each run, point INCIDENTS_CACHE_DIR at a new empty folder; the last run fills ``warm``."""
    runs: list[int] = []
    previous: list[str] = []

    def before() -> None:
        from incidents.cache import wait_for_writes

        wait_for_writes()  # the last load's cache entry, written by a thread after it returned: not timed, not shared
        while previous:
            shutil.rmtree(previous.pop(), ignore_errors=True)
        runs.append(1)
        if len(runs) >= repeat:
            folder = str(warm)
        else:
            folder = tempfile.mkdtemp(prefix="cold-", dir=scratch)
            previous.append(folder)
        os.environ["INCIDENTS_CACHE_DIR"] = folder

    return before


def phase_cold(args: argparse.Namespace, path: Path, warm: Path, *, parquet: bool) -> Measures:
    """One first load, in a process of its own: its peak memory is that load's."""
    from incidents import load_incidents
    from incidents.cache import wait_for_writes

    key, rss_key = ("load_parquet_first", "rss_first_load_parquet") if parquet else ("load_geojson_first",
                                                                                    "rss_first_load")
    if not parquet and any(warm.iterdir()):
        raise RuntimeError(f"{warm} should start empty")
    measures: Measures = {}
    before = _fresh_caches(args.scratch, warm, args.repeat)
    timing = timed(partial(load_incidents, path, nested=False, cache=True), args.repeat, before=before)
    size = megabytes(path.stat().st_size / 1e6)
    _put(measures, key, "ours", timing.median, f"{len(timing.result):,} incidents, {size}")
    wait_for_writes()
    # (not the helper process's: a child's ru_maxrss starts from its parent's at the moment it was started)
    _put(measures, rss_key, "ours", benchkit.peak_rss_mb(),
         f"process: {'GeoParquet' if parquet else 'GeoJSON'} first loads, cache entries written")
    return measures


def _filters() -> dict[str, Any]:
    from incidents import IncidentFilter

    return {"all": IncidentFilter(),
            "tenth": IncidentFilter(statuses=TENTH_STATUSES, date_from=TENTH_FROM, date_to=TENTH_TO),
            "text": IncidentFilter(query=TEXT_QUERY)}


def phase_ours(args: argparse.Namespace, geo: Path, parquet: Path) -> Measures:
    from incidents import geojson_pieces, load_incidents, write_pieces
    from incidents.model import VIEW_COLUMNS
    from incidents.render import MapOptions, build_map, map_payload

    measures: Measures = {}
    timing = timed(lambda: load_incidents(parquet, nested=False, cache=True), args.repeat)
    _put(measures, "load_parquet_again", "ours", timing.median, f"{len(timing.result):,} incidents")
    timing = timed(lambda: load_incidents(geo, nested=False, cache=True), args.repeat)
    dataset = timing.result
    _put(measures, "load_geojson_again", "ours", timing.median, f"{len(dataset):,} incidents")
    filters = _filters()
    selections = {}
    for name, key in (("tenth", "filter_tenth"), ("text", "filter_text")):
        timing = timed(partial(filters[name].apply, dataset), args.repeat)
        selections[name] = timing.result
        _put(measures, key, "ours", timing.median, f"{len(timing.result):,} kept")
    timing = timed(partial(filters["tenth"].mask, dataset), args.repeat)
    _put(measures, "filter_tenth_mask", "ours", timing.median, "IncidentFilter.mask: the boolean mask apply() takes")
    timing = timed(partial(filters["tenth"].apply, dataset, columns=VIEW_COLUMNS), args.repeat)
    _put(measures, "filter_tenth_view", "ours", timing.median, "apply(columns=VIEW_COLUMNS), as the dashboard takes it")
    selections["all"] = filters["all"].apply(dataset)
    for name in ("all", "tenth"):
        selected = selections[name]

        def render(frame: Any = selected) -> str:
            html: str = build_map(frame, options=MapOptions()).get_root().render()
            return html

        timing = timed(render, args.repeat)
        mode = map_payload(selected, options=MapOptions())["meta"]["mode"]
        _put(measures, f"map_{name}", "ours", timing.median, f"mode {mode}, {len(selected):,} incidents")
        _put(measures, f"map_{name}_bytes", "ours", len(timing.result.encode()) / 1e6, f"mode {mode}")
    with tempfile.TemporaryDirectory(dir=args.scratch) as folder:
        for name in ("all", "tenth"):
            target = Path(folder) / f"{name}.geojson"

            def export(flt: Any = filters[name], out: Path = target) -> int:
                with out.open("wb") as sink:  # as `incidents export -o FILE` writes it: a piece at a time
                    write_pieces(sink, geojson_pieces(dataset, flt))
                return out.stat().st_size

            timing = timed(export, args.repeat)
            _put(measures, f"export_{name}", "ours", timing.median, megabytes(timing.result / 1e6))
    _put(measures, "rss_work", "ours", benchkit.peak_rss_mb(), "process: cached loads, filters, maps, exports")
    return measures


def sampled(make: Callable[[int], Callable[[], Any]], count: int, repeat: int, limit: float, *,
            per_item: float | None = None) -> tuple[Timing | None, str, float | None]:
    """Time ``make(count)`` (a naive step over ``count`` rows); over :data:`SAMPLE_ROWS` rows, first time it once on
    that many (or use ``per_item`` seconds a row) and skip it, saying so, when ``count`` rows would exceed
    ``limit`` seconds. Also returns the seconds per row (measured, or ``per_item``; ``None`` for tiny counts)."""
    note_text = ""
    if count > SAMPLE_ROWS:
        if per_item is None:
            started = time.perf_counter()
            make(SAMPLE_ROWS)()
            per_item = (time.perf_counter() - started) / SAMPLE_ROWS
        estimate = per_item * count
        if estimate > limit:
            return None, f"skipped (est. {estimate:,.0f} s from a {SAMPLE_ROWS:,}-row run)", per_item
        note_text = f"est. {estimate:,.0f} s"
    timing = timed(make(count), repeat, budget=limit)
    if per_item is None and count >= 1000:
        per_item = timing.median / count
    return timing, note_text, per_item


def _apply_on(frame: Any, row_test: Callable[[Any], bool], rows: int) -> Callable[[], Any]:
    return partial(frame.iloc[:rows].apply, row_test, axis=1)


def _naive_map_of(titles: list[str], geometries: list[Any], rows: int) -> Callable[[], str]:
    return partial(naive_map_html, titles[:rows], geometries[:rows])


def naive_map_html(titles: Sequence[str], geometries: Sequence[Any]) -> str:
    """One folium.Marker with a folium.Popup of the title per located incident (shapes at a point on them)."""
    import folium

    fmap = folium.Map(location=[35.0, 39.0], zoom_start=6)
    for title, geometry in zip(titles, geometries, strict=True):
        if geometry is None or geometry.is_empty:
            continue
        point = geometry if geometry.geom_type == "Point" else geometry.representative_point()
        folium.Marker([point.y, point.x], popup=folium.Popup(title)).add_to(fmap)
    html: str = fmap.get_root().render()
    return html


def phase_naive(args: argparse.Namespace, geo: Path, parquet: Path) -> Measures:
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from incidents import load_incidents
    from incidents.filters import query_terms

    measures: Measures = {}
    limit = args.naive_limit
    readers = (("geojson", "read_file", partial(gpd.read_file, geo)),
               ("parquet", "read_parquet", partial(gpd.read_parquet, parquet)))
    for key, reader, read in readers:
        reading = timed(read, args.repeat, budget=limit)
        how = ", ".join(filter(None, [reader, _runs(reading, args.repeat)]))
        for when in ("first", "again"):
            _put(measures, f"load_{key}_{when}", "naive", reading.median, how)
        if key == "geojson":
            naive_frame = reading.result
        del reading

    # The filters row by row, over our own frame (the same columns, so the same answer is checked).
    dataset = load_incidents(geo, nested=False, cache=True)
    frame = dataset.frame
    if len(frame) != len(naive_frame):
        raise RuntimeError(f"read_file gave {len(naive_frame)} rows, load_incidents {len(frame)}")
    filters = _filters()
    low, high = pd.Timestamp(TENTH_FROM), pd.Timestamp(TENTH_TO) + pd.Timedelta(days=1)
    terms = query_terms(TEXT_QUERY)

    def tenth_row(row: pd.Series) -> bool:
        return bool(row["status"] in TENTH_STATUSES and row["end_time"] > low and row["start_time"] < high)

    def text_row(row: pd.Series) -> bool:
        return all(term in row["search_text"] for term in terms)

    masks: dict[str, np.ndarray] = {"all": np.ones(len(frame), dtype=bool)}
    for name, key, row_test in (("tenth", "filter_tenth", tenth_row), ("text", "filter_text", text_row)):
        timing, note_text, _ = sampled(partial(_apply_on, frame, row_test), len(frame), args.repeat, limit)
        expected = filters[name].mask(dataset)[0]
        masks[name] = expected
        if timing is None:
            _put(measures, key, "naive", None, note_text)
            continue
        same = np.array_equal(np.asarray(timing.result, dtype=bool), expected)
        _put(measures, key, "naive", timing.median,
             ", ".join(filter(None, ["apply(axis=1)", "same rows" if same else
                                     f"DIFFERENT rows ({int(expected.sum()):,} ours)", note_text,
                                     _runs(timing, args.repeat)])))
        if key == "filter_tenth":  # the row-wise apply gives a mask too
            for also in ("filter_tenth_mask", "filter_tenth_view"):
                _put(measures, also, "naive", timing.median, "the same apply(axis=1)")

    located_all = int(frame.geometry.notna().sum())
    per_marker = None
    for name in ("all", "tenth"):
        chosen = frame[masks[name]]
        located = chosen[chosen.geometry.notna()]
        titles, geometries = list(located["title"]), list(located.geometry)
        count = len(titles)
        timing, note_text, per_marker = sampled(partial(_naive_map_of, titles, geometries), count, args.repeat,
                                                limit, per_item=per_marker)
        if timing is None:
            _put(measures, f"map_{name}", "naive", None, note_text)
            _put(measures, f"map_{name}_bytes", "naive", None, "skipped")
            continue
        _put(measures, f"map_{name}", "naive", timing.median,
             ", ".join(filter(None, [f"{count:,} markers", note_text, _runs(timing, args.repeat)])))
        _put(measures, f"map_{name}_bytes", "naive", len(timing.result.encode()) / 1e6, f"{count:,} markers")

    with tempfile.TemporaryDirectory(dir=args.scratch) as folder:
        try:
            naive_frame.iloc[:SAMPLE_ROWS].to_json()
            how = "to_json()"
        except (TypeError, ValueError) as error:
            how = f"to_file (to_json: {type(error).__name__})"
        for name in ("all", "tenth"):
            target = Path(folder) / f"{name}.geojson"
            subset = naive_frame if name == "all" else naive_frame[masks[name]]

            def export(rows: int, part: Any = subset, out: Path = target) -> Callable[[], int]:
                def run() -> int:
                    if how == "to_json()":
                        return len(part.iloc[:rows].to_json().encode())
                    part.iloc[:rows].to_file(out, driver="GeoJSON")
                    return out.stat().st_size
                return run

            timing, note_text, _ = sampled(export, len(subset), args.repeat, limit)
            if timing is None:
                _put(measures, f"export_{name}", "naive", None, f"{how}: {note_text}")
                continue
            _put(measures, f"export_{name}", "naive", timing.median,
                 ", ".join(filter(None, [f"{how}, {megabytes(timing.result / 1e6)}", note_text,
                                         _runs(timing, args.repeat)])))
    _put(measures, "rss_work", "naive", benchkit.peak_rss_mb(), "process: read_file, apply, folium, to_file")
    if per_marker is not None:
        measures["_per_marker"] = {"seconds": per_marker, "located": located_all}
    return measures


SUMMARY: Final = re.compile(r"^\*\*(\d+) of (\d+) incidents\*\*")


def _tree_bytes(node: Any) -> int:
    """The serialised size of every element the run produced (roughly the deltas sent to the browser)."""
    proto = getattr(node, "proto", None)
    total = proto.ByteSize() if proto is not None and hasattr(proto, "ByteSize") else 0
    for child in getattr(node, "children", {}).values():
        total += _tree_bytes(child)
    return total


def _page(at: Any) -> dict[str, Any]:
    shown = None
    for element in at.markdown:
        match = SUMMARY.match(element.value)
        if match:
            shown = int(match[1])
    mode = "?"
    for element in at.main:
        if element.type == "component_instance" and element.proto.component_name == "streamlit_folium.st_folium":
            script = json.loads(element.proto.json_args).get("script", "")
            start = script.find("IncidentMap.addIncidents(")
            if start >= 0:
                payload, _ = json.JSONDecoder().raw_decode(script, script.index("{", start))
                mode = payload["meta"]["mode"]
            else:
                mode = f"{script.count('L.marker(')} markers"
    return {"shown": shown, "bytes": _tree_bytes(at._tree), "mode": mode}


def drive_app(script: Path, repeat: int, budget: float | None, statuses: list[str]) -> Measures:
    """First run, an unchanged rerun, a status change that shows all, one that shows about a tenth.

    A timed filter change goes to a filter not among the last two shown (app.py keeps the last two selections and
    map layers, so that a rerun that changes nothing, or a change back, repeats no work): when the script is app.py,
    it is checked to have made the selection again (``IncidentFilter.apply`` called with the view's columns)."""
    from streamlit.testing.v1 import AppTest

    from incidents import IncidentFilter
    from incidents.model import VIEW_COLUMNS

    at = AppTest.from_file(str(script), default_timeout=600)
    filtered: list[int] = []
    apply = IncidentFilter.apply

    def counted(self: IncidentFilter, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("columns") == VIEW_COLUMNS:  # the dashboard's selection (counts and timeline filter too)
            filtered.append(1)
        return apply(self, *args, **kwargs)

    IncidentFilter.apply = counted  # type: ignore[method-assign]
    try:
        return _drive(at, script, repeat, budget, statuses, filtered)
    finally:
        IncidentFilter.apply = apply  # type: ignore[method-assign]


def _drive(at: Any, script: Path, repeat: int, budget: float | None, statuses: list[str], filtered: list[int]
           ) -> Measures:
    def run() -> Any:
        at.run()
        if at.exception:
            raise RuntimeError(f"{script.name} failed: {at.exception}")
        return at

    def choose(values: list[str]) -> None:
        at.multiselect(key="status").set_value(values)

    def changed() -> Any:
        filtered.clear()
        run()
        if script.name == "app.py" and not filtered:
            raise RuntimeError("a timed filter change did not filter: it timed a cache hit")
        return at

    measures: Measures = {}
    first = timed(run, 1)
    page = _page(at)
    _put(measures, "app_first", "side", first.median, f"{page['shown']:,} shown")
    again = timed(run, repeat, budget=budget)
    _put(measures, "app_rerun", "side", again.median, _runs(again, repeat))

    def to_all() -> None:
        for values in (["verified"], ["claimed"]):
            choose(values)
            run()
        choose(statuses)

    change = timed(changed, repeat, budget=budget, before=to_all)
    page = _page(at)
    _put(measures, "app_all", "side", change.median,
         ", ".join(filter(None, [f"{page['mode']}, {page['shown']:,} shown", _runs(change, repeat)])))
    _put(measures, "app_all_bytes", "side", page["bytes"] / 1e6, str(page["mode"]))

    at.slider[0].set_value((date.fromisoformat(TENTH_FROM), date.fromisoformat(TENTH_TO)))
    run()

    def to_tenth() -> None:
        for values in (statuses, ["claimed"]):
            choose(values)
            run()
        choose(sorted(TENTH_STATUSES))

    change = timed(changed, repeat, budget=budget, before=to_tenth)
    page = _page(at)
    _put(measures, "app_tenth", "side", change.median,
         ", ".join(filter(None, [f"{page['mode']}, {page['shown']:,} shown", _runs(change, repeat)])))
    _put(measures, "app_tenth_bytes", "side", page["bytes"] / 1e6, str(page["mode"]))
    _put(measures, "rss_app", "side", benchkit.peak_rss_mb(), "")
    return measures


def _as(side: str, measures: Measures) -> Measures:
    return {key: {k.replace("side", side): v for k, v in entry.items()} for key, entry in measures.items()}


def phase_app(args: argparse.Namespace, geo: Path) -> Measures:
    from incidents import STATUSES

    os.environ["INCIDENTS_PATH"] = str(geo)
    measures = _as("ours", drive_app(benchkit.ROOT / "app.py", args.repeat, None, list(STATUSES)))
    measures["rss_app"]["ours_detail"] = "app.py under AppTest"
    return measures


def phase_naive_app(args: argparse.Namespace, geo: Path) -> Measures:
    os.environ["INCIDENTS_PATH"] = str(geo)
    measures = _as("naive", drive_app(NAIVE_APP, args.repeat, args.naive_limit,
                                      ["verified", "claimed", "disputed", "debunked"]))
    measures["rss_app"]["naive_detail"] = "naive_app.py under AppTest"
    return measures


def worker(args: argparse.Namespace) -> int:
    geo = benchkit.geojson_path(args.data_dir, args.size, args.seed)
    parquet = benchkit.parquet_path(args.data_dir, args.size, args.seed)
    warm = args.scratch / "warm"
    if args.worker not in _FIRST_LOADS:
        os.environ["INCIDENTS_CACHE_DIR"] = str(warm)
    if args.worker in _FIRST_LOADS:
        measures = phase_cold(args, parquet if args.worker == "cold-parquet" else geo, warm,
                              parquet=args.worker == "cold-parquet")
    elif args.worker == "ours":
        measures = phase_ours(args, geo, parquet)
    elif args.worker == "naive":
        measures = phase_naive(args, geo, parquet)
    elif args.worker == "app":
        measures = phase_app(args, geo)
    else:
        measures = phase_naive_app(args, geo)
    benchkit.emit_result({"phase": args.worker, "size": args.size, "measures": measures})
    return 0


# -- the parent: data, workers, the table --------------------------------------------------------------------
def measure_size(args: argparse.Namespace, n: int) -> Measures:
    benchkit.ensure_geojson(args.data_dir, n, args.seed)
    benchkit.ensure_parquet(args.data_dir, n, args.seed)
    merged: Measures = {}
    with tempfile.TemporaryDirectory(prefix="incidents-bench-") as folder:
        scratch = Path(folder)
        (scratch / "warm").mkdir()
        common = ["--size", str(n), "--seed", str(args.seed), "--data-dir", str(args.data_dir), "--repeat",
                  str(args.repeat), "--scratch", str(scratch), "--naive-limit", str(args.naive_limit)]
        phases = [*_FIRST_LOADS, *(p for p in PHASES if p not in args.skip and p not in _FIRST_LOADS)]
        for phase in phases:
            per_marker = merged.get("_per_marker")
            if phase == "naive-app" and per_marker is not None:
                estimate = per_marker["seconds"] * per_marker["located"]
                if estimate > args.naive_limit:
                    text = f"skipped (est. {estimate:,.0f} s per run from the naive map)"
                    for key in ("app_first", "app_rerun", "app_all", "app_tenth"):
                        _put(merged, key, "naive", None, text)
                    continue
            note(f"{benchkit.label(n)}: {phase}")
            started = time.perf_counter()
            result = benchkit.run_worker(SCRIPT, ["--worker", phase, *common], cwd=benchkit.ROOT)
            note(f"{benchkit.label(n)}: {phase} took {time.perf_counter() - started:.0f} s")
            for key, entry in result["measures"].items():
                merged.setdefault(key, {}).update(entry)
    return merged


def table_rows(n: int, measures: Measures) -> list[list[str]]:
    rows: list[list[str]] = []
    for key, text, unit in ROWS:
        entry = measures.get(key, {})
        show = seconds if unit == "s" else megabytes
        ours, naive = entry.get("ours"), entry.get("naive")
        details = [entry.get("ours_detail", "")]
        if entry.get("naive_detail"):
            details.append(f"naive: {entry['naive_detail']}")
        if not entry:
            details = ["not measured in this run"]
        rows.append([benchkit.label(n), text, show(ours), show(naive), benchkit.ratio(ours, naive),
                     "; ".join(d for d in details if d) or "—"])
    return rows


def describe_run(args: argparse.Namespace) -> str:
    return (f"bench_scale: commit {benchkit.commit()}; {os.cpu_count()} CPUs; median of {args.repeat} runs; "
            f"naive limit {args.naive_limit:g} s; data in {args.data_dir}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", type=benchkit.parse_sizes, default=[1000, 10_000, 100_000],
                        help="comma-separated N (1000,10k,100k,1M); default 1k,10k,100k")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=benchkit.DEFAULT_DATA_DIR)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--naive-limit", type=float, default=60.0,
                        help="seconds: a naive step estimated to take longer is skipped; repeats stop within it")
    parser.add_argument("--skip", type=lambda text: [p.strip() for p in text.split(",") if p.strip()], default=[],
                        help=f"step groups not to run: {', '.join(PHASES[2:])}")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the docs)")
    parser.add_argument("--json", type=Path, help="also write every measurement to this file")
    parser.add_argument("--from-json", type=Path, metavar="FILE",
                        help="measure nothing: print the table of a run saved with --json")
    parser.add_argument("--worker", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    benchkit.bench_environment()
    unknown = set(args.skip) - set(PHASES[2:])
    if unknown:
        build_parser().error(f"--skip: unknown step group {', '.join(sorted(unknown))}")
    if args.worker:
        return worker(args)
    everything: dict[str, Measures] = {}
    rows: list[list[str]] = []
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        print(saved["run"])
        for size, measures in saved["sizes"].items():
            rows.extend(table_rows(int(size), measures))
        print(benchkit.format_table(HEADER, rows, markdown=args.markdown))
        print()
        return 0
    description = describe_run(args)  # the commit the numbers are taken at: before measuring
    started_at = benchkit.commit()
    for n in args.sizes:
        everything[str(n)] = measure_size(args, n)
        rows.extend(table_rows(n, everything[str(n)]))
    if benchkit.commit() != started_at:
        description += f" (NOTE: the code changed during the run, now {benchkit.commit()})"
    print(description)
    print(benchkit.format_table(HEADER, rows, markdown=args.markdown))
    print()
    if args.json:
        args.json.write_text(json.dumps({"run": description, "sizes": everything}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
