"""Live watchlists in process: an edit noticed by its modification time is loaded; a broken
edit is reported once with FILE:LINE and the last good version stays in force."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.runtime.app import App
from tests.support.config import ONE_WORD, write_config, write_one_word_watchlist

# A watchlist matching one word: .format(name=..., word=...)


@pytest.fixture
def app(tmp_path: Path, make_app: Callable[..., App]) -> App:
    write_one_word_watchlist(tmp_path, "alpha", "Aardvark")
    config = write_config(tmp_path, watchlists="watchlists", notifiers={"console": {}})
    return make_app(config, migrate=False)


def touch_later(path: Path, text: str) -> None:
    """Write ``text`` with a modification time clearly after the previous one."""
    before = path.stat().st_mtime if path.exists() else 0.0
    path.write_text(text)
    os.utime(path, (before + 10, before + 10))


def test_unchanged_files_are_not_reloaded(app: App) -> None:
    assert app.reload_watchlists() is False


def test_an_edit_is_loaded_and_a_broken_edit_keeps_the_last_good_version(
    app: App, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "watchlists" / "alpha.yaml"
    touch_later(path, ONE_WORD.format(name="alpha", word="Zebra"))
    assert app.reload_watchlists() is True
    assert "Zebra" in str(app.compiled.by_name["alpha"].terms)
    good = app.compiled

    touch_later(path, ONE_WORD.format(name="alpha", word="Zebra") + "match: [unclosed\n")
    with caplog.at_level(logging.ERROR, logger="newsmon"):
        assert app.reload_watchlists() is False
        assert app.reload_watchlists() is False  # the same broken edit is reported once
    assert app.compiled.by_name == good.by_name and app.compiled.matcher is good.matcher
    assert app.reload_error and re.search(re.escape(str(path)) + r":\d+: ", app.reload_error)
    errors = [r for r in caplog.records if "reload failed" in r.getMessage()]
    assert len(errors) == 1 and str(path) in errors[0].getMessage()

    touch_later(path, ONE_WORD.format(name="alpha", word="Okapi"))
    assert app.reload_watchlists() is True
    assert app.reload_error is None
    assert "Okapi" in str(app.compiled.by_name["alpha"].terms)
