"""Wording shared by every renderer: values, sources, dates, labels, safe truncation.

Pure functions on domain types; no notifier imports another, they all import this.
"""

from __future__ import annotations

import re
from datetime import datetime

from monitor.model import AlertContent, FigureChange, KnownValue, Observation

ELLIPSIS = "…"
KIND_LABELS = {
    "new_item": "New story",
    "figure_change": "Figure change",
    "follow_up": "Also reported",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_SPACES = re.compile(r"\s+")


def one_line(text: str) -> str:
    """``text`` with every line break, tab and control character collapsed to one space."""
    return _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in "…" when it was cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + ELLIPSIS


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def format_number(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


def format_value(low: float, high: float, qualifier: str, unit: str) -> str:
    """E.g. ``at least 3,000 people``, ``2,000–9,999 people``, ``about 25%``."""
    amount = format_number(low) if low == high else f"{format_number(low)}–{format_number(high)}"
    prefix = "" if qualifier == "exact" else qualifier.replace("_", " ") + " "
    suffix = "%" if unit == "percent" else f" {unit}"
    return f"{prefix}{amount}{suffix}"


def observation_value(obs: Observation) -> str:
    """The new value as stated: ``another 3,000 people`` for increments, dated when old."""
    value = format_value(obs.low, obs.high, obs.qualifier, obs.unit)
    if obs.increment:
        value = f"another {value}"
    if obs.as_of:
        value += f" (as of {obs.as_of:%Y-%m-%d})"
    return value


def known_value(known: KnownValue, unit: str) -> str:
    return format_value(known.low, known.high, known.qualifier, unit)


def known_source(known: KnownValue) -> str:
    """``Zelensky, Reuters, 2024-12-20`` — who said a stored value, where and when."""
    who = [part for part in (known.attributed_to, known.outlet) if part]
    when = format_date(known.published_at or known.first_seen_at)
    source = ", ".join([*who, when]) if who else f"unknown source, {when}"
    return source + (f" ({known.corroborations} reports)" if known.corroborations > 1 else "")


def change_source(change: FigureChange, content: AlertContent) -> str:
    """Who gave the new value, in which outlet, when."""
    parts = [change.observation.attributed_to, content.outlet]
    if content.published_at:
        parts.append(format_date(content.published_at))
    return ", ".join(part for part in parts if part)


def format_date(value: datetime) -> str:
    return f"{value:%Y-%m-%d}"


def format_time(value: datetime) -> str:
    """``2024-12-20 14:05 UTC`` (the zone as the datetime carries it)."""
    return f"{value:%Y-%m-%d %H:%M %Z}".strip()


def safe_url(url: str | None) -> str | None:
    """``url`` when it is an http(s) URL without whitespace or control characters."""
    if not url or not re.match(r"https?://", url, re.IGNORECASE):
        return None
    if any(ch.isspace() or ord(ch) < 32 or ch == "\x7f" for ch in url):
        return None
    return url
