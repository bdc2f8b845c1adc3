"""The compiled figure vocabulary of a set of watchlists, and the article-level rules:
each value once, the precise statement over a vague one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.analysis.figures.languages.detect import detect_language
from monitor.analysis.figures.languages.reader import LanguageReader, LanguageVocabulary
from monitor.analysis.figures.languages.registry import grammar_of
from monitor.analysis.figures.phrases import phrase_pattern
from monitor.analysis.figures.reader import Reader
from monitor.analysis.figures.vocabulary import COMPETING, DURATIONS, TOKEN
from monitor.analysis.phrases import normalise_phrase as norm
from monitor.domain.model import Article, FigureSpec, Observation


class FigureExtractor:
    """Compiled figure vocabulary; :meth:`extract` reads an article's figures."""

    def __init__(self, specs: Sequence[FigureSpec]) -> None:
        self.specs = tuple(specs)
        self.money = any(spec.money for spec in self.specs)
        self.cue_owner = _owners(self.specs, lambda s: s.cues)
        self.subject_owner = _owners(self.specs, lambda s: s.subjects)
        self.unit_owner = _owners(self.specs, lambda s: s.units)
        self.excluded = [frozenset(norm(e) for e in spec.exclude) for spec in self.specs]
        exclude = set().union(*self.excluded)
        self.cues = phrase_pattern(self.cue_owner)
        # each cue's first word: a sentence with none of them has no cue
        self.cue_words = frozenset(w for c in self.cue_owner for w in TOKEN.findall(c)[:1])
        competing = set(COMPETING.split("|")) | exclude
        self.subjects = phrase_pattern(set(self.subject_owner) | competing)
        self.competing = competing - set(self.subject_owner)
        people_nouns = {
            norm(s)
            for spec in self.specs
            for s in spec.subjects
            if s[:1].isupper() and s.endswith("s") and "'" not in s
        }
        self.people_nouns = people_nouns | {c for c in competing if c.endswith(("ns", "ese"))}
        measures = "days weeks months years day week month year decades hours minutes km kilometers"
        measures += " miles people"
        self.units = phrase_pattern(
            set(self.unit_owner) | self.people_nouns | set(measures.split())
        )
        self.own = [{norm(x) for x in spec.subjects} for spec in self.specs]
        # single words of subjects and their competitors: capitalised modifiers, not nouns
        self.subject_words = frozenset(
            w.strip(".'’") for term in set(self.subject_owner) | competing for w in term.split()
        )

        self.spec_units = [self._units_of(spec) for spec in self.specs]
        self.explicit_units = [frozenset(norm(u) for u in spec.units) for spec in self.specs]
        self._fitting: dict[tuple[str | None, bool, bool], frozenset[int]] = {}
        self._languages: dict[str, LanguageVocabulary] = {}

    def _units_of(self, spec: FigureSpec) -> frozenset[str]:
        units = {norm(u) for u in spec.units}
        if spec.unit == "people":
            units |= {n for n in self.people_nouns if n not in self.competing}
        return frozenset(units)

    def fitting(self, noun: str | None, percent: bool, days_suffix: bool) -> frozenset[int]:
        """Indexes of the specs a number counting ``noun`` can be (cached)."""
        key = (noun, percent, days_suffix)
        found = self._fitting.get(key)
        if found is None:
            found = frozenset(
                i
                for i, spec in enumerate(self.specs)
                if _fits(spec, self.spec_units[i], noun, percent, days_suffix)
            )
            self._fitting[key] = found
        return found

    def extract(self, article: Article) -> list[Observation]:
        """Every tracked figure the article's title and text state, each once.

        A value stated twice (a headline and its body) is kept once, from the statement
        that says who made it, the body's first: headlines rarely carry the attribution
        the body gives.
        """
        found: dict[tuple[Any, ...], Observation] = {}
        for part in (article.text, article.title):
            if not part:
                continue
            for obs in Reader(self, part, article).observations():
                key = (obs.figure, obs.watchlist, obs.low, obs.high, obs.unit, obs.qualifier)
                kept = found.get(key)
                if kept is None or (kept.attributed_to is None and obs.attributed_to):
                    found[key] = obs
        for obs in self._in_language(article):
            key = (obs.figure, obs.watchlist, obs.low, obs.high, obs.unit, obs.qualifier)
            found.setdefault(key, obs)
        return drop_subsumed(list(found.values()))

    def _in_language(self, article: Article) -> list[Observation]:
        """The figures an article in another language states (:mod:`.languages`)."""
        if not any(spec.languages for spec in self.specs):
            return []
        grammar = grammar_of(article.language or detect_language(article.full_text))
        if grammar is None or not any(spec.words(grammar.code) for spec in self.specs):
            return []
        vocabulary = self._languages.get(grammar.code)
        if vocabulary is None:
            vocabulary = self._languages[grammar.code] = LanguageVocabulary(self.specs, grammar)
        return [
            obs
            for part in (article.text, article.title)
            if part
            for obs in LanguageReader(vocabulary, part).observations()
        ]


def _fits(
    spec: FigureSpec, units: frozenset[str], noun: str | None, percent: bool, days_suffix: bool
) -> bool:
    if percent:
        return spec.percent and (noun is None or noun in units)
    if spec.unit == "days":
        return noun in DURATIONS or days_suffix
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
            owners.setdefault(norm(term), set()).add(i)
    return owners
