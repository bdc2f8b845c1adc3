"""`newsmon backtest`: stored entries replayed through the current watchlists, beside what
the service did with them."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from monitor.cli.main import main
from monitor.cli.progress import Progress
from tests.support.paths import REPO


@pytest.fixture()
def monitored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder where `run --once` has stored and alerted the two sample feeds."""
    shutil.copytree(REPO / "watchlists", tmp_path / "watchlists")
    shutil.copytree(REPO / "deploy" / "sample-feeds", tmp_path / "sample-feeds")
    config = (REPO / "newsmon.yaml").read_text().replace("deploy/sample-feeds", "sample-feeds")
    (tmp_path / "newsmon.yaml").write_text(config)
    monkeypatch.chdir(tmp_path)
    for name in ("NEWSMON_CONFIG", "NEWSMON_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["run", "--once"]) == 0
    return tmp_path


def _backtest(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    capsys.readouterr()
    assert main(["backtest", "--json", *args]) == 0
    result: dict[str, object] = json.loads(capsys.readouterr().out)
    return result


def test_unchanged_watchlists_replay_to_what_the_service_did(
    monitored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _backtest(capsys)
    stories = result["stories"]
    assert isinstance(stories, list) and len(stories) == 5
    assert not any(s["changed"] for s in stories)
    killed = next(s for s in stories if s["title"].startswith("Zelensky"))
    assert killed["would_match"] == killed["did_match"]
    assert {"figure": "nk_killed", "unit": "people"}.items() <= killed["would_read"][0].items()
    assert killed["would_alert"] == killed["did_alert"] == ["figure_change", "new_item"]
    assert str(result["summary"]).endswith("0 stories change (marked *)")


def test_an_edited_watchlist_shows_what_would_stop_matching_and_alerting(
    monitored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (monitored / "watchlists" / "demining.yaml").unlink()

    capsys.readouterr()
    assert main(["backtest", "--since", "30d"]) == 0
    out = capsys.readouterr().out
    assert "* " in out and "North Korean sappers clear minefields" in out
    assert "match:   nk-deployment  (was: demining, nk-deployment)" in out
    assert out.rstrip().endswith("1 stories change (marked *)")


def test_one_watchlist_is_compared_with_what_was_done_for_it(
    monitored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stories = _backtest(capsys, "--watchlist", "kn-23")["stories"]
    assert isinstance(stories, list)
    matched = [s for s in stories if s["would_match"]]
    assert {m for s in matched for m in s["would_match"]} == {"kn-23"}
    assert all(s["did_match"] == ["kn-23"] and not s["changed"] for s in matched)


def test_backtest_refuses_an_unknown_watchlist_and_a_bad_duration(
    monitored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backtest", "--watchlist", "kn23"]) == 1
    assert "no watchlist named 'kn23'; known: casualty-figures" in capsys.readouterr().err
    assert main(["backtest", "--since", "a month"]) == 1
    assert capsys.readouterr().err.startswith("newsmon: --since 'a month': ")


def test_the_window_leaves_out_older_stories(
    monitored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _backtest(capsys, "--since", "1ms")["stories"] == []


def test_progress_is_drawn_on_a_terminal_and_silent_when_piped(
    monitored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["backtest"]) == 0
    assert capsys.readouterr().err == ""  # stderr is not a terminal here

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    with Progress(3, "replaying stories", screen) as progress:
        for _ in range(3):
            progress.step()
    assert "\rreplaying stories 3/3" in screen.getvalue()
    assert screen.getvalue().endswith("\r\x1b[K")  # the line is cleared at the end


def test_no_alert_would_fire_where_no_configured_notifier_is_routed(
    monitored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = monitored / "newsmon.yaml"
    config.write_text(config.read_text().replace("notifiers:\n  console: {}\n", ""))
    stories = _backtest(capsys)["stories"]
    assert isinstance(stories, list)
    assert all(s["would_alert"] == [] for s in stories)
    assert any(s["did_alert"] for s in stories)
