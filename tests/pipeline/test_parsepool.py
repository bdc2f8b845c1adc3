"""Feed parsing in worker processes: the same result as in-process, errors intact, and no
worker outlives its parent."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from functools import partial

import pytest

from monitor.domain.errors import FetchError
from monitor.parse.feeds import parse_feed
from monitor.pipeline import parsepool
from tests.support.paths import REPO

RSS = (
    b"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title><ttl>30</ttl>"
    b"<item><title>One &amp; two</title><link>/a</link><guid>g1</guid>"
    b"<description>&lt;p&gt;Hello &lt;b&gt;world&lt;/b&gt;&lt;/p&gt;</description></item>"
    b"</channel></rss>"
)


@pytest.fixture
def one_worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A pool of one process, even on a single-core machine."""
    monkeypatch.setattr(parsepool, "workers", lambda: 1)
    parsepool.shutdown()
    yield
    parsepool.shutdown()


def test_a_worker_parses_as_parse_feed_does(one_worker: None) -> None:
    url = "https://news.example/feed.xml"
    parsed = asyncio.run(parsepool.parse(RSS, url=url, content_type="application/rss+xml"))
    expected = parse_feed(RSS, url=url, content_type="application/rss+xml")
    assert parsed.entries[0].published_at is None
    assert parsed == expected


def test_errors_come_back_with_their_details(one_worker: None) -> None:
    with pytest.raises(FetchError, match="not a feed: the server sent an HTML page") as info:
        asyncio.run(parsepool.parse(b"<html><body>hi</body></html>", url="https://x.example/"))
    assert info.value.permanent is False and info.value.status is None


def test_without_a_spare_core_parsing_stays_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsepool, "workers", lambda: 0)
    parsepool.shutdown()
    parsed = asyncio.run(parsepool.parse(RSS, url="https://news.example/feed.xml"))
    assert parsed.title == "T" and parsepool._pool is None


def test_a_pool_that_keeps_breaking_is_given_up_for_threads(
    one_worker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsepool, "_exit_with_parent", sys.exit)  # every worker dies at start
    monkeypatch.setattr(parsepool, "_breaks", 0)
    for _ in range(parsepool.MAX_BREAKS + 2):
        parsed = asyncio.run(parsepool.parse(RSS, url="https://news.example/feed.xml"))
        assert parsed.title == "T"  # each feed still parsed, in a thread
    assert parsepool._breaks == parsepool.MAX_BREAKS and parsepool._pool is None


def test_workers_exit_when_the_parent_is_killed() -> None:
    """A SIGKILLed service must not leave parsers behind: they would hold its stderr open
    (so reading it to the end would never finish) and their memory."""
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from monitor.pipeline import parsepool
        parsepool.workers = lambda: 1
        asyncio.run(parsepool.parse({RSS!r}, url="https://news.example/feed.xml"))
        print("parsed", flush=True)
        sys.stdin.read()  # until killed
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline() == b"parsed\n"
        process.send_signal(signal.SIGKILL)
        process.wait()
        # read() returns at EOF, once every holder of the pipe has exited, the worker included
        # (multiprocessing's resource tracker may say it cleaned up after the killed parent).
        assert b"Traceback" not in process.stderr.read()


def _die(body: bytes) -> None:
    """What a parse that crashes its process (a C extension fault, the OOM killer) does."""
    import os

    if b"KILLER" in body:
        os._exit(1)


def test_an_input_that_kills_its_worker_is_refused_never_parsed_here(one_worker: None) -> None:
    """The killer's feed fails (and is refused from then on, by hash, without a try); a feed
    parsed alongside it in the dead worker is parsed again alone and not lost; nothing is
    ever tried in this process."""

    def in_thread() -> None:
        raise AssertionError("tried in the main process")

    async def both() -> list[object]:
        killer = parsepool._run(partial(_die, b"KILLER"), in_thread, "killer", input_key="k1")
        victim = parsepool._run(partial(parse_feed, RSS, url="https://v.example/"), in_thread,
                                "victim", input_key="v1")  # fmt: skip
        return list(await asyncio.gather(killer, victim, return_exceptions=True))

    killed, parsed = asyncio.run(both())
    assert isinstance(killed, FetchError) and "killed a worker process" in str(killed)
    assert getattr(parsed, "title", None) == "T"
    with pytest.raises(FetchError, match="killed a worker process before"):
        asyncio.run(parsepool._run(partial(_die, b"KILLER"), in_thread, "killer", input_key="k1"))


def _stall(seconds: float) -> None:
    """What a parse that never ends does (here, for ``seconds``)."""
    import time

    time.sleep(seconds)


def test_a_parse_past_the_time_limit_is_stopped_and_its_input_refused(
    one_worker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsepool, "PARSE_TIMEOUT", 1.0)

    def in_thread() -> None:
        raise AssertionError("tried in the main process")

    async def both() -> list[object]:
        stuck = parsepool._run(partial(_stall, 600), in_thread, "stuck", input_key="s1")
        victim = parsepool._run(partial(parse_feed, RSS, url="https://v.example/"), in_thread,
                                "victim", input_key="v2")  # fmt: skip
        return list(await asyncio.gather(stuck, victim, return_exceptions=True))

    stuck, parsed = asyncio.run(both())
    assert isinstance(stuck, FetchError) and "took longer than 1 s" in str(stuck)
    assert getattr(parsed, "title", None) == "T", "the feed queued behind it is parsed"
    with pytest.raises(FetchError, match="before"):
        asyncio.run(parsepool._run(partial(_stall, 600), in_thread, "stuck", input_key="s1"))
