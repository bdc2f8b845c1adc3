"""Korean: 만/천/백 units after digits ("1만1000명", "1만5,000", "3천"), 수천/수백 vague
amounts, 약/최소/최대 before the number and 여/이상/넘게/가량 after it."""

from __future__ import annotations

import re

from monitor.analysis.figures.languages.grammar import (
    DOZENS,
    HUNDREDS,
    TENS_OF_THOUSANDS,
    THOUSANDS,
    Grammar,
    Range,
)

_UNIT = {"억": 1e8, "만": 1e4, "천": 1e3, "백": 1e2}
_PART = r"\d[\d,]*(?:\.\d+)?"
_UNITS = re.compile(rf"(?<![\d,.])(?:{_PART}\s?[억만천백])+(?:\s?\d[\d,]*)?(?![\d억만천백])")


def unit_numbers(text: str, start: int, end: int) -> list[tuple[int, int, Range]]:
    """ "1만1000" → 11,000, "1만5,000" → 15,000, "4만2000" → 42,000, "3천" → 3,000."""
    found = []
    for m in _UNITS.finditer(text, start, end):
        total = 0.0
        rest = m.group()
        for part in re.finditer(rf"({_PART})\s?([억만천백])?", rest):
            value = float(part.group(1).replace(",", ""))
            total += value * _UNIT[part.group(2)] if part.group(2) else value
        found.append((m.start(), m.end(), (total, total)))
    return found


KOREAN = Grammar(
    code="ko",
    decimal_comma=False,
    scales={},
    words={},
    vague={
        "수십만": (1e5, 999999.0),
        "수만": TENS_OF_THOUSANDS,
        "수천": THOUSANDS,
        "수백": HUNDREDS,
        "수십": DOZENS,
    },
    before=[
        (r"최소(?:한)?|적어도", "at_least"),
        (r"최대", "up_to"),
        (r"약|대략|어림잡아", "about"),
        (r"거의", "nearly"),
    ],
    after=[
        (r"여\s?명?(?=\s|$|[이가은는을의에])", "about"),
        (r"명?\s?이상", "at_least"),
        (r"명?\s?(?:넘게|넘는|넘어|넘었|초과)", "over"),
        (r"명?\s?(?:가량|정도|안팎|내외)", "about"),
        (r"명?\s?(?:가까이|가까운|육박)", "nearly"),
        (r"명?\s?미만", "under"),
    ],
    not_after=r"\s?(?:년|월|일|시|분|초|세|살|차|번째|위|km|킬로|미터|개|주년|%|달러|원|여단|척|대\b|톤|문\b|회|번\b)",
    negation=r"않|아니|없|부인|가능성|할 수|할지|예정|계획|경우",
    verb_final=True,
    partitive=r"(?:명\s?)?(?:가운데|중)",
    range_join=r"\s?(?:~|-|–|에서)\s?",
    oblique=r"(?:에게|에서|에|로|으로|와|과|를|을)(?!\w)",
    clause_break=r"[;:]|[,，]\s|(?<=으며|하며|했고|이고|지만|는데)\s",
    special=unit_numbers,
    number_end=r"(?![\d.,]\d)",
    # countries as the subject; "в Россию", "nach Russland" are no subject (oblique)
    others=(
        "러시아군*",
        "러시아 군*",
        "우크라이나군*",
        "우크라이나 군*",
        "한국군*",
        "국군*",
        "미군*",
        "민간인*",
        "어린이*",
        "러시아는",
        "러시아가",
        "우크라이나는",
        "우크라이나가",
        "한국은",
        "미국은",
    ),
    sources=(
        r"(?P<who>[가-힣A-Za-z·]+(?:\s[가-힣A-Za-z·]+){0,3}?)(?:에\s따르면|에 의하면)",
        r"(?:^|(?<=\.\s))(?P<who>[가-힣]{2,12})(?:은|는|이|가)\s(?=.*(?:밝혔|전했|말했|보고했|추정했|발표했|분석했))",
    ),
)
