"""The English the figure reader knows beyond the watchlists: function words, the
shapes of noun phrases and predicates, negation and modality (data, no logic).

What is a figure of which watchlist — cues, subjects, counted nouns — is the watchlists'
vocabulary (``figures:`` in each YAML file); what is here is grammar every figure shares.
"""

from __future__ import annotations

import re

MAX_CUE_WORDS = 12


# Subjects that compete with a spec's own: a figure about them is not the spec's figure.
COMPETING = (
    "russian|russians|russia's|russia|ukrainian|ukrainians|ukraine's|ukraine|american|americans"
    "|u.s.|us|america's|chinese|china's|china|south korean|south koreans|south korea's"
    "|south korea|iranian|iranians|iran's|iran|belarusian|belarusians|syrian|syrians|chechen"
    "|chechens|wagner|nato|israeli|israelis|israel's|palestinian|palestinians|cuban|cubans"
    "|nepalese|indian|indians|kremlin's|moscow's|kyiv's|seoul's|washington's|civilian|civilians"
    "|belarus|belarus's|british|britain|britain's|french|france|france's|german|germans|germany"
    "|germany's|polish|poland|poland's|japanese|japan|japan's|turkish|turkey|european|europeans"
    "|georgian|georgians|gazan|gazans|lao|laotian|yemeni|houthi|houthis|hamas|hezbollah"
)


# "sent troops to help Russia": whom a verb of help governs is not whose figure it is
# an auxiliary a few words before a verb: "are estimated to have been killed", "were killed"
AUXILIARY_BEFORE = re.compile(r"\b(?:are|were|is|was|have|has|had)\b(?:\s+[\w'’]+){0,5}\s+$")


# what may stand between a preposition and the place it governs: "in eastern Russia"
DETERMINERS = frozenset(
    [
        *("the", "a", "an", "its", "their", "his", "her", "this", "that", "eastern"),
        *("western", "northern", "southern", "central", "occupied", "far", "neighbouring"),
        "neighboring",
    ]
)


# the counted noun as the subject of a finite verb: "(2,000 soldiers) were reportedly …"
AUXILIARY_AFTER = re.compile(r"\s+(?:had|have|has|were|was|are|is)\b\s*([\"“‘']?\w)")


HELP_VERBS = frozenset(
    [
        *("help", "helps", "helped", "helping", "support", "supports", "supported"),
        *("supporting", "aid", "aided", "aiding", "assist", "assisted", "assisting", "bolster"),
    ]
)


PREPOSITIONS = frozenset(
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


NOUN_MODIFIERS = frozenset(
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


# the verbs that carry a predicate: between a counted noun and its cue, and never a noun
AUXILIARIES = frozenset(["were", "was", "are", "is", "have", "has", "had", "be", "been", "being"])


NO_NOUN = AUXILIARIES | frozenset(
    [
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
        # a time after the number is no noun: "4,000 last month", "3,000 each year"
        *("last", "next", "each", "every", "yesterday", "today", "earlier", "ago"),
    ]
)


# "nine members of the regiment": the members of a military group are its soldiers
MILITARY_GROUPS = (
    "regiment|unit|battalion|brigade|division|army|contingent|corps|detachment|company"
    "|platoon|squad|force|forces"
)
MEMBERS_OF = re.compile(
    rf"\s*members\s+of\s+(?:the\s+|its\s+|their\s+|an?\s+|this\s+|that\s+)?"
    rf"(?:[\w'’-]+\s+){{0,3}}?(?:{MILITARY_GROUPS})s?\b"
)
GROUP_MEMBERS = "soldiers"  # the counted noun they stand for


# counted nouns wider than the unit of the figure they fall under: the value is counted in
# them ("2 million munitions" may be rockets, bombs or cartridges as well as shells)
WIDER_UNITS = frozenset(["munitions", "ammunition"])


WEEK_OR_MONTH = re.compile(r"-(week|month|year)\b")


# days per unit of a duration, as a range: "six months" is 168 to 186 days
DAYS_PER = {"week": (7.0, 7.0), "month": (28.0, 31.0), "year": (365.0, 366.0)}


DURATIONS = frozenset(["days", "weeks", "months", "years", "day", "week", "month", "year"])


# "for a year": a duration whose number is the article
FOR_A = re.compile(r"\bfor\s+(an?|one)\s+(?=(?:year|month|week)\b)")


# "could send", "may deploy": a possible event, not a reported one ("would" is reported
# speech's "will": "said 4,000 would be sent" reports a decision)
MODAL_BEFORE = re.compile(r"\b(?:could|may|might)\s+(?!have\b)(?:\w+\s+){0,2}$")


TOKEN = re.compile(r"[^\W_]+")


NEGATION = re.compile(
    r"\b(?:no(?!\s+(?:fewer|less|more|longer)\b)|not(?!\s+(?:only|less|more|fewer)\b)|never"
    r"|none|neither|nor|den(?:y|ied|ies|ying)|dismiss(?:ed|es)?|reject(?:ed|s)?|refut(?:ed|es)"
    r"|false(?:ly)?|without)\b|n't\b|n’t\b"
)


HYPOTHETICAL = re.compile(
    r"\b(?:if|unless|whether|were to|in case|suppos(?:e|ing)|hypothetical\w*)\b"
)


INVERTED_CONDITIONAL = re.compile(r"\s*[\"“‘']?(?:should|were|had)\s+(?!been\b)")


SHARE_OF = re.compile(r"\s+(?:of|the)\b|\s+(?:\w+\s+){0,3}(?:are|were|was|is|came|come)\b")


# "a 12-member delegation": the number modifies the noun after the compound
COMPOUND = re.compile(r"-(?!(?:days?|weeks?|months?|years?|plus)\b)[a-z]+\b")


DAYS_SUFFIX = re.compile(r"-(?:day|week|month|year)\b")


INCREMENT_WORDS = frozenset(["more", "additional", "another", "extra", "further"])


LINKING_CUES = frozenset(["reached"])


# A projected change ("losses could rise to tens of thousands") is not a figure yet; a
# projected total ("could eventually be deployed") is still read, as the seeds' analysts do.
FUTURE = re.compile(
    r"\b(?:could|may|might|will|would|to)\s+(?:soon\s+|eventually\s+|also\s+|further\s+)?"
    r"(?:rise|grow|increase|climb|swell|double|triple)\b"
)


PARTITIVE = re.compile(
    r"\s+(?:out\s+)?of\s+(?:all\s+(?:of\s+)?)?(?:the\s+|these\s+|those\s+|its\s+|their\s+"
    r"|some\s+|[a-z.]+(?:'s|’s|s'|s’)\s+)?[\"“‘']?"
)


# "800 of them were killed": the counted noun is the one named before
PRONOUN_PARTITIVE = re.compile(
    r"\s+(?:out\s+)?of\s+(?:them|whom|which|(?:those|these)"
    # "of these casualties" is a partitive of a noun, "of those, 600 died" of a pronoun
    r"(?=\s*[,.;:)]|\s+(?:who|that|being|were|was|are|is|have|had|[a-z]+ed)\b))\b"
)


# Words that may stand between a counted noun and its predicate ("were reportedly killed",
# "have been deployed") or between a verb and its object ("sent a total of"): a cue reached
# across only these is the number's own predicate, whatever else is nearer.
PREDICATE_GLUE = AUXILIARIES | frozenset(
    [
        # "were reported killed", "were presumed dead", "were listed as missing"
        "reported",
        "presumed",
        "assumed",
        "considered",
        "declared",
        "listed",
        "as",
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


WORD = re.compile(r"[\s)]*[\"“”'‘’(]?([\w][\w'’.-]*)")
