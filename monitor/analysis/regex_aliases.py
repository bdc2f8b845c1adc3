"""Regex aliases: compiled, and refused when they could backtrack catastrophically.

A watchlist's ``{regex: ...}`` alias runs over every article; a pattern like ``(a+)+b``
can take minutes on a short text. :func:`regex_problem` refuses such patterns when the
watchlist is loaded, by a static and conservative reading of the parsed pattern.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["regex_problem"]

_sre: Any = importlib.import_module("re._parser")
_MAXREPEAT: Any = importlib.import_module("re._constants").MAXREPEAT
_SAMPLE = [chr(c) for c in range(32, 127)] + list("\t\n\xa0éßЖ’—")
_ALL = frozenset(_SAMPLE)
_CATEGORIES: dict[str, Callable[[str], bool]] = {
    "CATEGORY_DIGIT": str.isdigit,
    "CATEGORY_WORD": lambda c: c.isalnum() or c == "_",
    "CATEGORY_SPACE": str.isspace,
}


def regex_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be a regex alias (does not compile, matches the empty string,
    or could backtrack catastrophically), or None. The backtracking check is static and
    conservative: it refuses a repeated group containing another quantifier (``(a+)+``,
    ``(.*)*``), a repeated alternation whose branches can start alike (``(a|ab)*``), and two
    adjacent unbounded repeats that can match the same character (``\\d+\\d*``)."""
    try:
        re.compile(pattern)
        tree = _sre.parse(pattern)
    except (re.error, RecursionError) as exc:
        return f"regex {pattern!r} does not compile: {exc}"
    if _nullable(tree):
        return f"regex {pattern!r} can match the empty string"
    danger = _danger(tree, inside_repeat=False)
    return f"regex {pattern!r} could backtrack catastrophically: {danger}" if danger else None


def _items(seq: Any) -> list[tuple[str, Any]]:
    return [(str(op), av) for op, av in seq]


def _danger(seq: Any, *, inside_repeat: bool) -> str | None:
    items = _items(seq)
    for i, (op, av) in enumerate(items):
        if op in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, body = av
            many = high is _MAXREPEAT or high > 1
            # a count that varies (a+, a{1,20}) inside a group repeated at all, even a
            # bounded number of times: (?:a{1,20}){1,20}b ran > 20 s on 30 characters
            if many and low != high and inside_repeat:
                return "a quantifier inside a repeated group, e.g. (a+)+"
            if found := _danger(body, inside_repeat=inside_repeat or many):
                return found
            if high is _MAXREPEAT and _overlaps_later(body, items[i + 1 :]):
                return "two adjacent repeats can match the same text, e.g. \\d+\\d*"
        elif op == "BRANCH":
            if inside_repeat and _branches_overlap(av[1]):
                return "a repeated alternation whose branches can match alike, e.g. (a|ab)*"
            for branch in av[1]:
                if found := _danger(branch, inside_repeat=inside_repeat):
                    return found
        elif op in ("SUBPATTERN", "ATOMIC_GROUP"):
            body = av[-1] if op == "SUBPATTERN" else av
            if found := _danger(body, inside_repeat=inside_repeat):
                return found
    return None


def _overlaps_later(body: Any, rest: list[tuple[str, Any]]) -> bool:
    """An unbounded repeat of ``body`` followed, past only what can match nothing, by
    another that can match the same characters (\\d+x?\\d+y: 9 s on 1,500 digits)."""
    for item in rest:
        if _adjacent_overlap(body, item):
            return True
        if not _nullable_item(*item):
            return False
    return False


def _adjacent_overlap(body: Any, nxt: tuple[str, Any]) -> bool:
    op, av = nxt
    if op not in ("MAX_REPEAT", "MIN_REPEAT") or av[1] is not _MAXREPEAT:
        return False
    return bool(_first(body) & _first(av[2]))


def _branches_overlap(branches: Sequence[Any]) -> bool:
    """Two branches can start alike, or both match nothing (``(a|a)*`` parses as ``a(?:|)``)."""
    firsts = [_first(branch) for branch in branches]
    if sum(_nullable(branch) for branch in branches) > 1:
        return True
    return any(a & b for i, a in enumerate(firsts) for b in firsts[i + 1 :])


def _first(seq: Any) -> frozenset[str]:
    """The sample characters that can start a match of ``seq`` (an over-approximation)."""
    result: set[str] = set()
    for op, av in _items(seq):
        result |= _first_of(op, av)
        if not _nullable_item(op, av):
            break
    return frozenset(result)


def _first_of(op: str, av: Any) -> frozenset[str]:
    if op in ("LITERAL", "NOT_LITERAL", "IN", "ANY"):
        return frozenset(c for c in _SAMPLE if _accepts(op, av, c))
    if op in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        return _first(av[2])
    if op == "SUBPATTERN":
        return _first(av[-1])
    if op == "ATOMIC_GROUP":
        return _first(av)
    if op == "BRANCH":
        return frozenset().union(*(_first(branch) for branch in av[1]))
    if op in ("AT", "ASSERT", "ASSERT_NOT"):
        return frozenset()
    return _ALL


def _accepts(op: str, av: Any, char: str) -> bool:
    if op == "ANY":
        return char != "\n"
    if op == "LITERAL":
        return char.lower() == chr(av).lower()
    if op == "NOT_LITERAL":
        return char.lower() != chr(av).lower()
    negate = False
    hit = False
    for item_op, item_av in _items(av):
        if item_op == "NEGATE":
            negate = True
        elif item_op == "LITERAL":
            hit = hit or char.lower() == chr(item_av).lower()
        elif item_op == "RANGE":
            hit = hit or any(item_av[0] <= ord(c) <= item_av[1] for c in _cases(char))
        elif item_op == "CATEGORY":
            name = str(item_av)
            test = _CATEGORIES.get(name.replace("NOT_", ""), _anything)
            hit = hit or (test(char) != name.startswith("CATEGORY_NOT_"))
        else:
            hit = True
    return hit != negate


def _cases(char: str) -> set[str]:
    return {c for c in (char, char.lower(), char.upper()) if len(c) == 1}


def _anything(char: str) -> bool:
    return True


def _nullable(seq: Any) -> bool:
    return all(_nullable_item(op, av) for op, av in _items(seq))


def _nullable_item(op: str, av: Any) -> bool:
    if op in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        return bool(av[0] == 0 or _nullable(av[2]))
    if op == "SUBPATTERN":
        return _nullable(av[-1])
    if op == "ATOMIC_GROUP":
        return _nullable(av)
    if op == "BRANCH":
        return any(_nullable(branch) for branch in av[1])
    return op in ("AT", "ASSERT", "ASSERT_NOT", "GROUPREF", "GROUPREF_EXISTS")
