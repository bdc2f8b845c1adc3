"""Live watchlists in process: an edit noticed by its modification time is loaded; a broken
edit is reported once with FILE:LINE and the last good version stays in force."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest
import yaml

from monitor.config.load import load_config
from monitor.runtime.app import App, build_app
from tests.conftest import REPO

# A watchlist matching one word: .format(name=..., word=...)
WATCHLIST = (REPO / "tests/data/watchlists/one_word.yaml.template").read_text(encoding="utf-8")


@pytest.fixture
def app(tmp_path: Path) -> App:
    (tmp_path / "watchlists").mkdir()
    (tmp_path / "watchlists" / "alpha.yaml").write_text(
        WATCHLIST.format(name="alpha", word="Aardvark")
    )
    config = {
        "database": {"url": f"sqlite:///{tmp_path / 'newsmon.db'}"},
        "watchlists": "watchlists",
        "notifiers": {"console": {}},
        "http": {"listen": None},
    }
    (tmp_path / "newsmon.yaml").write_text(yaml.safe_dump(config))
    return build_app(load_config(str(tmp_path / "newsmon.yaml")), migrate=False)


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
    touch_later(path, WATCHLIST.format(name="alpha", word="Zebra"))
    assert app.reload_watchlists() is True
    assert "Zebra" in str(app.compiled.by_name["alpha"].terms)
    good = app.compiled

    touch_later(path, WATCHLIST.format(name="alpha", word="Zebra") + "match: [unclosed\n")
    with caplog.at_level(logging.ERROR, logger="newsmon"):
        assert app.reload_watchlists() is False
        assert app.reload_watchlists() is False  # the same broken edit is reported once
    assert app.compiled.by_name == good.by_name and app.compiled.matcher is good.matcher
    assert app.reload_error and re.search(re.escape(str(path)) + r":\d+: ", app.reload_error)
    errors = [r for r in caplog.records if "reload failed" in r.getMessage()]
    assert len(errors) == 1 and str(path) in errors[0].getMessage()

    touch_later(path, WATCHLIST.format(name="alpha", word="Okapi"))
    assert app.reload_watchlists() is True
    assert app.reload_error is None
    assert "Okapi" in str(app.compiled.by_name["alpha"].terms)
