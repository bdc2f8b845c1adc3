"""Sentences and clauses of a text, by stops, line breaks and clause-joining words.

Written by hand rather than with a sentence splitter library: news copy breaks sentences
with line breaks, bullets, table rows and datelines as often as with stops, and the reader
needs character offsets and the sentence before a given one, cheaply, for long pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_STOPS = (". ", "? ", "! ", ".” ", '." ', ".) ", ".’ ")


NEWLINE = re.compile("\n")


STOP = re.compile("|".join(re.escape(stop) for stop in _STOPS))


MAX_SENTENCE = 1500


LIST_ITEM = re.compile(r"[ \t]*(?:[-•*–]|\d{1,2}[.)])\s")


LABEL = re.compile(r"[ \t]*(?:[-•*–]\s*)?[^\d\n:]{1,40}$")


CLAUSE_BREAK = re.compile(
    r"[;:()\[\]]|\s[—–]\s|,\s*(?:but|while|whereas|although|though|yet|with|meanwhile|however)\b"
    r"|,\s*which\b(?!\s+(?:is|was|translates|represents|amounts|means|equals|accounts))"
    r"|\s(?:but|while|whereas|although|though)\s"
)


_SENTENCE_END = re.compile(r"[.!?]+[\"”’')\]]*\s+(?=[\"“‘'(\[]?[A-Z0-9])|\n\s*")


@dataclass(slots=True)
class Sentence:
    start: int
    end: int
    first_in_paragraph: bool


_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "gen",
        "col",
        "lt",
        "maj",
        "sgt",
        "st",
        "no",
        "vs",
        "approx",
        "est",
        "u.s",
        "jan",
        "feb",
        "aug",
        "sept",
        "oct",
        "nov",
        "dec",
    ]
)


def _is_abbreviation(text: str, dot: int) -> bool:
    space = max(text.rfind(" ", 0, dot), text.rfind("\n", 0, dot))
    word = text[space + 1 : dot].lower()
    return len(word) == 1 or word in _ABBREVIATIONS


def ends_sentence(text: str, stop: int) -> bool:
    """Whether the stop at ``stop`` (". ", "? ", ".” "…) ends a sentence."""
    after = text[stop + 1 : stop + 4].lstrip(" \"”’')]")
    if not after or not (after[0].isupper() or after[0].isdigit() or after[0] in "\"“‘'(["):
        return False
    return text[stop] != "." or not _is_abbreviation(text, stop)
