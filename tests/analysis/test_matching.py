"""Matching semantics (driven by tests/data/watchlists/matching_cases.yaml), explain, and the
static check that refuses regex aliases that could backtrack catastrophically."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from monitor.analysis.matching import Matcher, sentence_starts
from monitor.analysis.regex_aliases import regex_problem
from monitor.analysis.watchlist import load_watchlist_text
from monitor.domain.model import Article, Match
from tests.support.paths import REPO

TABLE = yaml.safe_load(
    (REPO / "tests" / "data" / "watchlists" / "matching_cases.yaml").read_text("utf-8")
)
WATCHLISTS = [
    load_watchlist_text(text, f"{yaml.safe_load(text)['name']}.yaml")
    for text in TABLE["watchlists"]
]
MATCHER = Matcher(WATCHLISTS)


@pytest.mark.parametrize("case", TABLE["cases"], ids=lambda case: case["name"])
def test_matching_case_table(case: dict[str, Any]) -> None:
    matches = MATCHER.match(Article(title="", text=case["text"]))
    assert {m.watchlist: list(m.matched_terms) for m in matches} == case["expect"]


def test_the_title_is_matched_too() -> None:
    matches = MATCHER.match(Article(title="KPA in Kursk", text="nothing here"))
    assert matches == [Match("terms", ("KPA", "Kursk"))]


def test_a_matcher_without_watchlists_matches_nothing() -> None:
    assert Matcher([]).match(Article(title="KPA", text="Kursk")) == []


def test_explain_says_which_group_was_missing_or_excluded() -> None:
    by_name = {e.watchlist: e for e in MATCHER.explain(Article("", "beta omega"))}
    rules = by_name["rules"]
    assert not rules.matched
    assert rules.missing == ("needed",)
    assert rules.excluded_by == ("never",)
    assert rules.groups == (("either", ("beta",)), ("never", ("omega",)))
    assert rules.reason == "missing group: needed; excluded by none_of group never (omega)"
    assert by_name["terms"].reason == "none of the any_of groups hit: aliases"


def test_explain_names_the_any_of_groups_when_none_hit() -> None:
    [rules] = [e for e in MATCHER.explain(Article("", "alpha")) if e.watchlist == "rules"]
    assert rules.missing_any_of == ("either", "or")
    assert rules.reason == "none of the any_of groups hit: either, or"


def test_explain_of_a_match_lists_its_terms() -> None:
    [terms] = [e for e in MATCHER.explain(Article("", "KPA, Kursk")) if e.watchlist == "terms"]
    assert terms.matched
    assert terms.reason == "matched: KPA, Kursk"


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("hwasong-?11[a-d]?", None),
        (r"kn-?2[345]s?", None),
        (r"\w+\s+missiles", None),
        ("(a+)+b", "a quantifier inside a repeated group"),
        ("(.*)*x", "a quantifier inside a repeated group"),
        (r"(?:\d+,?)*\d", "a quantifier inside a repeated group"),
        ("(a|a)*b", "a repeated alternation whose branches can match alike"),
        ("(ab|a.)*c", "a repeated alternation whose branches can match alike"),
        ("(a|ab)*c", None),
        ("(?:[a-z]|kn)+ launch", "a repeated alternation whose branches can match alike"),
        (r"\d+\d*x", "two adjacent repeats can match the same text"),
        (".*.*=", "two adjacent repeats can match the same text"),
        ("(?:hwasong)?", "can match the empty string"),
        ("kn-(23", "does not compile"),
    ],
)
def test_regex_aliases_that_could_backtrack_catastrophically_are_refused(
    pattern: str, problem: str | None
) -> None:
    found = regex_problem(pattern)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_explain_says_which_together_set_no_sentence_holds() -> None:
    text = "Ruritanian guards hold Zenda. A shell killed two civilians."
    [together] = [e for e in MATCHER.explain(Article("", text)) if e.watchlist == "together"]
    assert not together.matched
    assert together.apart == (("country", "people", "harm"),)
    assert together.reason == "no sentence has country and people and harm together"


def test_sentences_end_at_stops_and_line_breaks_but_not_after_initials() -> None:
    text = 'Headline\nIt said "yes." Then Mr. Kim left! U.S. troops stayed. 2 more came'
    starts = sentence_starts(text)
    assert [text[s : s + 4] for s in starts] == ["Head", "It s", "Then", "U.S.", "2 mo"]


def test_explain_names_an_any_of_together_set_when_nothing_holds() -> None:
    [window] = [e for e in MATCHER.explain(Article("", "nothing")) if e.watchlist == "window"]
    assert window.reason == (
        "none of the any_of groups hit: named, (country and harm and people within 2 sentences)"
    )
