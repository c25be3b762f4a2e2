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

import contextlib
import gc
import os
import pickle
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, Generic, TypeVar, Union

import numpy as np
import pyarrow as pa
import shapely

from .blocks import check_block, check_records
from .model import PreparedBlock, prepare_block

if TYPE_CHECKING:
    from .blocks import Block

HELPER_ENV: Final = "INCIDENTS_HELPER"  # "0": never start one
HELPER_FROM_BYTES: Final = 48 * 1024 * 1024  # a smaller file is checked before a helper would have started
HELD: Final = 2  # blocks handed over at a time: one being checked, the next one waiting for it
_READY: Final = b"ready"
_ANSWER_SECONDS: Final = 120.0  # a block takes well under a second: a helper this late is stuck


class HelperFailed(Exception):
    """The helper could not answer; the caller checks the block itself."""


_PACKAGE: Final = Path(__file__).resolve().parent


def helper_wanted(size: int) -> bool:
    """Whether a file of ``size`` bytes is worth a helper on this machine (``INCIDENTS_HELPER=0``: never; only
    where pipes can be waited on, POSIX)."""
    return (os.environ.get(HELPER_ENV, "1") != "0" and os.name == "posix" and (os.cpu_count() or 1) >= 2
            and size >= HELPER_FROM_BYTES)


def helper_for(size: int) -> contextlib.AbstractContextManager[BlockHelper | None]:
    """A helper for checking a file of ``size`` bytes, when it is worth one (:func:`helper_wanted`), else None."""
    return BlockHelper() if helper_wanted(size) else contextlib.nullcontext()


def helper_command() -> list[str]:
    """How the helper is started: this Python, this package — ``-P``: never a module from the working directory,
    nor the caller's main module (the package's folder is put first on its path, see :func:`_helper_environment`)."""
    return [sys.executable, "-P", "-m", "incidents.helper"]


def _helper_environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PACKAGE.parent), environment.get("PYTHONPATH")]))
    return environment


def _ready_line() -> bytes:
    """What a helper says when it is ready: which package it runs (the parent's own, or it is not used)."""
    return _READY + b" " + os.fsencode(_PACKAGE)


class BlockHelper:
    """The parent's handle on one helper process, with up to :data:`HELD` blocks handed over at a time."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._selector: selectors.BaseSelector | None = None
        self._folder: Path | None = None
        self._lines = b""
        self._ready = False
        self._handed = 0
        self._owed: deque[Path] = deque()  # the answer files owed, in the order the blocks were handed over
        self._failed = False

    def __enter__(self) -> BlockHelper:
        try:
            self._folder = Path(tempfile.mkdtemp(prefix="incidents-helper-"))
            self._process = subprocess.Popen(helper_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=subprocess.DEVNULL, close_fds=True, bufsize=0,
                                             env=_helper_environment())
            assert self._process.stdout is not None
            self._selector = selectors.DefaultSelector()  # epoll here: no limit on descriptor numbers
            self._selector.register(self._process.stdout, selectors.EVENT_READ)
        except (OSError, ValueError):
            self._fail()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def idle(self) -> bool:
        """Ready for another block (started, and holding fewer than :data:`HELD`); never waits."""
        if self._failed or len(self._owed) >= HELD:
            return False
        if not self._ready:
            line = self._line(wait=0.0)
            if line is None:
                return False  # still starting: Python and the package take most of a second to load
            self._ready = line == _ready_line()
            if not self._ready:
                self._fail()
        return self._ready

    def held(self) -> int:
        """How many blocks handed over are still to be taken."""
        return len(self._owed)

    def hand(self, block: bytes, *, file: str, first: int) -> bool:
        """Hand ``block`` over (only when :meth:`idle`); False when the helper failed."""
        return self._request(("lines", block, file, first))

    def hand_records(self, records: pa.Array, shapes: np.ndarray, *, file: str, first: int) -> bool:
        """Hand a batch of GeoParquet records over (see :func:`~incidents.blocks.check_records`)."""
        return self._request(("records", records, shapely.to_wkb(shapes), file, first))

    def _request(self, request_value: tuple[Any, ...]) -> bool:
        assert self._process is not None and self._process.stdin is not None and self._folder is not None
        self._handed += 1
        request = self._folder / f"{self._handed}.request"
        try:
            request.write_bytes(pickle.dumps(request_value, protocol=pickle.HIGHEST_PROTOCOL))
            self._process.stdin.write(os.fsencode(request) + b"\n")
        except (OSError, ValueError):
            self._fail()
            return False
        self._owed.append(request.with_suffix(".answer"))
        return True

    def answered(self) -> bool:
        """Whether the answer for the first block held is there to take; never waits."""
        return bool(self._owed) and not self._failed and self._has_line(wait=0.0)

    def take(self) -> PreparedBlock | None:
        """The answer for the first block held: the block as arrays, or None (not ordinary). Raises
        :class:`HelperFailed` when there is none."""
        expected = self._owed.popleft()
        if self._failed:
            raise HelperFailed("the helper failed before")
        line = self._line(wait=_ANSWER_SECONDS)
        try:
            if line is None:
                raise HelperFailed("no answer")
            answer_file = Path(os.fsdecode(line))
            if answer_file != expected:  # outside its folder, or for another block
                raise HelperFailed(f"an answer not for the block owed ({expected.name}): {line!r}")
            data = answer_file.read_bytes()
            answer_file.unlink()
            answer = pickle.loads(data)
            if answer is not None and not (isinstance(answer, PreparedBlock) and answer.consistent()):
                raise HelperFailed(f"not a block's answer: {type(answer).__name__}")
        except Exception as error:  # whatever went wrong, the block is checked here instead
            self._fail()
            raise HelperFailed(str(error)) from None
        return answer

    def close(self) -> None:
        process, self._process = self._process, None
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        if process is not None:
            process.kill()  # between blocks it holds nothing worth keeping: stopped and reaped now
            process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def _has_line(self, *, wait: float) -> bool:
        if b"\n" in self._lines:
            return True
        if self._process is None or self._process.stdout is None or self._selector is None:
            return False
        deadline = time.monotonic() + wait  # for the whole line, however it arrives
        try:
            while self._selector.select(max(0.0, deadline - time.monotonic())):
                data = os.read(self._process.stdout.fileno(), 65536)
                if not data:  # the helper is gone
                    self._fail()
                    return False
                self._lines += data
                if b"\n" in self._lines:
                    return True
        except (OSError, ValueError):
            self._fail()
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


class Mark:
    """An item's state while it waits: with the helper, or to be checked again here (the helper failed)."""


HANDED: Final = Mark()
AGAIN: Final = Mark()
Answer = Union["Block", PreparedBlock, Mark, None]
Item = TypeVar("Item")
_MOST_WAITING: Final = 4  # items checked ahead of one the helper holds: what a load holds besides the frame


class InOrder(Generic[Item]):
    """Items (blocks, batches) checked here or, meanwhile, by a helper, and finished in the order they came:
    ``finish(item, answer)`` gets each with its answer (a block, None when it is not ordinary, or :data:`AGAIN`
    when the helper failed and it must be checked here)."""

    def __init__(self, helper: BlockHelper | None, finish: Callable[[Item, Answer], None]) -> None:
        self._helper = helper
        self._finish = finish
        self._waiting: deque[list[Any]] = deque()  # [item, answer or HANDED]

    def waiting(self) -> list[Item]:
        """The items not finished yet, in order."""
        return [entry[0] for entry in self._waiting]

    def add(self, item: Item, *, hand: Callable[[BlockHelper], bool], check: Callable[[], Answer]) -> None:
        """Hand ``item`` to the helper when it is free (``hand(helper)``), else ``check()`` it here."""
        helper = self._helper
        self._collect(wait=False)
        if helper is not None and helper.idle() and hand(helper):
            self._waiting.append([item, HANDED])
        else:
            self._waiting.append([item, check()])
            self._collect(wait=len(self._waiting) > _MOST_WAITING)
        self._finish_ready()

    def flush(self) -> None:
        """Finish every item, waiting for the helper's answers."""
        while self._waiting:
            self._collect(wait=True)
            self._finish_ready()

    def _collect(self, *, wait: bool) -> None:
        """Note the helper's answers that are there (or ``wait`` for the first one it owes)."""
        helper = self._helper
        while helper is not None and helper.held() and (wait or helper.answered()):
            wait = False
            entry = next(entry for entry in self._waiting if entry[1] is HANDED)
            try:
                entry[1] = helper.take()
            except HelperFailed:
                entry[1] = AGAIN

    def _finish_ready(self) -> None:
        while self._waiting and self._waiting[0][1] is not HANDED:
            item, answer = self._waiting.popleft()
            self._finish(item, answer)


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """The helper's loop: answer each request, in order, until the parent closes its end."""
    gc.disable()  # as in the parent's load: a block's many small objects go by reference counting
    answers.write(_ready_line() + b"\n")
    answers.flush()
    for line in requests:
        request = Path(os.fsdecode(line.rstrip(b"\n")))
        kind, *values = pickle.loads(request.read_bytes())
        request.unlink()
        if kind == "lines":
            block, file, first = values
            checked = check_block(block, file=file, first=first)
        else:
            records, wkb, file, first = values
            checked = check_records(records, shapely.from_wkb(wkb), file=file, first=first)
        answer = request.with_suffix(".answer")
        answer.write_bytes(pickle.dumps(None if checked is None else prepare_block(checked),
                                        protocol=pickle.HIGHEST_PROTOCOL))
        answers.write(os.fsencode(answer) + b"\n")
        answers.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
