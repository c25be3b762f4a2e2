"""Progress on a terminal: one line that each message overwrites, cleared at the end; nothing at all when the
stream is a file or a pipe (a script's log gets the results, not the progress)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TextIO

_CLEAR_LINE = "\r\x1b[K"


@contextlib.contextmanager
def terminal_progress(stream: TextIO) -> Iterator[Callable[[str], None] | None]:
    """A progress callback writing to ``stream`` when it is a terminal, else ``None``."""
    is_terminal = getattr(stream, "isatty", None)
    if is_terminal is None or not is_terminal():
        yield None
        return
    told = False

    def tell(message: str) -> None:
        nonlocal told
        told = True
        stream.write(_CLEAR_LINE + message.replace("\n", " "))
        stream.flush()

    try:
        yield tell
    finally:
        if told:
            stream.write(_CLEAR_LINE)
            stream.flush()
