"""How a phrase is read, for watchlist terms and figure vocabulary alike.

A *phrase* is what a maintainer writes as a watchlist alias or as a figure's cue, subject
or counted noun. It is read the same way on both sides:

- case-insensitive; curly and straight apostrophes are the same character;
- a space or hyphen in the phrase matches any run of whitespace or hyphens in the text
  (also the Unicode hyphens, figure and en dashes, soft hyphen), or nothing: "KN-23" finds
  "KN-23", "KN 23" and "KN23"; "Kim Jong Un" finds "Kim Jong-un".

So two spellings that differ only in those are one phrase (:func:`phrase_key`). Where a
match may start and end (whole words for watchlists; possessives and glued words for
figures) is each side's own rule: :mod:`monitor.analysis.matching` and
:mod:`monitor.analysis.figures.phrases`. Both compile their phrases with
:func:`trie_regex`, so one pass over a text finds all of them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

__all__ = [
    "APOS",
    "SEP",
    "Form",
    "is_word",
    "normalise_phrase",
    "phrase_form",
    "phrase_key",
    "phrase_problem",
    "trie_regex",
]

# What a space or hyphen in a phrase matches in a text: any run of whitespace, hyphens
# (also the Unicode hyphens, figure and en dashes, soft hyphen), or nothing.
_SEP_CHARS = r"\s\-\u2010\u2011\u2012\u2013\u00ad"
_SEP_RUN = re.compile(f"[{_SEP_CHARS}]+")
_SEP_REGEX = f"[{_SEP_CHARS}]*"
_APOSTROPHES = "'\u2018\u2019\u02bc"
_APOSTROPHE_REGEX = f"[{_APOSTROPHES}]"
_APOSTROPHE_TABLE = str.maketrans(dict.fromkeys(_APOSTROPHES, "'"))

SEP = "\x00sep"  # token: a space or hyphen in a phrase
APOS = "\x00apos"  # token: an apostrophe in a phrase
Form = tuple[str, ...]


def phrase_form(text: str) -> Form:
    """The phrase as tokens: lower-case characters, SEP for space/hyphen runs, APOS."""
    tokens: list[str] = []
    for char in text.strip().lower():
        if _SEP_RUN.fullmatch(char):
            if tokens and tokens[-1] != SEP:
                tokens.append(SEP)
        elif char in _APOSTROPHES:
            tokens.append(APOS)
        else:
            tokens.append(char)
    return tuple(tokens)


def phrase_key(text: str) -> str:
    """What two spellings share when they are the same phrase ("KN-23", "kn 23", "KN23")."""
    return _SEP_RUN.sub("", text.lower()).translate(_APOSTROPHE_TABLE)


@functools.lru_cache(maxsize=4096)
def normalise_phrase(text: str) -> str:
    """The phrase in lower case, its apostrophes straight, each space/hyphen run one space."""
    return _SEP_RUN.sub(" ", text.lower().translate(_APOSTROPHE_TABLE)).strip()


def phrase_problem(text: str) -> str | None:
    """Why ``text`` cannot be a phrase alias, or None."""
    stripped = text.strip()
    if not stripped:
        return "an alias must not be empty"
    if not (stripped[0].isalnum()):
        return f"phrase {text!r} must start with a letter or digit (use {{regex: ...}} otherwise)"
    return None


def is_word(char: str) -> bool:
    """Whether ``char`` is one word character (as ``\\w`` reads it, near enough)."""
    return len(char) == 1 and (char.isalnum() or char == "_")


def trie_regex(forms: Iterable[Form], *, word_end: str = r"(?!\w)") -> str:
    """One regex for all ``forms``, shaped as a trie ("kill(?:ed|ing)") so that each position
    of a text costs one test of its first character instead of one per phrase. Where a
    form ends after a word character, ``word_end`` must hold; longer forms are tried first."""
    trie: dict[str, Any] = {}
    for form in forms:
        node = trie
        for token in form:
            node = node.setdefault(token, {})
        node[""] = {}
    return _node_regex(trie, last="", word_end=word_end)


def _node_regex(node: dict[str, Any], last: str, word_end: str) -> str:
    alternatives = [
        _token_regex(token) + _node_regex(child, token, word_end)
        for token, child in sorted(node.items())
        if token
    ]
    if "" in node:  # a phrase ends here: after the longer ones, so the longest wins
        alternatives.append(word_end if is_word(last) else "")
    if len(alternatives) == 1:
        return alternatives[0]
    return "(?:" + "|".join(alternatives) + ")"


def _token_regex(token: str) -> str:
    if token == SEP:
        return _SEP_REGEX
    if token == APOS:
        return _APOSTROPHE_REGEX
    return re.escape(token)
