"""When to poll a feed next (pure): its interval, what the server asked for, and backoff.

A server may ask for a *longer* interval (``<ttl>``, ``Cache-Control: max-age``,
``Expires``, ``Retry-After``) and newsmon honours that; it never polls more often than the
feed's configured interval. After failures the delay doubles per consecutive failure, with
jitter so that many failing feeds do not retry in lockstep, up to ``max_interval``: a feed
failing for days keeps being retried at that pace, never dropped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Bounds:
    min_interval: float
    max_interval: float


def success_delay(
    interval: float,
    bounds: Bounds,
    *,
    ttl: float | None = None,
    max_age: float | None = None,
) -> float:
    """Seconds until the next poll after a successful one."""
    asked = max((x for x in (ttl, max_age) if x), default=0.0)
    delay = max(interval, min(asked, bounds.max_interval))
    return max(delay, bounds.min_interval)


def failure_delay(
    interval: float,
    failures: int,
    bounds: Bounds,
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds until the next attempt after ``failures`` consecutive failures (≥ 1)."""
    rng = rng or random.Random()
    backoff = min(interval * 2 ** max(failures - 1, 0), bounds.max_interval)
    backoff *= rng.uniform(0.85, 1.15)
    backoff = min(max(backoff, bounds.min_interval), bounds.max_interval)
    if retry_after:
        backoff = max(backoff, min(retry_after, bounds.max_interval))
    return backoff


def delivery_backoff(attempts: int, cap: float, rng: random.Random | None = None) -> float:
    """Seconds before retrying an alert after ``attempts`` temporary failures (full jitter
    on an exponential base, never under one second)."""
    rng = rng or random.Random()
    base = min(cap, 2.0 ** min(attempts, 20))
    return max(1.0, rng.uniform(base / 2, base))
