"""Sentences and clauses of a text, by stops, line breaks and clause-joining words.

Written by hand rather than with a sentence splitter library: news copy breaks sentences
with line breaks, bullets, table rows and datelines as often as with stops, and the reader
needs character offsets and the sentence before a given one, cheaply, for long pages.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

_STOPS = (". ", "? ", "! ", ".” ", '." ', ".) ", ".’ ")


_NEWLINE = re.compile("\n")


_STOP = re.compile("|".join(re.escape(stop) for stop in _STOPS))


_MAX_SENTENCE = 1500


LIST_ITEM = re.compile(r"[ \t]*(?:[-•*–]|\d{1,2}[.)])\s")


_LABEL = re.compile(r"[ \t]*(?:[-•*–]\s*)?[^\d\n:]{1,40}$")


_ACRONYM = re.compile(r"\([a-z.]{2,8}\)")
_CLAUSE_BREAK = re.compile(
    r"[;:()\[\]]|\s[—–]\s|,\s*(?:but|while|whereas|although|though|yet|with|meanwhile|however)\b"
    r"|,\s*which\b(?!\s+(?:is|was|translates|represents|amounts|means|equals|accounts))"
    r"|\s(?:but|while|whereas|although|though)\s"
)


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


def _ends_sentence(text: str, stop: int) -> bool:
    """Whether the stop at ``stop`` (". ", "? ", ".” "…) ends a sentence."""
    after = text[stop + 1 : stop + 4].lstrip(" \"”’')]")
    if not after or not (after[0].isupper() or after[0].isdigit() or after[0] in "\"“‘'(["):
        return False
    return text[stop] != "." or not _is_abbreviation(text, stop)


class Sentences:
    """The sentences and clauses of one text, found on first use and cached."""

    def __init__(self, text: str, low: str) -> None:
        self.text = text
        self.low = low
        self._stops: list[int] | None = None  # sentence-ending stops, found on first use
        self._newlines: list[int] = []
        self._ends_cache: dict[int, bool] = {}
        self._break_cache: dict[tuple[int, int], list[tuple[int, int]]] = {}

    def at(self, pos: int) -> Sentence:
        """The sentence around ``pos``: from the stop or line break before it to the next."""
        if self._stops is None:
            self._stops = [m.start() for m in _STOP.finditer(self.text)]
            self._newlines = [m.start() for m in _NEWLINE.finditer(self.text)]
        k = bisect.bisect_left(self._newlines, pos)
        newline = self._newlines[k - 1] if k else -1
        end = self._newlines[k] if k < len(self._newlines) else len(self.text)
        i = bisect.bisect_left(self._stops, pos)
        stop = self._stop_before(i - 1, newline)
        start, first = (newline + 1, True) if stop < 0 else (stop + 2, False)
        after = self._stop_after(i, end)
        end = after + 1 if after >= 0 else end
        if pos - start > _MAX_SENTENCE:
            start, first = pos - _MAX_SENTENCE, False
        return Sentence(start, min(end, pos + _MAX_SENTENCE), first)

    def _ends(self, stop: int) -> bool:
        """Whether the stop at ``stop`` ends a sentence (memoised)."""
        ends = self._ends_cache.get(stop)
        if ends is None:
            ends = self._ends_cache[stop] = _ends_sentence(self.text, stop)
        return ends

    def _stop_before(self, i: int, floor: int) -> int:
        stops = self._stops or []
        while i >= 0 and stops[i] > floor:
            if self._ends(stops[i]):
                return stops[i]
            i -= 1
        return -1

    def _stop_after(self, i: int, ceiling: int) -> int:
        stops = self._stops or []
        while i < len(stops) and stops[i] < ceiling:
            if self._ends(stops[i]):
                return stops[i]
            i += 1
        return -1

    def previous(self, sent: Sentence) -> Sentence | None:
        """The sentence before, in the same paragraph or list (a list item's is the line
        before it: "Key figures:\n- Killed: 300"). Prose on the line before, ending as a
        sentence ends, counts as the same paragraph: pages often break every sentence."""
        if sent.start < 2:
            return None
        if sent.first_in_paragraph:
            if self.text[sent.start - 2] == "\n":
                return None
            if (
                not LIST_ITEM.match(self.text, sent.start)
                and self.text[sent.start - 2] not in ".!?\"”’')"
            ):
                return None
        return self.at(sent.start - 2)

    def before(self, sent: Sentence) -> Sentence | None:
        """The sentence before, across line breaks and blank lines."""
        end = len(self.text[: sent.start].rstrip())
        return self.at(end - 1) if end > 0 else None

    def clause(self, pos: int, sent: Sentence) -> tuple[int, int]:
        start, end = sent.start, sent.end
        for break_start, break_end in self._clause_breaks(sent):
            if break_end <= pos:
                start = break_end
            elif break_start >= pos:
                end = break_start
                break
        return start, end

    def _acronym_bracket(self, pos: int) -> bool:
        """A bracket around an acronym ("Korea (DPRK) troops") is part of a name."""
        if self.low[pos] == "(":
            return bool(_ACRONYM.match(self.low, pos))
        return self.low[pos] == ")" and bool(_ACRONYM.match(self.low, self.low.rfind("(", 0, pos)))

    def _clause_breaks(self, sent: Sentence) -> list[tuple[int, int]]:
        """Where the sentence's clauses meet (cached per sentence)."""
        key = (sent.start, sent.end)
        breaks = self._break_cache.get(key)
        if breaks is None:
            breaks = self._break_cache[key] = [
                m.span()
                for m in _CLAUSE_BREAK.finditer(self.low, sent.start, sent.end)
                # a table row's label is no clause: "- Killed: about 300"
                if (m.group() != ":" or not _LABEL.fullmatch(self.low, sent.start, m.start()))
                and not self._acronym_bracket(m.start())
            ]
        return breaks
