"""Issue 5's browser benchmark: the dashboard in headless Chromium (Playwright) against ``streamlit run app.py``.

    python bench/bench_browser.py [--sizes 10k,100k] [--repeat 3] [--data-dir /tmp/incidents-bench] [--markdown]

For each N, a server is started on a free port with ``INCIDENTS_PATH`` set to the synthetic GeoJSON (generated into
``--data-dir`` once, reused) and a private, pre-filled cache, then (medians of ``--repeat``):

- first visit after the server started (one run: the server reads the cached data and renders the first page);
- first paint: a new page (the browser's HTTP cache holds Streamlit's scripts) from navigation start until the map
  iframe's Leaflet container says it drew all incidents (``data-incidents-drawn``, the attribute
  tests/e2e/conftest.py waits on), two animation frames later (so the frame was painted); the detail says when the
  map's iframe appeared (before it, the time is Streamlit's: its scripts, the script run, the other elements);
- the baseline: the first paint of ``bench/hello_app.py`` (one line of text), the time any Streamlit page takes
  here before an app does anything;
- a filter change: from the pointer press on a status chip's remove button in the sidebar until the new map has
  drawn: "Debunked" removed from the default view (about 95% shown), and "Claimed" removed from a link showing
  verified + claimed incidents of 2015-01-01 – 2018-08-31 (about 10% left).

"ws received" counts the bytes of every websocket frame the page received for that step (the payload the server
sent), until no frame arrived for a second. Times come from the page's own clock (``performance.now()``).

No naive counterpart runs here: folium's default map needs jQuery, Bootstrap and Font Awesome from public CDNs,
which this offline browser cannot reach (the map never draws); bench/bench_scale.py times the naive map's server
side.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import benchkit
from benchkit import megabytes, note, seconds

# The few lines of tests/e2e/conftest.py needed here (the browser's arguments, the map's iframe).
CHROMIUM: Final = Path("/usr/bin/chromium")
CHROMIUM_ARGS: Final = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run",
                        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
MAP_IFRAME: Final = ('[data-testid="stElementContainer"]:not([data-stale="true"]) '
                     'iframe[title="streamlit_folium.st_folium"]')
STARTUP_SECONDS: Final = 120
TENTH_FROM: Final = "2015-01-01"
TENTH_TO: Final = "2018-08-31"
HEADER: Final = ("N", "step", "median", "ws received", "detail")
ROWS: Final = (
    ("first_visit", "first visit after server start"),
    ("first_paint", "first paint, all shown"),
    ("change_most", "filter change: remove Debunked (~95%)"),
    ("change_tenth", "filter change: remove Claimed (~10%)"),
)

# In every frame: the top page remembers each time a map container reports its incidents drawn (on the top page's
# clock, two animation frames later), and the time of the first pointer press after it is armed.
DRAWN_WATCH: Final = """
(() => {
  const top = window.top;
  if (window !== top) {
    try { if (top.__frameAt === undefined) top.__frameAt = top.performance.now(); } catch (error) { /* ignore */ }
  } else {
    window.__mapDrawn = [];
    window.__armed = false;
    document.addEventListener("pointerdown", () => {
      if (window.__armed) { window.__armed = false; window.__actionAt = performance.now(); }
    }, true);
  }
  const report = (element) => {
    const drawn = element.getAttribute("data-incidents-drawn");
    if (drawn === null) return;
    requestAnimationFrame(() => requestAnimationFrame(() => {
      try {
        top.__mapDrawn.push({ t: top.performance.now(), n: Number(drawn),
                              mode: element.getAttribute("data-incidents-mode") });
      } catch (error) { /* another origin: nothing to report to */ }
    }));
  };
  // (a MutationObserver on the document misses it: the component writes the map into a new document)
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    setAttribute.call(this, name, value);
    if (name === "data-incidents-drawn") report(this);
  };
})();
"""


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(log_dir: Path, env: dict[str, str], script: str = "app.py") -> Server:
    """``streamlit run app.py`` (or ``script``) from the repo root on a free port, healthy (as tests/e2e/conftest.py
    does)."""
    port = free_port()
    log = log_dir / f"streamlit-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=benchkit.ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return Server(url=url, process=process, log=log)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    stop_server(process)
    raise RuntimeError(f"streamlit did not become healthy within {STARTUP_SECONDS} s:\n{log.read_text()}")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Stop the server we started, by its process group (its own session)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@dataclass
class Traffic:
    """Websocket bytes a page received (and when the last frame came, on this process's clock)."""

    received: int = 0
    last: float = field(default_factory=time.monotonic)

    def watch(self, page: Any) -> None:
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload: str | bytes) -> None:
        self.received += len(payload.encode() if isinstance(payload, str) else payload)
        self.last = time.monotonic()

    def settle(self, page: Any, quiet: float = 1.0, cap: float = 60.0) -> int:
        """Wait until no frame came for ``quiet`` seconds (at most ``cap``); the bytes received."""
        deadline = time.monotonic() + cap
        while time.monotonic() - self.last < quiet and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        return self.received


def wait_drawn(page: Any, expected: int, after: int, timeout_ms: float) -> dict[str, Any]:
    """The first map report, from the ``after``-th on, that drew ``expected`` incidents."""
    page.wait_for_function(
        "([n, after]) => (window.__mapDrawn || []).slice(after).some((e) => e.n === n)",
        arg=[expected, after], timeout=timeout_ms, polling=50)
    entries: list[dict[str, Any]] = page.evaluate("window.__mapDrawn")
    return next(e for e in entries[after:] if e["n"] == expected)


def reports(page: Any) -> int:
    count: int = page.evaluate("(window.__mapDrawn || []).length")
    return count


@dataclass
class Step:
    times: list[float] = field(default_factory=list)
    received: list[int] = field(default_factory=list)
    frames: list[float] = field(default_factory=list)  # when the (first) map iframe appeared, for first paints
    detail: str = ""


def open_page(context: Any, url: str, expected: int, timeout_ms: float, step: Step | None) -> tuple[Any, Traffic]:
    """A new page at ``url``, waited on until the map drew ``expected`` incidents (timed into ``step``), and the
    counter of its websocket traffic."""
    page = context.new_page()
    traffic = Traffic()
    traffic.watch(page)
    page.goto(url, wait_until="commit", timeout=timeout_ms)
    entry = wait_drawn(page, expected, 0, timeout_ms)
    received = traffic.settle(page)
    if step is not None:
        step.times.append(entry["t"] / 1000)
        step.received.append(received)
        step.frames.append(page.evaluate("window.__frameAt") / 1000)
        frame_at = statistics.median(step.frames)
        step.detail = f"mode {entry['mode']}, {expected:,} drawn, map iframe from {frame_at:.1f} s"
    return page, traffic


def change(page: Any, traffic: Traffic, chip: str, expected: int, timeout_ms: float, step: Step) -> None:
    """Press the remove button of the status chip ``chip`` and time it until the new map drew ``expected``."""
    already = traffic.settle(page)
    before = reports(page)
    page.evaluate("window.__armed = true; window.__actionAt = null;")
    page.get_by_role("button", name=re.compile(rf"^Remove {chip} \(")).click(timeout=timeout_ms)
    entry = wait_drawn(page, expected, before, timeout_ms)
    pressed: float = page.evaluate("window.__actionAt")
    step.times.append((entry["t"] - pressed) / 1000)
    step.received.append(traffic.settle(page) - already)
    step.detail = f"mode {entry['mode']}, {expected:,} drawn"


def expected_counts(geo: Path) -> dict[str, Any]:
    """How many incidents each step's map must draw (the located ones the filter keeps), and its link."""
    from incidents import IncidentFilter, load_incidents

    dataset = load_incidents(geo, nested=False, cache=True)

    def located(flt: IncidentFilter) -> int:
        return int(flt.apply(dataset).geometry.notna().sum())

    quarter = IncidentFilter(statuses=frozenset({"verified", "claimed"}), date_from=TENTH_FROM, date_to=TENTH_TO)
    return {
        "all": located(IncidentFilter()),
        "most": located(IncidentFilter(statuses=frozenset({"verified", "claimed", "disputed"}))),
        "quarter": located(quarter),
        "tenth": located(quarter.replace(statuses=frozenset({"verified"}))),
        "quarter_query": urlencode(quarter.to_query(), doseq=True),
        "total": len(dataset),
    }


def measure_size(args: argparse.Namespace, n: int, browser: Any) -> dict[str, Step]:
    geo = benchkit.ensure_geojson(args.data_dir, n, args.seed)
    timeout_ms = args.timeout * 1000
    steps = {key: Step() for key, _ in ROWS}
    with tempfile.TemporaryDirectory(prefix="incidents-bench-browser-") as folder:
        cache = Path(folder) / "cache"
        os.environ["INCIDENTS_CACHE_DIR"] = str(cache)  # this process fills it; the server reads it
        counts = expected_counts(geo)
        note(f"{benchkit.label(n)}: starting streamlit")
        server = start_server(Path(folder), {"INCIDENTS_PATH": str(geo), "INCIDENTS_CACHE_DIR": str(cache)})
        context = browser.new_context(viewport={"width": 1500, "height": 1400})
        try:
            context.add_init_script(DRAWN_WATCH)
            note(f"{benchkit.label(n)}: first visit")
            open_page(context, server.url, counts["all"], timeout_ms, steps["first_visit"])[0].close()
            for run in range(args.repeat):
                note(f"{benchkit.label(n)}: run {run + 1} of {args.repeat}")
                page, traffic = open_page(context, server.url, counts["all"], timeout_ms, steps["first_paint"])
                change(page, traffic, "Debunked", counts["most"], timeout_ms, steps["change_most"])
                page.close()
                page, traffic = open_page(context, f"{server.url}/?{counts['quarter_query']}", counts["quarter"],
                                          timeout_ms, None)
                change(page, traffic, "Claimed", counts["tenth"], timeout_ms, steps["change_tenth"])
                page.close()
        finally:
            context.close()
            stop_server(server.process)
    steps["first_visit"].detail = f"{counts['total']:,} incidents, {steps['first_visit'].detail}"
    return steps


def measure_baseline(args: argparse.Namespace, browser: Any) -> list[str]:
    """First paint of bench/hello_app.py (one line of text): the time any Streamlit page takes here, a floor under
    the dashboard's first paint."""
    times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="incidents-bench-browser-") as folder:
        server = start_server(Path(folder), {}, script="bench/hello_app.py")
        context = browser.new_context(viewport={"width": 1500, "height": 1400})
        try:
            context.new_page().goto(server.url, wait_until="load")  # a first visit fills the HTTP cache, as above
            for _ in range(args.repeat):
                page = context.new_page()
                page.goto(server.url, wait_until="commit", timeout=args.timeout * 1000)
                page.wait_for_function("document.body && document.body.innerText.includes('baseline page: ready')",
                                       timeout=args.timeout * 1000, polling=20)
                times.append(page.evaluate("performance.now()") / 1000)
                page.close()
        finally:
            context.close()
            stop_server(server.process)
    return ["—", "first paint of a one-line Streamlit page (baseline)", seconds(statistics.median(times)), "—",
            f"bench/hello_app.py, {len(times)} runs: Streamlit's own floor"]


def table_rows(n: int, steps: dict[str, Step]) -> list[list[str]]:
    rows = []
    for key, text in ROWS:
        step = steps[key]
        runs = len(step.times)
        detail = ", ".join(filter(None, [step.detail, f"{runs} run{'s' if runs != 1 else ''}" if runs else ""]))
        rows.append([benchkit.label(n), text, seconds(statistics.median(step.times) if step.times else None),
                     megabytes(statistics.median(step.received) / 1e6 if step.received else None), detail or "—"])
    return rows


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", type=benchkit.parse_sizes, default=[10_000, 100_000],
                        help="comma-separated N (10k,100k); default 10k,100k")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=benchkit.DEFAULT_DATA_DIR)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for a map to draw")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the docs)")
    return parser


def chromium_version() -> str:
    try:
        return subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True, check=False,
                              timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def main(argv: Sequence[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    args = build_parser().parse_args(argv)
    benchkit.bench_environment()
    if not CHROMIUM.is_file():
        print(f"{CHROMIUM} is missing: `apt-get install chromium`", file=sys.stderr)
        return 1
    rows: list[list[str]] = []
    description = f"bench_browser: commit {benchkit.commit()}; {chromium_version()}; median of {args.repeat} runs"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            note("baseline: a one-line Streamlit page")
            rows.append(measure_baseline(args, browser))
            for n in args.sizes:
                rows.extend(table_rows(n, measure_size(args, n, browser)))
        finally:
            browser.close()
    if f"commit {benchkit.commit()};" not in description:
        description += f" (NOTE: the code changed during the run, now {benchkit.commit()})"
    print(description)
    print(benchkit.format_table(HEADER, rows, markdown=args.markdown))
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
