"""Phrase lists (cues, subjects, counted nouns) compiled into one trie-shaped pattern.

Each phrase is read as a watchlist term is read (:mod:`monitor.analysis.phrases`): "KN-23"
also finds "KN 23" and "KN23". What is the figures' own is where a phrase may stand: not
after a hyphen, not as a possessive ("people's" is not "people"; list "Korea's" to match
it), and either at a word's end or glued to a short function word by a lost space.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.analysis.phrases import normalise_phrase, phrase_form, phrase_key, trie_regex

GLUE_TAIL = r"(?:which|where|the|with|even|that|and)"


@dataclass(frozen=True, slots=True)
class Hit:
    start: int
    end: int
    key: str  # the phrase found, as :func:`normalise_phrase` writes it


class PhrasePattern:
    """Phrases compiled into one pattern; :meth:`hits` names each hit by its phrase."""

    def __init__(self, phrases: Iterable[str]) -> None:
        normal = {normalise_phrase(p) for p in phrases if p.strip()}
        self._phrases = frozenset(normal)
        # A text may spell a phrase with other spaces or hyphens, or none ("KN23" for
        # "KN-23"); such a hit is named by the phrase (the first in sorted order, should
        # two phrases differ only so).
        self._by_key: dict[str, str] = {}
        for phrase in sorted(normal):
            self._by_key.setdefault(phrase_key(phrase), phrase)
        trie = trie_regex((phrase_form(p) for p in normal), word_end="")
        self.regex = re.compile(rf"(?<![\w-]){trie}(?!['’]s\b)(?:(?![\w])|(?={GLUE_TAIL}\b))")

    def hits(self, text: str, start: int, end: int) -> list[Hit]:
        """The phrases found in ``text[start:end]`` (lower case, as the phrases are)."""
        return [
            Hit(m.start(), m.end(), self._name(m.group()))
            for m in self.regex.finditer(text, start, end)
        ]

    def _name(self, spelling: str) -> str:
        normal = normalise_phrase(spelling)
        if normal in self._phrases:
            return normal
        return self._by_key.get(phrase_key(spelling), normal)


def phrase_pattern(phrases: Iterable[str]) -> PhrasePattern:
    """One pattern for ``phrases``; longer phrases win."""
    return PhrasePattern(phrases)
