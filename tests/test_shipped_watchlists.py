"""The watchlists newsmon ships pass their own examples (what `newsmon validate` runs)."""

from __future__ import annotations

from monitor.cli import main
from monitor.watchlist import check_examples, load_watchlists
from tests.conftest import REPO


def test_shipped_watchlists_load_and_every_example_passes() -> None:
    watchlists = load_watchlists(REPO / "watchlists")
    assert {wl.name for wl in watchlists} == {
        "nk-deployment",
        "demining",
        "kn-23",
        "casualty-figures",
    }
    assert check_examples(watchlists) == []


def test_validate_accepts_the_quick_start_config(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(REPO)
    assert main(["validate"]) == 0
    assert "newsmon.yaml" in capsys.readouterr().out
