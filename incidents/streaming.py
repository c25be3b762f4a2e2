"""Read a large FeatureCollection one feature at a time, so that a file of a million incidents never exists in
memory as one tree of Python objects.

:func:`stream_collection` handles the plain case only: UTF-8 text that is one JSON object with a ``features``
list, parsed as strictly as :func:`incidents.reader.parse_json_bytes` parses. Anything else — a syntax error,
a duplicate key, ``NaN``, a number too long, a ``\\u`` escape that needs a second look, an encoding problem —
raises :class:`NotStreamable`, and the caller reads the whole file with the reader, which says exactly what is
wrong. So the messages for bad files are the reader's, and this module only has to be right about good ones.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Final, NoReturn

from .reader import MAX_NUMBER_LENGTH, has_exponent, needs_second_look, number_shapes

CHUNK_BYTES: Final = 16 * 1024 * 1024
#: Stands for the ``features`` list in the members :func:`stream_collection` returns: its items went to the
#: callback.
STREAMED: Final = object()
_WHITESPACE: Final = re.compile(r"[ \t\n\r]*")
_UTF8_BOM: Final = "\ufeff"
# A chunk's last bytes are checked again with the next chunk, so that a pattern cut in two is still seen.
_OVERLAP: Final = MAX_NUMBER_LENGTH + 16
# The \\u escapes worth a second look: those the whole-file reader refuses (surrogates, NUL), and control
# characters in upper-case hex, which msgspec writes in lower case.
_ESCAPES: Final = re.compile(rb"\\u(?:[dD][89a-fA-F]|00(?:00|[01][A-F]))")


class NotStreamable(Exception):
    """The text is not a plain FeatureCollection: read it whole for the exact message."""


class ReadWhole(NotStreamable):
    """Read the file whole and nothing else: a feature nests deeper than incident data does, and only the
    whole-file reader knows whether Python can parse it at all (near the recursion limit the readers' stacks
    differ)."""


def file_chunks(path: Path, *, max_bytes: int) -> Iterator[bytes]:
    """The bytes of ``path`` in chunks of :data:`CHUNK_BYTES`; :class:`NotStreamable` past ``max_bytes`` (the
    reader then says so)."""
    total = 0
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            total += len(chunk)
            if total > max_bytes:
                raise NotStreamable
            yield chunk


def memory_chunks(data: bytes) -> Iterator[bytes]:
    """``data`` in chunks of :data:`CHUNK_BYTES`."""
    view = memoryview(data)
    size = CHUNK_BYTES
    for start in range(0, len(data), size):
        yield bytes(view[start : start + size])


def stream_collection(chunks: Iterable[bytes], on_feature: Callable[[Any], None]) -> dict[str, Any]:
    """Parse a JSON object from ``chunks``, passing each item of its ``features`` list to ``on_feature`` as it is
    read; return the object's other members in order, with ``features`` set to :data:`STREAMED` when it was a list.

    Raises :class:`NotStreamable` (possibly after some features went to ``on_feature``) when the text is not
    plain strict JSON of that shape.
    """
    text = _Text(chunks)
    text.take_bom()
    text.skip_whitespace()
    text.expect("{")
    members: dict[str, Any] = {}
    text.skip_whitespace()
    if text.peek() == "}":
        text.advance()
    else:
        while True:
            key = text.value()
            if not isinstance(key, str) or key in members:
                raise NotStreamable
            text.skip_whitespace()
            text.expect(":")
            text.skip_whitespace()
            if key == "features" and text.peek() == "[":
                text.advance()
                _stream_list(text, on_feature)
                members[key] = STREAMED
            else:
                members[key] = text.value()
            text.skip_whitespace()
            if text.peek() == "}":
                text.advance()
                break
            text.expect(",")
            text.skip_whitespace()
    text.skip_whitespace()
    text.expect_end()
    return members


def _stream_list(text: _Text, on_feature: Callable[[Any], None]) -> None:
    text.skip_whitespace()
    if text.peek() == "]":
        text.advance()
        return
    while True:
        on_feature(text.value())
        text.skip_whitespace()
        if text.peek() == "]":
            text.advance()
            return
        text.expect(",")
        text.skip_whitespace()


def _refuse(*_: object) -> NoReturn:
    raise NotStreamable


def _object_from_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise NotStreamable
    return result


#: The strict parser of the readers in pieces: a duplicate key, NaN or Infinity raises :class:`NotStreamable`.
STRICT_DECODER: Final = json.JSONDecoder(object_pairs_hook=_object_from_pairs, parse_constant=_refuse)


class SecondLook:
    """Checks a file's chunks, in order, for what only the whole-file reader words exactly
    (:func:`~incidents.reader.needs_second_look`), a pattern cut between two chunks included: raises
    :class:`NotStreamable`. Also notes whether the file so far may hold a number written with an exponent
    (``exponents``) or a control character escaped in upper-case hex (``upper_hex``): both are read exactly, but
    not by :mod:`incidents.blocks`."""

    def __init__(self) -> None:
        self._tail = b""
        self.exponents = False
        self.upper_hex = False

    def check(self, chunk: bytes) -> None:
        # the chunk, and where it meets the one before (a pattern cut in two), without copying the chunk
        self._look(self._tail + chunk[:_OVERLAP])
        self._look(chunk)
        self._tail = (self._tail + chunk[-_OVERLAP:])[-_OVERLAP:]

    def _look(self, data: bytes) -> None:
        if b"\x00" in data:
            raise NotStreamable
        if _ESCAPES.search(data) is not None:
            if needs_second_look(data):
                raise NotStreamable
            self.upper_hex = True
        shapes = number_shapes(data)
        if b"0" * MAX_NUMBER_LENGTH in shapes:
            raise NotStreamable
        exponents = self._exponents(shapes)
        self.exponents = self.exponents or exponents
        if exponents and b"e000" in shapes:  # a number too large (any exponent follows a digit)
            raise NotStreamable

    @staticmethod
    def _exponents(shapes: bytes) -> bool:
        """Whether a digit followed by ``e`` and a digit or ``-`` occurs (``+`` is left out of the shapes)."""
        found = shapes.find(b"0e")
        for _ in range(1000):  # "3em", "0ea…": text, not numbers; a file full of them is tested the slow way
            if found < 0:
                return False
            if shapes[found + 2 : found + 3] in (b"0", b"-"):
                return True
            found = shapes.find(b"0e", found + 2)
        return has_exponent(shapes)


class _Text:
    """Decoded text read chunk by chunk, with a cursor; values are parsed by :mod:`json`'s C scanner."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._decode = STRICT_DECODER.raw_decode
        self._second_look = SecondLook()
        self._more = True
        self.buffer = ""
        self.pos = 0
        self._fill()

    def _fill(self) -> bool:
        """Append the next chunk to the buffer (dropping what was read); False at the end of the input."""
        if not self._more:
            return False
        chunk = next(self._chunks, None)
        if chunk is None:
            self._more = False
            try:
                decoded = self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise NotStreamable from None
        else:
            self._second_look.check(chunk)
            try:
                decoded = self._decoder.decode(chunk)
            except UnicodeDecodeError:
                raise NotStreamable from None
        self.buffer = self.buffer[self.pos :] + decoded
        self.pos = 0
        return True

    def skip_whitespace(self) -> None:
        while True:
            match = _WHITESPACE.match(self.buffer, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.buffer) or not self._fill():
                return

    def peek(self) -> str:
        while self.pos >= len(self.buffer):
            if not self._fill():
                return ""
        return self.buffer[self.pos]

    def advance(self) -> None:
        self.pos += 1

    def take_bom(self) -> None:
        if self.peek() == _UTF8_BOM:
            self.advance()

    def expect(self, character: str) -> None:
        if self.peek() != character:
            raise NotStreamable
        self.advance()

    def expect_end(self) -> None:
        if self.peek() != "":
            raise NotStreamable

    def value(self) -> Any:
        """The JSON value at the cursor. A value that fails or ends at the buffer's end (a number may go on in the
        next chunk) is read again with more text; only at the end of the input is a failure final."""
        while True:
            try:
                value, end = self._decode(self.buffer, self.pos)
            except (json.JSONDecodeError, RecursionError):
                if self._fill():
                    continue
                raise NotStreamable from None
            if end >= len(self.buffer) - 1 and self._fill():
                continue
            self.pos = end
            return value
