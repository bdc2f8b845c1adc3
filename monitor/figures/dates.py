"""``as_of``: the past date a text gives a value ("in January", "in October 2024").

"since November" starts a running total (today's value) and "by mid-January" states one:
neither dates the value. A month without a year takes the article's publication year (the
year before when the month lies after the publication month).
"""

from __future__ import annotations

import re

MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)


MONTH_NUMBER = {m[:3]: i + 1 for i, m in enumerate(MONTHS.split("|")[:12])}


AS_OF = re.compile(
    rf"\b(?:in|on|as of|at the end of|during|last)\s+(?:(?:early|mid|late)[-\s]+)?"
    rf"(?:(?P<day>\d{{1,2}})\s+)?(?P<month>{MONTHS})\.?(?:\s+(?P<day2>\d{{1,2}})\b)?"
    rf"(?:,?\s+(?P<year>(?:19|20)\d\d))?\b|\bin\s+(?P<year_only>(?:19|20)\d\d)\b"
)
