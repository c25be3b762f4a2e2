"""The suite fails when any test is skipped (the hook in conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


def test_a_skipped_test_fails_the_run(pytester: pytest.Pytester) -> None:
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text())
    pytester.makepyfile(test_skipping="import pytest\n\ndef test_skipped():\n    pytest.skip('no browser')\n\n"
                                      "def test_fine():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*no test may be skipped: 1 skipped: test_skipping.py::test_skipped*"])


def test_a_clean_run_passes(pytester: pytest.Pytester) -> None:
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text())
    pytester.makepyfile(test_fine="def test_fine():\n    assert 2 * 2 == 4\n")
    assert pytester.runpytest("-q", "-p", "no:cacheprovider").ret == 0
