"""Extract tracked figures from an article (pure functions, no I/O).

A number is a figure when, in its sentence, one of the spec's ``cues`` belongs to it —
in the same clause and at most ``_MAX_CUE_WORDS`` words away, the nearest of all cues —
and the figure is about one of the spec's ``subjects``. Mechanics, in order:

1. Only sentences holding a number (digits or a number word) are looked at; the article
   is never scanned word by word.
2. A number that is a year, date, time, age, distance, money (unless ``spec.money``),
   list numbering ("2. How many…"), page furniture ("16 px") or a label ("level 10") is
   not a figure.
3. The counted noun follows the number across at most four modifiers ("1,500 North Korean
   special forces"); it must be one of the spec's ``units`` ("North Koreans" counts as
   people). A partitive "3,000 of the 10,000 soldiers sent" gives the head (3,000) the
   clause's predicate and the inner number (10,000) only the cue attached to its own noun.
   A share ("a quarter of …", "40% of …") is stored in ``percent``.
4. Subject: a nationality written in the number's own noun phrase decides ("600,000
   Russian soldiers" is no North Korean figure); else the nearest subject-like mention in
   the sentence that is not inside an attribution and not governed by a preposition
   ("alongside Russian forces") decides; a sentence without any takes the previous
   sentence's subject ("This contingent was joined by an additional 10,000 soldiers").
   Each spec's ``exclude`` terms are competing subjects too.
5. Negated ("no", "not", "denied"), hypothetical ("if", "unless") statements yield nothing.
6. ``attributed_to`` is the source the sentence names ("according to X", "X said",
   "citing X", "as reported by X"), nearest to the number; else the previous sentence's
   source when it names exactly one. Generic sources ("reports", "estimates") are None.
7. ``as_of`` is set only when an explicit past date anchors the figure ("in January",
   "in October 2024", "on 3 March"); "by mid-January" marks a running total, not a date.
   A month without a year takes the article's publication year (the year before when the
   month lies after the publication month) and is left unset with no publication date.
"""

from __future__ import annotations

import bisect
import functools
import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from monitor.model import Article, FigureSpec, Observation
from monitor.numbers import NUMBER_WORDS, Quantity, lower_same_length, quantities_at

_MAX_CUE_WORDS = 12
_PUNCTUATION_TO_SPACE = str.maketrans({c: " " for c in string.punctuation + "“”‘’—–"})
_NUMBER_WORDS = NUMBER_WORDS  # the quick scan looks for exactly what the parser reads
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_MONTH_NUMBER = {m[:3]: i + 1 for i, m in enumerate(_MONTHS.split("|")[:12])}

# Subjects that compete with a spec's own: a figure about them is not the spec's figure.
_COMPETING = (
    "russian|russians|russia's|russia|ukrainian|ukrainians|ukraine's|ukraine|american|americans"
    "|u.s.|us|america's|chinese|china's|china|south korean|south koreans|south korea's"
    "|south korea|iranian|iranians|iran's|iran|belarusian|belarusians|syrian|syrians|chechen"
    "|chechens|wagner|nato|israeli|israelis|israel's|palestinian|palestinians|cuban|cubans"
    "|nepalese|indian|indians|kremlin's|moscow's|kyiv's|seoul's|washington's|civilian|civilians"
)
# "sent troops to help Russia": whom a verb of help governs is not whose figure it is
# an auxiliary a few words before a verb: "are estimated to have been killed", "were killed"
_AUXILIARY_BEFORE = re.compile(r"\b(?:are|were|is|was|have|has|had)\b(?:\s+[\w'’]+){0,5}\s+$")
_DETERMINERS = frozenset(["the", "a", "an", "its", "their", "his", "her", "this", "that"])
# the counted noun as the subject of a finite verb: "(2,000 soldiers) were reportedly …"
_AUXILIARY_AFTER = re.compile(r"\s+(?:had|have|has|were|was|are|is)\b\s*([\"“‘']?\w)")
_HELP_VERBS = frozenset(
    [
        *("help", "helps", "helped", "helping", "support", "supports", "supported"),
        *("supporting", "aid", "aided", "aiding", "assist", "assisted", "assisting", "bolster"),
    ]
)
_PREPOSITIONS = frozenset(
    [
        "by",
        "to",
        "in",
        "into",
        "from",
        "with",
        "alongside",
        "against",
        "for",
        "on",
        "at",
        "of",
        "near",
        "toward",
        "towards",
        "across",
        "inside",
        "within",
        "through",
        "between",
        "among",
        "behind",
        "via",
        "onto",
    ]
)
_NOUN_MODIFIERS = frozenset(
    [
        "north",
        "south",
        "korean",
        "koreans",
        "special",
        "military",
        "combat",
        "elite",
        "infantry",
        "regular",
        "more",
        "additional",
        "other",
        "active",
        "trained",
        "armed",
        "fresh",
        "new",
        "young",
        "kpa",
        "dprk",
        "strong",
        "highly",
        "well",
        "professional",
        "of",
        "the",
        "its",
        "their",
        "these",
        "those",
        "such",
        "experienced",
        "army",
        "assault",
        "storm",
        "corps",
        "ballistic",
        "artillery",
        "short-range",
        "long-range",
        "larger-caliber",
        "large-caliber",
        "heavy",
    ]
)
_NO_NOUN = frozenset(
    [
        "were",
        "was",
        "are",
        "is",
        "have",
        "has",
        "had",
        "be",
        "been",
        "being",
        "will",
        "would",
        "could",
        "may",
        "might",
        "should",
        "can",
        "did",
        "do",
        "does",
        "who",
        "that",
        "which",
        "and",
        "or",
        "but",
        "as",
        "in",
        "on",
        "at",
        "to",
        "from",
        "by",
        "with",
        "for",
        "of",
        "more",
        "than",
        "per",
        "while",
        "since",
        "after",
        "before",
        "when",
        "where",
        "among",
        "including",
        "reportedly",
        "had",
        "also",
        "now",
        "already",
        "still",
        "a",
        "an",
        "the",
        "it",
        "they",
        "them",
        "this",
        "these",
        "those",
    ]
)
_NOT_A_FIGURE = [
    re.compile(rf"(?:\b(?:{_MONTHS})\.?|\$|us\$|€|£|¥|₩|\busd|\bkrw|\brub)\s*$"),  # date, money
    re.compile(
        r"\b(?:aged?|ages|age of)\s+\d+\s*(?:and|or|to|-|–)\s*$"
        r"|\bas\s+(?:young|old)\s+as\s*$|\bin\s+(?:their|his|her)\s+(?:early\s+|late\s+|mid-?)?$"
        r"|\b(?:aged?|ages|age of|level|page|no\.|number|article|resolution|section|chapter"
        r"|episode|part|figure|table|round|phase|grade|category|tier|model|type|version"
        r"|stage|step|item|question|kn-?|hwasong-?|su-?|mig-?|t-?|f-?)\s*#?$"
    ),
]
_NOT_A_FIGURE_AFTER = re.compile(
    rf"(?:st|nd|rd|th)?\s*(?:of\s+)?(?:{_MONTHS})\b|\s*(?::\d|a\.?m\.?(?!\w)|p\.?m\.?(?!\w)"
    r"|gmt\b|utc\b|hrs\b|o'clock)|[\s-]*years?[\s-]+old\b|-year\b|\s*-?(?:km\b|kilomet|miles?\b"
    r"|mi\b|met(?:er|re)s?\b|feet\b|ft\b|yards?\b|nautical|px\b|pt\b|kg\b|tons?\b|tonnes?\b"
    r"|mm\b|millimet|calib(?:re|er)\b)"
)
_MONEY_AFTER = re.compile(
    r"\s*(?:dollars|usd|euros?|pounds|won|rubles?|roubles?|yuan|yen|\$)\b|\s*(?:million|billion)?"
    r"\s*(?:dollars|usd|euros?|won|rubles?|roubles?)\b"
)
_STOPS = (". ", "? ", "! ", ".” ", '." ', ".) ", ".’ ")
_SPACES = re.compile(r"[\s-]+")
_NEWLINE = re.compile("\n")
_NAME_WORD = re.compile(r"[^\s,;:.!?“”\"]+")
_APPOSITIVE = re.compile(r",\s*([^,]{2,60}),\s*$")
_PROPER_NAME = re.compile(r"[A-Z][\w'’.-]*(?:\s+(?:[A-Z][\w'’.-]*|de|van|von|bin|al|el)){0,3}")
_WEEK_OR_MONTH = re.compile(r"-(week|month|year)\b")
# days per unit of a duration, as a range: "six months" is 168 to 186 days
_DAYS_PER = {"week": (7.0, 7.0), "month": (28.0, 31.0), "year": (365.0, 366.0)}
_DURATIONS = frozenset(["days", "weeks", "months", "years", "day", "week", "month", "year"])
# "for a year": a duration whose number is the article
_FOR_A = re.compile(r"\bfor\s+(an?|one)\s+(?=(?:year|month|week)\b)")
# "could send", "may deploy": a possible event, not a reported one ("would" is reported
# speech's "will": "said 4,000 would be sent" reports a decision)
_MODAL_BEFORE = re.compile(r"\b(?:could|may|might)\s+(?!have\b)(?:\w+\s+){0,2}$")
_LEADING_THE = re.compile(r"^(?:the\s+)(?=[a-z])")
_TOKEN = re.compile(r"[^\W_]+")
_STOP = re.compile("|".join(re.escape(stop) for stop in _STOPS))
_MAX_SENTENCE = 1500
_LIST_NUMBER = re.compile(r"[.)]\s")
_NEGATION = re.compile(
    r"\b(?:no(?!\s+(?:fewer|less|more|longer)\b)|not(?!\s+(?:only|less|more|fewer)\b)|never"
    r"|none|neither|nor|den(?:y|ied|ies|ying)|dismiss(?:ed|es)?|reject(?:ed|s)?|refut(?:ed|es)"
    r"|false(?:ly)?|without)\b|n't\b|n’t\b"
)
_HYPOTHETICAL = re.compile(
    r"\b(?:if|unless|whether|were to|in case|suppos(?:e|ing)|hypothetical\w*)\b"
)
_INVERTED_CONDITIONAL = re.compile(r"\s*[\"“‘']?(?:should|were|had)\s+(?!been\b)")
_SHARE_OF = re.compile(r"\s+(?:of|the)\b|\s+(?:\w+\s+){0,3}(?:are|were|was|is|came|come)\b")
# "a 12-member delegation": the number modifies the noun after the compound
_COMPOUND = re.compile(r"-(?!(?:days?|weeks?|months?|years?|plus)\b)[a-z]+\b")
_LIST_ITEM = re.compile(r"[ \t]*(?:[-•*–]|\d{1,2}[.)])\s")
_LABEL = re.compile(r"[ \t]*(?:[-•*–]\s*)?[^\d\n:]{1,40}$")
_DAYS_SUFFIX = re.compile(r"-(?:day|week|month|year)\b")
_INCREMENT_WORDS = frozenset(["more", "additional", "another", "extra", "further"])
_LINKING_CUES = frozenset(["reached"])
# A projected change ("losses could rise to tens of thousands") is not a figure yet; a
# projected total ("could eventually be deployed") is still read, as the seeds' analysts do.
_FUTURE = re.compile(
    r"\b(?:could|may|might|will|would|to)\s+(?:soon\s+|eventually\s+|also\s+|further\s+)?"
    r"(?:rise|grow|increase|climb|swell|double|triple)\b"
)
_CLAUSE_BREAK = re.compile(
    r"[;:()\[\]]|\s[—–]\s|,\s*(?:but|while|whereas|although|though|yet|with|meanwhile|however)\b"
    r"|,\s*which\b(?!\s+(?:is|was|translates|represents|amounts|means|equals|accounts))"
    r"|\s(?:but|while|whereas|although|though)\s"
)
_SENTENCE_END = re.compile(r"[.!?]+[\"”’')\]]*\s+(?=[\"“‘'(\[]?[A-Z0-9])|\n\s*")
_PARTITIVE = re.compile(
    r"\s+(?:out\s+)?of\s+(?:the\s+|these\s+|those\s+|its\s+|their\s+|all\s+|some\s+"
    r"|[a-z.]+(?:'s|’s|s'|s’)\s+)?[\"“‘']?"
)
# "800 of them were killed": the counted noun is the one named before
_PRONOUN_PARTITIVE = re.compile(r"\s+(?:out\s+)?of\s+(?:them|those|these|whom|which)\b")
# Words that may stand between a counted noun and its predicate ("were reportedly killed",
# "have been deployed") or between a verb and its object ("sent a total of"): a cue reached
# across only these is the number's own predicate, whatever else is nearer.
_PREDICATE_GLUE = frozenset(
    [
        "were",
        "was",
        "are",
        "is",
        "have",
        "has",
        "had",
        "been",
        "being",
        "be",
        "also",
        "reportedly",
        "already",
        "now",
        "all",
        "still",
        "believed",
        "thought",
        "said",
        "estimated",
        "known",
        "feared",
        "confirmed",
        "to",
        "so",
        "far",
        "either",
        "both",
        "in",
        "total",
        "together",
        "later",
        "since",
        "then",
        "recently",
        "allegedly",
        "likely",
        "probably",
        "ever",
        "a",
        "of",
    ]
)
_WORD = re.compile(r"[\s)]*[\"“”'‘’(]?([\w][\w'’.-]*)")
_GLUE_TAIL = r"(?:which|where|the|with|even|that|and)"
_GLUE = re.compile(rf"^([a-z]{{3,}}?){_GLUE_TAIL}$")
_NOT_GLUED = frozenset(
    [
        "breathe",
        "clothe",
        "loathe",
        "bathe",
        "lithe",
        "seethe",
        "soothe",
        "teethe",
        "swathe",
        "blithe",
        "writhe",
        "tithe",
        "scythe",
        "forthwith",
        "herewith",
        "therewith",
        "wherewith",
        "somewhere",
        "elsewhere",
        "anywhere",
        "everywhere",
        "nowhere",
        "unstand",
        "command",
        "demand",
        "expand",
        "errand",
        "husband",
        "brigand",
        "garland",
        "island",
        "reprimand",
        "withstand",
        "understand",
        "ampersand",
        "hinterland",
        "homeland",
        "mainland",
    ]
)
_REPORTING_VERB = (
    r"(?:has |have |had )?(?:said|says|say|stated|states|state|estimated|estimates|estimate"
    r"|claimed|claims|claim|reported|reports|report|told|believes|believe|assessed|assesses"
    r"|indicated|indicates|indicate|suggested|suggests|suggest|confirmed|confirms|announced"
    r"|wrote|noted|revealed|disclosed|added|calculated|calculates|counted|put the|puts"
    r"|acknowledged|acknowledges|admitted|admits|alleged|alleges|warned|warns|concluded)"
)
# "an estimated 2,000", "its estimate:", "(Ukrainian estimates)": the word is not a verb
# "an estimated 2,000", "its estimate:", "are estimated to": the word is no reporting verb
_NOT_A_VERB_BEFORE = re.compile(
    r"\b(?:an?|the|its|their|his|her|our|whose|are|is|was|were|be|been|being)\s*$"
)
_NOT_A_VERB_AFTER = re.compile(r"\s*[)\]]")
_ATTRIBUTION_BEFORE = re.compile(
    r"\b(?:according to|citing|as reported by|reported by|as claimed by|claimed by"
    r"|as stated by|as estimated by|cited by)\s+"
)
_ATTRIBUTION_VERB = re.compile(rf"(?:\s+(?:they|it|he|she))?\s+{_REPORTING_VERB}\b")
_SAID_BEFORE_NAME = re.compile(r",\s*(?:said|says|according to)\s+")
_GENERIC_SOURCES = frozenset(
    [
        "reports",
        "report",
        "estimates",
        "estimate",
        "sources",
        "source",
        "media",
        "some",
        "many",
        "it",
        "they",
        "he",
        "she",
        "analysts",
        "experts",
        "observers",
        "studies",
    ]
)
_DESCRIPTORS = re.compile(
    r"^(?:the\s+)?(?:(?:newspaper|daily|outlet|agency|broadcaster|magazine|website|reports?"
    r"|news agency|publication)\s+)+(?=[A-Z])"
)
_LEADING = re.compile(
    r"^(?:[-•*–]\s*|(?:and|but|although|though|while|however|nonetheless|yet|so|the|that|if|when"
    r"|as|after|because|whereas|also)\b,?\s*)+",
    re.I,
)
_TRAILING = re.compile(
    r"(?:\s+(?:they|it|he|she|has|have|had|are|is|was|were|now|also|still|previously|earlier"
    r"|recently|today"
    r"|yesterday|separately|further|again|currently|already)|\s*\((?![A-Z]{2,6}\))[^()]{1,12}\))+$"
)
# where a dateline or a live-blog time stamp ends and the sentence begins
_DASH_CUT = re.compile(r"\s[–—-]\s")
_AS_OF = re.compile(
    rf"\b(?:in|on|as of|at the end of|during|last)\s+(?:(?:early|mid|late)[-\s]+)?"
    rf"(?:(?P<day>\d{{1,2}})\s+)?(?P<month>{_MONTHS})\.?(?:\s+(?P<day2>\d{{1,2}})\b)?"
    rf"(?:,?\s+(?P<year>(?:19|20)\d\d))?\b|\bin\s+(?P<year_only>(?:19|20)\d\d)\b"
)


def _phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    """One pattern for ``phrases`` (lower case, spaces or hyphens interchangeable).

    Shaped as a trie ("kill(?:ed|ing)") so that each position of a text costs one test of
    its first character instead of one per phrase; longer phrases win.
    """
    trie: dict[str, Any] = {}
    for phrase in {_norm(p) for p in phrases if p.strip()}:
        node = trie
        for char in phrase:
            node = node.setdefault(char, {})
        node[""] = {}
    return re.compile(rf"(?<![\w-]){_trie_regex(trie)}(?:(?![\w])|(?={_GLUE_TAIL}\b))")


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
def _norm(phrase: str) -> str:
    return _SPACES.sub(" ", phrase.lower().replace("’", "'")).strip()


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int
    end: int
    key: str


@dataclass(slots=True)
class _Sentence:
    start: int
    end: int
    first_in_paragraph: bool


@dataclass(slots=True)
class _Phrase:
    """A quantity with the noun phrase it counts."""

    q: Quantity
    np_end: int  # end of the counted noun (and the participle attached to it)
    noun: str | None  # normalised counted noun, None when none follows
    noun_known: bool  # False when an unknown noun follows: not a figure of ours
    inner: _Phrase | None = None  # for "3,000 of the 10,000 soldiers": the 10,000
    is_inner: bool = False
    of_start: int = -1  # "of the North Korean soldiers deployed": its cues are not ours
    head_cue: bool = False  # the counted noun is itself a cue: "600 deaths", "4,700 casualties"
    denominator: bool = False  # "two out of five missiles": the five is everything counted


class FigureExtractor:
    """Compiled figure vocabulary; :meth:`extract` reads an article's figures."""

    def __init__(self, specs: Sequence[FigureSpec]) -> None:
        self.specs = tuple(specs)
        self._cue_owner = _owners(self.specs, lambda s: s.cues)
        self._subject_owner = _owners(self.specs, lambda s: s.subjects)
        self._unit_owner = _owners(self.specs, lambda s: s.units)
        exclude = {_norm(e) for spec in self.specs for e in spec.exclude}
        self._cues = _phrase_pattern(self._cue_owner)
        # each cue's first word: a sentence with none of them has no cue
        self._cue_words = frozenset(w for c in self._cue_owner for w in _TOKEN.findall(c)[:1])
        competing = set(_COMPETING.split("|")) | exclude
        self._subjects = _phrase_pattern(set(self._subject_owner) | competing)
        self._competing = competing - set(self._subject_owner)
        people_nouns = {
            _norm(s)
            for spec in self.specs
            for s in spec.subjects
            if s[:1].isupper() and s.endswith("s") and "'" not in s
        }
        self._people_nouns = people_nouns | {c for c in competing if c.endswith(("ns", "ese"))}
        measures = "days weeks months years day week month year decades hours minutes km kilometers"
        measures += " miles people"
        self._units = _phrase_pattern(
            set(self._unit_owner) | self._people_nouns | set(measures.split())
        )
        self._own = [{_norm(x) for x in spec.subjects} for spec in self.specs]
        # single words of subjects and their competitors: capitalised modifiers, not nouns
        self._subject_words = frozenset(
            w.strip(".'’") for term in set(self._subject_owner) | competing for w in term.split()
        ) | frozenset(["korea", "korea's", "people's", "republic", "democratic", "army"])
        self._number_words = re.compile(
            r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen"
            r"|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty"
            r"|sixty|seventy|eighty|ninety|hundreds?|thousands?|millions?|dozens?|half|thirds?"
            r"|quarters?|fifths?|tenths?)\b"
        )

        self._spec_units = [self._units_of(spec) for spec in self.specs]
        self._explicit_units = [frozenset(_norm(u) for u in spec.units) for spec in self.specs]
        self._fitting: dict[tuple[str | None, bool, bool], frozenset[int]] = {}

    def _units_of(self, spec: FigureSpec) -> frozenset[str]:
        units = {_norm(u) for u in spec.units}
        if spec.unit == "people":
            units |= {n for n in self._people_nouns if n not in self._competing}
        return frozenset(units)

    def fitting(self, noun: str | None, percent: bool, days_suffix: bool) -> frozenset[int]:
        """Indexes of the specs a number counting ``noun`` can be (cached)."""
        key = (noun, percent, days_suffix)
        found = self._fitting.get(key)
        if found is None:
            found = frozenset(
                i
                for i, spec in enumerate(self.specs)
                if _fits(spec, self._spec_units[i], noun, percent, days_suffix)
            )
            self._fitting[key] = found
        return found

    def extract(self, article: Article) -> list[Observation]:
        """Every tracked figure the article's title and text state, each once.

        A value stated twice (a headline and its body) is kept once, from the statement
        that says who made it: headlines rarely carry the attribution the body gives.
        """
        found: dict[tuple[Any, ...], Observation] = {}
        for part in (article.title, article.text):
            if not part:
                continue
            for obs in _Reader(self, part, article).observations():
                key = (obs.figure, obs.watchlist, obs.low, obs.high, obs.unit, obs.qualifier)
                kept = found.get(key)
                if kept is None or (kept.attributed_to is None and obs.attributed_to):
                    found[key] = obs
        return drop_subsumed(list(found.values()))


def _fits(
    spec: FigureSpec, units: frozenset[str], noun: str | None, percent: bool, days_suffix: bool
) -> bool:
    if percent:
        return spec.percent and (noun is None or noun in units)
    if spec.unit == "days":
        return noun in _DURATIONS or days_suffix
    return not days_suffix and (noun is None or noun in units)


def drop_subsumed(observations: Sequence[Observation]) -> list[Observation]:
    """Drop a vague value when the same article states the same figure precisely within it.

    A headline's "thousands of soldiers died" and the body's "at least 3,000 soldiers were
    killed" are one statement; alerting on both would report a change that is not one.
    """

    def subsumes(vague: Observation, precise: Observation) -> bool:
        return (
            vague is not precise
            and (vague.figure, vague.unit) == (precise.figure, precise.unit)
            and vague.low < vague.high
            and vague.low <= precise.low
            and precise.high <= vague.high
            and (precise.high - precise.low) < (vague.high - vague.low)
        )

    return [o for o in observations if not any(subsumes(o, p) for p in observations)]


def _owners(specs: Sequence[FigureSpec], terms: Any) -> dict[str, set[int]]:
    owners: dict[str, set[int]] = {}
    for i, spec in enumerate(specs):
        for term in terms(spec):
            owners.setdefault(_norm(term), set()).add(i)
    return owners


class _Reader:
    """One pass over one text."""

    def __init__(self, ex: FigureExtractor, text: str, article: Article) -> None:
        self.ex = ex
        self.text = text
        self.low = lower_same_length(text)
        self.article = article
        self._attribution_cache: dict[int, list[tuple[int, int, str | None]]] = {}
        self._stops: list[int] | None = None  # sentence-ending stops, found on first use
        self._newlines: list[int] = []
        self._ends_cache: dict[int, bool] = {}
        self._break_cache: dict[tuple[int, int], list[tuple[int, int]]] = {}
        self._as_of_cache: dict[int, date | None] = {}

    def observations(self) -> Iterable[Observation]:
        low = self.low
        ascii_low = low.encode("ascii", "replace")  # same offsets, faster to scan
        positions = _digit_runs(ascii_low)
        for word in _number_words_in(ascii_low):
            at = low.find(word)
            while at >= 0:
                end = at + len(word)
                if not (low[at - 1 : at].isalpha() or low[end : end + 1].isalpha()):
                    positions.append(at)
                at = low.find(word, end)
        positions += [m.start(1) for m in _FOR_A.finditer(low)]
        positions.sort()
        i = 0
        while i < len(positions):
            sent = self._sentence_at(positions[i])
            j = i
            while j < len(positions) and positions[j] < sent.end:
                j += 1
            yield from self._read_sentence(sent, positions[i:j])
            i = max(j, i + 1)

    def _sentence_at(self, pos: int) -> _Sentence:
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
        return _Sentence(start, min(end, pos + _MAX_SENTENCE), first)

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

    def _previous(self, sent: _Sentence) -> _Sentence | None:
        """The sentence before, in the same paragraph or list (a list item's is the line
        before it: "Key figures:\n- Killed: 300"). Prose on the line before, ending as a
        sentence ends, counts as the same paragraph: pages often break every sentence."""
        if sent.start < 2:
            return None
        if sent.first_in_paragraph:
            if self.text[sent.start - 2] == "\n":
                return None
            if (
                not _LIST_ITEM.match(self.text, sent.start)
                and self.text[sent.start - 2] not in ".!?\"”’')"
            ):
                return None
        return self._sentence_at(sent.start - 2)

    def _hits(self, pattern: re.Pattern[str], start: int, end: int) -> list[_Hit]:
        return [
            _Hit(m.start(), m.end(), _norm(m.group()))
            for m in pattern.finditer(self.low, start, end)
        ]

    def _read_sentence(self, sent: _Sentence, positions: list[int]) -> Iterable[Observation]:
        if self.ex._cue_words.isdisjoint(_TOKEN.findall(self.low, sent.start, sent.end)):
            return  # no word a cue begins with: the common case, decided without the regex
        cues = self._with_nested(self._hits(self.ex._cues, sent.start, sent.end))
        if not cues:
            return
        quantities = [q for q in quantities_at(self.low, positions) if self._may_be_figure(q, sent)]
        if not quantities:
            return
        subjects = self._hits(self.ex._subjects, sent.start, sent.end)
        units = self._hits(self.ex._units, sent.start, sent.end)
        phrases = self._phrases(quantities, units, cues)
        for phrase in phrases:
            if phrase.noun is None and not phrase.q.percent and not phrase.head_cue:
                phrase.noun = self._noun_before(phrase.q, sent, units)
            yield from self._observe(phrase, sent, cues, subjects)

    def _with_nested(self, cues: list[_Hit]) -> list[_Hit]:
        """The cues and the cues inside longer ones: "been deployed" (a duration's cue)
        also holds "deployed" (a troop count's), which the longest match alone would hide."""
        nested = []
        for cue in cues:
            if " " not in cue.key:
                continue
            words = [m.span() for m in _TOKEN.finditer(self.low, cue.start, cue.end)]
            for i, (start, _) in enumerate(words):
                for _, end in words[i:]:
                    key = _norm(self.low[start:end])
                    if (start, end) != (cue.start, cue.end) and key in self.ex._cue_owner:
                        nested.append(_Hit(start, end, key))
        return sorted(cues + nested, key=lambda h: (h.start, h.end)) if nested else cues

    # -- numbers that are not figures -------------------------------------------------

    def _may_be_figure(self, q: Quantity, sent: _Sentence) -> bool:
        low = self.low
        before = low[max(sent.start, q.core_start - 20) : q.core_start]
        if any(p.search(before) for p in _NOT_A_FIGURE):
            return "$" in before and any(s.money for s in self.ex.specs)
        if _NOT_A_FIGURE_AFTER.match(low, q.core_end):
            return False
        if _MONEY_AFTER.match(low, q.core_end) and not any(s.money for s in self.ex.specs):
            return False
        if q.integer and 1900 <= q.low <= 2100 and q.low == q.high and not q.percent:
            return False
        line_start = low.rfind("\n", 0, q.start) + 1
        return not (not low[line_start : q.start].strip() and _LIST_NUMBER.match(low, q.core_end))

    # -- noun phrases -------------------------------------------------------------------

    def _phrases(
        self, quantities: list[Quantity], units: list[_Hit], cues: list[_Hit]
    ) -> list[_Phrase]:
        phrases = [self._noun_phrase(q, q.end, units, cues) for q in quantities]
        for p in phrases:
            if p.q.percent:  # "one in three soldiers sent": the participle is not the share's
                p.of_start = p.q.end
        by_start = {p.q.core_start: p for p in phrases}
        for p in phrases:
            if p.is_inner:
                continue
            if pronoun := _PRONOUN_PARTITIVE.match(self.low, p.q.end):
                p.of_start, p.np_end, p.noun, p.noun_known = p.q.end, pronoun.end(), None, True
                continue
            m = _PARTITIVE.match(self.low, p.q.end)
            if m is None:
                continue
            inner = by_start.get(m.end()) or next(
                (o for o in phrases if m.end() <= o.q.start <= m.end() + 2), None
            )
            p.of_start = m.start()
            if inner is not None:
                inner.is_inner = True
                inner.denominator = self.low.startswith("out", m.start() + 1)
                p.inner, p.noun, p.noun_known, p.np_end = (
                    inner,
                    inner.noun,
                    inner.noun_known,
                    inner.np_end,
                )
            else:
                head = self._noun_phrase(p.q, m.end(), units, cues)
                p.noun, p.noun_known, p.np_end = head.noun, head.noun_known, head.np_end
        return phrases

    def _noun_phrase(self, q: Quantity, pos: int, units: list[_Hit], cues: list[_Hit]) -> _Phrase:
        """The noun the number counts, across modifiers ("1,500 North Korean special
        forces"); a capitalised word that is neither a subject nor followed by a known noun
        is the noun itself ("the two Koreas"): not a figure of ours."""
        unit_at = {u.start: u for u in units}
        cue_at = {c.start: c for c in cues}
        if c := _COMPOUND.match(self.low, pos):  # "a 12-member delegation"
            pos = c.end()
        proper: str | None = None  # a capitalised word passed over as a modifier
        for _ in range(8):
            m = _WORD.match(self.text, pos)
            if m is None:
                break
            start = m.start(1)
            if start in unit_at:
                unit = unit_at[start]
                return _Phrase(q, self._participle_end(unit.end, cues), unit.key, True)
            word = self.low[start : m.end(1)].strip(".'’")
            if pos == q.end and word in _INCREMENT_WORDS:  # "3,000 more troops"
                pos = m.end()
                continue
            if start in cue_at and pos == q.end and not q.percent:
                cue = cue_at[start]
                return _Phrase(q, cue.end, None, True, head_cue=True)
            if start in cue_at or word in _NO_NOUN:
                break
            original = self.text[start]
            if not (original.isupper() or "-" in word or word in _NOUN_MODIFIERS or q.percent):
                return _Phrase(q, q.end, word, False)
            if original.isupper() and word not in self.ex._subject_words:
                proper = word
            pos = m.end()
        if proper is not None and not q.percent:
            return _Phrase(q, q.end, proper, False)
        return _Phrase(q, q.end, None, True)

    def _noun_before(self, q: Quantity, sent: _Sentence, units: list[_Hit]) -> str | None:
        """For a bare number, the counted noun named before it in its clause
        ("North Korean troops deployed: 11,000"; "the toll among the troops reached 300")."""
        start, _ = self._clause(q.start, sent)
        before = [u for u in units if start <= u.start and u.end <= q.start]
        if not before or self.low.count(" ", before[-1].end, q.start) > _MAX_CUE_WORDS:
            return None
        return before[-1].key

    def _participle_end(self, end: int, cues: list[_Hit]) -> int:
        for cue in cues:
            if end <= cue.start <= end + 2:
                return cue.end
        return end

    # -- assignment ---------------------------------------------------------------------

    def _observe(
        self,
        phrase: _Phrase,
        sent: _Sentence,
        cues: list[_Hit],
        subjects: list[_Hit],
    ) -> list[Observation]:
        if not phrase.noun_known or phrase.denominator:
            return []
        q = phrase.q
        fitting = self._fitting(phrase)
        if not fitting:
            return []
        clause_start, clause_end = self._clause(q.start, sent)
        if self._other_predicate(phrase, cues):
            return []
        best = self._best_cue(phrase, cues, clause_start, clause_end, fitting)
        if best is None:
            return []
        cue, spec_ids = best
        spec_ids = self._one_figure(phrase, spec_ids)
        if not spec_ids or self._negated(q, cue, clause_start):
            return []
        attributions = self._attributions(sent)
        if not self._about_subject(phrase, sent, subjects, attributions, spec_ids):
            return []
        source = self._resolved(self._source(q, sent, attributions), sent.start)
        quote_start = min(q.start, cue.start)
        quote_end = max(phrase.np_end, cue.end, q.end)
        quote = self.text[quote_start:quote_end].strip(' ,;"“”')
        return [
            self._observation(self.ex.specs[i], q, phrase, source, quote, sent)
            for i in sorted(spec_ids)
        ]

    def _one_figure(self, phrase: _Phrase, spec_ids: set[int]) -> set[int]:
        """The specs of one figure: a number counts one thing. Where the cue fits several
        figures ("dispatched 3,000": troops or engineers?), the one whose own nouns name
        what is counted; if none or several do, the number is not read."""
        names = {self.ex.specs[i].name for i in spec_ids}
        if len(names) <= 1:
            return spec_ids
        named = {i for i in spec_ids if phrase.noun in self.ex._explicit_units[i]}
        if len({self.ex.specs[i].name for i in named}) == 1:
            return named
        return set()

    def _clause(self, pos: int, sent: _Sentence) -> tuple[int, int]:
        start, end = sent.start, sent.end
        for break_start, break_end in self._clause_breaks(sent):
            if break_end <= pos:
                start = break_end
            elif break_start >= pos:
                end = break_start
                break
        return start, end

    def _clause_breaks(self, sent: _Sentence) -> list[tuple[int, int]]:
        """Where the sentence's clauses meet (cached per sentence)."""
        key = (sent.start, sent.end)
        breaks = self._break_cache.get(key)
        if breaks is None:
            breaks = self._break_cache[key] = [
                m.span()
                for m in _CLAUSE_BREAK.finditer(self.low, sent.start, sent.end)
                # a table row's label is no clause: "- Killed: about 300"
                if m.group() != ":" or not _LABEL.fullmatch(self.low, sent.start, m.start())
            ]
        return breaks

    def _best_cue(
        self,
        phrase: _Phrase,
        cues: list[_Hit],
        clause_start: int,
        clause_end: int,
        fitting: frozenset[int],
    ) -> tuple[_Hit, set[int]] | None:
        """The nearest cue in the clause of a figure the phrase can be, and its figures."""
        best: tuple[tuple[bool, bool, bool, int, int], _Hit] | None = None
        for cue in cues:
            if not (clause_start <= cue.start and cue.end <= clause_end):
                continue
            if not fitting & self.ex._cue_owner[cue.key]:
                continue
            rank = self._cue_rank(phrase, cue)
            if rank is not None and rank[3] <= _MAX_CUE_WORDS and (best is None or rank < best[0]):
                best = (rank, cue)
        if best is None:
            return None
        cue = best[1]
        if phrase.q.end <= cue.start < phrase.np_end and not phrase.is_inner:
            # "2,000 soldiers deployed to Kursk are believed to have been killed": the
            # participle modifies the noun; the finite verb after it is the predicate
            cue = self._finite_predicate(phrase, cues, clause_end, fitting) or cue
        return cue, set(fitting & self.ex._cue_owner[cue.key])

    def _cue_rank(self, phrase: _Phrase, cue: _Hit) -> tuple[bool, bool, bool, int, int] | None:
        """How well ``cue`` belongs to the phrase (lower is better), None if it cannot."""
        q = phrase.q
        if phrase.of_start >= 0 and phrase.of_start <= cue.start < phrase.np_end:
            return None
        if phrase.is_inner and not (q.start <= cue.start < phrase.np_end):
            return None
        if q.start <= cue.start < q.end:  # a cue word inside the number phrase itself
            return None
        if cue.end <= q.start:
            gap = self.low.count(" ", cue.end, q.start)
        elif cue.start >= phrase.np_end:
            gap = self.low.count(" ", phrase.np_end, cue.start)
        else:
            gap = -1  # within the noun phrase: "2,500 soldiers dead"
        linking = cue.key in _LINKING_CUES and cue.end <= q.start <= cue.end + 1
        if linking and phrase.np_end == q.end:
            return None  # "the death toll has reached 1,000": the toll is what is counted
        # the number's own predicate first ("800 of them were killed", "killed some 240");
        # then a verb cue before an increment word ("another 1,200 are wounded")
        # a place ("in Kursk") is the weakest cue: "losses top 2,000 in Kursk" counts losses
        adjunct = cue.key.split(" ", 1)[0] in _PREPOSITIONS
        attached = self._attached(phrase, cue)
        return (not attached, adjunct, cue.key in _INCREMENT_WORDS, gap, -len(cue.key))

    def _other_predicate(self, phrase: _Phrase, cues: list[_Hit]) -> bool:
        """Whether the counted noun is the subject of a verb that is no cue: "only two of them
        had been accurate" says nothing of how many were fired, whatever cue stands near."""
        m = _AUXILIARY_AFTER.match(self.low, phrase.np_end)
        if m is None:
            return False
        starts = {c.start for c in cues}
        for word in _TOKEN.finditer(self.low, m.start(1), min(len(self.low), m.start(1) + 80)):
            if word.start() in starts:
                return False
            if word.group() not in _PREDICATE_GLUE:
                return True
        return False

    def _finite_predicate(
        self, phrase: _Phrase, cues: list[_Hit], clause_end: int, fitting: frozenset[int]
    ) -> _Hit | None:
        for cue in cues:
            if (
                phrase.np_end <= cue.start
                and cue.end <= clause_end
                and fitting & self.ex._cue_owner[cue.key]
                and _AUXILIARY_BEFORE.search(
                    self.low, max(phrase.np_end, cue.start - 60), cue.start
                )
            ):
                return cue
        return None

    def _attached(self, phrase: _Phrase, cue: _Hit) -> bool:
        """Whether ``cue`` is the predicate of the counted noun phrase: right after it
        ("were reportedly killed") or right before the number ("dispatched a total of"),
        with only auxiliaries and adverbs between."""
        if phrase.q.end <= cue.start and cue.end <= phrase.np_end:
            return True  # the participle of the counted noun: "2,500 soldiers dead"
        if cue.start >= phrase.np_end:
            between = self.low[phrase.np_end : cue.start]
        elif cue.end <= phrase.q.start:
            between = self.low[cue.end : phrase.q.start]
        else:
            return False
        return all(w in _PREDICATE_GLUE for w in between.split())

    def _fitting(self, phrase: _Phrase) -> frozenset[int]:
        """The specs whose figure the phrase can be, by what it counts."""
        q = phrase.q
        if q.percent and phrase.noun is None and not _SHARE_OF.match(self.low, q.end):
            return frozenset()  # a share counts something: "40% of the troops"
        days = bool(_DAYS_SUFFIX.match(self.low, q.core_end))
        return self.ex.fitting(phrase.noun, q.percent, days)

    def _negated(self, q: Quantity, cue: _Hit, clause_start: int) -> bool:
        """Negated, hypothetical or merely possible. A fronted phrase set off by a comma
        ("If confirmed, …", "While Pyongyang has not said so, …") does not count."""
        first = min(q.start, cue.start)
        lo = max(clause_start, first - 80, self.low.rfind(",", clause_start, first) + 1)
        hi = max(q.start, cue.start)
        span = self.low[lo:hi]
        return bool(
            self._inverted_conditional(clause_start)
            or _NEGATION.search(span)
            or _HYPOTHETICAL.search(self.low, lo, hi)
            or _FUTURE.search(self.low, clause_start, max(hi, cue.end))
            or _MODAL_BEFORE.search(self.low, max(clause_start, cue.start - 30), cue.start)
        )

    def _inverted_conditional(self, clause_start: int) -> bool:
        """ "Should Pyongyang send …", "…, had it sent …": a clause that opens with the verb
        (not "The NIS (the spy agency) had reported …", whose clause only follows a bracket)."""
        m = _INVERTED_CONDITIONAL.match(self.low, clause_start)
        if m is None:
            return False
        before = self.text[max(0, clause_start - 3) : clause_start].rstrip()
        opening = self.text[clause_start : clause_start + 8].lstrip(" \t\n\"“‘'")
        return not before or before[-1] in ",;" or opening[:1].isupper()

    def _about_subject(
        self,
        phrase: _Phrase,
        sent: _Sentence,
        subjects: list[_Hit],
        attributions: list[tuple[int, int, str | None]],
        spec_ids: set[int],
    ) -> bool:
        own = set().union(*(self.ex._own[i] for i in spec_ids))
        q = phrase.q
        if phrase.noun in self.ex._competing:
            return False
        if q.percent and self._supplier_named(q, sent, subjects, own):
            return True
        in_np = [s for s in subjects if q.core_start <= s.start < phrase.np_end]
        for hit in in_np:
            if hit.key in self.ex._competing:
                return False
            if hit.key in own:
                return True
        candidates = [
            s
            for s in subjects
            if not any(a <= s.start < b for a, b, _ in attributions)
            and (s.key in own or not self._oblique(s.start))
            and (s.key in own or s.key in self.ex._competing)
        ]
        if candidates:
            nearest = min(
                candidates, key=lambda s: min(abs(s.start - q.start), abs(s.end - q.start))
            )
            return nearest.key in own
        # back through a list to its heading, or up to three sentences of prose, whatever
        # paragraph they are in: the story's subject stands where it was last named
        prev, prose = self._before(sent), 0
        for _ in range(8):
            if prev is None:
                return False
            hits = [
                h
                for h in self._hits(self.ex._subjects, prev.start, prev.end)
                if h.key in own or h.key in self.ex._competing
            ]
            if hits:
                return any(h.key in own for h in hits)
            if not _LIST_ITEM.match(self.text, prev.start):
                prose += 1
                if prose == 3:
                    return False
            prev = self._before(prev)
        return False

    def _before(self, sent: _Sentence) -> _Sentence | None:
        """The sentence before, across line breaks and blank lines."""
        end = len(self.text[: sent.start].rstrip())
        return self._sentence_at(end - 1) if end > 0 else None

    def _supplier_named(
        self, q: Quantity, sent: _Sentence, subjects: list[_Hit], own: set[str]
    ) -> bool:
        """A share of supplies is one country's share of another's ("35 percent of
        Russia's ammunition comes from North Korea"): the supplier named in the clause
        decides, the user beside it does not."""
        start, end = self._clause(q.start, sent)
        return any(start <= s.start < end and s.key in own for s in subjects)

    def _oblique(self, pos: int) -> bool:
        """Governed by a preposition ("alongside Russia") or the recipient of a cue verb
        ("supplied Russia with …")."""
        words = self.low[max(0, pos - 30) : pos].split()
        while words and words[-1] in _DETERMINERS:  # "on the Russia-Ukraine front"
            words.pop()
        return bool(words) and (
            words[-1] in _PREPOSITIONS
            or words[-1] in _HELP_VERBS
            or words[-1] in self.ex._cue_owner
        )

    # -- attribution, date --------------------------------------------------------------

    def _attributions(self, sent: _Sentence) -> list[tuple[int, int, str | None]]:
        """Who the sentence says states something: (start, end, name or None), cached."""
        cached = self._attribution_cache.get(sent.start)
        if cached is not None:
            return cached
        found: list[tuple[int, int, str | None]] = []
        self._attribution_cache[sent.start] = found
        for m in _ATTRIBUTION_BEFORE.finditer(self.low, sent.start, sent.end):
            end, name = self._name_after(m.end(), sent.end)
            found.append((m.start(), end, name))
        for m in _ATTRIBUTION_VERB.finditer(self.low, sent.start, sent.end):
            if _NOT_A_VERB_BEFORE.search(self.low, max(sent.start, m.start() - 8), m.start()):
                continue
            if _NOT_A_VERB_AFTER.match(self.low, m.end()):
                continue
            start, name = self._name_before(m.start(), sent.start)
            if name is not None or start < m.start():
                found.append((start, m.end(), name))
        for m in _SAID_BEFORE_NAME.finditer(self.low, sent.start, sent.end):
            end, name = self._name_after(m.end(), sent.end)
            found.append((m.start(), end, name))
        return found

    def _name_after(self, pos: int, limit: int) -> tuple[int, str | None]:
        end = pos
        for words, m in enumerate(_NAME_WORD.finditer(self.text, pos, limit)):
            word = m.group()
            if word[0].isdigit() or self.low.startswith(("two-thirds", "half"), m.start()):
                break
            glued = _GLUE.match(word.lower())
            if glued and word.lower() not in _NOT_GLUED:
                end = m.start() + len(glued.group(1))
                break
            if words and word.lower() in (
                "the",
                "a",
                "an",
                "that",
                "this",
                "these",
                "north",
                "some",
            ):
                break
            end = m.end()
            if words >= 7 or self.text[end : end + 1] in ",;:.":
                break
        return end, _clean_source(self.text[pos:end])

    def _name_before(self, pos: int, limit: int) -> tuple[int, str | None]:
        chunk = self.text[limit:pos]
        appositive = _APPOSITIVE.search(chunk)
        described: str | None = None  # "KCNA, the North's state news agency, said": KCNA
        if appositive:
            # "Kim Yong-hyun, South Korea's defence minister, said": the person
            head = chunk[: appositive.start()]
            head = head[max(head.rfind(","), head.rfind(";"), head.rfind(":")) + 1 :].strip()
            if _PROPER_NAME.fullmatch(head) and (name := _clean_source(head)):
                return limit + chunk.rfind(head), name
            if appositive.group(1)[:1].isupper():
                return limit + appositive.start(1), _clean_source(appositive.group(1))
            if not re.search(r"\d", head) and head.split()[0].lower() not in NUMBER_WORDS:
                described = _clean_source(head)  # not "Two prisoners, aged 20 and 26, said"
        dashes = [m.end() - 1 for m in _DASH_CUT.finditer(chunk)]
        cut = max(
            chunk.rfind(","),
            chunk.rfind(";"),
            chunk.rfind(":"),
            chunk.lower().rfind(" that "),
            *dashes,
        )
        words = chunk[cut + 1 :].split()[-8:]
        text = " ".join(words)
        return pos - len(text), _clean_source(text) or described

    def _source(
        self, q: Quantity, sent: _Sentence, attributions: list[tuple[int, int, str | None]]
    ) -> str | None:
        named = [a for a in attributions if a[2]]
        before = [a for a in named if a[1] <= q.start]
        if before:
            return max(before, key=lambda a: a[1])[2]
        if named:
            return min(named, key=lambda a: a[0])[2]
        prev = None if attributions else self._previous(sent)
        if prev is None:
            return None
        names = {a[2] for a in self._attributions(prev) if a[2]}
        return names.pop() if len(names) == 1 else None

    def _resolved(self, name: str | None, pos: int) -> str | None:
        """The source as the text names it in full: the person, not their title ("Defence
        Secretary John Smith" → "John Smith"); a reference ("the agency", "Lee") as the
        name it refers to, written earlier in the text."""
        if name is None:
            return None
        name = _person_after_title(name)
        words = name.split()
        if len(words) == 1 and words[0][:1].isupper():
            surname = words[0]
            for m in reversed(list(_FULL_NAME.finditer(self.text, 0, pos))):
                parts = m.group().split()
                if len(parts) >= 2 and surname in (parts[0], parts[-1]) and m.group() != name:
                    return _person_after_title(m.group())
        orgs = _REFERENCE_HEADS.get(name.lower())
        if orgs:
            for m in reversed(list(_FULL_NAME.finditer(self.text, 0, pos))):
                if any(org in m.group().split() for org in orgs):
                    return m.group()
        return name

    def _as_of(self, sent: _Sentence) -> date | None:
        if sent.start not in self._as_of_cache:
            self._as_of_cache[sent.start] = self._read_as_of(sent)
        return self._as_of_cache[sent.start]

    def _read_as_of(self, sent: _Sentence) -> date | None:
        published = self.article.published_at
        anchor: date | None = None
        for m in _AS_OF.finditer(self.low, sent.start, sent.end):
            if m["year_only"]:
                anchor = date(int(m["year_only"]), 1, 1)
                continue
            month = _MONTH_NUMBER[m["month"][:3]]
            if m["year"]:
                anchor = date(int(m["year"]), month, 1)
            elif published is not None:
                year = published.year - (1 if month > published.month else 0)
                anchor = date(year, month, 1)
        if anchor is None:
            return None
        if published is not None and anchor >= date(published.year, published.month, 1):
            return None
        return anchor

    def _observation(
        self,
        spec: FigureSpec,
        q: Quantity,
        phrase: _Phrase,
        source: str | None,
        quote: str,
        sent: _Sentence,
    ) -> Observation:
        low, high, unit = q.low, q.high, spec.unit
        if q.percent:
            unit = "percent"
        elif spec.unit == "days":
            per = _DAYS_PER.get((phrase.noun or "").rstrip("s"), (1.0, 1.0))
            if per == (1.0, 1.0) and (m := _WEEK_OR_MONTH.match(self.low, q.core_end)):
                per = _DAYS_PER[m.group(1)]
            low, high = low * per[0], high * per[1]
        return Observation(
            figure=spec.name,
            watchlist=spec.watchlist,
            value=(low + high) / 2,
            low=low,
            high=high,
            unit=unit,
            qualifier=q.qualifier,
            attributed_to=source,
            quote=quote,
            increment=q.increment,
            as_of=self._as_of(sent),
        )


# the words of a title before a person's name ("Defence Secretary", "Commander of the
# Armed Forces"): the source is the person
_TITLE_WORDS = frozenset(
    [
        "secretary",
        "minister",
        "president",
        "chairman",
        "chairwoman",
        "chair",
        "chief",
        "commander",
        "general",
        "spokesman",
        "spokeswoman",
        "spokesperson",
        "director",
        "head",
        "leader",
        "lawmaker",
        "legislator",
        "ambassador",
        "envoy",
        "adviser",
        "advisor",
        "governor",
        "mayor",
        "prosecutor",
        "deputy",
        "admiral",
        "colonel",
        "lieutenant",
        "major",
        "captain",
        "sergeant",
        "senator",
        "representative",
        "premier",
        "chancellor",
        "dictator",
        "forces",
        "staff",
        "commander-in-chief",
        "secretary-general",
        "official",
        "officer",
        "analyst",
        "expert",
    ]
)
_NAME_WORD_RE = re.compile(r"[A-Z][\w'’.-]*$")
_NOT_NAME_WORDS = _TITLE_WORDS | frozenset(
    [
        "state",
        "council",
        "forces",
        "ministry",
        "service",
        "agency",
        "office",
        "command",
        "defence",
        "defense",
        "security",
        "intelligence",
        "army",
        "navy",
        "affairs",
        "department",
        "house",
        "general",
        "staff",
        "armed",
        "foreign",
        "national",
    ]
)
# a name as a text writes it in full: capitalised words, joined by "of (the)" ("Office of
# the Prosecutor General", "South Korea's National Intelligence Service")
_FULL_NAME = re.compile(r"[A-Z][\w'’.-]*(?:\s+(?:of\s+(?:the\s+)?)?[A-Z][\w'’.-]*){0,7}")
# a definite description that refers back to a named source, and the words its name holds
_REFERENCE_HEADS = {
    "agency": ("Agency", "Service", "NIS"),
    "spy agency": ("Agency", "Service", "NIS"),
    "intelligence agency": ("Agency", "Service", "NIS"),
    "intelligence service": ("Service", "Agency", "NIS"),
    "service": ("Service",),
    "ministry": ("Ministry",),
    "prosecutor": ("Prosecutor",),
    "office": ("Office",),
    "institute": ("Institute",),
    "think tank": ("Institute", "Center", "Centre"),
}


def _person_after_title(name: str) -> str:
    """ "Russian Security Council Secretary Sergei Shoigu" → "Sergei Shoigu": up to three
    capitalised words at the end that are neither a title nor an institution's."""
    words = name.split()
    tail: list[str] = []
    for word in reversed(words):
        if len(tail) == 3 or not _NAME_WORD_RE.match(word) or word.lower() in _NOT_NAME_WORDS:
            break
        tail.insert(0, word)
    head = [w.lower().strip(",") for w in words[: len(words) - len(tail)]]
    if tail and head and any(w in _TITLE_WORDS for w in head):
        return " ".join(tail)
    return name


def _clean_source(raw: str) -> str | None:
    name = _LEADING.sub("", raw.strip(" ,;:\"“”'")).strip()
    name = _AUXILIARY_CUT.sub("", name)
    name = _TRAILING.sub("", name)
    name = _DESCRIPTORS.sub("", name)
    name = _LEADING_THE.sub("", name)
    if not name or name.lower() in _GENERIC_SOURCES or len(name.split()) > 8:
        return None
    if name.split()[0].lower() in _PRONOUNS:  # ", said they had been captured": a clause
        return None
    if not any(c.isupper() for c in name) and not _INSTITUTION.search(name):
        return None
    first = name.split()[0]
    if first.islower() and first not in ("a", "an") and not _INSTITUTION.search(name):
        return None  # "support Russia in its war against Ukraine": a clause, not a source
    return name


# a name holds no auxiliary: "the spy agency had in April (reported)" is the spy agency
_AUXILIARY_CUT = re.compile(r"\s+(?:has|have|had|will|would|also|earlier|previously)\b.*$", re.S)
_PRONOUNS = frozenset(["i", "we", "you", "they", "he", "she", "it", "there", "this", "that"])

# Lower-case sources that still name who speaks ("the think tank", "the prosecutor general").
_INSTITUTION = re.compile(
    r"\b(?:data|intelligence|officials?|ministry|military|government|agency|services?|command"
    r"|think tank|prosecutors?|general staff|institute|spokes(?:man|woman|person)|ministers?"
    r"|president|army|commanders?|embassy|council|committee|authorities|department)\b"
)


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


_TOKEN_FORMS = {
    f"{before}{word}{after}".encode(): word
    for word in _NUMBER_WORDS
    for before in ("", "(", '"', "?")
    for after in ("", ",", ".", ";", ":", ")", '"', "?", "'s", "?s")
}
_FRACTIONS = ("third", "thirds", "quarter", "quarters", "fifth", "fifths", "tenth", "tenths")
_TOKEN_FORMS.update(
    {
        f"{before}{a}-{b}{after}".encode(): a
        for a in _NUMBER_WORDS
        for b in (*_NUMBER_WORDS, *_FRACTIONS)
        if a.endswith("ty") or b.endswith("s") or b in _FRACTIONS
        for before in ("", "(")
        for after in ("", ",", ".", ";", ")")
    }
)


_DIGITS_ONLY = bytes(48 if 48 <= i <= 57 else 46 for i in range(256))  # digit → "0", else "."


def _digit_runs(ascii_low: bytes) -> list[int]:
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


def _number_words_in(ascii_low: bytes) -> set[str]:
    """The number words a text holds ("nine", "twenty-five", "hundreds"), without a regex."""
    return {_TOKEN_FORMS[t] for t in _TOKEN_FORM_SET.intersection(ascii_low.split())}


def _ends_sentence(text: str, stop: int) -> bool:
    """Whether the stop at ``stop`` (". ", "? ", ".” "…) ends a sentence."""
    after = text[stop + 1 : stop + 4].lstrip(" \"”’')]")
    if not after or not (after[0].isupper() or after[0].isdigit() or after[0] in "\"“‘'(["):
        return False
    return text[stop] != "." or not _is_abbreviation(text, stop)


def extract_figures(article: Article, specs: Sequence[FigureSpec]) -> list[Observation]:
    """The figures ``article`` states, for ``specs`` (compiles them; reuse a FigureExtractor)."""
    return FigureExtractor(specs).extract(article)


def spec_from_yaml(watchlist: str, name: str, data: dict[str, Any]) -> FigureSpec:
    """One ``figures:`` entry of a watchlist file as a FigureSpec (keys map 1:1 to fields)."""

    def terms(key: str) -> tuple[str, ...]:
        value = data.get(key) or ()
        return tuple(str(v) for v in ([value] if isinstance(value, str) else value))

    return FigureSpec(
        name=name,
        watchlist=watchlist,
        unit=str(data.get("unit", "people")),
        cues=terms("cues"),
        subjects=terms("subjects"),
        units=terms("units"),
        exclude=terms("exclude"),
        percent=bool(data.get("percent", True)),
        money=bool(data.get("money", False)),
        tolerance=float(data.get("tolerance", 0.0)),
    )
