"""Read a FeatureCollection written one feature per line — as this tool's exports, ``incidents convert``, the
importers and many GeoJSON writers lay it out — many features at a time.

The lines between the opening ``{…"features":[`` and the closing ``]}`` are parsed in blocks by msgspec's C
parser. A block is used as parsed only when encoding the parsed values again gives back exactly its text (or its
text without blanks): then it has no duplicate keys, nothing the strict reader would refuse, and the values are
the strict reader's. A line that is not so plain is parsed on its own by the strict parser; one that fails that
makes the whole file :class:`~incidents.streaming.NotStreamable`, and the caller reads it another way, which
gives the exact message. Each feature is then checked as every feature is
(:class:`~incidents.validate.FeatureCollector`, with the quick check first).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from .blocks import Block, check_block
from .helper import AGAIN, Answer, BlockHelper, InOrder, Mark
from .model import PreparedBlock
from .quickcheck import quick_row
from .reader import MAX_DEPTH, needs_second_look, too_deep
from .streaming import STRICT_DECODER, NotStreamable, ReadWhole, SecondLook
from .validate import FeatureCollector, Row

_SEPARATOR: Final = b",\n"
_BLANKS: Final = b" \t\r\n"  # JSON's whitespace (bytes.strip would also take form feeds and vertical tabs)
_OPENING: Final = re.compile(rb'\A\{[^\n]*"features"[ \t]*:[ \t]*\[[ \t\r]*\Z')
_CLOSING: Final = re.compile(rb"\][ \t\r\n]*\}[ \t\r\n]*\Z")
_LONGEST_OPENING: Final = 1024 * 1024
BLOCK_BYTES: Final = 2 * 1024 * 1024
_decode: Final = msgspec.json.Decoder().decode
_encode: Final = msgspec.json.Encoder().encode
_format: Final = msgspec.json.format


@dataclass(frozen=True, slots=True)
class _Block:
    """A block on its way: its text, the number its features were checked with, its lines."""

    text: bytes
    first: int
    lines: int


class LineReader:
    """Feeds a file's bytes, chunk by chunk, to ``collector``; :meth:`finish` returns the collection's members
    other than ``features``. Raises :class:`NotStreamable` as soon as the file is not laid out one feature per line,
    or not plain strict JSON."""

    def __init__(self, collector: FeatureCollector, *, on_block: Callable[[int], None] | None = None,
                 blocks: Callable[[Block | PreparedBlock], None] | None = None,
                 helper: BlockHelper | None = None) -> None:
        self._collector = collector
        self._on_block = on_block
        self._blocks = blocks
        self._in_order: InOrder[_Block] = InOrder(helper, self._finish_block)  # blocks checked here or by the helper
        self._pending = b""
        self._members: dict[str, Any] | None = None
        self._second_look = SecondLook()

    def feed(self, chunk: bytes) -> None:
        self._second_look.check(chunk)
        data = self._pending + chunk
        if b"\r" in data:  # a carriage return outside a string is a blank; CRLF lines must still be cut into blocks
            data = data.replace(b"\r\n", b"\n")
        if self._members is None:
            end = data.find(b"\n")
            if end < 0:
                if len(data) > _LONGEST_OPENING:
                    raise NotStreamable
                self._pending = data
                return
            self._members = _opening(data[:end])
            data = data[end + 1 :]
        cut = data.rfind(_SEPARATOR)
        if cut < 0:
            self._pending = data
            return
        start = 0
        while cut - start > BLOCK_BYTES:  # small blocks: their parsed values are what a load holds besides the frame
            end = data.rfind(_SEPARATOR, start, start + BLOCK_BYTES)
            if end <= start:
                break
            self._block(data[start:end])
            start = end + len(_SEPARATOR)
        self._block(data[start:cut])
        self._pending = data[cut + len(_SEPARATOR) :]

    def finish(self) -> dict[str, Any]:
        if self._members is None:
            raise NotStreamable
        closing = _CLOSING.search(self._pending)
        if closing is None:
            raise NotStreamable
        last = self._pending[: closing.start()]
        if last.strip(_BLANKS):
            self._block(last)
        self._in_order.flush()  # every block waiting added first
        if not last.strip(_BLANKS) and self._collector.count:  # "…},\n]}": a comma with no feature after it
            raise NotStreamable
        return self._members

    def _block(self, block: bytes) -> None:
        if not block.strip(_BLANKS):  # ",\n" with nothing before it: a list item missing
            raise NotStreamable
        look = self._second_look
        if self._blocks is None or look.exponents or look.upper_hex:
            self._in_order.flush()  # every block waiting added first
            self._by_feature(block)
            return
        lines = block.count(_SEPARATOR) + 1
        # numbered as if each block waiting held a feature a line (one that did not is checked again when added)
        first = self._collector.count + 1 + sum(waiting.lines for waiting in self._in_order.waiting())
        file = self._collector.file
        self._in_order.add(_Block(block, first, lines),
                           hand=lambda helper: helper.hand(block, file=file, first=first),
                           check=lambda: check_block(block, file=file, first=first))

    def _finish_block(self, block: _Block, answer: Answer) -> None:
        checked = answer
        if checked is AGAIN or block.first != self._collector.count + 1:
            checked = check_block(block.text, file=self._collector.file, first=self._collector.count + 1)
        assert not isinstance(checked, Mark)
        self._add(block.text, checked)

    def _add(self, block: bytes, checked: Block | PreparedBlock | None) -> None:
        if checked is None:
            self._by_feature(block)
            return
        assert self._blocks is not None
        self._collector.count += checked.count
        self._blocks(checked)
        if self._on_block is not None:
            self._on_block(self._collector.count)

    def _by_feature(self, block: bytes) -> None:
        features = _plain_value(b"[" + block.replace(_SEPARATOR, b",") + b"]")
        if isinstance(features, list):
            for feature in features:
                self._collector.check(feature)
        else:
            for line in block.split(_SEPARATOR):
                self._collector.check(_line(line))
        if self._on_block is not None:
            self._on_block(self._collector.count)


def quick_row_or_read_whole(feature: Any, file: str, index: int) -> Row | None:
    """:func:`~incidents.quickcheck.quick_row` for the readers of files in pieces, which leave a feature nested
    deeper than incident data (:data:`~incidents.reader.MAX_DEPTH`) to the whole-file reader: :class:`ReadWhole`."""
    row = quick_row(feature, file, index)
    if row is None and too_deep(feature, MAX_DEPTH):
        raise ReadWhole
    return row


def plain_records(texts: list[Any]) -> list[Any] | None:
    """The parsed values of ``texts`` (JSON texts, such as GeoParquet records), parsed together, when each one is
    plain on its own (encoding its value again gives back its exact text, or its text without blanks) and free of
    what the strict reader looks at twice; None when any is not."""
    if not all(type(text) is str for text in texts):
        return None
    encoded = [text.encode() for text in texts]
    data = b"[" + b",".join(encoded) + b"]"
    if needs_second_look(data):
        return None
    try:
        values = _decode(data)
        if not isinstance(values, list) or len(values) != len(texts):
            return None
        # each record by itself: texts such as '[0' and '0]' parse together but are not JSON apart
        if not all(_encodes_to(value, text) for value, text in zip(values, encoded, strict=True)):
            return None
    except (msgspec.MsgspecError, UnicodeDecodeError, RecursionError):
        return None
    return values


_NOT_PLAIN: Final = object()


def _plain_value(text: bytes) -> Any:
    """The value of ``text`` when encoding it again gives back exactly ``text`` (or ``text`` without blanks), else
    :data:`_NOT_PLAIN` (a duplicate key, an escape or number written another way, a value nested too deep …)."""
    try:
        value = _decode(text)
        if _encodes_to(value, text):
            return value
    except (msgspec.MsgspecError, UnicodeDecodeError, RecursionError):
        pass
    return _NOT_PLAIN


def _encodes_to(value: Any, text: bytes) -> bool:
    """Whether encoding ``value`` gives back ``text``, or ``text`` without its blanks."""
    again = _encode(value)
    return again == text or (len(again) < len(text) and again == _format(text, indent=-1))


def _line(line: bytes) -> Any:
    """One feature's line parsed: by msgspec when it is plain, else by the strict parser."""
    value = _plain_value(line)
    return _strict(line) if value is _NOT_PLAIN else value


def _strict(data: bytes) -> Any:
    try:
        text = codecs.decode(data, "utf-8", "strict").strip(" \t\r\n")
        value, end = STRICT_DECODER.raw_decode(text)
    except (ValueError, RecursionError):
        raise NotStreamable from None
    if end != len(text):
        raise NotStreamable
    return value


def _opening(line: bytes) -> dict[str, Any]:
    """The collection's members before ``features`` (an opening line such as ``{"type":"FeatureCollection",
    "features":[``), with ``features`` as an empty list."""
    if _OPENING.match(line) is None:
        raise NotStreamable
    members = _strict(line.rstrip(b" \t\r") + b"]}")
    if not isinstance(members, dict) or members.get("features") != [] or list(members)[-1] != "features":
        raise NotStreamable
    return members


def read_lines(chunks: Iterable[bytes], collector: FeatureCollector, *,
               on_block: Callable[[int], None] | None = None,
               blocks: Callable[[Block | PreparedBlock], None] | None = None,
               helper: BlockHelper | None = None) -> dict[str, Any]:
    """Check every feature of the file in ``chunks`` with ``collector``; return its other members (``features``
    an empty list). Raises :class:`NotStreamable` (perhaps after checking some features) when the file is not
    laid out one feature per line or not plain strict JSON. With ``blocks``, a block of ordinary incidents is
    checked at once (:func:`~incidents.blocks.check_block`) and handed to it instead of ``collector``; with a
    ``helper`` too, every other such block is checked by the helper process meanwhile."""
    reader = LineReader(collector, on_block=on_block, blocks=blocks, helper=helper)
    for chunk in chunks:
        reader.feed(chunk)
    return reader.finish()
