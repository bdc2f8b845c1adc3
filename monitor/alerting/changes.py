"""Figure change detection (pure): is a new observation news, given what is stored?

A figure's history is a series per (figure, unit). A new observation is a *change* when its
range differs from every stored range beyond the figure's relative tolerance and is not a
vaguer range around one of them ("thousands" after "3,000"); otherwise it corroborates the
value it repeats. Increments ("another 3,000") are not totals and values
the article dates in the past are history: both are stored, neither is a change.

A value without ``as_of`` is current: a running total ("has sent about 13,000 troops since
November 2024") counts today, whatever its "since"; so is a value dated on or after the
article's own day ("as of Friday", in Friday's paper). Only a value dated before the
article ("in January, Seoul estimated 300 dead") is history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from monitor.domain.display import format_number
from monitor.domain.model import FigureChange, KnownValue, Observation

# Sources disagree "widely" when the highest current estimate is this many times the lowest.
WIDE_SPREAD_RATIO = 2.0


def same_value(
    low: float, high: float, other_low: float, other_high: float, tolerance: float
) -> bool:
    """Equal ranges, each end within ``tolerance`` (relative) of the other's."""

    def close(a: float, b: float) -> bool:
        return abs(a - b) <= tolerance * max(abs(a), abs(b))

    return close(low, other_low) and close(high, other_high)


def as_current(obs: Observation, day: date) -> Observation:
    """``obs`` as stored and compared: a value the text dates on or after ``day`` (the
    article's date) is a current value, so its ``as_of`` is dropped; one dated before it
    keeps it and is history."""
    if obs.as_of is not None and obs.as_of >= day:
        return replace(obs, as_of=None)
    return obs


def is_news(obs: Observation) -> bool:
    """Only current totals can change a series."""
    return not obs.increment and obs.as_of is None


def compare(
    obs: Observation,
    known: Sequence[KnownValue],
    tolerance: float,
    outlet: str | None = None,
) -> FigureChange | None:
    """A FigureChange when ``obs`` differs from every known value, else None.

    ``outlet`` publishes ``obs``; it names the new value's end of a spread when the text
    does not say who stated it.
    """
    if not is_news(obs):
        return None
    if any(same_value(obs.low, obs.high, k.low, k.high, tolerance) for k in known):
        return None
    if obs.low < obs.high and any(obs.low <= k.low and k.high <= obs.high for k in known):
        return None  # "thousands" after "3,000": the same thing said less precisely
    spread = spread_note(obs, known, outlet)
    return FigureChange(observation=obs, previous=tuple(known), spread=spread)


def _source(attributed_to: str | None, outlet: str | None) -> str:
    return attributed_to or outlet or "unattributed"


def spread_note(
    obs: Observation, known: Sequence[KnownValue], outlet: str | None = None
) -> str | None:
    """Name the spread and who holds each end when current estimates disagree widely.

    Compares the newest value of each source (known values arrive latest first) with the
    new observation, e.g. ``"estimates range from 9 (KCNA) to 4,000 (Kyiv)"``.
    """
    newest: dict[str, tuple[float, float]] = {}
    for k in known:
        newest.setdefault(_source(k.attributed_to, k.outlet), (k.low, k.high))
    newest[_source(obs.attributed_to, outlet)] = (obs.low, obs.high)
    if len(newest) < 2:
        return None
    low_source, (low, _) = min(newest.items(), key=lambda item: item[1][0])
    high_source, (_, high) = max(newest.items(), key=lambda item: item[1][1])
    if low <= 0 or high / low < WIDE_SPREAD_RATIO or low_source == high_source:
        return None
    low_text, high_text = format_number(low), format_number(high)
    return f"estimates range from {low_text} ({low_source}) to {high_text} ({high_source})"
