"""Real-browser fixtures: ``streamlit run app.py`` on a free port, Debian's Chromium driven by Playwright.

Every page records every request it (and each of its frames) makes, and a test fails if one left the Streamlit
server; the browser resolves no host name but 127.0.0.1's, so such a request never reaches the network either.
(Playwright's request interception would disable the HTTP cache, and every test would pay for loading Streamlit's
scripts again.) Nothing here is ever skipped: without /usr/bin/chromium the tests fail and say how to install it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Frame, FrameLocator, Page, Playwright, Request, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
ARTIFACTS = ROOT / "test-artifacts"
# The map's iframe; while a rerun replaces it (a new map after a filter change), the old one lingers, marked stale.
MAP_IFRAME = '[data-testid="stElementContainer"]:not([data-stale="true"]) iframe[title="streamlit_folium.st_folium"]'
STARTUP_SECONDS = 60
FIRST_RENDER_MS = 30_000


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


def start_server(log_dir: Path, *, env: dict[str, str] | None = None) -> Server:
    """``streamlit run app.py`` from the repo root (its .streamlit/config.toml serves ./static/), healthy."""
    port = free_port()
    log = log_dir / f"streamlit-{port}.log"
    environment = {**os.environ, **(env or {})}
    if env is None or "INCIDENTS_PATH" not in env:
        environment.pop("INCIDENTS_PATH", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"streamlit exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return Server(url=url, process=process, log=log)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    stop_server(process)
    raise AssertionError(f"streamlit did not become healthy within {STARTUP_SECONDS} s:\n{log.read_text()}")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Stop the server we started, by its process group (its own session), and wait for it."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


def require_chromium(path: Path = CHROMIUM) -> None:
    """Fail (never skip) when the browser is missing, saying how to install it."""
    if not path.is_file():
        pytest.fail(f"{path} is missing: the browser tests need Debian's Chromium "
                    "(`apt-get install chromium`, or `bash .ci/setup` as root); they are never skipped")


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    require_chromium()
    browser = playwright_instance.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def server_log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("streamlit")


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    """The environment a module's server adds (a module overrides this, to open other data: ``INCIDENTS_PATH``)."""
    return {}


@pytest.fixture(scope="module")
def server(server_log_dir: Path, server_env: dict[str, str]) -> Iterator[Server]:
    """``streamlit run app.py`` for the tests of one module (the bundled data unless ``server_env`` says)."""
    started = start_server(server_log_dir, env=server_env)
    yield started
    stop_server(started.process)


@pytest.fixture
def session(make_session: Callable[[Server], Session], server: Server) -> Session:
    return make_session(server)


@dataclass
class Session:
    """A page on the dashboard and every request made from it (all frames)."""

    page: Page
    server: str
    requests: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def open(self, query: str = "") -> None:
        self.page.goto(f"{self.server}/{'?' + query if query else ''}")
        self.wait_for_map()

    def map(self) -> FrameLocator:
        return self.page.frame_locator(MAP_IFRAME)

    def map_frame(self) -> Frame:
        handle = self.page.locator(MAP_IFRAME).element_handle()
        assert handle is not None
        frame = handle.content_frame()
        assert frame is not None
        return frame

    def wait_for_map(self, drawn: int | None = None) -> int:
        """Wait (up to 30 s: a first render can be slow) for the map to be visible and drawn; its count."""
        iframe = self.page.locator(MAP_IFRAME)
        deadline = time.monotonic() + FIRST_RENDER_MS / 1000
        box = value = None
        while True:
            # one map (a new one replaces the old when the filter changes), visible, drawn
            if iframe.count() == 1:
                box = iframe.bounding_box()
                container = self.map().locator(".leaflet-container[data-incidents-drawn]")
                value = container.get_attribute("data-incidents-drawn") if container.count() == 1 else None
                if box and box["height"] > 0 and value is not None and (drawn is None or int(value) == drawn):
                    return int(value)
            if time.monotonic() > deadline:
                raise AssertionError(f"the map did not show {drawn if drawn is not None else 'its'} incidents "
                                     f"within 30 s (height {box and box['height']}, drawn {value})")
            self.page.wait_for_timeout(200)

    def drawn(self) -> int:
        return int(self.map().locator(".leaflet-container").get_attribute("data-incidents-drawn") or -1)

    def wait_for_query(self, expected: str) -> None:
        """Wait until the page's URL query string is ``expected`` (written back by the app after a rerun)."""
        deadline = time.monotonic() + 20
        while urlsplit(self.page.url).query != expected:
            if time.monotonic() > deadline:
                raise AssertionError(f"URL query is {urlsplit(self.page.url).query!r}, expected {expected!r}")
            self.page.wait_for_timeout(100)  # (time.sleep would hold back the page's events, and page.url)


@dataclass
class Browsing:
    """One browser context per server (pages share its HTTP cache), its pages recorded."""

    browser: Browser
    contexts: dict[str, BrowserContext] = field(default_factory=dict)

    def session(self, server: Server) -> Session:
        context = self.contexts.get(server.url)
        if context is None:
            context = self.browser.new_context(viewport={"width": 1500, "height": 1400}, accept_downloads=True)
            self.contexts[server.url] = context
        page = context.new_page()
        session = Session(page=page, server=server.url)
        origin = urlsplit(server.url).netloc

        def on_request(request: Request) -> None:
            session.requests.append(request.url)
            parts = urlsplit(request.url)
            if parts.scheme not in ("data", "blob", "about") and parts.netloc != origin:
                session.outside.append(request.url)

        page.on("request", on_request)
        return session


@pytest.fixture(scope="module")
def browsing(browser: Browser) -> Iterator[Browsing]:
    state = Browsing(browser)
    yield state
    for context in state.contexts.values():
        context.close()


@pytest.fixture
def make_session(browsing: Browsing) -> Iterator[Callable[[Server], Session]]:
    """Pages on a server; each fails its test if it made a request that left the server."""
    opened: list[Session] = []

    def make(server: Server) -> Session:
        opened.append(browsing.session(server))
        return opened[-1]

    yield make
    for session in opened:
        session.page.close()
        assert session.outside == [], f"requests that left the server: {session.outside}"
