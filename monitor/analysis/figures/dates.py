"""``as_of``: the past date a text gives a value ("in January", "in October 2024").

"since November" starts a running total (today's value) and "by mid-January" states one:
neither dates the value. A month without a year takes the article's publication year (the
year before when the month lies after the publication month).
"""

from __future__ import annotations

import re
from datetime import date, datetime

MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)


_MONTH_NUMBER = {m[:3]: i + 1 for i, m in enumerate(MONTHS.split("|")[:12])}


_AS_OF = re.compile(
    rf"\b(?:in|on|as of|at the end of|during|last)\s+(?:(?:early|mid|late)[-\s]+)?"
    rf"(?:(?P<day>\d{{1,2}})\s+)?(?P<month>{MONTHS})\.?(?:\s+(?P<day2>\d{{1,2}})\b)?"
    rf"(?:,?\s+(?P<year>(?:19|20)\d\d))?\b|\bin\s+(?P<year_only>(?:19|20)\d\d)\b"
)


def read_as_of(low: str, start: int, end: int, published: datetime | None) -> date | None:
    """The past month ``low[start:end]`` dates its values in, if it names one."""
    anchor: date | None = None
    for m in _AS_OF.finditer(low, start, end):
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
