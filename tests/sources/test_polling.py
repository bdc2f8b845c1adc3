"""Polite polling: the pure schedule, and the poll path honouring what servers ask for."""

from __future__ import annotations

import asyncio
import random
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from monitor.config.load import load_config
from monitor.pipeline.cycle import run_once
from monitor.runtime.app import build_app
from monitor.sources.schedule import (
    Bounds,
    adaptive_interval,
    failure_delay,
    is_flagged,
    success_delay,
)
from tests.sources.test_faults import GOOD, Setup, feeds_json, rss, server, since
from tests.support.feedserver import FeedServer, Request, Response, conditional

__all__ = ["server"]

BOUNDS = Bounds(min_interval=60, max_interval=86400, idle_interval=3600)


# --- the pure schedule ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ttl", "max_age", "expected"),
    [
        (None, None, 900),
        (60, None, 900),  # a shorter hint never makes us poll more often
        (7200, None, 7200),
        (None, 1800, 1800),
        (600, 5400, 5400),
        (10 * 86400, None, 86400),  # capped at max_interval
        (None, 0, 900),  # no-cache: the interval
    ],
)
def test_success_delay_honours_longer_hints(
    ttl: float | None, max_age: float | None, expected: float
) -> None:
    assert success_delay(900, BOUNDS, ttl=ttl, max_age=max_age) == expected


@pytest.mark.parametrize(
    ("quiet_for", "expected"),
    [
        (0, 900),  # just published: the configured interval
        (600, 900),
        (4 * 900, 900),
        (2 * 3600, 1800),  # quiet two hours: every half hour
        (4 * 3600, 3600),
        (30 * 86400, 3600),  # capped at idle_interval
        (None, 3600),  # nothing new in a long time
    ],
)
def test_adaptive_interval(quiet_for: float | None, expected: float) -> None:
    assert adaptive_interval(900, BOUNDS, quiet_for) == expected
    assert success_delay(900, BOUNDS, quiet_for=quiet_for) == expected


def test_adaptive_interval_off_or_below_the_interval() -> None:
    assert adaptive_interval(900, Bounds(60, 86400, None), 86400) == 900
    assert adaptive_interval(7200, BOUNDS, 86400) == 7200  # idle shorter than interval


def test_failure_delay_doubles_with_jitter_up_to_the_maximum() -> None:
    rng = random.Random(6)
    for failures in range(1, 40):
        delay = failure_delay(900, failures, BOUNDS, rng=rng)
        nominal = min(900 * 2 ** (failures - 1), 86400)
        assert nominal * 0.85 <= delay <= min(nominal * 1.15, 86400)
    assert failure_delay(900, 10_000, BOUNDS, rng=rng) <= 86400  # no overflow, ever
    delays = {round(failure_delay(900, 1, BOUNDS)) for _ in range(50)}
    assert len(delays) > 10, "jitter spreads retries"


def test_failure_delay_honours_retry_after_up_to_the_maximum() -> None:
    assert failure_delay(900, 1, BOUNDS, retry_after=7200) >= 7200
    assert failure_delay(900, 1, BOUNDS, retry_after=10 * 86400) == 86400


def test_is_flagged() -> None:
    now = datetime(2025, 1, 10, tzinfo=UTC)
    day = 86400
    assert not is_flagged(0, None, now, day)
    assert not is_flagged(1, now - timedelta(days=5), now, day)  # one failure is noise
    assert not is_flagged(5, now - timedelta(hours=3), now, day)
    assert is_flagged(2, now - timedelta(days=2), now, day)
    assert not is_flagged(7, None, now, day)
    assert is_flagged(8, None, now, day)  # never succeeded


# --- through the poll path ---------------------------------------------------------------


def _cycle(config: str) -> None:
    app = build_app(load_config(config))
    asyncio.run(run_once(app))
    app.engine.dispose()


def test_ttl_and_cache_headers_lengthen_the_interval(server: FeedServer, tmp_path: Path) -> None:
    expires = format_datetime(datetime.now(UTC) + timedelta(hours=3), usegmt=True)
    server.add("/ttl", rss("ttl", 1, ttl=120))  # minutes
    server.add("/maxage", rss("maxage", 1), headers={"Cache-Control": "max-age=5400"})
    server.add("/expires", rss("expires", 1), headers={"Expires": expires})
    server.add("/short", rss("short", 1), headers={"Cache-Control": "max-age=10"})
    setup = Setup(tmp_path, server)
    for name in ("ttl", "maxage", "expires", "short"):
        setup.feed(name, f"/{name}")
    config = setup.write()
    _cycle(config)
    rows = feeds_json(config)
    assert 7100 < since(rows["ttl"]["next_poll_at"]) <= 7200
    assert 5300 < since(rows["maxage"]["next_poll_at"]) <= 5400
    assert 3 * 3600 - 120 < since(rows["expires"]["next_poll_at"]) <= 3 * 3600
    assert 800 < since(rows["short"]["next_poll_at"]) <= 900


def test_conditional_get_and_unchanged_body_are_skipped(server: FeedServer, tmp_path: Path) -> None:
    server.add("/etag", conditional(rss("etag", 2), etag='"v1"'))
    server.add("/same", rss("same", 2))  # ignores conditional requests
    setup = Setup(tmp_path, server)
    setup.feed("etag", "/etag")
    setup.feed("same", "/same")
    config = setup.write()
    _cycle(config)
    _cycle(config)
    second = [r for r in server.requests if r.path == "/etag"][1]
    assert second.headers.get("if-none-match") == '"v1"'
    rows = feeds_json(config)
    assert rows["etag"]["last_status"] == 304 and rows["etag"]["consecutive_failures"] == 0
    assert rows["same"]["last_status"] == 200 and rows["same"]["polls"] == 2
    assert rows["etag"]["last_error"] is None and rows["same"]["last_error"] is None


def test_a_ttl_or_max_age_learned_from_a_200_is_kept_across_304s(
    server: FeedServer, tmp_path: Path
) -> None:
    def max_age_on_200_only(request: Request) -> Response:
        if request.headers.get("if-none-match") == '"m1"':
            return Response(304, b"", {"ETag": '"m1"'})  # no Cache-Control on the 304
        return Response(200, rss("maxage", 1), {"ETag": '"m1"', "Cache-Control": "max-age=5400"})

    server.add("/ttl", conditional(rss("ttl", 1, ttl=120), etag='"t1"'))  # minutes
    server.add("/maxage", max_age_on_200_only)
    server.add("/same", rss("same", 1, ttl=120))  # ignores conditional requests
    setup = Setup(tmp_path, server)
    for name in ("ttl", "maxage", "same"):
        setup.feed(name, f"/{name}")
    config = setup.write()
    _cycle(config)
    _cycle(config)  # run --once polls every feed: the second poll meets the 304
    rows = feeds_json(config)
    assert rows["ttl"]["last_status"] == 304 and rows["maxage"]["last_status"] == 304
    assert 7100 < since(rows["ttl"]["next_poll_at"]) <= 7200
    assert 5300 < since(rows["maxage"]["next_poll_at"]) <= 5400
    assert 7100 < since(rows["same"]["next_poll_at"]) <= 7200  # an unchanged body too


def test_quiet_feed_is_polled_less_often_until_it_publishes(
    server: FeedServer, tmp_path: Path
) -> None:
    server.add("/quiet", b"<rss version='2.0'><channel><title>q</title></channel></rss>")
    setup = Setup(tmp_path, server, fetch={"idle_interval": "2h"})
    setup.feed("quiet", "/quiet")
    config = setup.write()
    _cycle(config)
    assert 7100 < since(feeds_json(config)["quiet"]["next_poll_at"]) <= 7200  # nothing, ever
    server.add("/quiet", rss("quiet", 1))
    _cycle(config)
    assert 800 < since(feeds_json(config)["quiet"]["next_poll_at"]) <= 900  # just published


def test_per_host_limit_holds_across_the_feeds_of_a_cycle(
    server: FeedServer, tmp_path: Path
) -> None:
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}
    release = threading.Event()
    arrived = threading.Semaphore(0)

    def slow(_request: Request) -> Response:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        arrived.release()
        release.wait(0.3)  # long enough for any excess request to arrive meanwhile
        with lock:
            state["now"] -= 1
        return Response(200, GOOD)

    setup = Setup(tmp_path, server, fetch={"per_host": 2, "timeout": "10s"})
    for i in range(6):
        server.add(f"/f{i}", slow)
        setup.feed(f"f{i}", f"/f{i}")
    config = setup.write()
    _cycle(config)
    assert state["peak"] == 2
    assert all(feeds_json(config)[f"f{i}"]["last_status"] == 200 for i in range(6))
