"""``newsmon run``: the scheduler, pollers, delivery, live reload and HTTP endpoints.

APScheduler (3.x, asyncio) drives a few small jobs. The poll job runs every ``tick`` and
polls each feed whose own ``next_poll_at`` has come — its interval, stretched by what the
server asked for or by backoff. Keeping that time in the database rather than one
in-memory job per feed is what lets several replicas share feeds (a conditional UPDATE
leases each feed to one of them) and lets a restart keep every feed's schedule.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.app import App
from monitor.cycle import poll_due, sync_feeds, utcnow
from monitor.delivery import deliver_pending
from monitor.fetch import Fetcher
from monitor.health import HealthServer, start_health_server
from storage import queries
from storage.db import schema_status

log = logging.getLogger("newsmon.service")

RELOAD_CHECK_SECONDS = 5.0
RETENTION_SECONDS = 3600.0


class Service:
    def __init__(self, app: App) -> None:
        self.app = app
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.stopping = asyncio.Event()
        self._polls: set[asyncio.Task[object]] = set()
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

    async def _tick(self, fetcher: Fetcher) -> None:
        """Poll the due feeds this replica can claim, without waiting for slow ones."""
        room = self.app.config.fetch.concurrency * 2 - len(self._polls)
        if room <= 0 or self.stopping.is_set():
            return
        task = asyncio.create_task(poll_due(self.app, fetcher, limit=room))
        self._polls.add(task)
        task.add_done_callback(self._polls.discard)

    async def _deliver(self) -> None:
        await deliver_pending(self.app)

    async def _housekeeping(self) -> None:
        self.app.reload_watchlists()

    async def _retention(self) -> None:
        now = utcnow()
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
        loop.add_signal_handler(signal.SIGHUP, self.app.reload_watchlists)

    async def run(self) -> None:
        app = self.app
        sync_feeds(app)
        self._install_signals()
        if app.config.http.listen:
            self._health = start_health_server(app.config.http.listen, self.readiness, app.metrics)
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
            if self._polls:
                await asyncio.wait(self._polls, timeout=app.config.fetch.timeout * 2)
        if self._health:
            self._health.close()
        app.engine.dispose()
        log.info("stopped")


def run_service(app: App) -> None:
    asyncio.run(Service(app).run())
