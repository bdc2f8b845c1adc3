"""German: "11.000", "2,3 Millionen", "rund", "mindestens", "mehr als", "Tausende"."""

from monitor.figures.languages.grammar import (
    DOZENS,
    HUNDREDS,
    SEVERAL_THOUSAND,
    TENS_OF_THOUSANDS,
    THOUSANDS,
    Grammar,
)

GERMAN = Grammar(
    code="de",
    decimal_comma=True,
    scales={r"tausend": 1e3, r"millionen|million|mio\.?": 1e6, r"milliarden?|mrd\.?": 1e9},
    words={
        r"zwei": 2,
        r"drei": 3,
        r"vier": 4,
        r"fünf": 5,
        r"sechs": 6,
        r"sieben": 7,
        r"acht": 8,
        r"neun": 9,
        r"zehn": 10,
        r"elf": 11,
        r"zwölf": 12,
        r"zwanzig": 20,
        r"hundert": 100,
        r"tausend": 1e3,
    },
    vague={
        r"zehntausende": TENS_OF_THOUSANDS,
        r"(?:mehrere|einige)\s+tausend": SEVERAL_THOUSAND,
        r"tausende": THOUSANDS,
        r"hunderte": HUNDREDS,
        r"dutzende": DOZENS,
    },
    before=[
        (r"mindestens|wenigstens|zumindest", "at_least"),
        (r"mehr\s+als|über", "over"),
        (r"bis\s+zu|höchstens", "up_to"),
        (r"fast|beinahe|knapp|nahezu", "nearly"),
        (r"weniger\s+als|unter", "under"),
        (r"rund|etwa|ungefähr|ca\.|circa|zirka|schätzungsweise|geschätzte", "about"),
    ],
    not_after=r"\s?(?:jahre?n?\b|-jährig|uhr\b|km\b|kilometer|meter|prozent\b(?!\s+der)|%|euro|dollar|\.\s?(?:januar|februar|märz|april|mai|juni|juli|august|september|oktober|november|dezember))",
    not_before=r"(?:januar|februar|märz|april|mai|juni|juli|august|september|oktober|november|dezember|nr\.|kn-|hwasong-)\s*$",
    negation=r"\b(?:nicht|kein\w*|nie|bestritt\w*|dementiert\w*|falls|wenn|könnte\w*)\b",
    partitive=r"\s*(?:von|unter)\s+(?:den|diesen|ihnen)?\s*",
    range_join=r"\s*(?:-|–|bis)\s*",
    oblique=r"\b(?:an|in|nach|aus|gegen|für|mit|gegenüber|bei|zu|von|seite)\s+(?:de[nmrs]?|die|das)?\s*$",
    others=("russisch*", "ukrainisch*", "südkorean*", "amerikanisch*", "Zivilist*", "Kinder*"),
    sources=(
        r"\blaut\s+(?P<who>(?:de[mnr]|die|das)?\s*[\w-]+(?:\s+(?-i:[A-ZÄÖÜ])[\w-]*){0,3})",
        r"\b(?:schreibt|schrieb|berichtet|berichtete|sagte|sagt|erklärte|teilte)\s+(?P<who>(?:der|die|das)\s+(?-i:[A-ZÄÖÜ])[\w-]*(?:\s+(?-i:[A-ZÄÖÜ])[\w-]*){0,3})",
        r"(?P<who>(?:Der|Die|Das)\s+[\w-]+(?:\s+(?-i:[A-ZÄÖÜ])[\w-]*){0,2})\s+(?:teilte|sagte|erklärte|berichtete|schätzt)",
    ),
)
