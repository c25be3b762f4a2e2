"""Reading uploaded bytes as CSV text, streamed row by row with line numbers and progress."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from .report import ImportFailed

Progress = Callable[[int, int], None]
PROGRESS_EVERY: Final = 2000
DELIMITERS: Final = (",", ";", "\t", "|")
_UTF16_32_BOMS: Final = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"\xff\xfe", b"\xfe\xff")

def rows_read(name: str, tell: Callable[[str], None] | None) -> Progress | None:
    """A :data:`Progress` callback that tells ``tell``, in words, how many rows of ``name`` were read."""
    if tell is None:
        return None
    return lambda done, total: tell(f"{name}: {done:,} of {total:,} rows read")


def decode_text(data: bytes, *, name: str) -> str:
    """UTF-8 text (a byte-order mark is dropped); other encodings and binary files are refused saying how to fix."""
    if data.startswith(b"PK\x03\x04"):
        raise ImportFailed(name, "is a zip archive or an Excel workbook (.xlsx), not CSV: save the sheet as "
                           "'CSV UTF-8' and import that")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFailed(name, "is an old Excel workbook (.xls), not CSV: save the sheet as 'CSV UTF-8'")
    if data.startswith(_UTF16_32_BOMS) or (len(data) >= 2 and (data[0] == 0 or data[1] == 0)):
        raise ImportFailed(name, "is UTF-16/UTF-32 text ('Unicode text' in Excel): save it as 'CSV UTF-8'")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ImportFailed(name, f"is not valid UTF-8 (byte {error.start}, line {line}, "
                           f"{data[error.start:error.start + 4]!r}); save it as 'CSV UTF-8'") from None
    if not text.strip():
        raise ImportFailed(name, "is empty: expected a header line and one row per incident")
    head = text.lstrip()[:200].lower()
    if head.startswith(("<!doctype html", "<html", "<?xml")):
        raise ImportFailed(name, "looks like HTML or XML, not CSV (an error page or a download that went wrong?)")
    return text


def sniff_delimiter(header_line: str) -> str:
    """The delimiter used in the header line: comma unless semicolons, tabs or bars are more frequent."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


@dataclass(frozen=True, slots=True)
class CsvRows:
    """The header and an iterator over ``(line, cells)``: ``line`` is where the row starts (the header is 1)."""

    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    blank_lines: list[int]
    delimiter: str
    # (line, reason) when the CSV could not be read on from a line: the rows after it were not read.
    failure: list[tuple[int, str]]


def read_csv(text: str, *, name: str, progress: Progress | None = None) -> CsvRows:
    """Stream ``text`` as CSV. Fully empty rows are collected in ``blank_lines`` (reported once, not as rows).
    ``progress(lines_read, lines_in_file)`` is called every few thousand rows and at the end."""
    first_line = text.split("\n", 1)[0]
    delimiter = sniff_delimiter(first_line)
    total = text.count("\n") + (0 if text.endswith("\n") else 1)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    try:
        header = next(reader)
    except csv.Error as error:
        raise ImportFailed(name, f"has an unreadable header line: {error}") from None
    header = [cell.strip() for cell in header]
    if not any(header):
        raise ImportFailed(name, "has an empty first line: the first line must name the columns")
    blank_lines: list[int] = []
    failure: list[tuple[int, str]] = []

    def rows() -> Iterator[tuple[int, list[str]]]:
        previous_end = reader.line_num
        count = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                failure.append((previous_end + 1, f"cannot be read as CSV ({error}): check the quotes on this "
                                "line; it and the rest of the file were not imported"))
                break
            start = previous_end + 1
            previous_end = reader.line_num
            if not any(cells):
                blank_lines.append(start)
                continue
            yield start, cells
            count += 1
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(min(reader.line_num, total), total)
        if progress is not None:
            progress(total, total)

    return CsvRows(header=header, rows=rows(), blank_lines=blank_lines, delimiter=delimiter, failure=failure)


def record_keys(header: list[str]) -> tuple[list[str], list[str]]:
    """Keys for ``provenance.record``: the column names, an unnamed column as ``(column 3)`` and a repeated name
    as ``Notes (2)``, so that no cell is lost; and a note for each renamed column."""
    keys: list[str] = []
    notes: list[str] = []
    seen: set[str] = set()
    for position, column in enumerate(header, start=1):
        key = column or f"(column {position})"
        count = 1
        while key in seen:
            count += 1
            key = f"{column or '(column)'} ({count})"
        if key != column:
            notes.append(f"column {position} {'has no name' if not column else f'repeats the name {column!r}'}: "
                         f"its cells are kept in provenance.record as {key!r}")
        seen.add(key)
        keys.append(key)
    return keys, notes


def blank_lines_note(lines: list[int]) -> str:
    shown = ", ".join(str(n) for n in lines[:10])
    more = f" and {len(lines) - 10} more" if len(lines) > 10 else ""
    return f"{len(lines)} empty row{'s' if len(lines) != 1 else ''} ignored (line{'s' if len(lines) != 1 else ''} " \
           f"{shown}{more})"
