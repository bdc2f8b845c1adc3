"""The clock newsmon stamps leases, due times and polls with, passed to whoever needs it.

Replicas of newsmon share one database; their own clocks may disagree by minutes. Every
stamp another replica compares with (a lease, an alert's due time, a feed's next poll) is
therefore read from the database's clock (``DatabaseClock``); a SQLite file lives on one
host, whose clock every process shares (``SystemClock``). Tests pass a fake clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Tells the time, always timezone-aware UTC."""

    def now(self) -> datetime:
        """The current time."""
        ...


class SystemClock:
    """This process's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class DatabaseClock:
    """The database's clock, as ``local``'s time plus a measured offset.

    ``server_now`` asks the database for its time (one round trip). The offset is measured
    from it (at most half a round trip off) and again every ``ttl`` seconds, not on every
    stamp: two stamps per alert sent would each cost a round trip.
    """

    def __init__(
        self, server_now: Callable[[], datetime], local: Clock | None = None, ttl: float = 30.0
    ) -> None:
        self._server_now = server_now
        self._local = local or SystemClock()
        self._ttl = ttl
        self._measured: tuple[float, timedelta] | None = None
        self._lock = threading.Lock()  # one measurement at a time (worker threads stamp too)

    def now(self) -> datetime:
        return self._local.now() + self._offset()

    def _offset(self) -> timedelta:
        with self._lock:
            measured = self._measured
            if measured is None or time.monotonic() - measured[0] > self._ttl:
                before = self._local.now()
                server = self._server_now()
                after = self._local.now()
                measured = (time.monotonic(), server - (before + (after - before) / 2))
                self._measured = measured
            return measured[1]
