"""The helper process (incidents.helper): a load with it gives exactly what a load without it gives — the same
dataset or the same messages — whatever the blocks hold, and a helper that fails costs only time."""

from __future__ import annotations

import json
import os
import pickle
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from incidents import bulk, helper, load_incidents, load_incidents_bytes, store, streaming
from incidents.blocks import Block, check_block, check_records
from incidents.model import FrameBuilder, PreparedBlock, prepare_block
from incidents.synth import synthetic_features

from .test_blocks import COMPACT, _file, _parquet_with_records
from .test_quickcheck import _mutated
from .test_streaming import Outcome, assert_same, outcome


class InProcessHelper:
    """A helper in this process whose answers come when a seeded coin says so: every order in which a real
    helper's answers can arrive, replayed deterministically. Answers go through pickle as a real helper's do."""

    def __init__(self, seed: int) -> None:
        self._coin = random.Random(seed)
        self._held: deque[Callable[[], Block | None]] = deque()  # the checks the helper owes, in order

    def __enter__(self) -> InProcessHelper:
        return self

    def __exit__(self, error: type[BaseException] | None, *exc_info: object) -> None:
        assert error is not None or not self._held  # a load that went through took every answer

    def close(self) -> None:
        assert not self._held  # closed once every answer was taken

    def idle(self) -> bool:
        return len(self._held) < helper.HELD and self._coin.random() < 0.8

    def held(self) -> int:
        return len(self._held)

    def hand(self, block: bytes, *, file: str, first: int) -> bool:
        self._held.append(lambda: check_block(block, file=file, first=first))
        return True

    def hand_records(self, records: Any, shapes: Any, *, file: str, first: int) -> bool:
        self._held.append(lambda: check_records(records, shapes, file=file, first=first))
        return True

    def answered(self) -> bool:
        return bool(self._held) and self._coin.random() < 0.5

    def take(self) -> PreparedBlock | None:
        checked = self._held.popleft()()
        return None if checked is None else pickle.loads(pickle.dumps(prepare_block(checked)))


@pytest.fixture(params=["helper process", "in process, seed 1", "in process, seed 2"])
def answered(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[bool]:
    """Every load gets a helper, ready before the first block; blocks are small, so there are many. Lists, for
    each block the helper was asked about, whether it answered."""
    if request.param != "helper process":
        seed = int(request.param[-1])
        monkeypatch.setattr(helper, "BlockHelper", lambda: InProcessHelper(seed))
        monkeypatch.setattr(InProcessHelper, "take", _counted(InProcessHelper.take, answers := []))
        monkeypatch.setattr(helper, "HELPER_FROM_BYTES", 0)
        monkeypatch.setattr(bulk, "BLOCK_BYTES", 8192)
        monkeypatch.setattr(streaming, "CHUNK_BYTES", 65536)
        return answers
    return _with_helper_process(monkeypatch, tmp_path)


@pytest.fixture
def process_answered(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[bool]:
    """:func:`answered` with a helper process only."""
    return _with_helper_process(monkeypatch, tmp_path)


def _with_helper_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[bool]:
    monkeypatch.setattr(helper, "HELPER_FROM_BYTES", 0)
    monkeypatch.setenv(helper.HELPER_ENV, "1")
    monkeypatch.setattr(bulk, "BLOCK_BYTES", 8192)
    monkeypatch.setattr(streaming, "CHUNK_BYTES", 65536)  # what a large file's reader holds to: 16 MB of 1 GB
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the helper's folders go: checked empty after
    answers: list[bool] = []
    enter, take = helper.BlockHelper.__enter__, helper.BlockHelper.take

    def enter_and_wait(self: helper.BlockHelper) -> helper.BlockHelper:
        enter(self)
        deadline = time.monotonic() + READY_WAIT
        while not self.idle() and not self._failed and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    monkeypatch.setattr(helper.BlockHelper, "__enter__", enter_and_wait)
    monkeypatch.setattr(helper.BlockHelper, "take", _counted(take, answers))
    return answers


def _counted(take: Any, answers: list[bool]) -> Any:
    def counted(self: Any) -> Any:
        try:
            result = take(self)
        except helper.HelperFailed:
            answers.append(False)
            raise
        answers.append(True)
        return result

    return counted


READY_WAIT = 60.0  # seconds a test waits for its helper to be ready before the load starts


def _load(data: bytes) -> Outcome:
    return outcome(lambda: load_incidents_bytes(data, name="f.geojson", nested=False))


def _alone(data: bytes) -> Outcome:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(helper.HELPER_ENV, "0")
        return _load(data)


def _compare(data: bytes) -> None:
    assert_same(_load(data), _alone(data))


SYNTHETIC = [json.dumps(feature, **COMPACT) for feature in synthetic_features(1500, seed=4)]


def test_synthetic_data_loads_the_same_with_the_helper(answered: list[bool], tmp_path: Path) -> None:
    _compare(_file(SYNTHETIC))
    assert answered.count(True) >= 20 and all(answered)
    assert not list(tmp_path.iterdir())  # the helper's folder is gone


@pytest.mark.parametrize("seed", range(3))
def test_broken_features_among_ordinary_ones_give_the_same_messages_in_the_same_order(
        seed: int, answered: list[bool]) -> None:
    rng = random.Random(seed)
    bases = list(synthetic_features(40, seed=seed))
    lines = list(SYNTHETIC[:600])
    for position in sorted(rng.sample(range(600), 12)):
        lines[position] = json.dumps(_mutated(rng.choice(bases), rng), **COMPACT)
    _compare(_file(lines))
    assert answered.count(True) >= 10


def test_features_sharing_a_line_or_spread_over_lines_are_numbered_as_without_the_helper(
        answered: list[bool]) -> None:
    lines = list(SYNTHETIC[:900])
    lines[100] = lines[100] + "," + lines.pop(101)  # two features on one line: the blocks after it renumbered
    spread = json.loads(lines[400])
    lines[400] = json.dumps(spread, indent=1, ensure_ascii=False)  # one feature over many lines
    _compare(_file(lines))  # the same feature numbers
    broken = json.loads(lines[700])
    broken["properties"]["status"] = "confirmed"
    lines[700] = json.dumps(broken, **COMPACT)
    outcome_with = _load(_file(lines))
    assert outcome_with[0] == "refused" and any("#702 (synthetic-0000701)" in text for text in outcome_with[1])
    assert_same(outcome_with, _alone(_file(lines)))
    assert answered.count(True) >= 10


def test_an_exponent_halfway_turns_the_block_path_off_from_there_on(answered: list[bool]) -> None:
    lines = list(SYNTHETIC[:900])
    feature = json.loads(lines[500])
    feature["properties"]["uncertainty_m"] = 1500
    lines[500] = json.dumps(feature, **COMPACT).replace('"uncertainty_m":1500', '"uncertainty_m":1.5e3')
    _compare(_file(lines))
    assert answered.count(True) >= 5


READY = f"print({helper._ready_line().decode()!r}, flush=True)"
ANSWER = ("import pathlib, sys; {ready}\nfor line in sys.stdin:\n"
          "    answer = pathlib.Path(line.strip()).with_suffix('.answer')\n"
          "    answer.write_bytes({payload})\n    print(answer, flush=True)")
BROKEN_HELPERS = {  # program, whether it is ever handed a block
    "dies at once": ("import sys; sys.exit(3)", False),
    "never ready, never ends": ("import time; time.sleep(600)", False),
    "another package": ("import sys; print('ready /somewhere/else/incidents', flush=True); sys.stdin.read()", False),
    "says something else": ("import sys; print('hello', flush=True); sys.stdin.read()", False),
    "dies on the first block": (f"import sys; {READY}; sys.stdin.readline()", True),
    "hangs": (f"import sys, time; {READY}; sys.stdin.readline(); time.sleep(600)", True),
    "answers outside its folder": (f"import sys; {READY}; [print('/etc/hostname', flush=True) for _ in sys.stdin]",
                                   True),
    "answers a broken pickle": (ANSWER.format(ready=READY, payload="b'cincidents.model\\nnope\\n.'"), True),
    "answers garbage shapes": (ANSWER.format(ready=READY, payload=(
        "__import__('pickle').dumps(__import__('incidents.model').model._unpickled_block(0, {}, "
        "__import__('numpy').array([b'nonsense'], dtype=object), __import__('numpy').zeros(0, 'int64'), "
        "__import__('numpy').zeros(0, 'datetime64[s]'), []))")), True),
    "answers two blocks in the wrong order": (
        f"import pathlib, pickle, sys; from incidents.blocks import check_block; "
        f"from incidents.model import prepare_block; {READY}\n"
        "def answer(line):\n"
        "    request = pathlib.Path(line.strip()); kind, block, file, first = pickle.loads(request.read_bytes())\n"
        "    checked = check_block(block, file=file, first=first)\n"
        "    path = request.with_suffix('.answer')\n"
        "    path.write_bytes(pickle.dumps(None if checked is None else prepare_block(checked)))\n"
        "    return path\n"
        "while (first := sys.stdin.readline()):\n"
        "    second = sys.stdin.readline()\n"
        "    answers = [answer(first)] + ([answer(second)] if second else [])\n"
        "    for path in reversed(answers):\n"
        "        print(path, flush=True)", True),
    "answers a block of another size": (ANSWER.format(ready=READY, payload=(
        "__import__('pickle').dumps(__import__('incidents.model').model.PreparedBlock(3, {}, "
        "__import__('numpy').array([None] * 3, dtype=object), __import__('numpy').zeros(0, 'int64'), "
        "__import__('numpy').zeros(0, 'datetime64[s]'), []))")), True),
}


@pytest.mark.parametrize("name", BROKEN_HELPERS)
def test_a_helper_that_fails_costs_only_time(name: str, process_answered: list[bool], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    program, asked = BROKEN_HELPERS[name]
    monkeypatch.setattr(helper, "helper_command", lambda: [sys.executable, "-c", program])
    monkeypatch.setattr(helper, "_ANSWER_SECONDS", 2.0)
    if not asked:
        monkeypatch.setattr(sys.modules[__name__], "READY_WAIT", 3.0)
    before = _children()
    _compare(_file(SYNTHETIC[:600]))
    # the blocks it held when it failed (at most HELD), then never asked again
    assert not any(process_answered) and (1 <= len(process_answered) <= helper.HELD if asked else not process_answered)
    assert Path("/etc/hostname").exists()
    assert not list(tmp_path.iterdir())  # its folder removed
    assert _children() == before  # and the process stopped and reaped


def _children() -> set[int]:
    """This process's child processes (zombies included)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            found.add(int(stat.parent.name))
    return found


def test_the_helper_runs_this_package_not_one_in_the_working_folder(answered: list[bool], tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    impostor = tmp_path / "work" / "incidents"
    impostor.mkdir(parents=True)
    marker = tmp_path / "impostor-ran"
    (impostor / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    (impostor / "helper.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    monkeypatch.chdir(impostor.parent)
    _compare(_file(SYNTHETIC[:600]))
    assert not marker.exists()
    assert answered.count(True) >= 5 or not isinstance(answered, list)


def test_a_process_with_many_open_files_still_gets_its_helper(process_answered: list[bool]) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    opened = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]  # descriptors past select()'s 1024
    try:
        _compare(_file(SYNTHETIC[:600]))
    finally:
        for descriptor in opened:
            os.close(descriptor)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert process_answered.count(True) >= 5


def test_a_script_without_a_main_guard_runs_once(tmp_path: Path) -> None:
    data = tmp_path / "synthetic.geojson"
    data.write_bytes(_file(SYNTHETIC))
    runs = tmp_path / "runs.txt"
    script = tmp_path / "script.py"
    script.write_text(
        "import time\n"
        "from incidents import bulk, helper, load_incidents\n"
        f"open({str(runs)!r}, 'a').write('ran\\n')\n"
        "helper.HELPER_FROM_BYTES = 0\n"
        "bulk.BLOCK_BYTES = 8192\n"
        "taken = []\n"
        "take = helper.BlockHelper.take\n"
        "helper.BlockHelper.take = lambda self: taken.append(1) or take(self)\n"
        "enter = helper.BlockHelper.__enter__\n"
        "def ready(self):\n"
        "    enter(self)\n"
        "    while not self.idle():\n"
        "        time.sleep(0.01)\n"
        "    return self\n"
        "helper.BlockHelper.__enter__ = ready\n"
        f"print(len(load_incidents({str(data)!r}, nested=False)), len(taken) > 0)\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "INCIDENTS_HELPER": "1", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1500", "True"]
    assert runs.read_text() == "ran\n"


@pytest.mark.parametrize("kind", ["GeoJSON", "GeoParquet"])
def test_the_helper_process_is_gone_before_the_frame_is_built(kind: str, process_answered: list[bool],
                                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "_BATCH_ROWS", 16)
    path = tmp_path / "data.geojson"
    path.write_bytes(_file(SYNTHETIC))
    if kind == "GeoParquet":
        path = _parquet_with_records(tmp_path, SYNTHETIC[:800], None)
    helpers: list[helper.BlockHelper] = []
    running_at_build: list[bool] = []
    enter, build = helper.BlockHelper.__enter__, FrameBuilder.build

    def entered(self: helper.BlockHelper) -> helper.BlockHelper:
        helpers.append(self)
        return enter(self)

    def built(self: FrameBuilder, **options: Any) -> Any:
        running_at_build.extend(h._process is not None for h in helpers)
        return build(self, **options)

    monkeypatch.setattr(helper.BlockHelper, "__enter__", entered)
    monkeypatch.setattr(FrameBuilder, "build", built)
    process_answered.clear()
    assert len(load_incidents(path, nested=False)) == (1500 if kind == "GeoJSON" else 800)
    assert process_answered.count(True) >= 5 and running_at_build == [False]


def _parquet_rewrite(index: int, text: str) -> str:
    if index == 130:
        return text.replace('"status":"', '"status":"un', 1)  # not a status
    if index == 300:
        return text[:-1]  # not JSON
    if index % 97 == 5:
        return text.replace('{"', '{ "', 1)  # a blank: that batch one record at a time
    return text


@pytest.mark.parametrize("rewrite", [None, _parquet_rewrite], ids=["plain", "broken records"])
def test_geoparquet_loads_the_same_with_the_helper(rewrite: Any, answered: list[bool], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "_BATCH_ROWS", 16)
    path = _parquet_with_records(tmp_path, SYNTHETIC[:800], rewrite)
    with_helper = outcome(lambda: load_incidents(path, nested=False))
    monkeypatch.setenv(helper.HELPER_ENV, "0")
    assert_same(with_helper, outcome(lambda: load_incidents(path, nested=False)))
    assert with_helper[0] == ("loaded" if rewrite is None else "refused")
    assert answered.count(True) >= 5
