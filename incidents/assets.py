"""Local front-end assets for the map (no CDN): their URLs, installation and checks.

Streamlit serves ``<app dir>/static/`` at ``/app/static/`` when ``[server] enableStaticServing``
is on (see ``.streamlit/config.toml``). The files come from the npm registry, pinned by
``incidents/web/package-lock.json``: ``npm ci --prefix incidents/web`` fetches them and
``python -m incidents.assets install`` copies the needed ``dist`` files into ``static/vendor/``.
Both folders are git-ignored. This module imports nothing from the rest of the package.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
WEB_DIR = REPO_ROOT / "incidents" / "web"
STATIC_DIR = REPO_ROOT / "static"
BASEMAP_FILE = REPO_ROOT / "geodata" / "basemap" / "countries-50m.geojson"

STATIC_URL = "/app/static"
VENDOR_URL = f"{STATIC_URL}/vendor"

LEAFLET_JS = f"{VENDOR_URL}/leaflet/leaflet.js"
LEAFLET_CSS = f"{VENDOR_URL}/leaflet/leaflet.css"
LEAFLET_IMAGES = f"{VENDOR_URL}/leaflet/images/"
#: Our one-line script that sets ``L.Icon.Default.prototype.options.imagePath`` to LEAFLET_IMAGES.
LEAFLET_IMAGE_PATH_JS = f"{VENDOR_URL}/incidents/leaflet-image-path.js"
#: Our own map code and styles (incidents/web/src), drawing the incidents from the JSON that render.py builds.
INCIDENT_MAP_JS = f"{STATIC_URL}/incidents/incident-map.js"
INCIDENT_MAP_CSS = f"{STATIC_URL}/incidents/incident-map.css"
#: The committed Natural Earth country outlines, for ``fetch()`` in the browser (not embedded per rerun).
BASEMAP_GEOJSON = f"{STATIC_URL}/basemap/countries-50m.geojson"
_BASEMAP_TARGET = "basemap/countries-50m.geojson"

#: JavaScript that points Leaflet's default marker icons at the local images (run before markers).
IMAGE_PATH_SNIPPET = f"L.Icon.Default.prototype.options.imagePath = {json.dumps(LEAFLET_IMAGES)};"

# (name, url) pairs in the shape of folium's ``default_js`` / ``default_css``; order matters for JS.
MAP_JS: tuple[tuple[str, str], ...] = (("leaflet", LEAFLET_JS), ("leaflet_image_path", LEAFLET_IMAGE_PATH_JS))
MAP_CSS: tuple[tuple[str, str], ...] = (("leaflet_css", LEAFLET_CSS),)

#: Every URL the map may load; anything else in a rendered map is a leak to the network.
ALLOWED_URLS: frozenset[str] = frozenset(
    [
        *(url for _, url in MAP_JS),
        *(url for _, url in MAP_CSS),
        BASEMAP_GEOJSON,
        INCIDENT_MAP_JS,
        INCIDENT_MAP_CSS,
    ]
)

SETUP_HINT = "run `npm ci --prefix incidents/web --no-audit --no-fund` (or `bash .ci/setup`) in the repo root"


@dataclass(frozen=True)
class Asset:
    """One file copied from ``node_modules/<package>/<source>`` to ``static/<target>``."""

    package: str
    source: str
    target: str


def _pkg(package: str, files: dict[str, str]) -> list[Asset]:
    return [Asset(package, src, f"vendor/{package}/{dst}") for src, dst in files.items()]


_LEAFLET_IMAGES = [
    "layers.png",
    "layers-2x.png",
    "marker-icon.png",
    "marker-icon-2x.png",
    "marker-shadow.png",
]

ASSETS: tuple[Asset, ...] = (
    *_pkg(
        "leaflet",
        {
            "dist/leaflet.js": "leaflet.js",
            "dist/leaflet.js.map": "leaflet.js.map",
            "dist/leaflet.css": "leaflet.css",
            "LICENSE": "LICENSE",
            **{f"dist/images/{name}": f"images/{name}" for name in _LEAFLET_IMAGES},
        },
    ),
)

#: Our own front-end files, committed in incidents/web/src: source name -> static path.
OWN_FILES: dict[str, str] = {
    "incident-map.js": "incidents/incident-map.js",
    "incident-map.css": "incidents/incident-map.css",
}

#: Files we write ourselves (not from npm): static path -> content.
GENERATED: dict[str, str] = {
    "vendor/incidents/leaflet-image-path.js": (
        f"/* Written by incidents.assets: local images for Leaflet's default marker icon. */\n{IMAGE_PATH_SNIPPET}\n"
    ),
}


class AssetsError(RuntimeError):
    """The npm packages are missing or out of date."""


def _locked_versions(web_dir: Path) -> dict[str, str]:
    lock = web_dir / "package-lock.json"
    try:
        packages = json.loads(lock.read_text(encoding="utf-8"))["packages"]
    except (OSError, ValueError, KeyError) as exc:
        raise AssetsError(f"cannot read {lock}: {exc}") from exc
    return {
        key.removeprefix("node_modules/"): str(meta.get("version"))
        for key, meta in packages.items()
        if key.startswith("node_modules/")
    }


def _check_sources(web_dir: Path) -> None:
    modules = web_dir / "node_modules"
    locked = _locked_versions(web_dir)
    for package in sorted({a.package for a in ASSETS}):
        manifest = modules / package / "package.json"
        if not manifest.is_file():
            raise AssetsError(f"missing {manifest}: {SETUP_HINT}")
        installed = json.loads(manifest.read_text(encoding="utf-8")).get("version")
        if installed != locked.get(package):
            raise AssetsError(
                f"{package} {installed} is installed but package-lock.json pins {locked.get(package)}: {SETUP_HINT}"
            )
    for asset in ASSETS:
        source = modules / asset.package / asset.source
        if not source.is_file():
            raise AssetsError(f"missing {source}: {SETUP_HINT}")


def _write_if_changed(target: Path, data: bytes) -> None:
    if target.is_file() and target.read_bytes() == data:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def install_static_assets(*, web_dir: Path, static_dir: Path, basemap: Path | None = BASEMAP_FILE) -> list[Path]:
    """Copy the pinned npm ``dist`` files (and the base map) into ``static_dir``; return their paths.

    Raises AssetsError (naming the missing file and the command to run) when node_modules is
    missing or does not match package-lock.json. Unchanged files are left alone.
    """
    _check_sources(web_dir)
    if basemap is not None and not basemap.is_file():
        raise AssetsError(f"missing {basemap}: it is committed, check out the full repository")
    installed: list[Path] = []
    for asset in ASSETS:
        target = static_dir / asset.target
        _write_if_changed(target, (web_dir / "node_modules" / asset.package / asset.source).read_bytes())
        installed.append(target)
    for rel, text in GENERATED.items():
        target = static_dir / rel
        _write_if_changed(target, text.encode("utf-8"))
        installed.append(target)
    for name, rel in OWN_FILES.items():
        target = static_dir / rel
        _write_if_changed(target, (web_dir / "src" / name).read_bytes())
        installed.append(target)
    if basemap is not None:
        target = static_dir / _BASEMAP_TARGET
        _write_if_changed(target, basemap.read_bytes())
        installed.append(target)
    return installed


def missing_assets(static_dir: Path) -> list[str]:
    """Return the ``static_dir``-relative paths of expected files that are absent or empty."""
    expected = [a.target for a in ASSETS] + list(GENERATED) + list(OWN_FILES.values()) + [_BASEMAP_TARGET]
    return [rel for rel in expected if not (static_dir / rel).is_file() or not (static_dir / rel).stat().st_size]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m incidents.assets install|check``."""
    parser = argparse.ArgumentParser(prog="python -m incidents.assets", description="Local map assets.")
    parser.add_argument("command", choices=["install", "check"])
    parser.add_argument("--web-dir", type=Path, default=WEB_DIR)
    parser.add_argument("--static-dir", type=Path, default=STATIC_DIR)
    args = parser.parse_args(argv)
    if args.command == "install":
        try:
            paths = install_static_assets(web_dir=args.web_dir, static_dir=args.static_dir)
        except AssetsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"installed {len(paths)} asset files into {args.static_dir}")
        return 0
    missing = missing_assets(args.static_dir)
    for rel in missing:
        print(f"missing: {args.static_dir / rel}", file=sys.stderr)
    if missing:
        print("run `bash .ci/setup`, or `python -m incidents.assets install` after npm ci", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
