"""French: "11.000" / "11 000", "2,3 millions", "environ", "au moins", "plus de",
"des milliers"."""

from monitor.figures.languages.grammar import (
    DOZENS,
    HUNDREDS,
    SEVERAL_THOUSAND,
    TENS_OF_THOUSANDS,
    THOUSANDS,
    Grammar,
)

FRENCH = Grammar(
    code="fr",
    decimal_comma=True,
    scales={r"mille": 1e3, r"millions?": 1e6, r"milliards?": 1e9},
    words={
        r"deux": 2,
        r"trois": 3,
        r"quatre": 4,
        r"cinq": 5,
        r"six": 6,
        r"sept": 7,
        r"huit": 8,
        r"neuf": 9,
        r"dix": 10,
        r"onze": 11,
        r"douze": 12,
        r"vingt": 20,
        r"cent": 100,
        r"mille|un\s+millier": 1e3,
    },
    vague={
        r"des\s+dizaines\s+de\s+milliers": TENS_OF_THOUSANDS,
        r"plusieurs\s+milliers": SEVERAL_THOUSAND,
        r"(?:des\s+)?milliers": THOUSANDS,
        r"(?:des\s+)?centaines": HUNDREDS,
        r"(?:des\s+)?dizaines": DOZENS,
    },
    before=[
        (r"au\s+moins|au\s+minimum|pas\s+moins\s+de", "at_least"),
        (r"plus\s+de", "over"),
        (r"jusqu['’]à", "up_to"),
        (r"près\s+de|presque|quasiment", "nearly"),
        (r"moins\s+de", "under"),
        (r"environ|quelque|approximativement|autour\s+de|une\s+estimation\s+de", "about"),
    ],
    not_after=r"\s?(?:ans\b|km\b|kilomètres|mètres|pour\s+cent|%|dollars|euros|(?:janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre))",
    not_before=r"(?:janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre|kn-|hwasong-)\s*$",
    negation=r"\b(?:ne|n['’]|jamais|nié|dément\w*|si|pourrai\w*)\b",
    partitive=r"\s*(?:des|sur|parmi\s+les)\s+",
    range_join=r"\s*(?:-|–|à)\s*",
    oblique=r"\b(?:à|en|de|contre|pour|avec|vers|depuis|par)\s+(?:la|le|les|l['’])?\s*$",
    others=("russe*", "ukrainien*", "sud-coréen*", "américain*", "civil*", "enfants"),
    sources=(
        r"\bselon\s+(?P<who>(?:le|la|les|l['’])?\s*[^,.;]{2,60}?)(?=[,.;])",
        r"(?P<who>(?:Le|La|Les)?\s*(?-i:[A-ZÉ])[\w-]*(?:\s+(?-i:[A-ZÉ])[\w-]*){0,4})\s+a\s+(?:déclaré|affirmé|indiqué|estimé)",
    ),
)
