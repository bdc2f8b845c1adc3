"""One reading of a phrase for watchlist terms and figure vocabulary (monitor.analysis.phrases).

"KN-23" as a watchlist alias and "KN-23" as a figure's subject find the same spellings in a
text: the same case, apostrophes, spaces and hyphens, and nothing between the words.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.analysis.figures import FigureExtractor
from monitor.analysis.figures.phrases import phrase_pattern
from monitor.analysis.matching import Matcher
from monitor.analysis.phrases import normalise_phrase, phrase_key
from monitor.analysis.watchlist import load_watchlist_text
from monitor.domain.model import Article, FigureSpec

SPELLINGS = ["KN-23", "KN23", "KN 23", "kn\u201123", "KN - 23"]
WRITTEN = ["KN-23", "KN23", "KN 23", "Kn-23"]


def watchlist_finds(written: str, text: str) -> bool:
    watchlist = load_watchlist_text(
        f"name: missiles\nterms: {{missile: [{written!r}]}}\nmatch: {{all_of: [missile]}}\n"
        "alerts: []\n",
        "missiles.yaml",
    )
    return bool(Matcher([watchlist]).match(Article(title="", text=text)))


def figures_find(written: str, text: str) -> bool:
    low = text.lower()
    hits = phrase_pattern([written]).hits(low, 0, len(low))
    assert all(hit.key == normalise_phrase(written) for hit in hits)
    return bool(hits)


@pytest.mark.parametrize("written", WRITTEN)
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_phrase_finds_the_same_spellings_as_a_watchlist_term_and_as_a_figure_phrase(
    written: str, spelling: str
) -> None:
    text = f"Russia fired a {spelling} at Kyiv."
    assert watchlist_finds(written, text) == figures_find(written, text)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_spaced_or_hyphenated_phrase_finds_every_spelling_on_both_sides(spelling: str) -> None:
    text = f"Russia fired a {spelling} at Kyiv."
    for written in ("KN-23", "KN 23"):
        assert watchlist_finds(written, text)
        assert figures_find(written, text)


def test_a_phrase_written_without_a_space_needs_none_in_the_text_on_both_sides() -> None:
    assert not watchlist_finds("KN23", "a KN-23 at Kyiv")
    assert not figures_find("KN23", "a KN-23 at Kyiv")


def test_a_figure_subject_written_kn_23_reads_a_number_of_kn23_missiles() -> None:
    spec = FigureSpec(
        name="kn23_missiles",
        watchlist="kn-23",
        unit="missiles",
        cues=("launched",),
        subjects=("KN-23",),
        units=("missiles",),
    )
    extractor = FigureExtractor([spec])
    for spelling in ("KN-23", "KN23", "kn-23"):
        text = f"Russia has launched 20 {spelling} missiles at Kyiv since January."
        [observation] = extractor.extract(Article(title="", text=text))
        assert (observation.figure, observation.value) == ("kn23_missiles", 20)


def test_curly_and_straight_apostrophes_are_one_phrase_on_both_sides() -> None:
    text = "Ukraine\u2019s army said so."
    assert watchlist_finds("Ukraine's army", text)
    assert figures_find("Ukraine's army", text)


def test_a_spelling_without_spaces_is_named_by_the_phrase_it_spells() -> None:
    pattern = phrase_pattern(["Kim Jong Un", "North Korean"])
    text = "kimjongun met north-korean officers"
    assert [hit.key for hit in pattern.hits(text, 0, len(text))] == [
        "kim jong un",
        "north korean",
    ]


def test_two_spellings_of_one_phrase_share_a_key_and_keep_their_own_normal_form() -> None:
    assert phrase_key("KN-23") == phrase_key("kn 23") == phrase_key("KN23") == "kn23"
    assert normalise_phrase("KN\u2011 23") == normalise_phrase("kn-23") == "kn 23"
    assert normalise_phrase("Korea\u2019s") == "korea's"


_WORDS = st.lists(st.sampled_from(["kn", "23", "north", "korean", "troops", "kim", "jong"]),
                  min_size=1, max_size=4)  # fmt: skip
_JOINS = st.sampled_from(["", " ", "-", " - ", "\u2011", "\u2013", "\n"])


@settings(deadline=None)  # a watchlist is compiled per example; a busy machine is slow
@given(
    words=_WORDS,
    joins=st.lists(_JOINS, min_size=3, max_size=3),
    written_join=st.sampled_from([" ", "-", " - "]),
)
def test_every_spelling_of_a_phrase_is_found_and_named_by_it_on_both_sides(
    words: list[str], joins: list[str], written_join: str
) -> None:
    written = written_join.join(words)
    spelled = "".join(w + (joins[i] if i < len(words) - 1 else "") for i, w in enumerate(words))
    low = f"they saw {spelled} there".lower()
    [hit] = phrase_pattern([written]).hits(low, 0, len(low))
    assert hit.key == normalise_phrase(written)
    assert watchlist_finds(written, f"they saw {spelled} there")
