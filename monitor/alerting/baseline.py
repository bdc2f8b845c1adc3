"""Old news is history, not an alert (pure).

A feed newsmon starts reading carries its backlog: stories days or weeks old. Those are
stored like any entry (item, story, figures, so later articles compare with their figures)
but raise no alert. An entry is *old news* for a watchlist when it was published longer
than ``max_age`` before newsmon first saw it, or when it carries no date and was seen on
its feed's first poll. ``max_age`` is the watchlist's if it sets one, else the feed's,
else ``alerts.max_age`` (default 2 days); ``off`` (``math.inf``) means no entry is too old.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


def is_old_news(
    published_at: datetime | None, seen_at: datetime, max_age: float, *, first_poll: bool
) -> bool:
    """Whether an entry first seen at ``seen_at`` is history under ``max_age`` seconds."""
    if math.isinf(max_age):
        return False
    if published_at is None:
        return first_poll
    return (seen_at - published_at).total_seconds() > max_age


class HasMaxAge(Protocol):
    """What the rule needs of a watchlist (``monitor.analysis.watchlist.Watchlist`` has it)."""

    @property
    def name(self) -> str: ...
    @property
    def max_age(self) -> float | None: ...


@dataclass(frozen=True)
class OldNews:
    """For which watchlists an entry is old news: all but ``except_for`` when ``baseline``
    (the feed's rule took it as history), else only ``except_for`` (watchlists whose own
    max_age decides otherwise). ``name in old_news`` asks for one watchlist."""

    baseline: bool = False
    except_for: frozenset[str] = frozenset()

    def __contains__(self, name: object) -> bool:
        return self.baseline != (name in self.except_for)


FRESH = OldNews()


@dataclass(frozen=True)
class Baseline:
    """The old-news rule of one feed: its max_age and the watchlists' own."""

    max_age: float
    watchlists: tuple[tuple[str, float], ...] = ()  # the watchlists that set their own

    @classmethod
    def of(cls, default: float, feed: float | None, watchlists: Iterable[HasMaxAge]) -> Baseline:
        """``default``: alerts.max_age; ``feed``: the feed's own max_age, if any."""
        return cls(
            default if feed is None else feed,
            tuple((wl.name, wl.max_age) for wl in watchlists if wl.max_age is not None),
        )

    def judge(
        self, published_at: datetime | None, seen_at: datetime, *, first_poll: bool
    ) -> OldNews:
        """For which watchlists an entry first seen at ``seen_at`` is old news."""
        baseline = is_old_news(published_at, seen_at, self.max_age, first_poll=first_poll)
        differ = frozenset(
            name
            for name, age in self.watchlists
            if is_old_news(published_at, seen_at, age, first_poll=first_poll) != baseline
        )
        return OldNews(baseline, differ) if baseline or differ else FRESH
