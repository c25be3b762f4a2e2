"""The one escaping path for untrusted text, and the one gate for links.

Every string from a data file that reaches the page goes through :func:`escape_html` (for markup built on the
server) or :func:`script_json` (for data handed to the map's JavaScript, where the browser then inserts it with
``textContent``). Links are only ever made from :func:`safe_url`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, Final
from urllib.parse import urlsplit

_HTML_ESCAPES: Final = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "'": "&#x27;",
        # Characters that end or interpolate a JavaScript template literal, where folium puts HTML.
        "`": "&#x60;",
        "$": "&#x24;",
        "\\": "&#x5C;",
        "{": "&#x7B;",
        "}": "&#x7D;",
        "\u2028": "&#x2028;",
        "\u2029": "&#x2029;",
    }
)

# Characters that change meaning inside <script>...</script> or a JS string, escaped in JSON output.
_SCRIPT_ESCAPES: Final = str.maketrans(
    {
        "<": "\\u003c",
        ">": "\\u003e",
        "&": "\\u0026",
        "`": "\\u0060",
        "$": "\\u0024",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f\u0080-\u009f]")


def escape_html(text: object) -> str:
    """``text`` as inert HTML, also safe inside a JavaScript template literal (folium's popup templates)."""
    return str(text).translate(_HTML_ESCAPES)


def script_json(value: Any) -> str:
    """``value`` as a JavaScript literal that is safe inside an inline ``<script>`` and a template literal."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).translate(_SCRIPT_ESCAPES)


def safe_url(url: object) -> str | None:
    """``url`` if it is an ``http``/``https`` URL with a host and nothing hidden in it, else ``None``.

    Rejected: other schemes (``javascript:``, ``data:``, ``file:``, in any case or with embedded tabs and
    newlines), scheme-relative ``//host`` links, control or invisible formatting characters, credentials in the
    URL, and anything that does not parse.
    """
    if not isinstance(url, str) or not url or len(url) > 4096:
        return None
    if url != url.strip() or _CONTROL.search(url) or any(unicodedata.category(c) == "Cf" for c in url):
        return None
    if any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    del port
    if parts.scheme not in ("http", "https") or not url.lower().startswith(parts.scheme + "://"):
        return None
    if not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    if "\\" in url:
        return None
    return url
