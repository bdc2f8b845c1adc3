"""A language's number forms and grammar words, and reading numbers with them (pure).

Digits follow the language's convention: a decimal comma and a dot or space between
thousands ("11.000", "11 000", "2,3 Millionen") in German, Spanish, French, Russian and
Ukrainian; a thousands comma in Korean ("4,700"), whose 만 (10,000), 천 (1,000) and 백
(100) units are read too ("1만1000", "1만5,000", "3천"). Scale words follow digits
("11 тысяч", "2,3 millones"); number words stand alone ("neun", "двое", "mil"); vague
amounts ("Tausende", "수천", "des milliers") are the ranges of CONTRACT.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from monitor.analysis.figures.numbers import Quantity
from monitor.domain.model import Qualifier

T = TypeVar("T")

Range = tuple[float, float]
DOZENS: Range = (24.0, 99.0)
HUNDREDS: Range = (100.0, 999.0)
THOUSANDS: Range = (1e3, 9999.0)
SEVERAL_THOUSAND: Range = (2e3, 9999.0)
TENS_OF_THOUSANDS: Range = (1e4, 99999.0)

_COMMA_DECIMAL = (
    r"\d{1,3}(?:[.\u00a0\u202f ]\d{3})+(?:,\d+)?(?![\d])"  # 11.000 / 11 000 / 1.234,5
    r"|\d+(?:,\d+)?"  # 2,3 / 600
)
_DOT_DECIMAL = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|\d+(?:\.\d+)?"


@dataclass(frozen=True)
class Grammar:
    """What a language needs for reading figures. Patterns are case-insensitive regex
    source; dict keys are regexes for one word (their value the number it says)."""

    code: str
    decimal_comma: bool
    scales: dict[str, float]  # after digits: "тысяч" 1000, "Millionen" 1e6
    words: dict[str, float]  # number words: "neun" 9, "двое" 2, "mil" 1000
    vague: dict[str, Range]  # "Tausende", "несколько тысяч"
    before: Sequence[tuple[str, Qualifier]]  # qualifier words before the number
    after: Sequence[tuple[str, Qualifier]] = ()  # and after it (with its counted noun)
    # not a figure: a year, a date, a time, an age, a distance, an ordinal, a list number
    not_after: str = r"$^"
    not_before: str = r"$^"
    negation: str = r"$^"  # words that negate or make a statement hypothetical
    partitive: str = r"$^"  # "of" between a part and its whole: "2 из 5", "1.000 von 11.000"
    range_join: str = r"\s*(?:-|–|—)\s*"
    oblique: str = r"$^"  # a preposition before a name, or a particle after it (ko)
    particles: str = ""  # ko: endings a noun takes without a space
    clause_break: str = r"[;:]|\s[–—]\s"
    verb_final: bool = False  # ko: negation and mood come after the verb, at the clause end
    # whose figures are not ours: Russian and Ukrainian forces, the South's, civilians
    others: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # who states a figure: patterns with a group "who"
    number_end: str = r"(?!\w)"  # ko: a particle or counter follows digits: "600명이"
    special: Callable[[str, int, int], list[tuple[int, int, Range]]] | None = None
    compiled: dict[str, re.Pattern[str]] = field(default_factory=dict, compare=False)

    def pattern(self, name: str, source: str) -> re.Pattern[str]:
        found = self.compiled.get(name)
        if found is None:
            found = self.compiled[name] = re.compile(source, re.I | re.X)
        return found

    @property
    def number(self) -> re.Pattern[str]:
        digits = _COMMA_DECIMAL if self.decimal_comma else _DOT_DECIMAL
        scales = _alternatives(self.scales)
        return self.pattern(
            "number",
            rf"""(?<![\w.,])(?:
              (?P<vague>{_alternatives(self.vague)})
              |(?P<digits>{digits})(?:\s?(?P<scale>{scales})(?!\w))?
              |(?P<word>{_alternatives(self.words)})(?:\s(?P<wscale>{scales})(?!\w))?
            ){self.number_end}""",
        )

    def quantities(self, text: str, start: int = 0, end: int | None = None) -> list[Quantity]:
        """Every number expression in ``text[start:end]``, in order, with its qualifier."""
        stop = len(text) if end is None else end
        spans: list[tuple[int, int, Range, bool, bool]] = []
        if self.special is not None:
            spans += [(a, b, r, False, True) for a, b, r in self.special(text, start, stop)]
        taken = [(a, b) for a, b, *_ in spans]
        for m in self.number.finditer(text, start, stop):
            if any(a <= m.start() < b for a, b in taken):
                continue
            value = self._value(m)
            if value is not None:
                spans.append((m.start(), m.end(), value, bool(m["vague"]), bool(m["digits"])))
        spans.sort()
        return self._ranges_joined(text, spans)

    def _value(self, m: re.Match[str]) -> Range | None:
        if m["vague"]:
            return _lookup(self.vague, m["vague"])
        if m["digits"]:
            value = digits_value(m["digits"], self.decimal_comma)
            scale = _lookup(self.scales, m["scale"]) if m["scale"] else 1.0
            return value * scale, value * scale
        word = _lookup(self.words, m["word"])
        scale = _lookup(self.scales, m["wscale"]) if m["wscale"] else 1.0
        return None if word is None else (word * scale, word * scale)

    def _ranges_joined(
        self, text: str, spans: list[tuple[int, int, Range, bool, bool]]
    ) -> list[Quantity]:
        found: list[Quantity] = []
        join = self.pattern("join", self.range_join)
        i = 0
        while i < len(spans):
            a, b, (low, high), vague, digits = spans[i]
            if i + 1 < len(spans) and not vague:
                a2, b2, (low2, high2), vague2, _ = spans[i + 1]
                m = join.match(text, b)
                if m is not None and m.end() == a2 and not vague2 and low2 > low:
                    if low < low2 / 100:  # "10-12 тысяч": the first end scales like the second
                        low *= _scale_of(low2)
                    b, high, i = b2, high2, i + 1
            found.append(self._quantity(text, a, b, (low, high), vague, digits))
            i += 1
        return found

    def _quantity(
        self, text: str, a: int, b: int, rng: Range, vague: bool, digits: bool
    ) -> Quantity:
        qualifier: Qualifier | None = None
        start, end = a, b
        before = self.pattern(
            "before",
            "(?:" + "|".join(f"(?P<b{i}>{w})" for i, (w, _) in enumerate(self.before)) + r")\s*$",
        )
        if m := before.search(text, max(0, a - 40), a):
            qualifier, start = self.before[int(str(m.lastgroup)[1:])][1], m.start()
        after = self.pattern(
            "after",
            r"\s*(?:" + "|".join(f"(?P<a{i}>{w})" for i, (w, _) in enumerate(self.after)) + ")"
            if self.after
            else r"$^",
        )
        if m := after.match(text, b):
            end = m.end()
            qualifier = qualifier or self.after[int(str(m.lastgroup)[1:])][1]
        return Quantity(
            low=rng[0],
            high=rng[1],
            qualifier=qualifier or ("about" if vague else "exact"),
            start=start,
            end=end,
            core_start=a,
            core_end=b,
            vague=vague,
            integer=digits and rng[0] == int(rng[0]),
        )


def digits_value(raw: str, decimal_comma: bool) -> float:
    """ "11.000" → 11000 and "2,3" → 2.3 with a decimal comma; "4,700" → 4700 without."""
    raw = re.sub(r"[\u00a0\u202f ]", "", raw)
    if decimal_comma:
        return float(raw.replace(".", "").replace(",", "."))
    return float(raw.replace(",", ""))


def _scale_of(value: float) -> float:
    for scale in (1e9, 1e6, 1e3):
        if value >= scale:
            return scale
    return 1.0


def _alternatives(table: dict[str, float] | dict[str, Range]) -> str:
    return "|".join(sorted(table, key=len, reverse=True)) or r"$^"


def _lookup(table: dict[str, T], text: str) -> T:
    """The value of the table key (a regex) that ``text`` is."""
    for key, value in table.items():
        if re.fullmatch(key, text, re.I):
            return value
    raise KeyError(text)
