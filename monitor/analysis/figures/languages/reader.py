"""Reading one text in a language other than English (pure, no I/O).

The rules of :mod:`monitor.analysis.figures`, shallow enough to hold across six languages:

1. Numbers in the language's forms; years, dates, times, ages, distances, ordinals, money
   and counters of other things (the grammar's ``not_after``/``not_before``) are not read.
   The whole of a partitive ("2 из 5 ракет", "1.000 von 11.000") is no figure; its part
   counts the whole's noun.
2. The counted noun is a figure's noun right after the number (or after its whole); a
   number whose noun belongs to no figure of the cue is not read.
3. The predicate is the nearest cue of a fitting figure in the number's clause, at most
   eight words away; a cue several figures share is decided by the counted noun, else
   the number is not read.
4. Negated, conditional and merely possible statements yield nothing.
5. Subject: a subject in the number's own noun phrase decides; else the nearest subject
   (ours or a competing one) in the sentence that is not governed by a preposition, before
   the number first; else whether ours is named in the nearest of the three sentences
   before that names any.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.analysis.figures.languages.grammar import Grammar
from monitor.analysis.figures.languages.sources import source_in, source_spans
from monitor.analysis.figures.numbers import Quantity
from monitor.domain.model import FigureSpec, Observation

_SENTENCE_END = re.compile(r"(?<=[.!?。…])[\"»”’)]*\s+|\n\s*")
_MAX_WORDS = 8
_NAME_BEFORE = re.compile(r"[^\W\d_]-?$")
_NOUN_REACH = 30  # characters after a number where its counted noun can start


@dataclass(frozen=True, slots=True)
class _Term:
    pattern: re.Pattern[str]
    owners: frozenset[int]


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int
    end: int
    owners: frozenset[int]


def term_pattern(term: str, grammar: Grammar) -> re.Pattern[str]:
    """A vocabulary word as a regex: ``*`` any ending, a space any run of spaces; whole
    words, except that Korean words take particles and form compounds."""
    body = r"\s+".join(re.escape(w).replace(r"\*", r"\w*") for w in term.split())
    if grammar.code == "ko":
        return re.compile(body, re.I)
    end = "" if term.endswith("*") else r"(?!\w)"
    return re.compile(rf"(?<!\w){body}{end}", re.I)


class LanguageVocabulary:
    """The figures' words in one language, compiled."""

    def __init__(self, specs: Sequence[FigureSpec], grammar: Grammar) -> None:
        self.specs = specs
        self.grammar = grammar
        self.cues = _terms(specs, grammar, lambda w: w.cues)
        self.subjects = _terms(specs, grammar, lambda w: w.subjects)
        self.units = _terms(specs, grammar, lambda w: w.units)
        self.others = [term_pattern(o, grammar) for o in grammar.others]
        self.readable = frozenset(i for i, s in enumerate(specs) if s.words(grammar.code))
        self.with_units = frozenset(
            i for i, s in enumerate(specs) if (w := s.words(grammar.code)) and w.units
        )


def _terms(specs: Sequence[FigureSpec], grammar: Grammar, pick: object) -> list[_Term]:
    owners: dict[str, set[int]] = {}
    for i, spec in enumerate(specs):
        words = spec.words(grammar.code)
        if words is not None:
            for term in pick(words):  # type: ignore[operator]
                owners.setdefault(term, set()).add(i)
    return [_Term(term_pattern(t, grammar), frozenset(o)) for t, o in owners.items()]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


class LanguageReader:
    """One pass over one text in one language."""

    def __init__(self, vocabulary: LanguageVocabulary, text: str) -> None:
        self.v = vocabulary
        self.g = vocabulary.grammar
        self.text = text
        self.sentences = sentence_spans(text)
        self._numbers: list[int] = []  # where the numbers of the sentence being read are

    def observations(self) -> Iterable[Observation]:
        for k, (start, end) in enumerate(self.sentences):
            cues = self._hits(self.v.cues, start, end)
            if not cues:
                continue
            quantities = [
                q for q in self.g.quantities(self.text, start, end) if self._may_be_figure(q)
            ]
            wholes = self._wholes(quantities)
            self._numbers = [q.core_start for q in quantities if q.core_start not in wholes]
            parts = [q for q in quantities if q.core_start not in wholes]
            owned = self._owned_cues(parts, cues)
            for q in quantities:
                if q.core_start in wholes:
                    continue
                free = [c for c in cues if owned.get(c.start, q.core_start) == q.core_start]
                yield from self._observe(q, k, free, wholes)

    def _owned_cues(self, quantities: list[Quantity], cues: list[_Hit]) -> dict[int, int]:
        """A cue right after a number (its noun aside) is that number's predicate and no
        other's: "600 soldados han muerto y otros 4.100 han resultado heridos"."""
        owned: dict[int, int] = {}
        for q in quantities:
            nxt = min((c for c in cues if c.start >= q.end), key=lambda c: c.start, default=None)
            if nxt is None or any(q.end <= n < nxt.start for n in self._numbers):
                continue
            if len(self.text[q.end : nxt.start].split()) <= 3:
                owned.setdefault(nxt.start, q.core_start)
        return owned

    def _hits(self, terms: Sequence[_Term], start: int, end: int) -> list[_Hit]:
        hits = [
            _Hit(m.start(), m.end(), t.owners)
            for t in terms
            for m in t.pattern.finditer(self.text, start, end)
        ]
        return sorted(hits, key=lambda h: (h.start, -h.end))

    def _may_be_figure(self, q: Quantity) -> bool:
        g, text = self.g, self.text
        if g.pattern("not_after", g.not_after).match(text, q.core_end):
            return False
        if g.pattern("not_before", g.not_before).search(text, max(0, q.start - 20), q.start):
            return False
        if q.integer and 1900 <= q.low <= 2100 and q.low == q.high:
            return False
        if _NAME_BEFORE.search(text, max(0, q.core_start - 3), q.core_start):
            return False  # a model's number: "KN-23", "Ту-22", "SA-22"
        line = text.rfind("\n", 0, q.start) + 1
        listed = not text[line : q.start].strip() and text[q.core_end : q.core_end + 1] in ".)"
        return not listed

    def _wholes(self, quantities: list[Quantity]) -> dict[int, Quantity]:
        """The whole of each partitive, by its start: "Две из пяти ракет" → пяти."""
        partitive = self.g.pattern("partitive", self.g.partitive)
        wholes = {}
        for part, whole in itertools.pairwise(quantities):
            m = partitive.match(self.text, part.end)
            if m is not None and m.end() >= whole.start - 1 and whole.start - part.end < 20:
                wholes[whole.core_start] = part
        return wholes

    def _observe(
        self, q: Quantity, k: int, cues: list[_Hit], wholes: dict[int, Quantity]
    ) -> list[Observation]:
        whole = next((w for w, part in wholes.items() if part is q), None)
        noun_from = q.end
        if whole is not None:
            noun_from = next(x.end for x in self.g.quantities(self.text, whole, whole + 40))
        sent_start, sent_end = self.sentences[k]
        units = [
            u
            for u in self._hits(self.v.units, noun_from, min(sent_end, noun_from + _NOUN_REACH))
            if u.start - noun_from <= _NOUN_REACH
            and len(self.text[noun_from : u.start].split()) <= 3
        ]
        noun = units[0] if units else self._noun_before(q, sent_start)
        np_end = max(noun.end, q.end) if noun else q.end
        fitting = self.v.readable if noun is None else noun.owners & self.v.readable
        if noun is None:  # a number with no noun of ours: only figures counting anything
            fitting = fitting - self.v.with_units if self._other_noun(q) else fitting
        clause = self._clause(q, sent_start, sent_end)
        best = self._best_cue(q, np_end, cues, clause, fitting)
        if best is None:
            return []
        cue, ids = best
        ids = self._one_figure(ids, noun)
        if not ids or self._negated(q, cue, clause):
            return []
        if not self._about_subject(q, np_end, k, ids):
            return []
        quote_start, quote_end = min(q.start, cue.start), max(np_end, cue.end, q.end)
        quote = self.text[quote_start:quote_end].strip(' ,;"“”«»')
        source = source_in(self.g, self.text, *self.sentences[k])
        if source is None and k > 0:
            source = source_in(self.g, self.text, *self.sentences[k - 1])
        return [self._observation(self.v.specs[i], q, quote, source) for i in sorted(ids)]

    def _noun_before(self, q: Quantity, sent_start: int) -> _Hit | None:
        """A counted noun right before the number: "미사일 약 50발", "공병 1000명"."""
        before = self._hits(self.v.units, max(sent_start, q.start - 24), q.start)
        ending = [u for u in before if not self.text[u.end : q.start].strip()]
        return ending[-1] if ending else None

    def _other_noun(self, q: Quantity) -> bool:
        """A letter right after the number that starts a word no figure counts."""
        return False

    def _clause(self, q: Quantity, start: int, end: int) -> tuple[int, int]:
        breaks = self.g.pattern("clause", self.g.clause_break)
        lo, hi = start, end
        for m in breaks.finditer(self.text, start, end):
            if m.end() <= q.start:
                lo = m.end()
            elif m.start() >= q.end:
                hi = m.start()
                break
        return lo, hi

    def _best_cue(
        self,
        q: Quantity,
        np_end: int,
        cues: list[_Hit],
        clause: tuple[int, int],
        fitting: frozenset[int],
    ) -> tuple[_Hit, frozenset[int]] | None:
        best: tuple[tuple[int, bool], _Hit] | None = None
        for cue in cues:
            if not (clause[0] <= cue.start and cue.end <= clause[1]) or not cue.owners & fitting:
                continue
            if q.start <= cue.start < q.end:
                continue
            if cue.end <= q.start:
                gap = len(self.text[cue.end : q.start].split())
            elif cue.start >= np_end:
                gap = len(self.text[np_end : cue.start].split())
            else:
                gap = 0
            between = (cue.end, q.start) if cue.end <= q.start else (np_end, cue.start)
            if any(between[0] <= n < between[1] for n in self._numbers):
                continue  # not past another number: "Von den 11.000 Soldaten seien 1.000 gefallen"
            rank = (gap, cue.end <= q.start)  # on a tie, the cue after the number: its verb
            if gap <= _MAX_WORDS and (best is None or rank < best[0]):
                best = (rank, cue)
        return None if best is None else (best[1], best[1].owners & fitting)

    def _one_figure(self, ids: frozenset[int], noun: _Hit | None) -> frozenset[int]:
        names = {self.v.specs[i].name for i in ids}
        if len(names) <= 1:
            return ids
        if noun is not None:
            named = ids & noun.owners
            if len({self.v.specs[i].name for i in named}) == 1:
                return named
        return frozenset()

    def _negated(self, q: Quantity, cue: _Hit, clause: tuple[int, int]) -> bool:
        """A negation or a hedge near the number and its cue; where the verb ends the
        clause (Korean), anywhere after them in the clause ("파병할 가능성은 없다")."""
        lo = max(clause[0], min(q.start, cue.start) - 30)
        hi = clause[1] if self.g.verb_final else max(q.start, cue.end)
        return bool(self.g.pattern("negation", self.g.negation).search(self.text, lo, hi))

    def _about_subject(self, q: Quantity, np_end: int, k: int, ids: frozenset[int]) -> bool:
        own = [t for t in self.v.subjects if t.owners & ids]
        start, end = self.sentences[k]
        sources = source_spans(self.g, self.text, start, end)
        mentions = [
            m for m in self._mentions(own, start, end) if not any(a <= m[0] < b for a, b in sources)
        ]
        in_np = [m for m in mentions if q.core_start <= m[0] < max(np_end, q.end + 25)]
        if in_np:
            return in_np[0][1]
        # the clause's subject comes first in it ("Nordkorea hat Russland 1,5 Millionen
        # Granaten geliefert"); a source's clause ("Ucrania dice que …") is another clause
        clause_start = self._clause(q, start, end)[0]
        in_clause = [m for m in mentions if clause_start <= m[0] < q.start]
        if in_clause:
            return in_clause[0][1]
        before = [m for m in mentions if m[0] < q.start]
        if before:
            return before[-1][1]
        if mentions:
            return min(mentions, key=lambda m: abs(m[0] - q.end))[1]
        for j in range(k - 1, max(-1, k - 4), -1):
            mentions = self._mentions(own, *self.sentences[j])
            if mentions:  # as the English reader: any of ours named there
                return any(ours for _, ours in mentions)
        return False

    def _mentions(self, own: list[_Term], start: int, end: int) -> list[tuple[int, bool]]:
        """(position, ours?) of each subject named in ``text[start:end]`` that is no
        preposition's object nor a particle's (ko: 러시아에, "to Russia")."""
        oblique = self.g.pattern("oblique", self.g.oblique)
        found: list[tuple[int, int, bool]] = []
        patterns = [(t.pattern, True) for t in own] + [(p, False) for p in self.v.others]
        for pattern, ours in patterns:
            for m in pattern.finditer(self.text, start, end):
                if self._is_oblique(oblique, m.start(), m.end()):
                    continue
                found.append((m.start(), m.end(), ours))
        found.sort(key=lambda f: (f[0], -f[1]))
        kept: list[tuple[int, bool]] = []
        last_end = -1
        for s, e, ours in found:  # the longest mention at a place: "Corea del Sur" over "Corea"
            if s >= last_end:
                kept.append((s, ours))
                last_end = e
        return kept

    def _is_oblique(self, oblique: re.Pattern[str], start: int, end: int) -> bool:
        if self.g.code == "ko":
            word_end = end
            while word_end < len(self.text) and self.text[word_end].isalnum():
                word_end += 1
            return bool(oblique.search(self.text, end, word_end))
        return bool(oblique.search(self.text, max(0, start - 20), start))

    def _observation(
        self, spec: FigureSpec, q: Quantity, quote: str, source: str | None
    ) -> Observation:
        return Observation(
            figure=spec.name,
            watchlist=spec.watchlist,
            value=(q.low + q.high) / 2,
            low=q.low,
            high=q.high,
            unit=spec.unit,
            qualifier=q.qualifier,
            attributed_to=source,
            quote=quote,
            increment=q.increment,
            as_of=None,
            language=self.g.code,
        )
