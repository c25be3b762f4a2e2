"""Progress on a terminal: one line that each message overwrites, cleared at the end; nothing at all when the
stream is a file or a pipe (a script's log gets the results, not the progress)."""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Callable, Iterator
from typing import TextIO

_CLEAR_LINE = "\r\x1b[K"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


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
        # one screen line (a wrapped line would stay behind), without control characters (a file name's)
        width = max(shutil.get_terminal_size().columns - 1, 20)
        text = _CONTROL.sub("?", message)
        stream.write(_CLEAR_LINE + (text if len(text) <= width else text[: width - 1] + "…"))
        stream.flush()

    try:
        yield tell
    finally:
        if told:
            stream.write(_CLEAR_LINE)
            stream.flush()
