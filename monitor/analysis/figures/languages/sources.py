"""Who states a figure, in the languages of :mod:`monitor.analysis.figures.languages` (pure).

Each grammar lists ``sources``: patterns with a group ``who`` — "according to X" ("laut",
"según", "selon", "по данным", "за даними", "X에 따르면") and "X said" with the language's
verbs of saying. The sentence of the figure is searched first, then the one before it: a
report names its source once and goes on.
"""

from __future__ import annotations

import functools
import re

from monitor.analysis.figures.languages.grammar import Grammar

_MAX_WORDS = 7


@functools.cache
def _compiled(source: str) -> re.Pattern[str]:
    return re.compile(source, re.I)


def source_spans(grammar: Grammar, text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Where the sentence names its sources: "За даними української розвідки" says whose
    report it is, not whose soldiers are counted."""
    sentence = text[start:end]
    return [
        (start + m.start(), start + m.end())
        for source in grammar.sources
        for m in _compiled(source).finditer(sentence)
    ]


def source_in(grammar: Grammar, text: str, start: int, end: int) -> str | None:
    """The first source the grammar's patterns find in ``text[start:end]``, or None."""
    sentence = text[start:end]  # "^" is the sentence's start
    for source in grammar.sources:  # in the grammar's order: "according to" first
        m = _compiled(source).search(sentence)
        if m is None:
            continue
        who = _person(re.sub(r"\s+", " ", m.group("who")).strip(" ,.;:\"“”«»'"))
        if len(who) >= 3 and len(who.split()) <= _MAX_WORDS:
            return who
    return None


# A name at the end of a phrase: "the legislator Lee Seong-kweun", "le Président ukrainien
# Volodymyr Zelensky" → the person, as the English reader names them.
_NAME_AT_END = re.compile(
    r"(?<=\s)(?:[A-ZÀ-ÖØ-ÞА-ЯЁІЇЄҐ][\w'’-]+\s){1,2}[A-ZÀ-ÖØ-ÞА-ЯЁІЇЄҐ][\w'’-]+$"
)


def _person(who: str) -> str:
    words = who.split()
    m = _NAME_AT_END.search(who)
    if m is None or len(words) < 3:
        return who
    before = who[: m.start()].split()
    return m.group() if before and before[-1][:1].islower() else who
