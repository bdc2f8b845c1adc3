"""Match stories against watchlists: every alias of every watchlist compiled into one regex.

Semantics of a *phrase* alias (what a maintainer writes in ``terms:``):

- it is read as every phrase is, figure vocabulary included (:mod:`monitor.analysis.phrases`):
  case-insensitive, any apostrophe for an apostrophe, and a space or hyphen in the alias
  matching any run of whitespace or hyphens in the text, or nothing: "KN-23" finds
  "KN-23", "KN 23" and "KN23"; "Kim Jong Un" finds "Kim Jong-un";
- it matches whole words only: "KPA" is not found in "KPAX" and "Kursk" not in "Kurskaya"
  (list inflections you want, or use a regex alias);
- a phrase must start with a letter or digit (use ``{regex: ...}`` otherwise).

A *regex* alias (``{regex: "Hwasong-?1[1-9]"}``) is for what a phrase cannot say. It is
matched case-insensitively, also never inside a word, and reported as the text it matched;
:mod:`monitor.analysis.regex_aliases` refuses the ones that could backtrack catastrophically.

A watchlist's ``together`` rule asks for groups to hit *in one sentence* (or in a run of
``sentences`` consecutive ones): a story that names North Korea in one paragraph and a
missile strike's dead in another is not about North Korean casualties. Word-distance
windows were the alternative; a sentence is what a maintainer can check by eye, and the
figure extractor reads claims sentence by sentence too. Sentences end at ``.``, ``!`` or
``?`` before a capital or digit (not after an initial or a short title: "N. Korean",
"Gen. Syrskyi") and at every line break, so a headline is a sentence of its own. The
sentences are only found for a watchlist whose other rules already hold.

Speed: all phrases of all watchlists form one trie-shaped regex, so one pass over the text
finds every phrase however many watchlists there are; each watchlist's group rules are then
evaluated on the set of hits, and only for watchlists with at least one hit. Regex aliases
are searched one by one, and only for a watchlist whose required phrase groups all hit:
they are the rare exception, and most stories match nothing.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from monitor.analysis.phrases import APOS, SEP, Form, is_word, phrase_form, phrase_key, trie_regex
from monitor.domain.model import Article, Match

if TYPE_CHECKING:
    from monitor.analysis.watchlist import Together as TogetherRule
    from monitor.analysis.watchlist import Watchlist

_NOT_IN_WORD = r"(?:(?<!\w)|(?!\w))"


@dataclass(frozen=True, slots=True)
class Phrase:
    """A plain alias, matched by the rules in the module docstring."""

    text: str

    @property
    def label(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Pattern:
    """A regex alias, for the rare term a phrase cannot say."""

    regex: str

    @property
    def label(self) -> str:
        return f"regex: {self.regex}"


Alias = Phrase | Pattern


def _implied(form: Form, forms: set[Form]) -> list[Form]:
    """Shorter aliases that a match of ``form`` also is: "North Korea" in "North Korea army"."""
    found = []
    for end in range(1, len(form)):
        prefix = form[:end]
        if prefix in forms and (form[end] == SEP or not is_word(form[end - 1])):
            found.append(prefix)
    return found


# --- the matcher ----------------------------------------------------------------------------


class _Ref(NamedTuple):
    """One alias of one group of one watchlist."""

    watchlist: int
    group: int
    label: str


_CACHE_SIZE = 50_000


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a watchlist did or did not match a story (for ``newsmon inspect``)."""

    watchlist: str
    matched: bool
    matched_terms: tuple[str, ...]
    groups: tuple[tuple[str, tuple[str, ...]], ...]  # every group that hit, with its terms
    missing: tuple[str, ...] = ()  # all_of groups without a hit
    missing_any_of: tuple[str, ...] = ()  # the any_of groups, when none of them hit
    excluded_by: tuple[str, ...] = ()  # none_of groups that hit
    apart: tuple[tuple[str, ...], ...] = ()  # together rules no one sentence holds

    @property
    def reason(self) -> str:
        """One line: what was missing or what excluded the story, or the matched terms."""
        parts = []
        if self.missing:
            plural = "s" if len(self.missing) > 1 else ""
            parts.append(f"missing group{plural}: {', '.join(self.missing)}")
        if self.missing_any_of:
            parts.append(f"none of the any_of groups hit: {', '.join(self.missing_any_of)}")
        for group in self.excluded_by:
            terms = dict(self.groups)[group]
            parts.append(f"excluded by none_of group {group} ({', '.join(terms)})")
        for groups in self.apart:
            parts.append(f"no sentence has {' and '.join(groups)} together")
        if parts:
            return "; ".join(parts)
        return "matched: " + ", ".join(self.matched_terms)


Hits = dict[int, list[tuple[int, str]]]  # group → [(position, alias label)]


_NO_HITS: list[tuple[int, str]] = []


class Together(NamedTuple):
    """Groups that hit within ``within`` consecutive sentences, none of which has a hit of
    an ``unless`` group (a sentence on someone else's losses does not count)."""

    groups: frozenset[int]
    within: int = 1
    unless: frozenset[int] = frozenset()

    def holds(self, hit: Hits, sentences: Sentences) -> bool:
        barred = set().union(*(sentences.of(hit.get(g, _NO_HITS)) for g in self.unless))
        found = [
            sentences.of(hit.get(g, _NO_HITS)) - barred
            for g in sorted(self.groups, key=lambda g: len(hit.get(g, ())))
        ]
        starts = {i - k for i in found[0] for k in range(self.within)}
        return any(
            all(any(start <= i < start + self.within for i in ids) for ids in found[1:])
            and not any(start <= i < start + self.within for i in barred)
            for start in starts
        )


@dataclass(frozen=True, slots=True)
class _Rule:
    all_of: frozenset[int]
    any_of: frozenset[int]
    none_of: frozenset[int]
    together: tuple[Together, ...] = ()
    any_together: tuple[Together, ...] = ()  # together sets listed in any_of
    positive: frozenset[int] = field(init=False)

    def __post_init__(self) -> None:
        joined = frozenset().union(*(t.groups for t in self.together + self.any_together))
        object.__setattr__(self, "positive", self.all_of | self.any_of | joined)

    def accepts_groups(self, hit: set[int] | dict[int, Any]) -> bool:
        """The document-wide rules, sentences aside: all_of and none_of, every ``together``
        group hit, and an any_of group hit (or every group of an any_of together set)."""
        return (
            all(g in hit for g in self.all_of)
            and not any(g in hit for g in self.none_of)
            and all(g in hit for t in self.together for g in t.groups)
            and self.any_of_holds(hit, lambda t: all(g in hit for g in t.groups))
        )

    def apart(self, hit: Hits, sentences: Sentences) -> list[frozenset[int]]:
        """The ``together`` sets that no sentence (or run of sentences) holds all of."""
        return [t.groups for t in self.together if not t.holds(hit, sentences)]

    def accepts(self, hit: Hits, sentences: Sentences) -> bool:
        return (
            self.accepts_groups(hit)
            and not self.apart(hit, sentences)
            and self.any_of_holds(hit, lambda t: t.holds(hit, sentences))
        )

    def any_of_holds(
        self, hit: set[int] | dict[int, Any], holds: Callable[[Together], bool]
    ) -> bool:
        if not self.any_of and not self.any_together:
            return True
        return any(g in hit for g in self.any_of) or any(holds(t) for t in self.any_together)


class Sentences:
    """Where the sentences of a text start, found on first use (see the module docstring)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._starts: list[int] | None = None
        self._of: dict[int, frozenset[int]] = {}

    def of(self, hits: list[tuple[int, str]]) -> frozenset[int]:
        """The numbers of the sentences ``hits`` are in (remembered per list of hits: every
        together set of a watchlist asks about the same groups)."""
        found = self._of.get(id(hits))
        if found is None:
            found = self._of[id(hits)] = frozenset(self.index(p) for p, _ in hits)
        return found

    def index(self, position: int) -> int:
        """The number of the sentence ``position`` is in."""
        if self._starts is None:
            self._starts = sentence_starts(self._text)
        return bisect.bisect_right(self._starts, position) - 1


_SENTENCE_END = re.compile(r"[.!?]+[\"”’')\]]*[ \t\xa0]+(?=[\"“‘'(\[]?[A-Z0-9])|[ \t]*\n\s*")
# A full stop after an initial ("N. Korean", "U.S.") or one of these ends no sentence.
_NOT_AN_END = re.compile(
    r"(?:\b[A-Z]|\b(?:Mr|Mrs|Ms|Dr|Gen|Lt|Col|Maj|Sgt|Capt|Adm|Gov|Sen|Rep|St|Jr|Sr|No|Vol"
    r"|Fig|vs|approx|ca|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec))\.$"
)


def sentence_starts(text: str) -> list[int]:
    """The position where each sentence of ``text`` starts; the first is 0."""
    starts = [0]
    for end in _SENTENCE_END.finditer(text):
        stop = end.start() + 1
        if text[end.start()] == "." and _NOT_AN_END.search(text, max(0, stop - 8), stop):
            continue
        starts.append(end.end())
    return starts


class Matcher:
    """All watchlists compiled once; ``match`` is pure and safe to share between threads."""

    def __init__(self, watchlists: Sequence[Watchlist]) -> None:
        self._watchlists = list(watchlists)
        self._groups: list[list[str]] = []
        self._rules: list[_Rule] = []
        by_form: dict[Form, list[_Ref]] = {}
        self._patterns: list[tuple[re.Pattern[str], int, int]] = []
        for w, watchlist in enumerate(self._watchlists):
            names = [group.name for group in watchlist.terms]
            self._groups.append(names)
            self._rules.append(_compile_rule(watchlist, names))
            for g, group in enumerate(watchlist.terms):
                for alias in group.aliases:
                    if isinstance(alias, Phrase):
                        by_form.setdefault(phrase_form(alias.text), []).append(
                            _Ref(w, g, alias.text)
                        )
                    else:
                        self._patterns.append((_compile_pattern(alias.regex), w, g))
        self._by_key = _refs_by_key(by_form)
        with_regex = {(w, g) for _, w, g in self._patterns}
        self._phrase_only_required = [
            frozenset(g for g in rule.all_of.union(*(t.groups for t in rule.together)))
            - {g for v, g in with_regex if v == w}
            for w, rule in enumerate(self._rules)
        ]
        self._cache: dict[str, list[_Ref]] = {}
        self._scanner = re.compile(r"(?<!\w)(?=(" + trie_regex(by_form) + "))") if by_form else None

    def match(self, article: Article) -> list[Match]:
        """The watchlists that fit the article, each with its matched terms in text order."""
        text = article.full_text
        hits = self._hits(text)
        sentences = Sentences(text)
        matches = []
        for w, found in hits.items():
            rule = self._rules[w]
            if rule.accepts(found, sentences):
                terms = _terms(found, rule.positive)
                matches.append(Match(self._watchlists[w].name, terms))
        return matches

    def explain(self, article: Article) -> list[Explanation]:
        """For every watchlist: matched or not, the terms found, and what was missing."""
        text = article.full_text
        hits = self._hits(text, everything=True)
        sentences = Sentences(text)
        return [self._explain(w, hits.get(w, {}), sentences) for w in range(len(self._watchlists))]

    def _explain(self, w: int, found: Hits, sentences: Sentences) -> Explanation:
        rule, names = self._rules[w], self._groups[w]
        any_of_hit = rule.any_of_holds(found, lambda t: t.holds(found, sentences))
        any_of_names = [names[g] for g in sorted(rule.any_of)] + [
            "(" + " and ".join(names[g] for g in sorted(t.groups)) + _within(t.within) + ")"
            for t in rule.any_together
        ]
        required = sorted(rule.all_of.union(*(t.groups for t in rule.together)))
        apart = rule.apart(found, sentences) if rule.accepts_groups(found) else []
        return Explanation(
            watchlist=self._watchlists[w].name,
            matched=rule.accepts(found, sentences),
            matched_terms=_terms(found, rule.positive),
            groups=tuple((names[g], _terms(found, {g})) for g in sorted(found)),
            missing=tuple(names[g] for g in required if g not in found),
            missing_any_of=() if any_of_hit else tuple(any_of_names),
            excluded_by=tuple(names[g] for g in sorted(rule.none_of) if g in found),
            apart=tuple(tuple(names[g] for g in sorted(groups)) for groups in apart),
        )

    def _hits(self, text: str, *, everything: bool = False) -> dict[int, Hits]:
        """watchlist → group → [(position, alias label)] for every alias found, at every
        position it is found (``together`` rules need them all). Regex aliases are searched
        only for watchlists that can still match on their phrase hits (or ``everything``)."""
        positions: dict[str, list[int]] = {}
        if self._scanner is not None:
            for found in self._scanner.finditer(_lower(text)):
                positions.setdefault(found.group(1), []).append(found.start())
        hits: dict[int, Hits] = {}
        for spelling, at in positions.items():
            for w, g, label in self._refs(spelling):
                hits.setdefault(w, {}).setdefault(g, []).extend((p, label) for p in at)
        for pattern, w, g in self._patterns:
            if everything or self._can_match(w, hits.get(w, {})):
                for hit in _words(pattern, text):
                    hits.setdefault(w, {}).setdefault(g, []).append((hit.start(), hit.group()))
        return hits

    def _can_match(self, w: int, found: Hits) -> bool:
        """Whether every group ``w`` requires that has no regex alias has a hit."""
        return all(g in found for g in self._phrase_only_required[w])

    def _refs(self, spelling: str) -> list[_Ref]:
        """The aliases a spelling found in a text is (cached: spellings repeat)."""
        refs = self._cache.get(spelling)
        if refs is None:
            if len(self._cache) > _CACHE_SIZE:
                self._cache.clear()
            refs = self._cache[spelling] = self._by_key.get(phrase_key(spelling), [])
        return refs


def _lower(text: str) -> str:
    """``text.lower()`` at the same positions (sentences are found in ``text`` itself):
    the rare character whose lower case is longer ("İ") is left as it is."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c if len(low := c.lower()) != 1 else low for c in text)


def _within(sentences: int) -> str:
    return " in one sentence" if sentences == 1 else f" within {sentences} sentences"


def _compile_rule(watchlist: Watchlist, names: list[str]) -> _Rule:
    index = {name: g for g, name in enumerate(names)}
    rule = watchlist.rule

    def compiled(together: Sequence[TogetherRule]) -> tuple[Together, ...]:
        return tuple(
            Together(
                frozenset(index[n] for n in t.groups),
                t.sentences,
                frozenset(index[n] for n in t.unless),
            )
            for t in together
        )

    return _Rule(
        frozenset(index[n] for n in rule.all_of),
        frozenset(index[n] for n in rule.any_of),
        frozenset(index[n] for n in rule.none_of),
        compiled(rule.together),
        compiled(rule.any_together),
    )


def _compile_pattern(regex: str) -> re.Pattern[str]:
    # The start is checked by _words: a leading assertion would make every search
    # try every position instead of skipping to the regex's literal prefix (10x slower).
    return re.compile(f"(?:{regex}){_NOT_IN_WORD}", re.IGNORECASE)


def _words(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """The matches of ``pattern`` that do not start inside a word."""
    for found in pattern.finditer(text):
        start = found.start()
        if start == 0 or not (is_word(text[start - 1]) and is_word(text[start])):
            yield found


def _refs_by_key(by_form: dict[Form, list[_Ref]]) -> dict[str, list[_Ref]]:
    """phrase key → every alias it is, including the shorter aliases a longer one implies."""
    forms = set(by_form)
    by_key: dict[str, list[_Ref]] = {}
    for form, refs in by_form.items():
        key = phrase_key("".join(t for t in form if t != SEP).replace(APOS, "'"))
        bucket = by_key.setdefault(key, [])
        for prefix in _implied(form, forms):
            bucket.extend(ref for ref in by_form[prefix] if ref not in bucket)
        bucket.extend(ref for ref in refs if ref not in bucket)
    return by_key


def _terms(found: dict[int, list[tuple[int, str]]], groups: Iterable[int]) -> tuple[str, ...]:
    """The labels of ``groups`` in order of first appearance in the text, deduplicated.

    A bare number inside a longer term is not a term of its own: the "23" an amount pattern
    finds in "KN-23" is shown as "KN-23" only (the rule itself still counts every hit)."""
    hits = sorted(hit for g in groups for hit in found.get(g, ()))
    inside, reach = set(), -1
    for pos, label in sorted(hits, key=lambda hit: (hit[0], -len(hit[1]))):
        end = pos + len(label)
        if end <= reach and not any(c.isalpha() for c in label):
            inside.add((pos, label))
        reach = max(reach, end)
    return tuple(dict.fromkeys(label for pos, label in hits if (pos, label) not in inside))
