"""A strict JSON reader for files from strangers.

It takes bytes (never a path or URL that a library might open on its own), checks the size before parsing,
and turns every way a file can be broken into one clear message: empty, HTML, wrong encoding, truncated,
``NaN``/``Infinity``, duplicate keys, nesting too deep.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Final

from .errors import IncidentDataError, Problem

MAX_BYTES_ENV: Final = "INCIDENTS_MAX_FILE_MB"
DEFAULT_MAX_BYTES: Final = 1024 * 1024 * 1024
MAX_DEPTH: Final = 64

_UTF16_32_BOMS: Final = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


class _JSONRejected(ValueError):
    pass


def max_bytes_from_env() -> int:
    """The size cap: ``INCIDENTS_MAX_FILE_MB`` megabytes if set, else 1 GiB."""
    raw = os.environ.get(MAX_BYTES_ENV)
    if not raw:
        return DEFAULT_MAX_BYTES
    try:
        megabytes = float(raw)
    except ValueError:
        raise IncidentDataError(
            [Problem(MAX_BYTES_ENV, f"{raw!r} is not a number of megabytes, e.g. {MAX_BYTES_ENV}=500")]
        ) from None
    return int(megabytes * 1024 * 1024)


def read_file_bytes(path: Path, *, name: str, max_bytes: int) -> bytes:
    """Read a local regular file after checking its size against ``max_bytes``."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise IncidentDataError([Problem(name, "is not a regular file")])
        check_size(size, name=name, max_bytes=max_bytes)
        return path.read_bytes()
    except OSError as error:
        raise IncidentDataError([Problem(name, f"cannot be read: {error.strerror or error}")]) from None


def check_size(size: int, *, name: str, max_bytes: int) -> None:
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


def parse_json_bytes(data: bytes, *, name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Parse ``data`` as strict JSON; raise :class:`IncidentDataError` with one clear problem otherwise."""
    check_size(len(data), name=name, max_bytes=max_bytes)
    text = _decode(data, name=name)
    stripped = text.lstrip()
    if not stripped:
        raise IncidentDataError([Problem(name, "is empty: expected a GeoJSON FeatureCollection")])
    if stripped.startswith("<"):
        kind = "HTML" if stripped[:200].lower().lstrip("<!").startswith(("doctype html", "html")) else "XML"
        raise IncidentDataError(
            [Problem(name, f"looks like {kind}, not GeoJSON (an error page or a download that went wrong?)")]
        )
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

    def reject_constant(constant: str) -> Any:
        raise _JSONRejected(
            f"contains {constant}, which is not valid JSON: write null for a missing number"
        )

    try:
        document = json.loads(text, object_pairs_hook=object_from_pairs, parse_constant=reject_constant)
    except _JSONRejected as error:
        raise IncidentDataError([Problem(name, str(error))]) from None
    except RecursionError:
        raise IncidentDataError([Problem(name, "is nested too deeply to be incident data")]) from None
    except json.JSONDecodeError as error:
        raise IncidentDataError([Problem(name, _decode_error_message(error, text))]) from None
    except ValueError as error:  # e.g. an integer with thousands of digits
        raise IncidentDataError([Problem(name, f"is not valid JSON: {error}")]) from None
    if duplicates:
        shown = duplicates[:10]
        more = f" (and {len(duplicates) - 10} more)" if len(duplicates) > 10 else ""
        raise IncidentDataError([Problem(name, message) for message in shown[:-1]]
                                + [Problem(name, shown[-1] + more)])
    return document


def _decode(data: bytes, *, name: str) -> str:
    for bom, encoding in _UTF16_32_BOMS:
        if data.startswith(bom):
            raise IncidentDataError([Problem(name, f"is {encoding}-encoded; save it as UTF-8 and load it again")])
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif len(data) >= 2 and (data[0] == 0 or data[1] == 0):
        raise IncidentDataError([Problem(name, "looks UTF-16-encoded (no byte-order mark); save it as UTF-8")])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise IncidentDataError(
            [Problem(name, f"is not valid UTF-8 (byte {error.start}, line {line}); save it as UTF-8")]
        ) from None


def _decode_error_message(error: json.JSONDecodeError, text: str) -> str:
    if not text[error.pos :].strip() and error.pos >= len(text.rstrip()):
        return (
            f"ends unexpectedly at line {error.lineno}, column {error.colno}: the file looks truncated "
            "(an interrupted download or copy?)"
        )
    if error.msg == "Extra data":
        return f"has extra data after the JSON document at line {error.lineno}, column {error.colno}"
    return f"is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"


def _duplicate_message(key: str, obj: dict[str, Any]) -> str:
    label = obj.get("id") if isinstance(obj.get("id"), str) else None
    where = f"the object with id {label!r}" if label else f"an object with keys {', '.join(list(obj)[:5])}"
    return (
        f"duplicate key {key!r} in {where}: each key may appear once (a second value would silently "
        "replace the first)"
    )


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests lists and objects more than ``limit`` levels deep (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values() if isinstance(child, dict | list))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item if isinstance(child, dict | list))
    return False


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
