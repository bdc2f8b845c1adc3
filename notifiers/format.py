"""Wording shared by every renderer: values, sources, dates, labels, safe truncation.

Pure functions on domain types; no notifier imports another, they all import this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from monitor.domain.display import format_value
from monitor.domain.model import LANGUAGE_NAMES, AlertContent, FigureChange, KnownValue, Observation

ELLIPSIS = "…"
KIND_LABELS = {
    "new_item": "New story",
    "figure_change": "Figure change",
    "follow_up": "Also reported",
    "dashboard": "Figure dashboard",
    "digest": "Digest",
}
# What a digest's members are called, singular and plural, by kind (mixed: "alerts").
_MEMBER_NOUNS = {
    "new_item": ("new story", "new stories"),
    "figure_change": ("figure change", "figure changes"),
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u0085\u2028\u2029]+")
_SPACES = re.compile(r"\s+")
# Bidirectional embeddings, overrides and isolates (and the Arabic letter mark): a
# U+202E in a title reverses what follows it on screen ("Trojan Source"), in a mail
# subject, a Slack message or a terminal alike. Rendered text never carries them.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def one_line(text: str) -> str:
    """``text`` with every line break, tab and control character collapsed to one space,
    and bidirectional controls removed."""
    return _SPACES.sub(" ", _CONTROL.sub(" ", _BIDI.sub("", text))).strip()


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in "…" when it was cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + ELLIPSIS


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


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


def quote_in_language(obs: Observation) -> str | None:
    """The quote of a value read in another language than English, saying which:
    '“약 1만2000명의 병력을 파병” (Korean)'; None for English."""
    if not obs.language or obs.language == "en" or not obs.quote:
        return None
    name = LANGUAGE_NAMES.get(obs.language, obs.language)
    return f"“{truncate(one_line(obs.quote), 300)}” ({name})"


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


def plural(count: int, one: str, many: str) -> str:
    """``1 new story``, ``7 new stories``."""
    return f"{count:,} {one if count == 1 else many}"


def before_after(change: FigureChange) -> str:
    """``nk_killed: about 1,000 people → at least 3,000 people``: the compact change line."""
    obs = change.observation
    before = known_value(change.previous[0], obs.unit) if change.previous else "first value"
    return f"{obs.figure}: {before} → {observation_value(obs)}"


# --- dashboards ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Estimate:
    """One stated value of a figure as a dashboard lists it: the value with its qualifier,
    who said it, where, when, and the article when known."""

    value: str
    who: str | None
    outlet: str | None
    when: datetime | None
    url: str | None
    reports: int = 1


def estimates(change: FigureChange, content: AlertContent) -> list[Estimate]:
    """Every estimate of the figure, newest first: the change's observation (from the
    alert's own article), then the stored values as ``previous`` orders them."""
    obs = change.observation
    newest = Estimate(
        value=observation_value(obs),
        who=obs.attributed_to,
        outlet=content.outlet,
        when=content.published_at,
        url=content.url,
    )
    return [
        newest,
        *(
            Estimate(
                known_value(known, obs.unit),
                known.attributed_to,
                known.outlet,
                known.published_at or known.first_seen_at,
                known.url,
                known.corroborations,
            )
            for known in change.previous
        ),
    ]


def estimate_source(estimate: Estimate) -> str:
    """``Zelensky, Reuters, 2024-12-20 (2 reports)``: who, where, when."""
    parts = [part for part in (estimate.who, estimate.outlet) if part] or ["unknown source"]
    if estimate.when is not None:
        parts.append(format_date(estimate.when))
    reports = f" ({estimate.reports} reports)" if estimate.reports > 1 else ""
    return ", ".join(parts) + reports


def estimate_range(change: FigureChange) -> tuple[float, float, int]:
    """``(lowest low, highest high, number of estimates)`` over the observation and every
    stored value. An increment ("another 3,000") is an addition, not an estimate of the
    total, so it is left out — unless it is all there is."""
    obs = change.observation
    bounds = [(known.low, known.high) for known in change.previous]
    if not obs.increment or not bounds:
        bounds.append((obs.low, obs.high))
    return min(low for low, _ in bounds), max(high for _, high in bounds), len(bounds)


def range_summary(change: FigureChange) -> str:
    """``3,000–4,000 people across 3 estimates`` (``3,000 people, 1 estimate``)."""
    low, high, count = estimate_range(change)
    span = format_value(low, high, "exact", change.observation.unit)
    if count == 1:
        return f"{span}, 1 estimate"
    return f"{span} across {count:,} estimates"


def dashboard_title(change: FigureChange) -> str:
    """``📊 nk_killed — current estimates``."""
    return f"📊 {one_line(change.observation.figure)} — current estimates"


# --- digests ------------------------------------------------------------------------------


def digest_watchlists(content: AlertContent) -> list[str]:
    """The digest's watchlists, else the union of its members', in order of appearance."""
    if content.watchlists:
        return list(content.watchlists)
    seen: dict[str, None] = {}
    for member in content.digest:
        seen.update(dict.fromkeys(member.watchlists))
    return list(seen)


def digest_count(content: AlertContent) -> str:
    """``7 new stories``, ``1 figure change``, ``9 alerts`` (mixed kinds)."""
    kinds = {member.kind for member in content.digest}
    one, many = ("alert", "alerts")
    if len(kinds) == 1:
        one, many = _MEMBER_NOUNS.get(kinds.pop(), (one, many))
    return plural(len(content.digest), one, many)


def digest_heading(content: AlertContent) -> str:
    """``Digest · nk-deployment, kn-23: 7 new stories`` — composed from the members, so it
    carries no article text; the core's ``title`` is the fallback for an empty digest."""
    if not content.digest:
        return one_line(content.title) or "Digest"
    names = one_line(", ".join(digest_watchlists(content)))
    lead = f"Digest · {names}" if names else "Digest"
    return f"{lead}: {digest_count(content)}"
