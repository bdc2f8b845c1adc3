"""Replicas whose clocks disagree still agree on feed leases and on when an alert is due.

Two ``App`` objects on one PostgreSQL schema play two replicas; replica B's host clock is
an hour ahead (``SkewedClock`` under B's database clock). Feed leases and the due times of
the alerts a poll records are stamped with the database's clock, as alert leases are: B
neither takes a feed A holds nor records alerts that A would hold back for an hour. (On
SQLite there is no skew to test: the file lives on one host, whose clock all share.)
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from monitor.alerting import delivery
from monitor.config.load import load_config
from monitor.domain.clock import SystemClock
from monitor.pipeline.cycle import PollResult, poll_due, sync_feeds
from monitor.runtime.app import App, build_app, database_clock
from monitor.sources.fetch import Fetcher
from storage.models import AlertRow
from tests.alerting.test_baseline import UPDATE, kyiv_config, rss, rss_item
from tests.support.fakeclock import SkewedClock
from tests.support.feedserver import FeedServer, Request, Response
from tests.support.paths import REPO

AHEAD = timedelta(hours=1)  # B's host clock: beyond a feed lease (5 min) and any backoff


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def replicas(pg_url: str, tmp_path: Path, feeds: FeedServer) -> Iterator[tuple[App, App]]:
    """A with a true host clock, B with one an hour ahead; one feed, synced."""
    shutil.copytree(REPO / "watchlists", tmp_path / "watchlists")
    feeds.add("/kyiv.xml", rss(rss_item("update", UPDATE, timedelta(hours=1))))
    config = load_config(kyiv_config(tmp_path, pg_url, feeds, fetch_article="never"))
    a, b = build_app(config), build_app(config, migrate=False)
    b.clock = database_clock(b.engine, local=SkewedClock(SystemClock(), AHEAD))
    sync_feeds(a)
    yield a, b
    a.engine.dispose()
    b.engine.dispose()


def poll(app: App) -> list[PollResult]:
    async def run() -> list[PollResult]:
        async with Fetcher(app.config.fetch) as fetcher:
            return await poll_due(app, fetcher)

    return asyncio.run(run())


def database_now(app: App) -> datetime:
    with app.readers() as session:
        now: datetime = session.execute(select(func.now())).scalar_one()
    return now


def test_a_replica_whose_clock_is_an_hour_ahead_takes_no_feed_another_holds(
    replicas: tuple[App, App], feeds: FeedServer
) -> None:
    a, b = replicas
    held, release = threading.Event(), threading.Event()
    body = rss(rss_item("update", UPDATE, timedelta(hours=1)))

    def hold(_request: Request) -> Response:
        held.set()
        release.wait(30)  # A's poll stays in flight, its lease taken, while B looks
        return Response(200, body)

    feeds.add("/kyiv.xml", hold)
    polled: list[PollResult] = []
    first = threading.Thread(target=lambda: polled.extend(poll(a)))
    first.start()
    try:
        assert held.wait(30)
        assert poll(b) == []  # by B's own clock A's lease ran out long ago
    finally:
        release.set()
        first.join(30)
    assert [p.outcome for p in polled] == ["ok"]
    assert feeds.hits["/kyiv.xml"] == 1


def test_alerts_recorded_by_a_replica_whose_clock_is_ahead_are_due_now(
    replicas: tuple[App, App],
) -> None:
    a, b = replicas
    [result] = poll(b)
    assert result.outcome == "ok" and result.alerts >= 1
    now = database_now(a)
    with a.readers() as session:
        due = session.scalars(select(AlertRow.next_attempt_at)).all()
    assert due and all(abs((when - now).total_seconds()) < 60 for when in due)
    sent, failed = asyncio.run(delivery.deliver_pending(a))  # A does not wait B's hour
    assert (sent, failed) == (len(due), 0)
