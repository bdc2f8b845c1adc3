"""Where numbers are, and which of them can never be figures (years, dates, money, ages,
distances, calibres, list numbering), found without scanning a text word by word."""

from __future__ import annotations

import re

from monitor.analysis.figures.dates import MONTHS
from monitor.analysis.figures.numbers import NUMBER_WORDS, Quantity

_NOT_A_FIGURE = [
    re.compile(rf"(?:\b(?:{MONTHS})\.?|\$|us\$|€|£|¥|₩|\busd|\bkrw|\brub)\s*$"),  # date, money
    re.compile(
        r"\b(?:aged?|ages|age of)\s+\d+\s*(?:and|or|to|-|–)\s*$"
        r"|\bas\s+(?:young|old)\s+as\s*$|\bin\s+(?:their|his|her)\s+(?:early\s+|late\s+|mid-?)?$"
        r"|\b(?:aged?|ages|age of|level|page|no\.|number|article|resolution|section|chapter"
        r"|episode|part|figure|table|round|phase|grade|category|tier|model|type|version"
        r"|stage|step|item|question|kn-?|hwasong-?|su-?|mig-?|t-?|f-?)\s*#?$"
    ),
]


_NOT_A_FIGURE_AFTER = re.compile(
    rf"(?:st|nd|rd|th)?\s*(?:of\s+)?(?:{MONTHS})\b|\s*(?::\d|a\.?m\.?(?!\w)|p\.?m\.?(?!\w)"
    r"|gmt\b|utc\b|hrs\b|o'clock)|[\s-]*years?[\s-]+old\b|-year\b|\s*-?(?:km\b|kilomet|miles?\b"
    r"|mi\b|met(?:er|re)s?\b|feet\b|ft\b|yards?\b|nautical|px\b|pt\b|kg\b|tons?\b|tonnes?\b"
    r"|mm\b|millimet|calib(?:re|er)\b|inch(?:es)?\b|in\.|cm\b|centimet)"
)


_MONEY_AFTER = re.compile(
    r"\s*(?:dollars|usd|euros?|pounds|won|rubles?|roubles?|yuan|yen|\$)\b|\s*(?:million|billion)?"
    r"\s*(?:dollars|usd|euros?|won|rubles?|roubles?)\b"
)


_LIST_NUMBER = re.compile(r"[.)]\s")


_TOKEN_FORMS = {
    f"{before}{word}{after}".encode(): word
    for word in NUMBER_WORDS
    for before in ("", "(", '"', "?")
    for after in ("", ",", ".", ";", ":", ")", '"', "?", "'s", "?s")
}


_FRACTIONS = ("third", "thirds", "quarter", "quarters", "fifth", "fifths", "tenth", "tenths")


_TOKEN_FORMS.update(
    {
        f"{before}{a}-{b}{after}".encode(): a
        for a in NUMBER_WORDS
        for b in (*NUMBER_WORDS, *_FRACTIONS)
        if a.endswith("ty") or b.endswith("s") or b in _FRACTIONS
        for before in ("", "(")
        for after in ("", ",", ".", ";", ")")
    }
)


_DIGITS_ONLY = bytes(48 if 48 <= i <= 57 else 46 for i in range(256))  # digit → "0", else "."


def digit_runs(ascii_low: bytes) -> list[int]:
    """Where each run of digits starts (bytes.find on a translated copy beats a regex)."""
    digits = ascii_low.translate(_DIGITS_ONLY)
    runs = []
    at = digits.find(b"0")
    while at >= 0:
        runs.append(at)
        end = digits.find(b".", at)
        at = -1 if end < 0 else digits.find(b"0", end)
    return runs


_TOKEN_FORM_SET = frozenset(_TOKEN_FORMS)  # set ∩ list walks the list, not 2,400 keys


def number_words_in(ascii_low: bytes) -> set[str]:
    """The number words a text holds ("nine", "twenty-five", "hundreds"), without a regex."""
    return {_TOKEN_FORMS[t] for t in _TOKEN_FORM_SET.intersection(ascii_low.split())}


def may_be_figure(low: str, q: Quantity, sentence_start: int, money: bool) -> bool:
    """Whether ``q`` can be a figure at all: not a year, date, time, age, distance,
    calibre, list number, nor money (unless a figure counts ``money``)."""
    before = low[max(sentence_start, q.core_start - 20) : q.core_start]
    if any(p.search(before) for p in _NOT_A_FIGURE):
        return "$" in before and money
    if _NOT_A_FIGURE_AFTER.match(low, q.core_end):
        return False
    if _MONEY_AFTER.match(low, q.core_end) and not money:
        return False
    if q.integer and 1900 <= q.low <= 2100 and q.low == q.high and not q.percent:
        return False
    line_start = low.rfind("\n", 0, q.start) + 1
    return not (not low[line_start : q.start].strip() and _LIST_NUMBER.match(low, q.core_end))
