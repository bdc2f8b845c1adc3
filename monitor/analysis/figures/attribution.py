"""``attributed_to``: who states a figure, as the text names them.

"according to X", "X said", "citing X", "as reported by X", "…, reports X" name a source;
the person rather than the title before the name ("Defence Secretary John Smith" → "John
Smith"), unless only a surname follows it that the text never writes in full; a reference
("the agency", a surname alone) is the name the text wrote in full earlier. Generic
sources ("reports", "some analysts") are no source. A list of sources is one source.

Where a sentence names several, the figure belongs to the outer clause (see
:meth:`Attributions.source`): whoever states the whole sentence states its figures, and
a source cited inside ("according to American data" after "Wood stated that") is the
speaker's evidence, not the speaker. Reading the clause structure this far is enough for
news copy, where attributions sit at the edges of a sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from monitor.analysis.figures.numbers import NUMBER_WORDS, Quantity
from monitor.analysis.figures.phrases import GLUE_TAIL
from monitor.analysis.figures.sentences import Sentence, Sentences

_NAME_WORD = re.compile(r"(?:[A-Z]\.){2,}|[^\s,;:.!?“”\"]+")


_APPOSITIVE = re.compile(r",\s*([^,]{2,60}),\s*$")


_PROPER_NAME = re.compile(r"[A-Z][\w'’.-]*(?:\s+(?:[A-Z][\w'’.-]*|de|van|von|bin|al|el)){0,3}")


_LEADING_THE = re.compile(r"^(?:the\s+)(?=[a-z])")


_GLUE = re.compile(rf"^([a-z]{{3,}}?){GLUE_TAIL}$")


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
    r"|acknowledged|acknowledges|admitted|admits|alleged|alleges|warned|warns|concluded"
    r"|characterized|characterised|described|describes|explained|stressed|emphasized"
    r"|emphasised|specified|testified|briefed|informed|cited|quoted|reminded|recalled|hailed"
    r"|declared|insisted|argued|asserted|maintained|boasted|pointed out|projected|projects"
    # who revises an estimate states it: "Seoul raised its estimate of … to 4,000"
    r"|(?:raised|raises|increased|increases|revised|revises|lowered|lowers|updated|updates)"
    r" (?:its |their |his |her |the )?(?:estimates?|estimated|count|tally|toll|assessment))"
)


# "an estimated 2,000", "its estimate:", "are estimated to", "the United States": the word
# is no reporting verb
_NOT_A_VERB_BEFORE = re.compile(
    r"\b(?:an?|the|its|their|his|her|our|whose|are|is|was|were|be|been|being|united)\s*$"
)


_NOT_A_VERB_AFTER = re.compile(r"\s*[)\]]")


_ATTRIBUTION_BEFORE = re.compile(
    r"\b(?:according to|citing|as reported by|reported by|as claimed by|claimed by"
    r"|as stated by|as estimated by|cited by)\s+"
)


# an adverb may stand between a source and its verb ("as Syrskyi previously noted")
_ATTRIBUTION_VERB = re.compile(
    rf"(?:\s+(?:they|it|he|she))?(?:\s+(?:previously|earlier|also|later|first|again|[a-z]+ly))?"
    rf"\s+{_REPORTING_VERB}\b"
)


_SAID_BEFORE_NAME = re.compile(
    r",\s*(?:said|says|reports|reported|writes|wrote|according to)\s+(?=[A-Z]|the\s+[A-Z])", re.I
)


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
_FULL_NAME = re.compile(r"[A-Z][\w'’-]*(?:[ \t]+(?:of[ \t]+(?:the[ \t]+)?)?[A-Z][\w'’-]*){0,7}")


# a definite description that refers back to a named source, and the words its name holds
_REFERENCE_AHEAD = 400  # characters after a reference where the name it refers to may follow
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
    if first.islower() and first not in _SOURCE_NOUNS and not _INSTITUTION.search(name):
        return None  # "support Russia in its war against Ukraine": a clause, not a source
    return name


# a name holds no auxiliary: "the spy agency had in April (reported)" is the spy agency
_AUXILIARY_CUT = re.compile(r"\s+(?:has|have|had|will|would|also|earlier|previously)\b.*$", re.S)


# lower-case words a source may begin with ("estimates from South Korea")
_SOURCE_NOUNS = frozenset(
    [
        *("a", "an", "estimates", "sources", "reports", "figures", "data", "documents"),
        *("assessments", "records", "statistics", "lawmakers", "diplomats", "people"),
    ]
)
_PRONOUNS = frozenset(["i", "we", "you", "they", "he", "she", "it", "there", "this", "that"])


# Lower-case sources that still name who speaks ("the think tank", "the prosecutor general").
_INSTITUTION = re.compile(
    r"\b(?:data|intelligence|officials?|ministry|military|government|agency|services?|command"
    r"|think tank|prosecutors?|general staff|institute|spokes(?:man|woman|person)|ministers?"
    r"|president|army|commanders?|embassy|council|committee|authorities|department)\b"
)


# one item of a list of sources: a short capitalised name ("the U.S.", "South Korea")
_LIST_ITEM = re.compile(r"\s*(?:[Tt]he\s+)?[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){0,3}\s*")
_LIST_END = re.compile(r"\s*(?:and|or)\s")


# a comma that continues a list of sources: an item or none, then "and" and a name
_LIST_AHEAD = re.compile(
    r",\s*(?:(?:[Tt]he\s+)?[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*){0,3},?\s+)?(?:and|or)\s+"
    r"(?:the\s+)?[A-Z]"
)


def _list_start(chunk: str, cut: int) -> int:
    """Where a list of sources before a verb begins ("The United States, South Korea, and
    their allies believe"): the comma ``cut`` gives way to the commas before it while
    each item between is a short capitalised name and the last item begins with "and"."""
    if chunk[cut : cut + 1] != "," or not _LIST_END.match(chunk, cut + 1):
        return cut
    while True:
        before = chunk.rfind(",", 0, cut)
        item = chunk[before + 1 : cut]
        if not _LIST_ITEM.fullmatch(item):
            return cut
        if before < 0:
            return before
        cut = before


_THAT = re.compile(r"\s+that\b")
_COMMA_BEFORE = re.compile(r",[\s\"”’]*$")
_CLOSING_WORDS = 8  # the words a closing attribution may leave to the sentence end ("on Friday")


class Attributions:
    """Who the sentences of one text say states something (cached per sentence)."""

    def __init__(self, text: str, low: str, sentences: Sentences) -> None:
        self.text = text
        self.low = low
        self.sentences = sentences
        self._cache: dict[int, list[tuple[int, int, str | None]]] = {}

    def in_sentence(self, sent: Sentence) -> list[tuple[int, int, str | None]]:
        """Who the sentence says states something: (start, end, name or None), cached."""
        cached = self._cache.get(sent.start)
        if cached is not None:
            return cached
        found: list[tuple[int, int, str | None]] = []
        self._cache[sent.start] = found
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
            if "\n" in self.text[end : m.start()]:
                break  # a name ends with its line
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
            if words < 7 and _LIST_AHEAD.match(self.text, end):
                continue  # "according to the U.S., South Korean and Ukrainian intelligence"
            if words >= 7 or self.text[end : end + 1] in ",;:.":
                break
        return end, _clean_source(self.text[pos:end])

    def _name_before(self, pos: int, limit: int) -> tuple[int, str | None]:
        limit = max(limit, self.text.rfind("\n", limit, pos) + 1)  # a name ends with its line
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
        cut = _list_start(chunk, cut)
        words = chunk[cut + 1 :].split()[-8:]
        text = " ".join(words)
        return pos - len(text), _clean_source(text) or described

    def source(
        self, q: Quantity, sent: Sentence, attributions: list[tuple[int, int, str | None]]
    ) -> str | None:
        """Who states the figure at ``q``: the outer clause's source, in this order — the
        speaker of a "that" clause holding it ("Wood stated that according to American
        data, …": Wood); an "according to" opening the sentence; an attribution closing
        the sentence ("…, according to the ministry."); the nearest before it; the first
        after it; when this one names none, the one source of the sentence before, or the
        attribution closing it."""
        named = [a for a in attributions if a[2]]
        before = [a for a in named if a[1] <= q.start]
        speaker = self._speaker(q, before)
        if speaker is not None:
            return speaker
        opening = [
            a
            for a in before
            if not self.text[sent.start : a[0]].strip(" \"“‘'(-")
            and self.low.startswith(("according to", "citing"), a[0])
        ]
        if opening:  # "According to X, …, as claimed by Y.": X holds the sentence
            return opening[0][2]
        closing = self._closing(q.end, sent, named)
        if closing is not None:
            return closing
        if before:
            return max(before, key=lambda a: a[1])[2]
        if named:
            return min(named, key=lambda a: a[0])[2]
        prev = None if attributions else self.sentences.previous(sent)
        if prev is None:
            return None
        carried = [a for a in self.in_sentence(prev) if a[2]]
        names = {a[2] for a in carried}
        if len(names) == 1:
            return names.pop()
        return self._closing(prev.start, prev, carried)  # the source holding all of it

    def _speaker(self, q: Quantity, before: list[tuple[int, int, str | None]]) -> str | None:
        """The first source before ``q`` whose verb opens a "that" clause running to the
        figure unbroken by a comma (a source cited inside the clause is the speaker's)."""
        for _, end, name in sorted(before):
            if _THAT.match(self.low, end):
                inner = [a for a in before if a[0] >= end]
                reach = min((a[0] for a in inner), default=q.start)
                if "," not in self.text[end:reach]:
                    return name
        return None

    def _closing(
        self, after: int, sent: Sentence, named: list[tuple[int, int, str | None]]
    ) -> str | None:
        """The attribution that closes the sentence after the figure ("…, state media
        reported.", "…, according to the ministry."): it holds the whole sentence, a source
        named before the figure included. Only a few words without a number may follow
        it, or the attributions it cites ("reports The Times, citing officials")."""
        for start, end, name in sorted(a for a in named if a[0] >= after):
            if self.text[start] != "," and not _COMMA_BEFORE.search(self.text, sent.start, start):
                continue
            rest = self.text[end : sent.end]
            for other_start, other_end, _ in named:
                if end <= other_start < sent.end:
                    rest = rest.replace(self.text[other_start:other_end], " ")
            if not re.search(r"\d", rest) and len(rest.split()) <= _CLOSING_WORDS:
                return name
        return None

    def resolved(self, name: str | None, pos: int) -> str | None:
        """The source as the text names it in full: the person, not their title ("Defence
        Secretary John Smith" → "John Smith") unless the name is a surname the text never
        writes in full; a reference ("the agency", "Lee") as the
        name it refers to — written earlier in the text, or else soon after (a lede names
        "the prosecutor" before the next sentence gives the name)."""
        if name is None:
            return None
        written, name = name, _person_after_title(name)
        words = name.split()
        if len(words) == 1 and words[0][:1].isupper():
            surname = words[0]
            full = self._named(
                pos,
                lambda p: (
                    surname in (p[0], p[-1]) and len(_person_after_title(" ".join(p)).split()) >= 2
                ),
            )
            return full or written  # "Ukrainian President Zelensky": the title says who
        orgs = _REFERENCE_HEADS.get(name.lower())
        if orgs:
            return self._named(pos, lambda p: any(org in p for org in orgs)) or name
        return name

    def _named(self, pos: int, fits: Callable[[list[str]], bool]) -> str | None:
        """The nearest full name before ``pos`` whose words ``fits``, else the first
        within the next few hundred characters; the person of it, not the title."""
        before = [m.group() for m in _FULL_NAME.finditer(self.text, 0, pos)]
        after = [m.group() for m in _FULL_NAME.finditer(self.text, pos, pos + _REFERENCE_AHEAD)]
        for found in [*reversed(before), *after]:
            if fits(found.split()):
                return _person_after_title(found)
        return None
