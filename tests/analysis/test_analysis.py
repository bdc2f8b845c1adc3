"""Scope: a figure is recorded only where the story matches a watchlist that tracks it, the
same in the service's analysis and in ``newsmon inspect``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from monitor.analysis.analyse import analyse, extract_figures
from monitor.analysis.watchlist import load_watchlists
from monitor.cli.inspect import inspect_article
from monitor.domain.model import Article, Match, Observation
from monitor.runtime.app import Compiled, compile_watchlists
from tests.support.paths import REPO

# North Korean troops and a number, but at home: no watchlist matches.
OFF_TOPIC = Article(
    title="", text="North Korea sent 3,000 troops to a military parade in Pyongyang on Monday."
)
ON_TOPIC = Article(title="", text="Pyongyang has sent 3,000 soldiers to Russia's Kursk region.")


@pytest.fixture(scope="module")
def compiled() -> Compiled:
    return compile_watchlists(load_watchlists(REPO / "watchlists"))


class CountingExtractor:
    """Stands in for the FigureExtractor: a fixed list of observations, calls counted."""

    def __init__(self, observations: list[Observation]) -> None:
        self.observations = observations
        self.calls = 0

    def extract(self, article: Article) -> list[Observation]:
        self.calls += 1
        return list(self.observations)


def observation(figure: str, watchlist: str) -> Observation:
    return Observation(figure, watchlist, 5.0, 5.0, 5.0, "people", "exact", None, "5")


def test_a_story_that_matches_nothing_is_not_even_read_for_figures() -> None:
    extractor = CountingExtractor([observation("nk_killed", "casualty-figures")])
    # the counting fake stands in for the FigureExtractor class, which has no protocol
    assert extract_figures(extractor, OFF_TOPIC, []) == []  # type: ignore[arg-type]
    assert extractor.calls == 0


def test_only_the_figures_of_the_matched_watchlists_are_kept() -> None:
    killed = observation("nk_killed", "casualty-figures")
    troops = observation("nk_troops_deployed", "nk-deployment")
    extractor = CountingExtractor([killed, troops])
    matches = [Match("nk-deployment", ("Pyongyang",))]
    # the counting fake stands in for the FigureExtractor class, which has no protocol
    assert extract_figures(extractor, ON_TOPIC, matches) == [troops]  # type: ignore[arg-type]


def test_the_service_records_no_figure_from_an_off_topic_story(compiled: Compiled) -> None:
    assert compiled.extractor.extract(OFF_TOPIC), "the extractor alone reads a figure here"
    result = analyse(compiled.matcher, compiled.extractor, OFF_TOPIC)
    assert result.matches == []
    assert result.observations == []


def test_inspect_shows_the_figures_the_service_records(compiled: Compiled) -> None:
    for article in (OFF_TOPIC, ON_TOPIC, replace(ON_TOPIC, title="Kursk")):
        service = analyse(compiled.matcher, compiled.extractor, article)
        shown: dict[str, Any] = inspect_article(article, compiled)
        assert [w["name"] for w in shown["watchlists"]] == [m.watchlist for m in service.matches]
        assert shown["figures"] == [o.to_json() for o in service.observations]
    assert inspect_article(OFF_TOPIC, compiled)["figures"] == []
    assert inspect_article(ON_TOPIC, compiled)["figures"][0]["figure"] == "nk_troops_deployed"


def test_an_entry_that_matches_nothing_gets_its_text_hash_but_no_sketch(
    compiled: Compiled,
) -> None:
    off = analyse(compiled.matcher, compiled.extractor, OFF_TOPIC)
    assert not off.matches
    assert off.text_hash
    assert (off.sketch, off.bands) == ((), ())


def test_an_entry_that_matches_gets_the_sketch_and_band_keys_its_story_is_found_by(
    compiled: Compiled,
) -> None:
    long_text = " ".join([ON_TOPIC.text, *(f"Report {n} from the front line." for n in range(30))])
    on = analyse(compiled.matcher, compiled.extractor, replace(ON_TOPIC, text=long_text))
    assert on.matches
    assert on.sketch
    assert on.bands
