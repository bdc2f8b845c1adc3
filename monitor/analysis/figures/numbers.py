"""Read the numbers news prose uses as ranges with a qualifier (pure, no I/O).

Forms: digits with separators ("3,000", "3 000", European "3.000" — a dot followed by
exactly three digits and no decimal part is a thousands separator, since news never writes
three-decimal counts), decimals, scale words and suffixes ("1.5 million", "12k", "3bn"),
number words ("nine", "twenty-five", "a dozen", "one hundred and twenty"), vague amounts as
ranges ("dozens" 24–99, "hundreds" 100–999, "thousands" 1,000–9,999, "several thousand"
2,000–9,999, "tens of thousands" 10,000–99,999), ranges ("10,000 to 12,000", "10-12,000",
"between 10 and 12 thousand"), percentages ("40%", "40 per cent") and shares ("a quarter"
25, "two-thirds" 66.7, "one in three" 33.3).

Number words are parsed here, not with a library: word2number and text2num read
"twenty-five" but know nothing of vague amounts, shares, qualifiers or character offsets,
which are what this module is for; the word grammar itself is a dozen lines.

Qualifiers come from the words around the number: ``at_least`` (at least, no fewer than,
"or more"), ``over`` (more than, over, upwards of, "-plus"), ``about`` (about, around,
approximately, some, roughly, an estimated, "or so"), ``up_to`` (up to, as many as),
``nearly`` (nearly, almost, close to, just under), ``under`` (fewer than, under, less than).
A vague amount without one is ``about``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.domain.model import Qualifier

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100.0, "thousand": 1e3, "million": 1e6, "billion": 1e9, "dozen": 12.0}
_SUFFIX_SCALES = {"k": 1e3, "m": 1e6, "mn": 1e6, "mln": 1e6, "b": 1e9, "bn": 1e9}
_DENOMINATORS = {
    "half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4,
    "fifth": 5, "fifths": 5, "sixth": 6, "sixths": 6, "tenth": 10, "tenths": 10,
}  # fmt: skip
_VAGUE = {  # plural scale word -> (low, high) per CONTRACT.md
    "dozens": (24.0, 99.0),
    "hundreds": (100.0, 999.0),
    "thousands": (1e3, 9999.0),
    "millions": (1e6, 9999999.0),
}

# Every word the parser reads as (part of) a number: where the figure extractor looks.
# "zero" is left out: nothing worth an alert is ever counted as zero.
NUMBER_WORDS = frozenset([*(w for w in _UNITS if w != "zero"), *_SCALES, *_DENOMINATORS, *_VAGUE])

_WORD = "|".join(sorted(_UNITS, key=len, reverse=True))
_SCALE_WORD = "hundred|thousand|million|billion"
_DIGITS = (
    r"\d{1,3}(?:,\d{3})+(?:\.\d+)?"  # 3,000 / 1,234.5
    r"|\d{1,3}(?:\.\d{3})+(?![.,]?\d)"  # 3.000 (European thousands)
    r"|\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?![.,]?\d)"  # 3 000
    r"|\d+(?:\.\d+)?"
)
_WORDS = (
    rf"(?:(?:{_WORD})|a\s+(?:{_SCALE_WORD}|dozen))"
    rf"(?:(?:[\s-]+and)?[\s-]+(?:{_WORD}|{_SCALE_WORD}|dozen)\b)*"
    # broadcasters' "three-thousand-200": digits after a scale word
    rf"(?:(?:(?<=thousand)|(?<=hundred))-\d{{1,3}}(?![\d,.]))?"
)
_FRACTION = "|".join(sorted(_DENOMINATORS, key=len, reverse=True))
_CORE = rf"""
  (?P<vague>(?:tens|hundreds)\s+of\s+(?:thousands|millions)
    |(?:several|a\s+few|a\s+couple(?:\s+of)?)\s+(?:dozen|hundred\s+thousand|{_SCALE_WORD})
    |dozens|hundreds|thousands|millions)
  |(?P<fscale>(?:(?:a|one)[\s-]+)?(?:half|quarter)[\s-]+(?:of\s+)?(?:a\s+)?(?:million|billion))
  |(?P<share>(?:a|one|{_WORD})[\s-]+(?:{_FRACTION})(?=\s+(?:of|the)\b)
    |half(?=\s+(?:of|the)\b)
    |(?:one|1)\s+(?:in|out\s+of)\s+(?:every\s+)?(?P<den>\d+|{_WORD}))
  |(?P<digits>{_DIGITS})
    (?:(?:\s*|-)(?P<dscale>{_SCALE_WORD}|dozen)\b|(?P<sscale>k|m|mn|mln|bn|b)\b)?
  |(?P<words>{_WORDS})
  |(?P<article>an?)(?=\s+(?:year|month|week)\b)
"""
_CORE_SEARCH = re.compile(rf"(?<![\w.,])(?<![A-Za-z]-)(?:{_CORE})(?![\w])", re.I | re.X)
_CORE_MATCH = re.compile(rf"(?:{_CORE})(?![\w])", re.I | re.X)
_RANGE_JOIN = re.compile(r"\s*(?:-|–|—|to|and|or)\s*(?![\s.,])", re.I)
_PERCENT = re.compile(r"\s*(?:%|percent\b|per\s+cent\b|pct\b)", re.I)
_INTENSIFIER = (
    r"(?:(?:well|far|much|just|slightly|significantly|considerably|perhaps|possibly)\s+)?"
)
_QUALIFIER_WORDS: list[tuple[str, Qualifier]] = [
    (r"at\s+least|no\s+(?:fewer|less)\s+than|not\s+less\s+than|a\s+minimum\s+of", "at_least"),
    (r"just\s+(?:under|below|short\s+of)", "nearly"),
    (
        r"more\s+than|over|upwards?\s+of|in\s+excess\s+of|exceeding|exceeds|exceeded|exceed"
        r"|above|north\s+of|surpassing|surpasses|surpassed|surpass|passed"
        r"|(?<!the\s)(?<!\sa\s)(?:topped|tops|top)",
        "over",
    ),
    (r"up\s+to|as\s+many\s+as|as\s+much\s+as|a\s+maximum\s+of|at\s+most|no\s+more\s+than", "up_to"),
    (r"nearly|almost|close\s+to|approaching|roughly\s+half", "nearly"),
    (r"fewer\s+than|less\s+than|under|below", "under"),
    (
        r"about|around|approximately|approx\.|some|roughly|an\s+estimated|estimated"
        r"|circa|an\s+approximate|on\s+the\s+order\s+of|something\s+like|closer\s+to",
        "about",
    ),
]  # fmt: skip
# One pattern for all qualifiers before a number; the leftmost (longest) phrase wins, so
# "just under" is ``nearly`` and "no more than" is ``up_to``.
_QUALIFIER_BEFORE = re.compile(
    rf"\b{_INTENSIFIER.replace(')?', ')??')}(?:"
    + "|".join(f"(?P<q{i}>{words})" for i, (words, _) in enumerate(_QUALIFIER_WORDS))
    + r")\s+(?:the\s+)?[\"“'‘]?$",
    re.I,
)
# The words a qualifier can end with; a cheap test before the pattern above.
_QUALIFIER_ENDS = frozenset(
    w.lower() for words, _ in _QUALIFIER_WORDS for w in re.findall(r"[a-z]+(?=\)|\||$)", words)
) | {"approx."}
_LAST_WORD = re.compile(r"([\w.]+)\s+(?:the\s+)?[\"“'‘]?$")
_QUALIFIER_GROUPS: dict[str, Qualifier] = {
    f"q{i}": qualifier for i, (_, qualifier) in enumerate(_QUALIFIER_WORDS)
}
_QUALIFIER_AFTER = re.compile(
    r"\s*(?:(?P<at_least>or\s+more|or\s+above|at\s+least)|(?P<over>-?plus\b|\+)"
    r"|(?P<about>or\s+so\b)|(?P<up_to>at\s+most|or\s+(?:fewer|less)))",
    re.I,
)
_AFTER_QUALIFIERS: tuple[Qualifier, ...] = ("at_least", "over", "about", "up_to")
_INCREMENT_BEFORE = re.compile(
    r"\b(?:another|an\s+additional|additional|a\s+further|further|an\s+extra|extra)\s+"
    r"(?:\w+\s+){0,2}$",
    re.I,
)
_INCREMENT_AFTER = re.compile(r"\s+(?:more|additional|extra)\b(?!\s+than)", re.I)
_BETWEEN = re.compile(r"\b(?:between|from)\s+$", re.I)


_SPACED_DIGITS = re.compile(r"\d[ \u00a0\u202f]\d")
_SEPARATOR = re.compile(r"[, \u00a0\u202f]")
_EUROPEAN = re.compile(r"\d{1,3}(?:\.\d{3})+")
_SPACE_OR_HYPHEN = re.compile(r"[\s-]+")
_PRONOUN_AFTER = re.compile(r"\s+(?:of|another|side|way|day|time|thing)\b")
_PRONOUN_BEFORE = re.compile(r"\b(?:the|no|any|every|each|this|that|which)\s+$")
_OR_QUALIFIER = re.compile(r"\s*or\s+(?:more|so|fewer|less|above)\b", re.I)


@dataclass(frozen=True, slots=True)
class Quantity:
    """A number as stated in a text: its range, qualifier and where it is.

    ``start``/``end`` span the whole expression (with its qualifier words); ``core_start``
    / ``core_end`` the number itself. ``percent`` marks shares and percentages; ``vague``
    amounts such as "hundreds"; ``increment`` an addition ("another 3,000").
    """

    low: float
    high: float
    qualifier: Qualifier
    start: int
    end: int
    core_start: int
    core_end: int
    percent: bool = False
    vague: bool = False
    increment: bool = False
    integer: bool = True

    @property
    def value(self) -> float:
        return (self.low + self.high) / 2


def _digits_value(raw: str) -> float:
    if "," in raw or _SPACED_DIGITS.search(raw):
        return float(_SEPARATOR.sub("", raw))
    if _EUROPEAN.fullmatch(raw):
        return float(raw.replace(".", ""))
    return float(raw)


def words_value(phrase: str) -> float | None:
    """``"one hundred and twenty-five"`` → 125.0; None if it is not a number phrase."""
    total = current = 0.0
    seen = False
    for token in _SPACE_OR_HYPHEN.split(phrase.lower()):
        if token in ("", "and"):
            continue
        if token in ("a", "an"):
            current = 1.0
        elif token in _UNITS:
            current += _UNITS[token]
        elif token.isdigit():
            current += int(token)
        elif token in ("hundred", "dozen"):
            current = max(current, 1.0) * _SCALES[token]
        elif token in _SCALES:
            total += max(current, 1.0) * _SCALES[token]
            current = 0.0
        else:
            return None
        seen = True
    return total + current if seen else None


def _vague_range(phrase: str) -> tuple[float, float]:
    words = phrase.lower().split()
    if words[-1] in _VAGUE:
        low, high = _VAGUE[words[-1]]
        if len(words) > 1:  # tens of thousands, hundreds of millions
            factor = 10.0 if words[0] == "tens" else 100.0
            return low * factor, (high + 1) * factor - 1
        return low, high
    scale = _SCALES[words[-1]] * (1000.0 if words[-2:] == ["hundred", "thousand"] else 1.0)
    if words[0] == "a" and words[1].startswith("couple"):
        return 2 * scale, 2 * scale
    if words[-1] == "dozen":
        return _VAGUE["dozens"]
    return 2 * scale, 10 * scale - 1


def _core_range(m: re.Match[str]) -> tuple[float, float, bool, bool] | None:
    """(low, high, percent, vague) for one core match."""
    if m["vague"]:
        low, high = _vague_range(m["vague"])
        couple = m["vague"].lower().startswith("a couple")
        return low, high, False, not couple
    if m["fscale"]:
        text = m["fscale"].lower()
        part = 0.5 if "half" in text else 0.25
        return (part * (1e9 if "billion" in text else 1e6),) * 2 + (False, False)
    if m["share"]:
        return (*(_share_value(m["share"], m["den"]),) * 2, True, False)
    if m["digits"]:
        value = _digits_value(m["digits"])
        if m["dscale"]:
            value *= _SCALES[m["dscale"].lower()]
        elif m["sscale"]:
            value *= _SUFFIX_SCALES[m["sscale"].lower()]
        return value, value, False, False
    if m["article"]:  # "for a year": one
        return 1.0, 1.0, False, False
    spelled = words_value(m["words"])
    return None if spelled is None else (spelled, spelled, False, False)


def _share_value(share: str, den: str | None) -> float:
    if den is not None:
        denominator = float(den) if den.isdigit() else float(_UNITS[den.lower()])
        return round(100.0 / denominator, 1) if denominator else 0.0
    words = _SPACE_OR_HYPHEN.split(share.lower())
    if words == ["half"]:
        return 50.0
    numerator = 1.0 if words[0] in ("a", "one") else float(_UNITS.get(words[0], 1))
    return round(100.0 * numerator / _DENOMINATORS[words[-1]], 1)


def _is_pronoun_one(text: str, m: re.Match[str]) -> bool:
    if m["words"] is None or m["words"].lower() != "one":
        return False
    after = text[m.end() : m.end() + 12].lower()
    before = text[max(0, m.start() - 8) : m.start()].lower()
    return bool(_PRONOUN_AFTER.match(after) or _PRONOUN_BEFORE.search(before))


def _qualifier(text: str, start: int, end: int) -> tuple[Qualifier | None, int, int]:
    """The qualifier around ``text[start:end]`` and the widened span it covers."""
    last = _LAST_WORD.search(text, max(0, start - 16), start)
    if last is None or last.group(1).lower() not in _QUALIFIER_ENDS:
        pass  # no qualifier ends with the word before the number: skip the long pattern
    elif m := _QUALIFIER_BEFORE.search(text, max(0, start - 40), start):
        return _QUALIFIER_GROUPS[str(m.lastgroup)], m.start(), end
    if m := _QUALIFIER_AFTER.match(text, end):
        found: Qualifier = next(q for q in _AFTER_QUALIFIERS if m[q])
        return found, start, m.end()
    return None, start, end


def _range_end(text: str, m: re.Match[str], between: bool) -> re.Match[str] | None:
    """A second number joined to ``m`` into a range ("10,000 to 12,000"), if any."""
    join = _RANGE_JOIN.match(text, m.end())
    if join is None or m["share"] or m["fscale"]:
        return None
    word = join.group().strip().lower()
    if word == "and" and not between:
        return None
    if word == "or" and _OR_QUALIFIER.match(text, m.end()):
        return None
    second = _CORE_MATCH.match(text, join.end())
    if second is None or second["share"] or second["fscale"]:
        return None
    return second


def _combine(
    first: tuple[float, float], second: tuple[float, float], m2: re.Match[str]
) -> tuple[float, float]:
    """Range ends; "10 to 12 thousand" scales the first end like the second."""
    low, high = first[0], second[1]
    scale = m2["dscale"] or m2["sscale"]
    if scale and low < second[0] / 10:
        factor = _SCALES.get(scale.lower()) or _SUFFIX_SCALES[scale.lower()]
        low *= factor
    return low, high


def find_quantities(text: str, start: int = 0, end: int | None = None) -> list[Quantity]:
    """Every number expression in ``text`` (or in ``text[start:end]``), in order.

    Case-insensitive; callers that scan many windows of one text can pass it lower-cased
    (see :func:`lower_same_length`) — offsets are the same either way.
    """
    found: list[Quantity] = []
    pos = start
    endpos = len(text) if end is None else end
    while m := _CORE_SEARCH.search(text, pos, endpos):
        pos = m.end()
        quantity = _read(text, m)
        if quantity is not None:
            found.append(quantity)
            pos = quantity.core_end
    return found


_LEADING_WORDS = frozenset(
    {"a", "an", "of", "several", "few", "couple", "tens", "hundreds", "in", "out", "every"}
    | {*_UNITS, *_SCALES, *_DENOMINATORS}
)


_SEPARATORS = ' \t\n"“‘'


def _leading_word_before(text: str, pos: int) -> int:
    """Start of the word before ``pos`` if it can begin a longer number ("a couple of
    dozen", "tens of thousands"), else -1. A plain scan: this runs for every number."""
    if pos > 0 and text[pos - 1] == "-":  # "three-thousand-200"
        j = pos - 1
        while j > 0 and (text[j - 1].isalpha() or text[j - 1] == "-"):
            j -= 1
        parts = text[j : pos - 1].lower().split("-")
        scaled = parts[-1] in ("thousand", "hundred")
        return j if scaled and all(p in _LEADING_WORDS for p in parts) else -1
    i = pos
    while i > 0 and text[i - 1] in _SEPARATORS:
        i -= 1
    j = i
    while j > 0 and (text[j - 1].isalnum() or text[j - 1] in "_'’-"):
        j -= 1
    if j == i or i == pos or (j > 0 and text[j - 1] not in _SEPARATORS + "("):
        return -1
    return j if text[j:i].lower() in _LEADING_WORDS else -1


def quantities_at(text: str, positions: list[int]) -> list[Quantity]:
    """The quantities that cover ``positions`` (where digits or number words are).

    Same result as :func:`find_quantities` for those numbers, but tries the pattern only at
    the given places and up to three words before them ("a couple of dozen") instead of
    at every character, which is what makes long texts cheap.
    """
    found: list[Quantity] = []
    covered = -1
    for pos in sorted(positions):
        if pos < covered:
            continue
        starts = [pos]
        for _ in range(3):
            before = _leading_word_before(text, starts[-1])
            if before < 0:
                break
            starts.append(before)
        for start in reversed(starts):
            m = _CORE_SEARCH.match(text, start)
            if m is not None and m.end() > pos and (quantity := _read(text, m)) is not None:
                found.append(quantity)
                covered = quantity.core_end
                break
        else:
            covered = pos + 1
    return found


def _read(text: str, m: re.Match[str]) -> Quantity | None:
    if _is_pronoun_one(text, m):
        return None
    core = _core_range(m)
    if core is None:
        return None
    low, high, percent, vague = core
    core_start, core_end = m.start(), m.end()
    between_match = _BETWEEN.search(text, max(0, core_start - 10), core_start)
    between = between_match is not None
    second = None if vague else _range_end(text, m, between)
    rng = _core_range(second) if second is not None else None
    if second is not None and rng is not None and not rng[3] and rng[1] > low:
        low, high = _combine((low, high), (rng[0], rng[1]), second)
        core_end = second.end()
    if pm := _PERCENT.match(text, core_end):
        percent = True
        core_end = pm.end()
    start = core_start
    if between_match is not None and core_end > m.end():
        start = between_match.start()
    qualifier, start, end = _qualifier(text, start, core_end)
    window = max(0, start - 40)
    increment = bool(_INCREMENT_BEFORE.search(text, window, start)) or bool(
        _INCREMENT_AFTER.match(text, end)
    )
    return Quantity(
        low=low,
        high=high,
        qualifier=qualifier or ("about" if vague else "exact"),
        start=start,
        end=end,
        core_start=core_start,
        core_end=core_end,
        percent=percent,
        vague=vague,
        increment=increment,
        integer=bool(m["digits"])
        and "." not in m["digits"]
        and "," not in m["digits"]
        and " " not in m["digits"],
    )


def lower_same_length(text: str) -> str:
    """``text.lower()`` with the same offsets (the few characters that grow stay as is)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def parse_quantity(phrase: str) -> Quantity | None:
    """The quantity a whole phrase states ("at least 3,000"), or None."""
    found = find_quantities(phrase)
    return found[0] if len(found) == 1 else None


def parse_number(phrase: str) -> float | None:
    """The point value of a phrase that is just a number ("3,000", "nine", "1.5m")."""
    m = _CORE_MATCH.fullmatch(phrase.strip())
    if m is None or m["vague"] or m["share"]:
        return None
    core = _core_range(m)
    return None if core is None else core[0]
