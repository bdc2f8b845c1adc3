"""The CLI tells the truth: exit codes, quiet pipes, listings that never create a database,
unknown figure names, and notifier secrets that `validate` checks."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli.main import main
from tests.support.paths import REPO

ROOT = REPO


@pytest.fixture()
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder with the shipped watchlists and a console-only config."""
    shutil.copytree(ROOT / "watchlists", tmp_path / "watchlists")
    (tmp_path / "newsmon.yaml").write_text("notifiers: {console: {}}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for name in ("NEWSMON_CONFIG", "NEWSMON_DATABASE_URL", "SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.mark.parametrize("command", [["feeds"], ["alerts", "--json"], ["figures"]])
def test_listing_commands_never_create_a_database(
    folder: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(command) == 1
    assert not (folder / "newsmon.db").exists()
    err = capsys.readouterr().err
    assert err.startswith("newsmon: database sqlite:///newsmon.db does not exist")
    assert "newsmon db upgrade" in err


def test_listing_commands_refuse_a_database_at_an_old_schema_without_migrating_it(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from storage.db import current_revision, make_engine, upgrade

    engine = make_engine("sqlite:///newsmon.db")
    upgrade(engine, "0001")
    assert main(["feeds", "--json"]) == 1
    assert "`newsmon db upgrade` migrates it" in capsys.readouterr().err
    assert current_revision(engine) == "0001"


def test_an_unknown_figure_name_lists_the_known_ones(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 0
    assert main(["figures", "nk_kiled"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("newsmon: no figure named 'nk_kiled'; known figures: ")
    assert "nk_killed" in err and "kn23_missiles" in err
    assert main(["figures", "nk_killed"]) == 0
    assert capsys.readouterr().out.strip() == "no values stored for nk_killed"


@pytest.mark.parametrize(
    "argv", [["bogus"], ["figures", "--bogus"], ["alerts", "--limit", "x"], [], ["db"]]
)
def test_usage_errors_exit_1_with_the_usage_on_stderr(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 1
    assert "usage: newsmon" in capsys.readouterr().err


def test_validate_fails_when_a_configured_notifiers_secret_is_missing(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "newsmon.yaml").write_text(
        "notifiers:\n  slack: {channel: '#news'}\n  console: {}\n", encoding="utf-8"
    )
    assert main(["validate"]) == 1
    err = capsys.readouterr().err
    assert "newsmon.yaml: notifiers.slack: " in err and "SLACK_BOT_TOKEN" in err

    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.example/T0/B0/secret")
    assert main(["validate"]) == 0


def test_json_into_a_closed_pipe_ends_quietly(folder: Path) -> None:
    assert main(["db", "upgrade"]) == 0
    read, write = os.pipe()
    os.close(read)  # the reader (think `| head`) has already gone
    try:
        done = subprocess.run(
            [sys.executable, "-m", "monitor", "figures", "--json"],
            stdout=write,
            stderr=subprocess.PIPE,
            cwd=folder,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write)
    assert done.stderr == b""
    assert done.returncode == 141


def test_every_commands_help_ends_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    from monitor.cli.main import build_parser

    parser = build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    commands = sub.choices
    assert set(commands) >= {"run", "validate", "inspect", "figures", "feeds", "alerts", "db"}
    for name in commands:
        with pytest.raises(SystemExit) as info:
            main([name, "--help"])
        assert info.value.code == 0
        out = capsys.readouterr().out
        assert f"\n  newsmon {name}" in out[out.rindex("\nexample") :], name


def test_run_once_progress_counts_feed_fetches_not_article_fetches(tmp_path: Path) -> None:
    import asyncio
    import io

    from monitor.cli.progress import CountingFetcher, Progress
    from monitor.config.settings import FetchConfig
    from monitor.sources.fetch import ARTICLE_ACCEPT

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    feed = tmp_path / "feed.xml"
    feed.write_bytes((ROOT / "tests/data/feeds/rss20.xml").read_bytes())
    screen = Terminal()

    async def fetch_three() -> None:
        with Progress(2, "polling feeds", screen) as progress:
            async with CountingFetcher(FetchConfig(), progress) as fetcher:
                await fetcher.fetch(feed.as_uri(), allow_file=True)
                await fetcher.fetch(feed.as_uri(), accept=ARTICLE_ACCEPT, allow_file=True)
                await fetcher.fetch(feed.as_uri(), allow_file=True)
            assert progress.done == 2

    asyncio.run(fetch_three())
    assert "polling feeds 2/2" in screen.getvalue()
