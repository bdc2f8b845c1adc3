"""Phrase lists (cues, subjects, counted nouns) compiled into one trie-shaped pattern."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_SPACES = re.compile(r"[\s-]+")


GLUE_TAIL = r"(?:which|where|the|with|even|that|and)"


def phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    """One pattern for ``phrases`` (lower case, spaces or hyphens interchangeable).

    Shaped as a trie ("kill(?:ed|ing)") so that each position of a text costs one test of
    its first character instead of one per phrase; longer phrases win.
    """
    trie: dict[str, Any] = {}
    for phrase in {norm(p) for p in phrases if p.strip()}:
        node = trie
        for char in phrase:
            node = node.setdefault(char, {})
        node[""] = {}
    # a possessive is its own phrase: "people's" is not "people" (list "Korea's" to match it)
    return re.compile(rf"(?<![\w-]){_trie_regex(trie)}(?!['’]s\b)(?:(?![\w])|(?={GLUE_TAIL}\b))")


def _trie_regex(node: dict[str, Any]) -> str:
    branches = [
        (r"[\s-]+" if char == " " else re.escape(char)) + _trie_regex(child)
        for char, child in sorted(node.items())
        if char
    ]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    return f"(?:{body})?" if "" in node else body


@functools.lru_cache(maxsize=4096)
def norm(phrase: str) -> str:
    return _SPACES.sub(" ", phrase.lower().replace("’", "'")).strip()


@dataclass(frozen=True, slots=True)
class Hit:
    start: int
    end: int
    key: str
