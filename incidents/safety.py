"""The one escaping path for untrusted text, and the one gate for links.

Every string from a data file that reaches the page goes through one of these:

- :func:`script_json` for everything the map shows (popups, tooltips, the legend, links between incidents): the
  map's data is handed to its JavaScript as one literal, safe inside an inline ``<script>``, inside a template
  literal and through streamlit-folium's rewrites of the map script; the browser then places every string with
  ``textContent``, never as HTML. No markup is built from data on the server.
- :func:`escape_markdown` for text in the dashboard's own elements (the record beside the map, captions, alerts,
  labels).
- :func:`safe_url` for links: only ``http``/``https`` URLs with a host become links; :func:`url_problem` says why
  another is refused.

Messages about a file (:class:`~incidents.errors.Problem`) repeat the bad value, so they are untrusted text too.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, Final
from urllib.parse import SplitResult, urlsplit, urlunsplit

MAX_URL_LENGTH: Final = 2048

# Characters that change meaning inside <script>...</script> or a JS string, escaped in JSON output; and the
# characters that streamlit-folium's text rewrites of the whole map script need to match (it deletes every
# "alert(coords);", turns {{'name'}} into name, renames _<element id> and drawnItems_draw_control_div_<n>): none of
# them is structural in JSON, so no value can take part in a rewrite — which could cut an escape in two
# ("\u001a" + "lert(coords);" → "\u001"), a SyntaxError that blanks the map, or silently change the text.
_SCRIPT_ESCAPES: Final = str.maketrans(
    {
        "<": "\\u003c",
        ">": "\\u003e",
        "&": "\\u0026",
        "`": "\\u0060",
        "$": "\\u0024",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
        "(": "\\u0028",
        "'": "\\u0027",
        "_": "\\u005f",
    }
)

# NUL and lone surrogates: not text, and a lone surrogate cannot even be encoded to send the page.
_NOT_TEXT: Final = re.compile("[\x00\ud800-\udfff]")
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f\u0080-\u009f]")
# Explicit bidirectional embeddings, overrides and isolates, and what closes each.
_BIDI: Final = re.compile("[\u202a-\u202e\u2066-\u2069]")
_BIDI_OPENERS: Final = {"\u202a": "\u202c", "\u202b": "\u202c", "\u202d": "\u202c", "\u202e": "\u202c",
                        "\u2066": "\u2069", "\u2067": "\u2069", "\u2068": "\u2069"}
_HOST: Final = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?")
# A URL that every check below accepts: lower-case http(s), an ASCII host of _HOST's letters, no port or user,
# then printable ASCII without blanks or backslashes.
_PLAIN_URL: Final = re.compile(r"https?://[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?(?:[/?#][!-\[\]-~]*)?")


def script_json(value: Any) -> str:
    """``value`` as a JavaScript literal that is safe inside an inline ``<script>`` and a template literal.

    ``< > &`` are written as ``\\u003c``-style escapes (no ``</script>`` or ``<!--``), and so are `` ` `` and ``$``
    and U+2028/U+2029 and lone surrogates, and ``( ' _`` (which streamlit-folium's rewrites of the map script look
    for); everything else is plain JSON. ``NaN`` and infinities raise
    ``ValueError``.
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).translate(_SCRIPT_ESCAPES)
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def is_script_json(text: str) -> bool:
    """Whether ``text`` holds none of the characters :func:`script_json` escapes: a check, as cheap as a search,
    that a script's data went through it."""
    return not any(chr(code) in text for code in _SCRIPT_ESCAPES) and _SURROGATE.search(text) is None


def safe_url(url: object) -> str | None:
    """The link target for ``url`` if it is an ``http``/``https`` URL with a host and nothing hidden, else None.

    The URL is returned unchanged, except that a host written in non-ASCII letters comes back in its ASCII
    (punycode) form, so that look-alike letters cannot pass for another site; a punycode host (``xn--…``) is
    left alone. :func:`url_problem` says why a URL is refused.
    """
    if not isinstance(url, str) or url_problem(url) is not None:
        return None
    if _PLAIN_URL.fullmatch(url):
        return url
    parts = urlsplit(url)
    hostname = parts.hostname or ""
    if hostname.isascii():
        return url
    return urlunsplit(parts._replace(netloc=_ascii_netloc(parts)))


def url_problem(url: object) -> str | None:
    """Why ``url`` is refused as a link, or None when it is an acceptable ``http``/``https`` URL.

    Refused: anything but text; empty or overlong (more than :data:`MAX_URL_LENGTH` characters) URLs; control,
    blank or invisible formatting characters anywhere (``java\\tscript:``, zero-width spaces, bidi overrides);
    backslashes (browsers read them as ``/``); schemes other than ``http``/``https`` in any case
    (``javascript:``, ``JaVaScRiPt:``, ``data:``, ``file:``, ``vbscript:``); scheme-relative ``//host`` and
    ``https:host`` forms; user names or passwords before ``@``; a missing host, a host with characters a host
    name cannot have, or an invalid port.
    """
    if not isinstance(url, str):
        return "is not text"
    if len(url) <= MAX_URL_LENGTH and _PLAIN_URL.fullmatch(url):
        return None  # the common case, decided without parsing: see _PLAIN_URL
    if not url.strip():
        return "is empty"
    if len(url) > MAX_URL_LENGTH:
        return f"is {len(url)} characters long, more than the {MAX_URL_LENGTH} accepted for a link"
    for position, character in enumerate(url):
        if _CONTROL.match(character):
            return f"contains the control character U+{ord(character):04X} at position {position + 1}"
        if unicodedata.category(character) == "Cf":
            return (f"contains the invisible formatting character U+{ord(character):04X} "
                    f"({unicodedata.name(character, 'unnamed')}) at position {position + 1}")
        if character.isspace():
            return f"contains a blank at position {position + 1}: write spaces as %20"
        if character == "\\":
            return f"contains a backslash at position {position + 1}, which browsers read as '/'"
    try:
        parts = urlsplit(url)
    except ValueError as error:
        return f"cannot be read as a URL ({error})"
    if not parts.scheme:
        if url.startswith("//"):
            return "has no scheme: write it in full, starting with https://"
        return "has no scheme: links must start with http:// or https://"
    if parts.scheme not in ("http", "https"):
        return f"uses the scheme {parts.scheme!r}: links must start with http:// or https://"
    if not url.lower().startswith(parts.scheme + "://"):
        return f"must start with {parts.scheme}:// followed by the host"
    if "@" in parts.netloc:
        return "has a user name or password before '@' (a way to disguise the real host): remove it"
    hostname = parts.hostname
    if not hostname:
        return "has no host"
    try:
        parts.port  # noqa: B018 -- reading it validates it
    except ValueError:
        return "has an invalid port"
    if "[" in parts.netloc:
        return None  # an IPv6 literal, which urlsplit has checked
    try:
        ascii_host = _ascii_host(hostname)
    except UnicodeError:
        return f"has the host {hostname!r}, which is not a valid international domain name"
    if not _HOST.fullmatch(ascii_host):
        return f"has the host {hostname!r}, with characters a host name cannot have"
    return None


def _ascii_host(hostname: str) -> str:
    if hostname.isascii():
        return hostname
    return hostname.encode("idna").decode("ascii").lower()


def _ascii_netloc(parts: SplitResult) -> str:
    host = _ascii_host(parts.hostname or "")
    return f"{host}:{parts.port}" if parts.port is not None else host


def _close_bidi(text: str) -> str:
    """The characters that close the bidi embeddings, overrides and isolates ``text`` leaves open."""
    open_: list[str] = []
    for match in _BIDI.finditer(text):
        character = match.group()
        if character in _BIDI_OPENERS:
            open_.append(_BIDI_OPENERS[character])
        elif character == "\u202c":  # PDF closes the latest embedding or override, not an isolate
            if open_ and open_[-1] == "\u202c":
                open_.pop()
        elif "\u2069" in open_:  # PDI closes the latest isolate and whatever was opened inside it
            while open_.pop() != "\u2069":
                pass
    return "".join(reversed(open_))


# Every ASCII punctuation character can be backslash-escaped in (GitHub-flavoured) Markdown, and each one starts
# some construct somewhere: emphasis, links and images, HTML, code, tables, headings, lists, math ($), entities
# (&), Streamlit's directives (:red[…], :material/…:).
_MARKDOWN_ESCAPES: Final = str.maketrans({c: "\\" + c for c in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"})
_LINE_BREAKS: Final = re.compile(r"[\r\n\t\v\f\x1c-\x1e\x85\u2028\u2029]+")


def escape_markdown(text: object) -> str:
    """``text`` as one line of inert Markdown, for ``st.markdown``, ``st.caption``, ``st.error`` and labels.

    Every ASCII punctuation character is backslash-escaped, so no link, image (``![x](https://…)`` would
    make the page fetch it), HTML tag, entity, emphasis, code span, table, heading, list, math or Streamlit
    directive can start; line breaks and tabs become one space, so the value cannot open a new block. NUL and
    lone surrogates become U+FFFD, and bidirectional controls left open are closed at the end,
    so they cannot reorder the text around the value.
    """
    value = _NOT_TEXT.sub("\ufffd", str(text))
    value = _LINE_BREAKS.sub(" ", value).translate(_MARKDOWN_ESCAPES)
    return value + _close_bidi(value) if _BIDI.search(value) else value
