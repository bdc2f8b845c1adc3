"""Several replicas, one PostgreSQL database: no double work, nothing lost when one dies.

Three ``newsmon run`` processes share one schema, four local feeds that carry a new entry
on every request, and a local Slack. One replica is SIGKILLed while it holds a feed's
lease (its request is held open by the feed server). The test then counts, from the
servers' side: every feed polled once per interval (request gaps never shorter than the
interval, never much longer except while the dead replica's lease ran out), the held feed
polled again by a survivor once that lease expired, and every alert in the database
delivered to Slack exactly once.
"""

from __future__ import annotations

import itertools
import signal
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from storage.models import AlertRow, Feed
from tests.support.config import slack_notifier, write_config
from tests.support.feedserver import FeedServer, Request, Response
from tests.support.service_process import ServiceProcess, rss, story_text, wait_until
from tests.support.slack_server import SlackServer

INTERVAL = 2.0  # each feed's interval
TICK = 0.25
LEASE = 3.0  # feed and alert leases: how long a dead replica's work stays taken
REPLICAS = 3
FEEDS = {"/feed0.xml": "Aardvark", "/feed1.xml": "Zebra", "/feed2.xml": "Aardvark",
         "/feed3.xml": "Zebra"}  # fmt: skip
HELD = "/feed0.xml"

WATCHLIST = """\
name: {name}
description: replica test
terms:
  word: [{word}]
match:
  all_of: [word]
alerts: [new_item]
routes:
  - {{notifier: slack, channel: "{channel}"}}
"""


class Feeds:
    """Feed routes that log each request's time and can hold one request open."""

    def __init__(self, server: FeedServer) -> None:
        self.server = server
        self.times: dict[str, list[float]] = defaultdict(list)
        self.lock = threading.Lock()
        self.arm = threading.Event()
        self.held = threading.Event()
        self.release = threading.Event()
        self.frozen: dict[str, int] = {}  # path -> the last entry number it serves
        for path, word in FEEDS.items():
            server.add(path, self._handler(path, word))

    def _handler(self, path: str, word: str) -> Any:
        def handle(_request: Request) -> Response:
            with self.lock:
                self.times[path].append(time.monotonic())
                n = self.frozen.get(path, len(self.times[path]))
            if path == HELD and self.arm.is_set() and not self.held.is_set():
                self.held.set()
                self.release.wait(30)  # the replica polling it is killed meanwhile
            seed = f"{path}-{n}"
            return Response(200, rss([(seed, f"{word} story {seed}", story_text(seed, word))]))

        return handle

    def freeze(self) -> None:
        """From now on every feed serves its last entry again: nothing new."""
        with self.lock:
            self.frozen = {path: len(times) for path, times in self.times.items()}

    def count(self, path: str) -> int:
        with self.lock:
            return len(self.times[path])


def wait_for_polls(server: FeedServer, feeds: Feeds, more: int) -> None:
    """Wait until every feed has been polled ``more`` more times."""
    targets = {path: feeds.count(path) + more for path in FEEDS}
    for path, target in targets.items():
        assert server.wait_for_hits(path, target, timeout=INTERVAL * (more + 2)), path


@pytest.fixture
def slack_channels() -> dict[str, str]:
    return {"C0AARDV001": "aardvarks", "C0ZEBRA001": "zebras"}


def replica_config(tmp_path: Path, db_url: str, server: FeedServer, slack: SlackServer) -> Path:
    watchlists = tmp_path / "watchlists"
    watchlists.mkdir()
    for name, word, channel in (("alpha", "Aardvark", "#aardvarks"), ("beta", "Zebra", "#zebras")):
        (watchlists / f"{name}.yaml").write_text(
            WATCHLIST.format(name=name, word=word, channel=channel)
        )
    return write_config(
        tmp_path,
        database={"url": db_url},
        watchlists=str(watchlists),
        feeds=[
            {"url": server.url(path), "interval": INTERVAL, "fetch_article": "never"}
            for path in FEEDS
        ],
        fetch={"allow_private_networks": True, "timeout": "20s", "min_interval": 1},
        notifiers={"slack": slack_notifier(slack, "#aardvarks")},
        log={"level": "INFO", "format": "json"},
        delivery={"interval": 0.5},
        leases={"feed": LEASE, "alert": LEASE},
        tick=TICK,
    )


@pytest.mark.slow
def test_three_replicas_poll_each_feed_once_per_interval_and_deliver_each_alert_once(
    tmp_path: Path, pg_url: str, slack: SlackServer
) -> None:
    engine = create_engine(pg_url)
    with FeedServer() as server:
        feeds = Feeds(server)
        config = replica_config(tmp_path, pg_url, server, slack)
        env = {"SLACK_BOT_TOKEN": slack.token}
        replicas = [ServiceProcess(config, env) for _ in range(REPLICAS)]
        try:
            # Warm up: all replicas started (they migrated the empty schema together).
            for path in FEEDS:
                assert server.wait_for_hits(path, 2, timeout=40), dict(server.hits)

            # Hold the next poll of one feed open and kill the replica that holds its lease.
            feeds.arm.set()
            assert feeds.held.wait(10)
            with engine.connect() as conn:
                owner = conn.scalar(select(Feed.lease_owner).where(Feed.url == server.url(HELD)))
            assert owner, "the poll in progress holds a lease"
            victim = next(r for r in replicas if r.pid == int(owner.split(":")[1]))
            victim.proc.send_signal(signal.SIGKILL)
            assert victim.proc.wait(10) == -signal.SIGKILL
            feeds.release.set()
            held_at = feeds.count(HELD)

            # Its lease expires and a survivor polls that feed; the others carry on.
            assert server.wait_for_hits(HELD, held_at + 1, timeout=LEASE + INTERVAL + 5)
            wait_for_polls(server, feeds, 2)

            def all_sent() -> bool:
                with engine.connect() as conn:
                    unsent = conn.scalar(select(func.count()).where(AlertRow.state != "sent"))
                    total = conn.scalar(select(func.count()).select_from(AlertRow))
                return unsent == 0 and total == len(slack.messages)

            # No new entries from here on; once each feed was polled again, every entry
            # served before is stored and its alerts recorded.
            feeds.freeze()
            wait_for_polls(server, feeds, 1)
            survivors = [r for r in replicas if r is not victim]
            assert wait_until(all_sent, timeout=20), "every alert is delivered"
            codes = [replica.stop() for replica in survivors]
        finally:
            feeds.release.set()
            for replica in replicas:
                replica.__exit__(None, None, None)
    assert codes == [0] * len(survivors)

    # Every alert recorded was posted once, and nothing was posted that was not recorded.
    with engine.connect() as conn:
        alerts = dict(conn.execute(select(AlertRow.id, AlertRow.state)).all())
    engine.dispose()
    posted = Counter(int(m["metadata"]["event_payload"]["alert_id"]) for m in slack.messages)
    assert posted and set(posted) == set(alerts) and set(posted.values()) == {1}
    assert set(alerts.values()) == {"sent"}

    # Every feed polled once per interval: no two polls closer than the interval, and no
    # gap much longer — except the held feed's, while the dead replica's lease ran out.
    for path, times in feeds.times.items():
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert min(gaps) >= INTERVAL * 0.9, (path, gaps)
        allowed = LEASE + INTERVAL + 3.0 if path == HELD else INTERVAL + TICK + 3.0
        assert max(gaps) <= allowed, (path, gaps)

    # Every poll's log line names its feed, and a survivor took over the held feed.
    polled = {
        replica.pid: [line["feed"] for line in replica.lines if line["msg"].startswith("polled")]
        for replica in replicas
    }
    assert all(url.startswith(server.base_url) for urls in polled.values() for url in urls)
    assert any(server.url(HELD) in polled[r.pid] for r in replicas if r is not victim)
