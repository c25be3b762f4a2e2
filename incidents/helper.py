"""A second process that checks blocks of a large file while this one checks others: the second core.

Checking a block is Python (msgspec's decoding holds Python's lock too), so threads cannot share it; a helper
process can. It is this package run as a program (``python -m incidents.helper``), started with a plain
:class:`subprocess.Popen` — not :mod:`multiprocessing`, which re-runs the caller's main module in the child and
so breaks scripts without a ``__main__`` guard. For each request (a block, its file's name, the number of its
first feature) it answers with the block checked and laid out as arrays (:class:`~incidents.model.PreparedBlock`),
or ``None`` when the block is not ordinary (the caller then checks it feature by feature, in order).

Blocks and answers travel as files in a private folder, only their names as lines through the pipes: a pipe holds
64 KB, and a process reading megabytes through it while another thread computes waits for Python's lock after
every piece, which slowed both processes down more than the helper saved. The two processes trust each other
(pickles between a parent and the child it started, in a folder only they know). Anything unexpected — the
helper fails to start, dies, answers late or wrongly — and the caller checks the block itself: a helper only
ever saves time.
"""

from __future__ import annotations

import gc
import os
import pickle
import select
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO, Final

from .blocks import check_block
from .model import PreparedBlock, prepare_block

HELPER_ENV: Final = "INCIDENTS_HELPER"  # "0": never start one
HELPER_FROM_BYTES: Final = 48 * 1024 * 1024  # a smaller file is checked before a helper would have started
HELD: Final = 2  # blocks handed over at a time: one being checked, the next one waiting for it
_READY: Final = b"ready"
_ANSWER_SECONDS: Final = 120.0  # a block takes well under a second: a helper this late is stuck


class HelperFailed(Exception):
    """The helper could not answer; the caller checks the block itself."""


def helper_wanted(size: int) -> bool:
    """Whether a file of ``size`` bytes is worth a helper on this machine (``INCIDENTS_HELPER=0``: never)."""
    return os.environ.get(HELPER_ENV, "1") != "0" and (os.cpu_count() or 1) >= 2 and size >= HELPER_FROM_BYTES


def helper_command() -> list[str]:
    """How the helper is started: this Python, this package (never the caller's main module)."""
    return [sys.executable, "-m", "incidents.helper"]


class BlockHelper:
    """The parent's handle on one helper process, with up to :data:`HELD` blocks handed over at a time."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._folder: Path | None = None
        self._lines = b""
        self._ready = False
        self._held = 0
        self._handed = 0
        self._failed = False

    def __enter__(self) -> BlockHelper:
        try:
            self._folder = Path(tempfile.mkdtemp(prefix="incidents-helper-"))
            self._process = subprocess.Popen(helper_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=subprocess.DEVNULL, close_fds=True, bufsize=0)
        except OSError:
            self._failed = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def idle(self) -> bool:
        """Ready for another block (started, and holding fewer than :data:`HELD`); never waits."""
        if self._failed or self._held >= HELD:
            return False
        if not self._ready:
            line = self._line(wait=0.0)
            if line is None:
                return False  # still starting: Python and the package take most of a second to load
            self._ready = line == _READY
            if not self._ready:
                self._fail()
        return self._ready

    def held(self) -> int:
        """How many blocks handed over are still to be taken."""
        return self._held

    def hand(self, block: bytes, *, file: str, first: int) -> bool:
        """Hand ``block`` over (only when :meth:`idle`); False when the helper failed."""
        assert self._process is not None and self._process.stdin is not None and self._folder is not None
        self._handed += 1
        request = self._folder / f"{self._handed}.request"
        try:
            request.write_bytes(pickle.dumps((block, file, first), protocol=pickle.HIGHEST_PROTOCOL))
            self._process.stdin.write(os.fsencode(request) + b"\n")
        except (OSError, ValueError):
            self._fail()
            return False
        self._held += 1
        return True

    def answered(self) -> bool:
        """Whether the answer for the first block held is there to take; never waits."""
        return self._held > 0 and not self._failed and self._has_line(wait=0.0)

    def take(self) -> PreparedBlock | None:
        """The answer for the first block held: the block as arrays, or None (not ordinary). Raises
        :class:`HelperFailed` when there is none."""
        assert self._held > 0
        self._held -= 1
        if self._failed:
            raise HelperFailed("the helper failed before")
        line = self._line(wait=_ANSWER_SECONDS)
        try:
            if line is None:
                raise HelperFailed("no answer")
            answer_file = Path(os.fsdecode(line))
            if answer_file.parent != self._folder:
                raise HelperFailed(f"an answer outside the helper's folder: {line!r}")
            data = answer_file.read_bytes()
            answer_file.unlink()
            answer = pickle.loads(data)
        except (OSError, pickle.UnpicklingError, EOFError, TypeError, ValueError, HelperFailed) as error:
            self._fail()
            raise HelperFailed(str(error)) from None
        if answer is not None and not isinstance(answer, PreparedBlock):
            self._fail()
            raise HelperFailed(f"unexpected answer {type(answer).__name__}")
        return answer

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if self._held or self._failed:  # blocks no longer wanted, or a helper gone wrong: stopped now
                process.kill()
            try:
                if process.stdin is not None:
                    process.stdin.close()  # the helper's end of input: it exits (reaped by subprocess later)
                process.wait(timeout=0.0)
            except (OSError, subprocess.TimeoutExpired):
                pass
            if process.stdout is not None:
                process.stdout.close()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def _has_line(self, *, wait: float) -> bool:
        if b"\n" in self._lines:
            return True
        if self._process is None or self._process.stdout is None:
            return False
        stdout = self._process.stdout
        while select.select([stdout], [], [], wait)[0]:
            data = os.read(stdout.fileno(), 65536)
            if not data:  # the helper is gone
                self._fail()
                return False
            self._lines += data
            if b"\n" in self._lines:
                return True
        return False

    def _line(self, *, wait: float) -> bytes | None:
        if self._failed or not self._has_line(wait=wait):
            return None
        line, _, self._lines = self._lines.partition(b"\n")
        return line

    def _fail(self) -> None:
        self._failed = True
        if self._process is not None:
            self._process.kill()


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """The helper's loop: answer each request, in order, until the parent closes its end."""
    gc.disable()  # as in the parent's load: a block's many small objects go by reference counting
    answers.write(_READY + b"\n")
    answers.flush()
    for line in requests:
        request = Path(os.fsdecode(line.rstrip(b"\n")))
        block, file, first = pickle.loads(request.read_bytes())
        request.unlink()
        checked = check_block(block, file=file, first=first)
        answer = request.with_suffix(".answer")
        answer.write_bytes(pickle.dumps(None if checked is None else prepare_block(checked),
                                        protocol=pickle.HIGHEST_PROTOCOL))
        answers.write(os.fsencode(answer) + b"\n")
        answers.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
