"""Without Chromium the browser tests fail with a message that says how to install it; they are never skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import CHROMIUM, require_chromium


def test_a_missing_browser_fails_and_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"missing: .*apt-get install chromium.*never skipped"):
        require_chromium(tmp_path / "chromium")


def test_the_browser_is_here() -> None:
    require_chromium()
    assert CHROMIUM.is_file()
