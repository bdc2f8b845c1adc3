"""``newsmon run``: the scheduler, pollers, delivery, live reload and HTTP endpoints.

APScheduler (3.x, asyncio) drives a few small jobs. The poll job runs every ``tick`` and
polls each feed whose own ``next_poll_at`` has come — its interval, stretched by what the
server asked for or by backoff. Keeping that time in the database rather than one
in-memory job per feed is what lets several replicas share feeds (a conditional UPDATE
leases each feed to one of them) and lets a restart keep every feed's schedule.

The poll and delivery jobs only *start* work, as tasks of their own, and return: a long
delivery drain is not a job still running when the next tick comes (APScheduler would
warn "maximum number of running instances reached" every tick), and a stop never cancels
a job in the middle (APScheduler would log it as an ERROR with a traceback). On SIGTERM
the delivery run finishes the alert in flight, claims no other, and the process waits for
it; alerts claimed but not sent go back to pending.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.alerting.delivery import deliver_pending
from monitor.config.settings import parse_listen
from monitor.pipeline.cycle import poll_due, sync_feeds
from monitor.runtime.app import App
from monitor.service.health import CheckResult, HealthServer, start_health_server
from monitor.service.reload import config_mtimes, reload_config
from monitor.sources.fetch import Fetcher
from monitor.web.app import web_dashboard
from storage import queries
from storage.db import schema_status

log = logging.getLogger("newsmon.service")

RELOAD_CHECK_SECONDS = 5.0
RETENTION_SECONDS = 3600.0
STOP_GRACE_SECONDS = 60.0  # longest wait for the alert in flight at a stop (sends time out)
STALL_TICKS = 12  # /healthz fails when the scheduler has not ticked for this many ticks
STALL_MIN_SECONDS = 60.0  # ... and at least this long


class Service:
    def __init__(self, app: App, config_path: Path | None = None) -> None:
        self.app = app
        self.config_path = config_path
        self._config_mtimes = config_mtimes(config_path, app.config)
        self._last_tick = time.monotonic()
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.stopping = asyncio.Event()
        self._polls: set[asyncio.Task[object]] = set()
        self._delivery: asyncio.Task[tuple[int, int]] | None = None
        self._health: HealthServer | None = None

    def readiness(self) -> dict[str, tuple[bool, str]]:
        checks: dict[str, tuple[bool, str]] = {}
        checks["database"] = schema_status(self.app.engine)
        running = self.scheduler.running and not self.stopping.is_set()
        checks["scheduler"] = (running, "running" if running else "stopped")
        names = ", ".join(sorted(self.app.compiled.by_name))
        if self.app.reload_error:
            checks["watchlists"] = (True, f"{names}; last reload failed: {self.app.reload_error}")
        else:
            checks["watchlists"] = (bool(names), names or "none loaded")
        return checks

    def liveness(self) -> CheckResult:
        """Alive while the scheduler ticks: a hung event loop fails /healthz."""
        quiet = time.monotonic() - self._last_tick
        limit = max(STALL_MIN_SECONDS, STALL_TICKS * self.app.config.tick)
        if quiet > limit:
            return False, f"scheduler stalled: no tick for {quiet:.0f}s (limit {limit:.0f}s)"
        return True, "ok"

    async def _tick(self, fetcher: Fetcher) -> None:
        """Poll the due feeds this replica can claim, without waiting for slow ones."""
        self._last_tick = time.monotonic()
        room = self.app.config.fetch.concurrency * 2 - len(self._polls)
        if room <= 0 or self.stopping.is_set():
            return
        task = asyncio.create_task(self._timed_poll(fetcher, room))
        self._polls.add(task)
        task.add_done_callback(self._polls.discard)

    async def _timed_poll(self, fetcher: Fetcher, limit: int) -> None:
        """One poll of the due feeds; its duration goes to newsmon_cycle_seconds."""
        started = time.monotonic()
        polled = await poll_due(self.app, fetcher, limit=limit)
        if polled:
            self.app.metrics.cycle(time.monotonic() - started)

    async def _deliver(self) -> None:
        """Start a delivery run unless the last one is still draining the outbox."""
        if self.stopping.is_set() or (self._delivery is not None and not self._delivery.done()):
            return
        self._delivery = asyncio.create_task(deliver_pending(self.app, stop=self.stopping))
        self._delivery.add_done_callback(_log_failure)

    async def _finish_delivery(self) -> None:
        """At a stop: let the delivery run finish the alert in flight (it claims no other);
        past the grace period, cancel it (it releases an alert it has not started sending)."""
        task = self._delivery
        if task is None or task.done():
            return
        log.info("stopping: finishing the alert being delivered")
        done, _ = await asyncio.wait({task}, timeout=STOP_GRACE_SECONDS)
        if not done:
            task.cancel()
            await asyncio.wait({task})

    async def _housekeeping(self) -> None:
        """Reload what changed on disk (the config and feeds file, else the watchlists) and
        refresh the feed gauges."""
        mtimes = config_mtimes(self.config_path, self.app.config)
        if mtimes != self._config_mtimes:
            self._config_mtimes = mtimes
            await asyncio.to_thread(self.reload)
        else:
            self.app.reload_watchlists()
        await asyncio.to_thread(self._count_feeds)

    def reload(self) -> None:
        """SIGHUP: the whole config again; the last good version stays on error."""
        reload_config(self.app, self.config_path)
        self._config_mtimes = config_mtimes(self.config_path, self.app.config)

    def _count_feeds(self) -> None:
        with self.app.readers() as session:
            total, failing = queries.feed_counts(session)
        self.app.metrics.feeds(total, failing)

    async def _retention(self) -> None:
        now = self.app.clock.now()
        retention = self.app.config.retention
        with self.app.sessions.begin() as session:
            alerts, items = queries.prune(
                session,
                now - timedelta(seconds=retention.items),
                now - timedelta(seconds=retention.alerts),
                now,
            )
            dropped = queries.drop_tombstones(session, now)
        if alerts or items or dropped:
            log.info(
                "retention: pruned %d delivered alerts and %d old items (kept as tombstones "
                "while a feed carries them); dropped %d tombstones no feed carries",
                alerts,
                items,
                dropped,
            )

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, self.reload)

    async def run(self) -> None:
        app = self.app
        sync_feeds(app)
        self._install_signals()
        if app.config.http.listen:
            listen = app.config.http.listen
            web = web_dashboard(app.readers, parse_listen(listen)[0], app.config.http.token)
            self._health = start_health_server(
                listen, self.readiness, app.metrics, liveness=self.liveness, web=web
            )
            log.info("HTTP endpoints on %s", self._health.url)
        async with Fetcher(app.config.fetch) as fetcher:
            add = self.scheduler.add_job
            opts = {"coalesce": True, "max_instances": 1, "next_run_time": datetime.now(UTC)}
            add(self._tick, "interval", seconds=app.config.tick, args=[fetcher], id="poll", **opts)
            add(
                self._deliver,
                "interval",
                seconds=app.config.delivery.interval,
                id="deliver",
                **opts,
            )
            add(self._housekeeping, "interval", seconds=RELOAD_CHECK_SECONDS, id="reload", **opts)
            add(self._retention, "interval", seconds=RETENTION_SECONDS, id="retention", **opts)
            self.scheduler.start()
            log.info(
                "newsmon running: %d feeds, watchlists %s",
                len(app.config.feeds),
                ", ".join(sorted(app.compiled.by_name)),
            )
            await self.stopping.wait()
            log.info("stopping: waiting for polls in progress")
            self.scheduler.shutdown(wait=False)
            await self._finish_delivery()
            if self._polls:
                await asyncio.wait(self._polls, timeout=app.config.fetch.timeout * 2)
        if self._health:
            self._health.close()
        app.engine.dispose()
        log.info("stopped")


def _log_failure(task: asyncio.Task[tuple[int, int]]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("delivery run failed: %s", exc, exc_info=exc)


def run_service(app: App, config_path: Path | None = None) -> None:
    asyncio.run(Service(app, config_path).run())
