"""Reading one text: for every number, the noun phrase it counts, the predicate that
phrase belongs to, and the one figure whose cue is that predicate and whose subject is
what is counted.

See :mod:`monitor.analysis.figures` for the rules, in order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from monitor.analysis.figures.attribution import Attributions
from monitor.analysis.figures.dates import read_as_of
from monitor.analysis.figures.numbers import Quantity, lower_same_length, quantities_at
from monitor.analysis.figures.phrases import Hit, PhrasePattern
from monitor.analysis.figures.scan import (
    digit_runs,
    may_be_figure,
    number_words_in,
)
from monitor.analysis.figures.sentences import (
    LIST_ITEM,
    Sentence,
    Sentences,
)
from monitor.analysis.figures.vocabulary import (
    AUXILIARY_AFTER,
    AUXILIARY_BEFORE,
    COMPOUND,
    DAYS_PER,
    DAYS_SUFFIX,
    DETERMINERS,
    DURATIONS,
    FOR_A,
    FUTURE,
    GROUP_MEMBERS,
    HELP_VERBS,
    HYPOTHETICAL,
    INCREMENT_WORDS,
    INVERTED_CONDITIONAL,
    LINKING_CUES,
    MAX_CUE_WORDS,
    MEMBERS_OF,
    MODAL_BEFORE,
    NEGATION,
    NO_NOUN,
    NOUN_MODIFIERS,
    PARTITIVE,
    PREDICATE_GLUE,
    PREPOSITIONS,
    PRONOUN_PARTITIVE,
    SHARE_OF,
    TOKEN,
    WEEK_OR_MONTH,
    WIDER_UNITS,
    WORD,
)
from monitor.analysis.phrases import normalise_phrase as norm
from monitor.domain.model import Article, FigureSpec, Observation

if TYPE_CHECKING:
    from monitor.analysis.figures.extractor import FigureExtractor


_PRONOUN_SUBJECT = re.compile(r"\b(?:it|they|its|their)\b")
# "South Korean intelligence", "Ukrainian officials": a nationality that names a source
_SOURCE_AFTER = re.compile(
    r"\s+(?:and\s+\w+\s+)?(?:intelligence|officials?|media|sources?|estimates?|data"
    r"|authorities|government|ministry|agency|analysts?|experts?|lawmakers?|press|reports?)\b"
)


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


class Reader:
    """One pass over one text."""

    def __init__(self, ex: FigureExtractor, text: str, article: Article) -> None:
        self.ex = ex
        self.text = text
        self.low = lower_same_length(text)
        self.article = article
        self.sentences = Sentences(text, self.low)
        self._numbers_at: list[int] = []  # where the sentence being read has numbers
        self.attributions = Attributions(text, self.low, self.sentences)
        self._as_of_cache: dict[int, date | None] = {}

    def observations(self) -> Iterable[Observation]:
        low = self.low
        ascii_low = low.encode("ascii", "replace")  # same offsets, faster to scan
        positions = digit_runs(ascii_low)
        for word in number_words_in(ascii_low):
            at = low.find(word)
            while at >= 0:
                end = at + len(word)
                if not (low[at - 1 : at].isalpha() or low[end : end + 1].isalpha()):
                    positions.append(at)
                at = low.find(word, end)
        positions += [m.start(1) for m in FOR_A.finditer(low)]
        positions.sort()
        i = 0
        while i < len(positions):
            sent = self.sentences.at(positions[i])
            j = i
            while j < len(positions) and positions[j] < sent.end:
                j += 1
            yield from self._read_sentence(sent, positions[i:j])
            i = max(j, i + 1)

    def _hits(self, pattern: PhrasePattern, start: int, end: int) -> list[Hit]:
        return pattern.hits(self.low, start, end)

    def _read_sentence(self, sent: Sentence, positions: list[int]) -> Iterable[Observation]:
        if self.ex.cue_words.isdisjoint(TOKEN.findall(self.low, sent.start, sent.end)):
            return  # no word a cue begins with: the common case, decided without the regex
        cues = self._with_nested(self._hits(self.ex.cues, sent.start, sent.end))
        if not cues:
            return
        quantities = [
            q
            for q in quantities_at(self.low, positions)
            if may_be_figure(self.low, q, sent.start, self.ex.money)
        ]
        if not quantities:
            return
        subjects = self._hits(self.ex.subjects, sent.start, sent.end)
        units = self._hits(self.ex.units, sent.start, sent.end)
        phrases = self._phrases(quantities, units, cues)
        self._numbers_at = [q.core_start for q in quantities]
        # a cue inside a number's own noun phrase ("600 killed", "2,000 soldiers sent") is
        # that number's and no other's: "4,700, including 600 killed" counts casualties
        owned = {
            id(p): {c.start for c in cues if p.q.end <= c.start < p.np_end}
            for p in phrases
            if p.inner is None
        }
        for phrase in phrases:
            if phrase.noun is None and not phrase.q.percent and not phrase.head_cue:
                phrase.noun = self._noun_before(phrase.q, sent, units)
            others = set().union(*(v for k, v in owned.items() if k != id(phrase)))
            free = [c for c in cues if c.start not in others] if others else cues
            yield from self._observe(phrase, sent, free, subjects)

    def _with_nested(self, cues: list[Hit]) -> list[Hit]:
        """The cues and the cues inside longer ones: "been deployed" (a duration's cue)
        also holds "deployed" (a troop count's), which the longest match alone would hide."""
        nested = []
        for cue in cues:
            if " " not in cue.key:
                continue
            words = [m.span() for m in TOKEN.finditer(self.low, cue.start, cue.end)]
            for i, (start, _) in enumerate(words):
                for _, end in words[i:]:
                    key = norm(self.low[start:end])
                    if (start, end) != (cue.start, cue.end) and key in self.ex.cue_owner:
                        nested.append(Hit(start, end, key))
        return sorted(cues + nested, key=lambda h: (h.start, h.end)) if nested else cues

    # -- noun phrases -------------------------------------------------------------------

    def _phrases(
        self, quantities: list[Quantity], units: list[Hit], cues: list[Hit]
    ) -> list[_Phrase]:
        phrases = [self._members(q) or self._noun_phrase(q, q.end, units, cues) for q in quantities]
        for p in phrases:
            if p.q.percent:  # "one in three soldiers sent": the participle is not the share's
                p.of_start = p.q.end
        by_start = {p.q.core_start: p for p in phrases}
        for p in phrases:
            if p.is_inner:
                continue
            if pronoun := PRONOUN_PARTITIVE.match(self.low, p.q.end):
                p.of_start, p.np_end, p.noun, p.noun_known = p.q.end, pronoun.end(), None, True
                continue
            m = PARTITIVE.match(self.low, p.q.end)
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
                if p.q.percent and head.noun is None:
                    # a share of something no figure counts ("half of the initial
                    # deployment", "a third of these casualties"): not a share we track
                    p.noun_known = False
        return phrases

    def _members(self, q: Quantity) -> _Phrase | None:
        """ "nine members of the regiment": the members of a military group, its soldiers."""
        members = MEMBERS_OF.match(self.low, q.end)
        return _Phrase(q, members.end(), GROUP_MEMBERS, True) if members else None

    def _noun_phrase(self, q: Quantity, pos: int, units: list[Hit], cues: list[Hit]) -> _Phrase:
        """The noun the number counts, across modifiers ("1,500 North Korean special
        forces"); a capitalised word that is neither a subject nor followed by a known noun
        is the noun itself ("the two Koreas"): not a figure of ours."""
        unit_at = {u.start: u for u in units}
        cue_at = {c.start: c for c in cues}
        if c := COMPOUND.match(self.low, pos):  # "a 12-member delegation"
            pos = c.end()
        proper: str | None = None  # a capitalised word passed over as a modifier
        for _ in range(8):
            m = WORD.match(self.text, pos)
            if m is None:
                break
            start = m.start(1)
            if start in unit_at:
                unit = unit_at[start]
                return _Phrase(q, self._participle_end(unit.end, cues), unit.key, True)
            word = self.low[start : m.end(1)].strip(".'’")
            if pos == q.end and word in INCREMENT_WORDS:  # "3,000 more troops"
                pos = m.end()
                continue
            if pos == q.end and (first := self._first_word(q, word, m.end(), cue_at.get(start))):
                return first
            in_name = word == "of" and pos > q.end and self._capitalised_after(m.end())
            # "KN-23 and KN-24 missiles": modifiers joined by "and" before the noun
            joined = word in ("and", "or") and pos > q.end and self._capitalised_after(m.end())
            if start in cue_at or (word in NO_NOUN and not in_name and not joined):
                break
            if joined:
                pos = m.end()
                continue
            original = self.text[start]
            if not (original.isupper() or "-" in word or word in NOUN_MODIFIERS or q.percent):
                return _Phrase(q, q.end, word, False)
            if original.isupper() and word not in self.ex.subject_words:
                proper = word
            pos = m.end()
        if proper is not None and not q.percent:
            return _Phrase(q, q.end, proper, False)
        return _Phrase(q, q.end, None, True)

    def _first_word(self, q: Quantity, word: str, end: int, cue: Hit | None) -> _Phrase | None:
        """The phrase when the word right after the number says it all: "2,700 others
        injured" counts as named before; "600 deaths" counts the cue itself."""
        if word == "others":
            return _Phrase(q, end, None, True)
        if cue is not None and not q.percent:
            return _Phrase(q, cue.end, None, True, head_cue=True)
        return None

    def _capitalised_after(self, pos: int) -> bool:
        rest = self.text[pos : pos + 3].lstrip()
        return rest[:1].isupper()

    def _noun_before(self, q: Quantity, sent: Sentence, units: list[Hit]) -> str | None:
        """For a bare number, the counted noun named before it in its clause
        ("North Korean troops deployed: 11,000"; "the toll among the troops reached 300")."""
        start, _ = self.sentences.clause(q.start, sent)
        before = [u for u in units if start <= u.start and u.end <= q.start]
        if before and self.low.count(" ", before[-1].end, q.start) <= MAX_CUE_WORDS:
            return before[-1].key
        if self.low[sent.start : q.start].strip(" \"“‘'-•*"):
            return None
        # a sentence that opens with the number counts what the one before named: "North
        # Korean troops were sent last year. Roughly 11,000 were deployed to Kursk."
        prev = self.sentences.previous(sent)
        if prev is None:
            return None
        named = [
            u.key
            for u in self._hits(self.ex.units, prev.start, prev.end)
            if u.key not in DURATIONS and any(u.key in units for units in self.ex.spec_units)
        ]
        return named[-1] if named else None

    def _participle_end(self, end: int, cues: list[Hit]) -> int:
        """Where a participle right after the counted noun ends ("30 soldiers killed and
        wounded": the whole of the longest cue there)."""
        return max((c.end for c in cues if end <= c.start <= end + 2), default=end)

    # -- assignment ---------------------------------------------------------------------

    def _observe(
        self,
        phrase: _Phrase,
        sent: Sentence,
        cues: list[Hit],
        subjects: list[Hit],
    ) -> list[Observation]:
        if not phrase.noun_known or phrase.denominator:
            return []
        q = phrase.q
        fitting = self._fitting(phrase)
        if not fitting:
            return []
        clause_start, clause_end = self.sentences.clause(q.start, sent)
        if self._other_predicate(phrase, cues):
            return []
        best = self._best_cue(phrase, cues, clause_start, clause_end, fitting)
        if best is None:
            return []
        cue, spec_ids = best
        spec_ids = {  # a clause naming what a figure excludes ("into the sea") is not its
            i
            for i in self._one_figure(phrase, spec_ids)
            if not any(
                clause_start <= s.start < clause_end and s.key in self.ex.excluded[i]
                for s in subjects
            )
        }
        if not spec_ids or self._negated(q, cue, clause_start):
            return []
        attributions = self.attributions.in_sentence(sent)
        if not self._about_subject(phrase, sent, subjects, attributions, spec_ids):
            return []
        source = self.attributions.resolved(
            self.attributions.source(q, sent, attributions), sent.start
        )
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
        named = {i for i in spec_ids if phrase.noun in self.ex.explicit_units[i]}
        if len({self.ex.specs[i].name for i in named}) == 1:
            return named
        return set()

    def _best_cue(
        self,
        phrase: _Phrase,
        cues: list[Hit],
        clause_start: int,
        clause_end: int,
        fitting: frozenset[int],
    ) -> tuple[Hit, set[int]] | None:
        """The nearest cue in the clause of a figure the phrase can be, and its figures."""
        best: tuple[tuple[bool, bool, bool, int, int], Hit] | None = None
        for cue in cues:
            if not (clause_start <= cue.start and cue.end <= clause_end):
                continue
            if not fitting & self.ex.cue_owner[cue.key]:
                continue
            rank = self._cue_rank(phrase, cue)
            if rank is not None and rank[3] <= MAX_CUE_WORDS and (best is None or rank < best[0]):
                best = (rank, cue)
        if best is None:
            return None
        cue = best[1]
        if phrase.q.end <= cue.start < phrase.np_end and not phrase.is_inner:
            # "2,000 soldiers deployed to Kursk are believed to have been killed": the
            # participle modifies the noun; the finite verb after it is the predicate
            cue = self._finite_predicate(phrase, cues, clause_end, fitting) or cue
        return cue, set(fitting & self.ex.cue_owner[cue.key])

    def _cue_rank(self, phrase: _Phrase, cue: Hit) -> tuple[bool, bool, bool, int, int] | None:
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
        linking = cue.key in LINKING_CUES and cue.end <= q.start <= cue.end + 1
        if linking and phrase.np_end == q.end:
            return None  # "the death toll has reached 1,000": the toll is what is counted
        # the number's own predicate first ("800 of them were killed", "killed some 240");
        # then a verb cue before an increment word ("another 1,200 are wounded")
        # a place ("in Kursk") is the weakest cue: "losses top 2,000 in Kursk" counts losses
        adjunct = cue.key.split(" ", 1)[0] in PREPOSITIONS
        attached = self._attached(phrase, cue)
        return (not attached, adjunct, cue.key in INCREMENT_WORDS, gap, -len(cue.key))

    def _other_predicate(self, phrase: _Phrase, cues: list[Hit]) -> bool:
        """Whether the counted noun is the subject of a verb that is no cue: "only two of them
        had been accurate" says nothing of how many were fired, whatever cue stands near."""
        m = AUXILIARY_AFTER.match(self.low, phrase.np_end)
        if m is None:
            return False
        starts = {c.start for c in cues}
        for word in TOKEN.finditer(self.low, m.start(1), min(len(self.low), m.start(1) + 80)):
            if word.start() in starts:
                return False
            if word.group() not in PREDICATE_GLUE:
                return True
        return False

    def _finite_predicate(
        self, phrase: _Phrase, cues: list[Hit], clause_end: int, fitting: frozenset[int]
    ) -> Hit | None:
        for cue in cues:
            if (
                phrase.np_end <= cue.start
                and cue.end <= clause_end
                and fitting & self.ex.cue_owner[cue.key]
                and AUXILIARY_BEFORE.search(self.low, max(phrase.np_end, cue.start - 60), cue.start)
                # not past another number: "100 soldiers died and 1,000 were injured"
                and not any(phrase.np_end <= s < cue.start for s in self._numbers_at)
            ):
                return cue
        return None

    def _attached(self, phrase: _Phrase, cue: Hit) -> bool:
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
        return all(w in PREDICATE_GLUE for w in between.split())

    def _fitting(self, phrase: _Phrase) -> frozenset[int]:
        """The specs whose figure the phrase can be, by what it counts."""
        q = phrase.q
        if q.percent and phrase.noun is None and not SHARE_OF.match(self.low, q.end):
            return frozenset()  # a share counts something: "40% of the troops"
        days = bool(DAYS_SUFFIX.match(self.low, q.core_end))
        return self.ex.fitting(phrase.noun, q.percent, days)

    def _negated(self, q: Quantity, cue: Hit, clause_start: int) -> bool:
        """Negated, hypothetical or merely possible. A fronted phrase set off by a comma
        ("If confirmed, …", "While Pyongyang has not said so, …") does not count."""
        first = min(q.start, cue.start)
        lo = max(clause_start, first - 80, self.low.rfind(",", clause_start, first) + 1)
        hi = max(q.start, cue.start)
        span = self.low[lo:hi]
        return bool(
            self._inverted_conditional(clause_start)
            or NEGATION.search(span)
            or HYPOTHETICAL.search(self.low, lo, hi)
            or FUTURE.search(self.low, clause_start, max(hi, cue.end))
            or MODAL_BEFORE.search(self.low, max(clause_start, cue.start - 30), cue.start)
        )

    def _inverted_conditional(self, clause_start: int) -> bool:
        """ "Should Pyongyang send …", "…, had it sent …": a clause that opens with the verb
        (not "The NIS (the spy agency) had reported …", whose clause only follows a bracket)."""
        m = INVERTED_CONDITIONAL.match(self.low, clause_start)
        if m is None:
            return False
        before = self.text[max(0, clause_start - 3) : clause_start].rstrip()
        opening = self.text[clause_start : clause_start + 8].lstrip(" \t\n\"“‘'")
        return not before or before[-1] in ",;" or opening[:1].isupper()

    def _about_subject(
        self,
        phrase: _Phrase,
        sent: Sentence,
        subjects: list[Hit],
        attributions: list[tuple[int, int, str | None]],
        spec_ids: set[int],
    ) -> bool:
        """Whether what the phrase counts is the figures' subject (rule 5 of the package)."""
        own = set().union(*(self.ex.own[i] for i in spec_ids))
        q = phrase.q
        if phrase.noun in self.ex.competing:
            return False
        if q.percent and self._supplier_named(q, sent, subjects, own):
            return True
        in_np = [s for s in subjects if q.core_start <= s.start < phrase.np_end]
        if any(hit.key in self.ex.competing for hit in in_np):
            return False  # "200 North Korean and Russian soldiers" are not North Korea's
        if any(hit.key in own for hit in in_np):
            return True
        candidates = [
            s
            for s in subjects
            if not any(a <= s.start < b for a, b, _ in attributions)
            and (s.key in own or not self._oblique(s.start))
            and (s.key in own or s.key in self.ex.competing)
            and not (s.key in self.ex.competing and _SOURCE_AFTER.match(self.low, s.end))
        ]
        if candidates:
            # the subject of a clause stands before its verb: a nationality after the
            # counted noun belongs to another phrase ("sent thousands of soldiers to push
            # Ukrainian forces out") unless none stands before
            before = [s for s in candidates if s.end <= q.start]
            if not before and _PRONOUN_SUBJECT.search(self.low, sent.start, q.start):
                return self._subject_before(sent, own)  # "It has sent …": who "it" is
            nearest = min(
                before or candidates,
                key=lambda s: min(abs(s.start - q.start), abs(s.end - q.start)),
            )
            return nearest.key in own
        # "North Korea says another 1,000 troops …": a source speaking of its own
        if any(
            s.key in own and any(a <= s.start < b for a, b, _ in attributions) for s in subjects
        ):
            return True
        return self._subject_before(sent, own)

    def _subject_before(self, sent: Sentence, own: set[str]) -> bool:
        """Whether the subject last named before the sentence is ours: back through a list
        to its heading, or up to three sentences of prose, whatever paragraph they are in."""
        prev, prose = self.sentences.before(sent), 0
        for _ in range(8):
            if prev is None:
                return False
            hits = [
                h
                for h in self._hits(self.ex.subjects, prev.start, prev.end)
                if h.key in own or h.key in self.ex.competing
            ]
            if hits:
                return any(h.key in own for h in hits)
            if not LIST_ITEM.match(self.text, prev.start):
                prose += 1
                if prose == 3:
                    return False
            prev = self.sentences.before(prev)
        return False

    def _supplier_named(
        self, q: Quantity, sent: Sentence, subjects: list[Hit], own: set[str]
    ) -> bool:
        """A share of supplies is one country's share of another's ("35 percent of
        Russia's ammunition comes from North Korea"): the supplier named in the clause
        decides, the user beside it does not."""
        start, end = self.sentences.clause(q.start, sent)
        return any(start <= s.start < end and s.key in own for s in subjects)

    def _oblique(self, pos: int) -> bool:
        """Governed by a preposition ("alongside Russia") or the recipient of a cue verb
        ("supplied Russia with …")."""
        words = self.low[max(0, pos - 30) : pos].split()
        while words and words[-1] in DETERMINERS:  # "on the Russia-Ukraine front"
            words.pop()
        return bool(words) and (
            words[-1] in PREPOSITIONS or words[-1] in HELP_VERBS or words[-1] in self.ex.cue_owner
        )

    def _as_of(self, sent: Sentence) -> date | None:
        if sent.start not in self._as_of_cache:
            self._as_of_cache[sent.start] = read_as_of(
                self.low, sent.start, sent.end, self.article.published_at
            )
        return self._as_of_cache[sent.start]

    def _observation(
        self,
        spec: FigureSpec,
        q: Quantity,
        phrase: _Phrase,
        source: str | None,
        quote: str,
        sent: Sentence,
    ) -> Observation:
        low, high, unit = q.low, q.high, spec.unit
        if q.percent:
            unit = "percent"
        elif phrase.noun in WIDER_UNITS:  # "hundreds of thousands of munitions" are no shells
            unit = phrase.noun
        elif spec.unit == "days":
            per = DAYS_PER.get((phrase.noun or "").rstrip("s"), (1.0, 1.0))
            if per == (1.0, 1.0) and (m := WEEK_OR_MONTH.match(self.low, q.core_end)):
                per = DAYS_PER[m.group(1)]
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
