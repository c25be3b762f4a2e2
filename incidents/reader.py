"""A strict JSON reader for files from strangers.

It takes **bytes**, never a path or URL: :func:`parse_json_bytes` is the only way data enters the package, and
GeoPandas/GDAL never open anything (``gpd.read_file`` would fetch URLs and ``/vsicurl/`` paths on its own).
Local files are read by :func:`read_file_bytes` after a size check; :mod:`incidents.load` refuses URL-looking
and ``/vsi…/`` paths before that, and an upload's name only ever labels messages.

The size is checked before anything is decoded or parsed, and every way a file can be broken becomes one clear
message that says how to fix it: empty, HTML/XML/KML, JavaScript, compressed or other binary files (zip, gzip,
shapefile, …), wrong encodings (UTF-16/32, Latin-1; a UTF-8 byte-order mark is accepted), truncated files,
``NaN``/``Infinity``, numbers too long or too large for a float, duplicate keys, nesting too deep, lone UTF-16
surrogates and NUL characters in text. Nothing here lets a traceback through.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, NoReturn

from .errors import IncidentDataError, Problem

MAX_BYTES_ENV: Final = "INCIDENTS_MAX_FILE_MB"
DEFAULT_MAX_BYTES: Final = 1024 * 1024 * 1024
MAX_DEPTH: Final = 64
# A number literal longer than this is refused: no coordinate, count or id needs it, and Python refuses to turn
# integers of more than 4300 digits into text at all.
MAX_NUMBER_LENGTH: Final = 100

_UTF16_32_BOMS: Final = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
_UTF8_BOM: Final = b"\xef\xbb\xbf"
_CONVERT: Final = "convert it to GeoJSON first (e.g. ogr2ogr -f GeoJSON out.geojson {example})"
# Leading bytes of files that are not text at all, and what to say about them.
_MAGIC: Final[tuple[tuple[bytes, str], ...]] = (
    (b"PK\x03\x04", "ZIP"),
    (b"PK\x05\x06", "ZIP"),
    (b"\x1f\x8b", "is compressed (gzip): unzip it first (gunzip) and load the .geojson file inside"),
    (b"BZh", "is compressed (bzip2): unzip it first (bunzip2) and load the .geojson file inside"),
    (b"\xfd7zXZ\x00", "is compressed (xz): unzip it first (unxz) and load the .geojson file inside"),
    (b"(\xb5/\xfd", "is compressed (zstd): unzip it first (unzstd) and load the .geojson file inside"),
    (b"7z\xbc\xaf\x27\x1c", "is compressed (7-Zip): unzip it first and load the .geojson file inside"),
    (b"Rar!\x1a\x07", "is compressed (RAR): unzip it first and load the .geojson file inside"),
    (b"\x00\x00\x27\x0a", "is an ESRI shapefile (.shp/.shx), not GeoJSON: " + _CONVERT.format(example="in.shp")),
    (b"SQLite format 3\x00", "is an SQLite database (a GeoPackage?), not GeoJSON: "
     + _CONVERT.format(example="in.gpkg")),
    (b"%PDF-", "is a PDF document, not GeoJSON: was the wrong file chosen?"),
    (b"\x89PNG\r\n\x1a\n", "is a PNG image, not GeoJSON: was the wrong file chosen?"),
    (b"\xff\xd8\xff", "is a JPEG image, not GeoJSON: was the wrong file chosen?"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "is a Microsoft Office file (xls/doc), not GeoJSON: export the data "
     "as GeoJSON or CSV"),
)
_HTML_TAG: Final = re.compile(r"<(?:!doctype\s+html|html|head|body|meta|title|script|div|p|br|a)[\s>/]", re.I)
_JAVASCRIPT: Final = re.compile(
    r"(?:var|let|const|export|import|function)\b|module\.exports|window\.|[A-Za-z_$][\w$.]*\s*(?:=|\()"
)
_JSON_START: Final = frozenset('{["-0123456789')
# JSON text outside strings, one token at a time: a whole string (skipped) or a constant/number (captured).
_TOKEN: Final = re.compile(r'"(?:[^"\\]|\\.)*"?|(-?Infinity|NaN|-?[0-9][0-9.eE+-]*)', re.S)
# \u escapes that need a second look: any surrogate, and NUL. The precise pattern counts backslashes so that an
# escaped backslash followed by "u" is not taken for an escape, and takes a high+low surrogate pair as one.
_ESCAPE_PREFILTER: Final = re.compile(rb"\\u(?:[dD][89a-fA-F]|0000)")
_ESCAPE: Final = re.compile(
    r"(?<!\\)(?:\\\\)*(\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
    r"|\\u0000)"
)
# Digits to "0" and "E" to "e", "+" dropped: long digit runs and 3-digit exponents then show as plain substrings.
_NUMBER_SHAPES: Final = bytes.maketrans(b"123456789E", b"000000000e")


class _JSONRejected(ValueError):
    """A value the strict reader refuses; ``token`` is located in the text for the message."""

    def __init__(self, message: str, token: str | None = None) -> None:
        super().__init__(message)
        self.token = token


def max_bytes_from_env() -> int:
    """The size cap: ``INCIDENTS_MAX_FILE_MB`` megabytes if set, else 1 GiB."""
    raw = os.environ.get(MAX_BYTES_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_MAX_BYTES
    try:
        megabytes = float(raw)
    except ValueError:
        megabytes = math.nan
    if not math.isfinite(megabytes) or megabytes <= 0:
        raise IncidentDataError(
            [Problem(MAX_BYTES_ENV, f"{raw!r} is not a positive number of megabytes, e.g. {MAX_BYTES_ENV}=500")]
        )
    return max(1, int(megabytes * 1024 * 1024))


def read_file_bytes(path: Path, *, name: str, max_bytes: int) -> bytes:
    """Read a local regular file, refusing it if it is larger than ``max_bytes``.

    The size is checked before reading, and the read stops one byte past the limit, so a file that grows
    meanwhile (or lies about its size) cannot make us read more.
    """
    try:
        if not path.is_file():
            raise IncidentDataError([Problem(name, "is not a regular file")])
        check_size(path.stat().st_size, name=name, max_bytes=max_bytes)
        with path.open("rb") as stream:
            data = stream.read(max_bytes + 1)
    except OSError as error:
        raise IncidentDataError([Problem(name, f"cannot be read: {error.strerror or error}")]) from None
    check_size(len(data), name=name, max_bytes=max_bytes)
    return data


def check_size(size: int, *, name: str, max_bytes: int) -> None:
    """Refuse ``size`` bytes when above ``max_bytes``, saying how to raise the limit."""
    if size > max_bytes:
        raise IncidentDataError(
            [
                Problem(
                    name,
                    f"is {_megabytes(size)}, above the {_megabytes(max_bytes)} limit; raise the limit with "
                    f"{MAX_BYTES_ENV} (megabytes) or --max-size if you trust this file",
                )
            ]
        )


def parse_json_bytes(data: bytes, *, name: str, max_bytes: int | None = None) -> Any:
    """Parse ``data`` as strict JSON; raise :class:`IncidentDataError` with one clear problem otherwise.

    ``name`` only labels the messages (it is never opened). ``max_bytes`` defaults to :func:`max_bytes_from_env`.
    """
    check_size(len(data), name=name, max_bytes=max_bytes_from_env() if max_bytes is None else max_bytes)
    _refuse_binary(data, name=name)
    text = _decode(data, name=name)
    stripped = text.lstrip()
    if not stripped:
        what = "is empty" if not text else "holds only blank space"
        raise IncidentDataError([Problem(name, f"{what}: expected a GeoJSON FeatureCollection")])
    if stripped.startswith("<"):
        raise IncidentDataError([Problem(name, _markup_message(stripped[:2000]))])
    if stripped[0] not in _JSON_START and _JAVASCRIPT.match(stripped):
        raise IncidentDataError(
            [Problem(name, f"looks like JavaScript (it starts with {_excerpt(stripped)}), not GeoJSON: keep only "
                     "the JSON object {\"type\": \"FeatureCollection\", …} in a .geojson file")]
        )
    document = _parse(text, name=name, check_numbers=_may_have_bad_numbers(data))
    _refuse_bad_escapes(data, text, name=name)
    return document


def _parse(text: str, *, name: str, check_numbers: bool) -> Any:
    duplicates: list[str] = []

    def object_from_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    duplicates.append(_duplicate_message(key, result))
                seen.add(key)
        return result

    def reject_constant(constant: str) -> NoReturn:
        raise _JSONRejected(f"contains {constant}, which is not valid JSON: write null for a missing number",
                            constant)

    hooks: dict[str, Any] = {"parse_float": _checked_float, "parse_int": _checked_int} if check_numbers else {}
    try:
        document = json.loads(text, object_pairs_hook=object_from_pairs, parse_constant=reject_constant, **hooks)
    except _JSONRejected as error:
        where = _locate_token(text, error.token) if error.token is not None else ""
        raise IncidentDataError([Problem(name, f"{error}{where}")]) from None
    except RecursionError:
        raise IncidentDataError(
            [Problem(name, "is nested too deeply to be incident data (lists or objects hundreds of levels inside "
                     "each other)")]
        ) from None
    except json.JSONDecodeError as error:
        raise IncidentDataError([Problem(name, _decode_error_message(error, text))]) from None
    except ValueError as error:  # anything else json refuses; the checks above should leave nothing for here
        raise IncidentDataError([Problem(name, f"is not valid JSON: {error}")]) from None
    if duplicates:
        shown = duplicates[:10]
        more = f" (and {len(duplicates) - 10} more)" if len(duplicates) > 10 else ""
        raise IncidentDataError([Problem(name, message) for message in shown[:-1]]
                                + [Problem(name, shown[-1] + more)])
    return document


def _checked_int(token: str) -> int:
    if len(token.lstrip("-")) > MAX_NUMBER_LENGTH:
        raise _JSONRejected(_long_number_message(token), token)
    return int(token)


def _checked_float(token: str) -> float:
    if len(token) > MAX_NUMBER_LENGTH:
        raise _JSONRejected(_long_number_message(token), token)
    value = float(token)
    if not math.isfinite(value):
        raise _JSONRejected(
            f"contains the number {_excerpt(token, quote=False)}, too large for a 64-bit float (it would become "
            "infinity): write a smaller number or null", token
        )
    return value


def _long_number_message(token: str) -> str:
    return (
        f"contains a number {len(token)} characters long ({_excerpt(token, quote=False)}): numbers in incident data "
        f"have at most {MAX_NUMBER_LENGTH} characters; write it as text if it is an identifier"
    )


def needs_second_look(data: bytes) -> bool:
    """Whether ``data`` holds what only :func:`parse_json_bytes` words exactly (a fast test): a NUL byte, a ``\\u``
    escape it refuses (a lone surrogate, NUL), or a number that may be too long or too large."""
    return b"\x00" in data or _ESCAPE_PREFILTER.search(data) is not None or _may_have_bad_numbers(data)


def number_shapes(data: bytes) -> bytes:
    """``data`` with every digit written ``0``, ``E`` as ``e`` and ``+`` left out: ``1.5E+30`` reads ``0.0e00``."""
    return data.translate(_NUMBER_SHAPES, b"+")


def has_exponent(shapes: bytes) -> bool:
    """Whether the text of these :func:`number_shapes` may hold a number written with an exponent (``1e5``)."""
    return b"0e0" in shapes or b"0e-" in shapes


def _may_have_bad_numbers(data: bytes) -> bool:
    """Whether ``data`` could hold a number too long or too large (a fast test; the parser then checks each)."""
    shapes = number_shapes(data)
    return b"0" * MAX_NUMBER_LENGTH in shapes or b"e000" in shapes


def _refuse_bad_escapes(data: bytes, text: str, *, name: str) -> None:
    """Refuse lone surrogates (``"\\ud800"``) and NUL (``"\\u0000"``) written as escapes in strings.

    ``json`` accepts both, but a lone surrogate cannot be encoded as UTF-8 (the page, the CSV export and every
    later writer would fail) and NUL is not text. Raw control characters never get this far: the parser refuses
    them in strings.
    """
    if _ESCAPE_PREFILTER.search(data) is None:
        return
    for match in _ESCAPE.finditer(text):
        escape = match.group(1)
        if len(escape) == 12:  # a high and a low surrogate: one character outside the BMP, e.g. an emoji
            continue
        where = _position(text, match.start(1))
        if escape == "\\u0000":
            message = f"contains a NUL character (\\u0000) in a text value: remove it, NUL is not text ({where})"
        else:
            message = (
                f"contains {escape}, half of a UTF-16 surrogate pair without its other half, in a text value (a "
                f"tool cut a character such as an emoji in two?): remove it or write the whole character ({where})"
            )
        raise IncidentDataError([Problem(name, message)])


def _refuse_binary(data: bytes, *, name: str) -> None:
    for magic, message in _MAGIC:
        if data.startswith(magic):
            if message == "ZIP":
                message = _zip_message(data)
            raise IncidentDataError([Problem(name, message)])


def _zip_message(data: bytes) -> str:
    inside = ""
    if data.startswith(b"PK\x03\x04") and len(data) >= 30:
        length = int.from_bytes(data[26:28], "little")
        member = data[30 : 30 + min(length, 200)].decode("utf-8", "replace")
        if member:
            inside = f", holding {member!r}"
            if member.lower().endswith(".kml"):
                inside += " (a KMZ: unzip it, then convert the KML to GeoJSON)"
    return f"is compressed (a zip archive{inside}): unzip it first and load the .geojson file inside"


def _decode(data: bytes, *, name: str) -> str:
    for bom, encoding in _UTF16_32_BOMS:
        if data.startswith(bom):
            raise IncidentDataError([Problem(name, f"is {encoding}-encoded; save it as UTF-8 and load it again")])
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    wide = _wide_encoding(data[:256])
    if wide is not None:
        raise IncidentDataError(
            [Problem(name, f"looks {wide}-encoded (no byte-order mark); save it as UTF-8 and load it again")]
        )
    nul = data.find(b"\x00", 0, 8192)
    if nul >= 0:
        raise IncidentDataError(
            [Problem(name, f"is a binary file, not GeoJSON text (it holds a NUL byte at byte {nul}): was the wrong "
                     "file chosen, or is it text saved as UTF-16 or UTF-32?")]
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise IncidentDataError([Problem(name, _utf8_message(data, error.start))]) from None


def _wide_encoding(head: bytes) -> str | None:
    """``"UTF-32"``/``"UTF-16"`` when ``head`` has the NUL pattern of ASCII text in that encoding, else None."""
    fours = len(head) // 4 * 4
    if fours:
        quads = [head[i : i + 4] for i in range(0, fours, 4)]
        if all(q[1:] == b"\0\0\0" and q[0] for q in quads) or all(q[:3] == b"\0\0\0" and q[3] for q in quads):
            return "UTF-32"
    twos = len(head) // 2 * 2
    if twos:
        pairs = [head[i : i + 2] for i in range(0, twos, 2)]
        if all(p[1] == 0 and p[0] for p in pairs) or all(p[0] == 0 and p[1] for p in pairs):
            return "UTF-16"
    return None


def _utf8_message(data: bytes, start: int) -> str:
    line = data.count(b"\n", 0, start) + 1
    column = start - (data.rfind(b"\n", 0, start) + 1) + 1
    byte = data[start]
    hint = ""
    try:
        character = bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        character = ""
    if character and unicodedata.category(character)[0] in "LNPS":
        hint = f" (in Latin-1/Windows-1252 it would be {character!r}: the file was probably saved in that encoding)"
    return (
        f"is not valid UTF-8: byte 0x{byte:02X} at line {line}, column {column} cannot be read{hint}; save the file "
        "as UTF-8 and load it again"
    )


def _markup_message(head: str) -> str:
    lowered = head.lower()
    for tag, kind, example in (("<kml", "KML", "in.kml"), ("<gpx", "GPX", "in.gpx"), ("<svg", "SVG", "")):
        if tag in lowered:
            fix = _CONVERT.format(example=example) if example else "was the wrong file chosen?"
            return f"looks like {kind} (XML), not GeoJSON: {fix}"
    if _HTML_TAG.search(head):
        return "looks like HTML, not GeoJSON (an error page or a download that went wrong?)"
    return "looks like XML, not GeoJSON: was the wrong file chosen, or does it need converting?"


def _decode_error_message(error: json.JSONDecodeError, text: str) -> str:
    at = f"line {error.lineno}, column {error.colno}"
    if not text[error.pos :].strip() and error.pos >= len(text.rstrip()):
        return f"ends unexpectedly at {at}: the file looks truncated (an interrupted download or copy?)"
    if error.msg.startswith("Unterminated string"):
        return (
            f"ends inside a text value that starts at {at}: the file looks truncated (an interrupted download or "
            "copy?)"
        )
    if error.msg.startswith("Invalid control character"):
        character = text[error.pos]
        code = f"U+{ord(character):04X}"
        escape = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}.get(character, f"\\u{ord(character):04x}")
        return (
            f"has a raw control character ({code}) inside a text value at {at}: write it as the escape {escape} "
            "or remove it"
        )
    if error.msg == "Extra data":
        hint = ""
        if text[error.pos] == "{" and "\n" in text[: error.pos]:
            hint = (" (one JSON object per line? GeoJSON sequences are not read: put the features in one "
                    '{"type": "FeatureCollection", "features": [...]})')
        return f"has extra data after the JSON document at {at}{hint}"
    rest = text[error.pos :]
    before = text[: error.pos].rstrip()
    if rest.startswith(("//", "/*")):
        return f"has a comment at {at}: JSON does not allow comments; remove it"
    if before.endswith(",") and rest.lstrip()[:1] in ("}", "]"):
        return f"has a comma before the closing {rest.lstrip()[0]!r} at {at}: JSON does not allow one; remove it"
    if rest.startswith("'"):
        return f"uses single quotes at {at}: JSON needs double quotes around text and names"
    if error.pos == len(text) - len(text.lstrip()) and error.msg == "Expecting value":
        return (
            f"is not JSON: it starts with {_excerpt(rest)}; a GeoJSON file starts with "
            '{"type": "FeatureCollection", …'
        )
    return f"is not valid JSON: {error.msg} at {at}"


def _locate_token(text: str, token: str) -> str:
    """`` (line L, column C)`` for the first ``token`` outside a string, or "" if it cannot be found."""
    for match in _TOKEN.finditer(text):
        if match.group(1) == token:
            return f" ({_position(text, match.start(1))})"
    return ""


def _position(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def _excerpt(text: str, *, limit: int = 30, quote: bool = True) -> str:
    head = text[:limit].split("\n", 1)[0]
    shown = head + ("…" if len(head) < len(text) else "")
    return repr(shown) if quote else shown


def _duplicate_message(key: str, obj: dict[str, Any]) -> str:
    label = obj.get("id") if isinstance(obj.get("id"), str) else None
    if label:
        where = f"the object with id {_quoted(label)}"
    else:
        where = f"an object with keys {', '.join(_quoted(k) for k in itertools.islice(obj, 5))}"
    return (
        f"duplicate key {_quoted(key)} in {where}: each key may appear once (a second value would silently "
        "replace the first)"
    )


def _quoted(text: str, limit: int = 60) -> str:
    """``repr(text)``, cut after ``limit`` characters (control characters come out as escapes)."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "…"


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests lists and objects more than ``limit`` levels deep (checked without recursion)."""
    return not nested_within(value, limit)


def nested_within(value: Any, limit: int, *, leaf: Callable[[Any], bool] | None = None) -> bool:
    """Whether ``value`` nests lists and objects at most ``limit`` levels deep (checked without recursion) and, with
    ``leaf``, every other value in it passes ``leaf``."""
    if not isinstance(value, dict | list):
        return limit >= 1 and (leaf is None or leaf(value))
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
            elif leaf is not None and not leaf(child):
                return False
    return True


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
