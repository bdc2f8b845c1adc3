"""Watchlist loading: every error kind at its FILE:LINE, all at once; the shipped watchlists
against the seed documents; examples run as tests."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from monitor.analysis.matching import Matcher, Pattern, Phrase
from monitor.analysis.watchlist import Watchlist, load_watchlist_text, load_watchlists
from monitor.analysis.watchlist_examples import check_examples
from monitor.domain.errors import ConfigError, Problem
from monitor.domain.model import Article, FigureSpec, Observation, Route
from tests.support.paths import REPO, SHARED, shared

DATA = REPO / "tests" / "data" / "watchlists"
BROKEN = DATA / "broken"
SHIPPED = REPO / "watchlists"
SEEDS = SHARED / "seeds"
EXPECT = re.compile(r"^# expect: (\d+|-): (.+)$", re.M)


def expected_problems(path: Path) -> list[tuple[int | None, str]]:
    """The ``# expect: LINE: message fragment`` comments at the top of a broken fixture."""
    return [
        (None if line == "-" else int(line), fragment)
        for line, fragment in EXPECT.findall(path.read_text(encoding="utf-8"))
    ]


def assert_reported(problems: Sequence[Problem], path: Path) -> None:
    for line, fragment in expected_problems(path):
        found = [p for p in problems if p.file == str(path) and p.line == line]
        got = [str(p) for p in problems]
        assert any(fragment in p.message for p in found), f"{path.name}:{line}: {fragment!r}, {got}"


def load_problems(path: Path) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        load_watchlist_text(path.read_text(encoding="utf-8"), path)
    return caught.value.problems


@pytest.mark.parametrize("path", sorted(BROKEN.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_broken_watchlist_reports_its_problems_at_their_lines(path: Path) -> None:
    problems = load_problems(path)
    assert_reported(problems, path)
    assert len(problems) == len(expected_problems(path)), [str(p) for p in problems]


def test_loading_a_directory_reports_every_problem_of_every_file_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        load_watchlists(BROKEN)
    for path in BROKEN.glob("*.yaml"):
        assert_reported(caught.value.problems, path)
    assert str(caught.value).count("\n") + 1 == len(caught.value.problems)


def test_problems_print_as_file_colon_line() -> None:
    problems = load_problems(BROKEN / "unknown-group.yaml")
    assert str(problems[0]) == (
        f"{BROKEN / 'unknown-group.yaml'}:7: unknown group 'weapons' (groups: korea, russia)"
    )


def test_duplicate_watchlist_names_across_files_are_reported() -> None:
    with pytest.raises(ConfigError) as caught:
        load_watchlists(DATA / "duplicate")
    [problem] = caught.value.problems
    assert problem.file.endswith("alpha.yml")
    assert "name 'alpha' is already used by" in problem.message


def test_an_empty_or_missing_directory_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no watchlists"):
        load_watchlists(tmp_path)
    with pytest.raises(ConfigError, match="directory not found"):
        load_watchlists(tmp_path / "missing")


def test_a_valid_watchlist_becomes_domain_types() -> None:
    text = """\
name: kn-23
description: missiles
terms:
  korea: [North Korea, DPRK]
  missiles: [KN-23, {regex: "hwasong-?11"}]
  games: [gameplay]
match: {all_of: [korea], any_of: [missiles], none_of: [games]}
alerts: [figure_change, new_item]
routes:
  - {notifier: slack, channel: "#nk"}
  - {notifier: email, to: [team@example.org]}
figures:
  kn23_missiles: {unit: missiles, cues: [fired], subjects: [KN-23], tolerance: 0.1}
examples:
  match: [North Korea fired a KN-23.]
"""
    watchlist = load_watchlist_text(text, "watchlists/kn-23.yaml")
    assert watchlist.name == "kn-23"
    assert [g.name for g in watchlist.terms] == ["korea", "missiles", "games"]
    assert watchlist.terms[1].aliases == (Phrase("KN-23"), Pattern("hwasong-?11"))
    assert watchlist.rule.any_of == ("missiles",)
    assert watchlist.alerts == {"new_item", "figure_change"}
    assert watchlist.routes == (Route("slack", "#nk"), Route("email", None, ("team@example.org",)))
    assert watchlist.figures == (
        FigureSpec(
            name="kn23_missiles",
            watchlist="kn-23",
            unit="missiles",
            cues=("fired",),
            subjects=("KN-23",),
            tolerance=0.1,
        ),
    )
    assert watchlist.examples.match[0].line == 15
    assert watchlist.examples.count == 1


# --- examples as tests ----------------------------------------------------------------------

EXAMPLES = """\
name: examples
terms:
  korea: [North Korea]
  munitions: [KN-23]
match: {all_of: [korea, munitions]}
alerts: []
figures:
  kn23_missiles: {unit: missiles, cues: [fired], subjects: [KN-23]}
examples:
  match:
    - North Korea fired a KN-23.
    - North Korea fired artillery.
  no_match:
    - A KN-23 from North Korea.
  figures:
    - text: Russia fired 40 KN-23 missiles.
      expect: [{figure: kn23_missiles, low: 40, high: 40, unit: missiles}]
    - text: Russia fired 12 KN-23 missiles.
      expect: [{figure: kn23_missiles, low: 50, high: 60, qualifier: about}]
"""


class FakeExtractor:
    """Reads "fired N" as N missiles of every spec: enough to exercise the runner."""

    def __init__(self, specs: Sequence[FigureSpec]) -> None:
        self.specs = specs

    def extract(self, article: Article) -> list[Observation]:
        found = re.search(r"fired (\d+)", article.text)
        if not found:
            return []
        value = float(found.group(1))
        return [
            Observation(
                spec.name, spec.watchlist, value, value, value, spec.unit, "exact", None, ""
            )
            for spec in self.specs
        ]


def test_examples_that_fail_are_problems_at_their_lines() -> None:
    watchlist = load_watchlist_text(EXAMPLES, "watchlists/examples.yaml")
    problems = [str(p) for p in check_examples([watchlist], FakeExtractor)]
    assert problems == [
        "watchlists/examples.yaml:12: example should match but did not (missing group: munitions)",
        "watchlists/examples.yaml:14: example should not match but did "
        "(matched: KN-23, North Korea)",
        "watchlists/examples.yaml:18: example should yield kn23_missiles 50–60 (about) "
        "but got kn23_missiles 12 missiles (exact)",
    ]


def test_figure_examples_are_checked_with_the_watchlists_own_specs() -> None:
    watchlist = load_watchlist_text(EXAMPLES, "watchlists/examples.yaml")
    seen: list[Sequence[FigureSpec]] = []

    def factory(specs: Sequence[FigureSpec]) -> FakeExtractor:
        seen.append(specs)
        return FakeExtractor(specs)

    check_examples([watchlist], factory)
    assert seen == [watchlist.figures]


def without_figure_examples(watchlists: list[Watchlist]) -> list[Watchlist]:
    return [
        dataclasses.replace(w, examples=dataclasses.replace(w.examples, figures=()))
        for w in watchlists
    ]


# --- the shipped watchlists -----------------------------------------------------------------


def test_shipped_watchlists_load_and_their_text_examples_pass() -> None:
    watchlists = load_watchlists(SHIPPED)
    assert {w.name for w in watchlists} == {
        "nk-deployment",
        "demining",
        "kn-23",
        "casualty-figures",
    }
    for watchlist in watchlists:
        assert len(watchlist.examples.match) >= 3, watchlist.name
        assert len(watchlist.examples.no_match) >= 3, watchlist.name
        if watchlist.figures:
            assert len(watchlist.examples.figures) >= 2, watchlist.name
    assert check_examples(without_figure_examples(watchlists)) == []


def seed_documents() -> list[tuple[str, dict[str, list[str]]]]:
    if not SEEDS.is_dir():
        return [("(../shared/seeds missing)", {})]  # one case, which fails on the missing folder
    documents = json.loads((SEEDS / "figures.json").read_text(encoding="utf-8"))["documents"]
    return sorted(documents.items())


@pytest.mark.parametrize(("name", "truth"), seed_documents(), ids=lambda v: str(v)[:3])
def test_seed_documents_match_their_watchlists_and_no_others(
    name: str, truth: dict[str, list[str]]
) -> None:
    text = (shared("seeds") / name).read_text(encoding="utf-8")
    title, _, body = text.partition("\n")
    matched = {m.watchlist for m in Matcher(load_watchlists(SHIPPED)).match(Article(title, body))}
    assert set(truth["watchlists"]) <= matched
    assert matched <= set(truth["watchlists"]) | set(truth["watchlists_optional"])
