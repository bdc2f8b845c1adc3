"""Fake clocks for tests: time moves only when a test says so, never by a sleep."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.domain.clock import Clock


class FakeClock:
    """A clock standing at ``at`` until a test moves it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


class SkewedClock:
    """``real``'s time plus ``skew``, which a test may change: a host whose clock is off."""

    def __init__(self, real: Clock, skew: timedelta = timedelta(0)) -> None:
        self.real = real
        self.skew = skew

    def now(self) -> datetime:
        return self.real.now() + self.skew
