"""The watchlists newsmon ships pass their own examples (what `newsmon validate` runs)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from monitor.analysis.matching import Matcher
from monitor.analysis.watchlist import load_watchlists
from monitor.analysis.watchlist_examples import check_examples
from monitor.cli.main import main
from monitor.domain.model import Article
from tests.support.paths import REPO

DATA = REPO / "tests" / "data" / "watchlists"


def test_shipped_watchlists_load_and_every_example_passes() -> None:
    watchlists = load_watchlists(REPO / "watchlists")
    assert {wl.name for wl in watchlists} == {
        "nk-deployment",
        "demining",
        "kn-23",
        "casualty-figures",
    }
    assert check_examples(watchlists) == []


def test_validate_accepts_the_quick_start_config(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    assert main(["validate"]) == 0
    assert "newsmon.yaml" in capsys.readouterr().out


TOPICS = yaml.safe_load((DATA / "shipped_topics.yaml").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", TOPICS, ids=lambda case: case["name"])
def test_shipped_watchlists_match_exactly_the_stories_they_are_about(case: dict[str, Any]) -> None:
    matcher = Matcher(load_watchlists(REPO / "watchlists"))
    matched = {m.watchlist for m in matcher.match(Article(title="", text=case["text"]))}
    assert matched == set(case["expect"])
