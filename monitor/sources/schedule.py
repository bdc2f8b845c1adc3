"""When to poll a feed next (pure): its interval, what the server asked for, and backoff.

- **Server hints.** A server may ask for a *longer* interval (``<ttl>``,
  ``Cache-Control: max-age``, ``Expires``, ``Retry-After``) and newsmon honours that, up
  to ``max_interval``; it never polls more often than the feed's configured interval.
- **Adaptive interval.** A feed that publishes rarely is polled less often: after a
  successful poll the delay is a quarter of the time since the feed last gave us a new
  item, kept between the configured interval and ``idle_interval``. A feed that has just
  published is polled at its configured interval again; one quiet for four hours is polled
  hourly. ``fetch.idle_interval: null`` turns this off.
- **Backoff.** After failures the delay doubles per consecutive failure, with ±15 %
  jitter so that many failing feeds do not retry in lockstep, up to ``max_interval``. A
  success resets it. A feed failing for days keeps being retried at ``max_interval``,
  never dropped, and is *flagged* (:func:`is_flagged`) so ``newsmon feeds`` and the log
  say so.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

IDLE_DIVISOR = 4.0  # poll a quiet feed every quarter of the time it has been quiet
FLAG_FAILURES = 8  # a feed that never succeeded is flagged after this many failures


@dataclass(frozen=True)
class Bounds:
    min_interval: float
    max_interval: float
    idle_interval: float | None = None  # longest adaptive interval; None: not adaptive


def adaptive_interval(interval: float, bounds: Bounds, quiet_for: float | None) -> float:
    """The feed's interval stretched by how long it has published nothing new.

    ``quiet_for`` is the number of seconds since the newest new item (None: no item for a
    long time, or never). The result lies between ``interval`` and ``idle_interval``.
    """
    if bounds.idle_interval is None or bounds.idle_interval <= interval:
        return interval
    if quiet_for is None:
        return bounds.idle_interval
    return min(max(interval, quiet_for / IDLE_DIVISOR), bounds.idle_interval)


def success_delay(
    interval: float,
    bounds: Bounds,
    *,
    ttl: float | None = None,
    max_age: float | None = None,
    quiet_for: float | None = 0.0,
) -> float:
    """Seconds until the next poll after a successful one.

    ``quiet_for`` (seconds since the feed's newest new item, None: none for a long time)
    stretches the interval; ``ttl`` and ``max_age`` lengthen it when the server asks.
    """
    base = adaptive_interval(interval, bounds, quiet_for)
    asked = max((x for x in (ttl, max_age) if x), default=0.0)
    delay = max(base, min(asked, bounds.max_interval))
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
    backoff: float = min(interval * 2.0 ** min(max(failures - 1, 0), 60), bounds.max_interval)
    backoff *= rng.uniform(0.85, 1.15)
    backoff = min(max(backoff, bounds.min_interval), bounds.max_interval)
    if retry_after:
        backoff = max(backoff, min(retry_after, bounds.max_interval))
    return backoff


def is_flagged(
    failures: int,
    last_success_at: datetime | None,
    now: datetime,
    flag_after: float,
) -> bool:
    """Whether a failing feed needs a human: it has failed at least twice in a row and not
    succeeded for ``flag_after`` seconds, or never succeeded in ``FLAG_FAILURES`` tries."""
    if failures < 2:
        return False
    if last_success_at is None:
        return failures >= FLAG_FAILURES
    return (now - last_success_at).total_seconds() >= flag_after


def delivery_backoff(attempts: int, cap: float, rng: random.Random | None = None) -> float:
    """Seconds before retrying an alert after ``attempts`` temporary failures (full jitter
    on an exponential base, never under one second)."""
    rng = rng or random.Random()
    base = min(cap, 2.0 ** min(attempts, 20))
    return max(1.0, rng.uniform(base / 2, base))
