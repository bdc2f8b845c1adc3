"""Hostile feeds through the whole poll path: ``newsmon run --once`` against a local server.

Every case serves one broken feed next to a healthy one and proves, through the CLI:

- the healthy feed of the same cycle is stored as usual;
- ``newsmon feeds --json`` shows the broken feed's error and its next attempt;
- nothing is lost: once the server is fixed, the next cycle stores the feed's entries and
  resets its failures (except after 410, which stops polling that URL for good).

Faults that need a network we must not touch (DNS, a connect that never completes) go
through a stub resolver / stub backend; nothing here leaves 127.0.0.0/8.
"""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select, update

from monitor.cli.main import main
from monitor.config.load import load_config
from monitor.pipeline.cycle import CycleReport, run_once
from monitor.runtime.app import App, build_app
from storage.models import Feed, Item
from tests.support.config import write_config
from tests.support.feedserver import (
    FeedServer,
    Request,
    Response,
    gzip_bomb,
    gzipped,
    redirect,
    trickle,
)
from tests.support.paths import REPO
from tests.support.stubnet import StubBackend, stub_fetcher, stub_resolver

HOSTILE = REPO / "tests" / "data" / "feeds" / "hostile"
TIMEOUT = 1.0


def rss(prefix: str, count: int, *, ttl: int | None = None) -> bytes:
    """An RSS 2.0 feed of ``count`` entries with GUIDs ``{prefix}-{i}``."""
    items = "".join(
        f"<item><title>{prefix} story {i}</title>"
        f"<link>https://{prefix}.example/story/{i}</link><guid>{prefix}-{i}</guid>"
        f"<description>Report number {i} from {prefix}.</description>"
        f"<pubDate>Mon, 01 Jan 2024 {i % 24:02d}:00:00 GMT</pubDate></item>"
        for i in range(count)
    )
    channel = f"<title>{prefix}</title><link>https://{prefix}.example/</link>"
    if ttl is not None:
        channel += f"<ttl>{ttl}</ttl>"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>{channel}'
        f"{items}</channel></rss>"
    ).encode()


GOOD = rss("good", 2)
HEALED = rss("healed", 3)


# --- harness ----------------------------------------------------------------------------


@dataclass
class Setup:
    tmp_path: Path
    server: FeedServer
    paths: dict[str, str] = field(default_factory=dict)  # name → path on the server
    fetch: dict[str, Any] = field(default_factory=dict)

    def feed(self, name: str, path: str) -> str:
        self.paths[name] = path
        return self.server.url(path)

    def write(self) -> str:
        path = write_config(
            self.tmp_path,
            feeds=[
                {"url": self.server.url(p), "name": n, "interval": "15m", "fetch_article": "never"}
                for n, p in self.paths.items()
            ],
            fetch={
                "allow_private_networks": True,
                "timeout": f"{TIMEOUT}s",
                "min_interval": "1m",
                "max_interval": "1d",
                **self.fetch,
            },
            notifiers={},
            log={"level": "WARNING"},
        )
        return str(path)


def cli(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def feeds_json(config: str) -> dict[str, dict[str, Any]]:
    code, out, err = cli("feeds", "--json", "--config", config)
    assert code == 0, err
    return {row["name"]: row for row in json.loads(out)}


def items_of(config: str) -> dict[str, int]:
    """Stored items per feed name."""
    app = build_app(load_config(config))
    with app.sessions() as session:
        rows = session.execute(
            select(Feed.name, func.count(Item.id))
            .join(Item, Item.feed_id == Feed.id, isouter=True)
            .group_by(Feed.name)
        ).all()
    app.engine.dispose()
    return {str(name): int(count) for name, count in rows}


def since(iso: str | None) -> float:
    assert iso is not None
    return (datetime.fromisoformat(iso) - datetime.now(UTC)).total_seconds()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        # A client hanging up mid-body is expected here; keep the server's tracebacks
        # out of the stderr the tests inspect.
        running._httpd.handle_error = lambda *_args: None  # type: ignore[method-assign]  # this server only
        yield running


# --- the table ------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """``serve`` installs the broken route at /bad and returns the path to configure."""

    name: str
    serve: Callable[[FeedServer], str]
    error: str | None  # expected in last_error; None: the poll succeeds
    status: int | None = None
    new: int | None = None  # entries stored from the broken feed on the first cycle
    ok: bool = False  # the poll succeeds (possibly with a parse warning in last_error)
    min_delay: float | None = None  # next_poll_at at least this far ahead (seconds)


def _static(
    body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> Callable[[FeedServer], str]:
    def serve(server: FeedServer) -> str:
        server.add("/bad", body, status=status, headers=headers or {})
        return "/bad"

    return serve


def _route(make: Callable[[FeedServer], Callable[[Request], Response]]) -> Any:
    def serve(server: FeedServer) -> str:
        server.add("/bad", make(server))
        return "/bad"

    return serve


def _refused(server: FeedServer) -> str:
    with socket.socket() as sock:  # a port that was free a moment ago: nobody listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/bad"


def _stall(server: FeedServer) -> Callable[[Request], Response]:
    def handle(_request: Request) -> Response:
        server.stopping.wait(30)  # never answers within the deadline
        return Response(200, GOOD)

    return handle


def _redirect_loop(server: FeedServer) -> str:
    server.add("/bad", redirect(server.url("/loop-b"), 302))
    server.add("/loop-b", redirect(server.url("/bad"), 302))
    return "/bad"


def _long_chain(server: FeedServer) -> str:
    server.add("/bad", redirect(server.url("/hop-1"), 302))
    for i in range(1, 12):
        server.add(f"/hop-{i}", redirect(server.url(f"/hop-{i + 1}"), 302))
    return "/bad"


def _endless(_request: Request) -> Response:
    def chunks() -> Iterable[bytes]:
        yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>'
        while True:
            yield b"<!-- padding -->" * 4096

    return Response(200, chunks(), {"Content-Type": "application/rss+xml"})


RETRY_HOURS = "7200"
FAULTS = [
    Fault("http-500", _static(b"oops", 500), "HTTP 500 Internal Server Error", 500),
    Fault("http-502", _static(b"", 502), "HTTP 502 Bad Gateway", 502),
    Fault("http-503", _static(b"", 503), "HTTP 503 Service Unavailable", 503),
    Fault(
        "http-429-retry-after",
        _static(b"", 429, headers={"Retry-After": RETRY_HOURS}),
        "HTTP 429 Too Many Requests (retry after 7200s)",
        429,
        min_delay=7000,
    ),
    Fault(
        "http-503-retry-after",
        _static(b"", 503, headers={"Retry-After": RETRY_HOURS}),
        "retry after 7200s",
        503,
        min_delay=7000,
    ),
    Fault("http-404", _static(b"no", 404), "HTTP 404 Not Found", 404),
    Fault("connection-refused", _refused, "connection refused"),
    Fault("read-timeout", _route(_stall), "timed out after 1s"),
    Fault("trickle", _route(lambda s: trickle(s, GOOD, 1.0)), "timed out after 1s"),
    Fault(
        "truncated-gzip",
        _static(gzipped(GOOD)[:-30], headers={"Content-Encoding": "gzip"}),
        "truncated gzip body",
    ),
    Fault(
        "corrupt-gzip",
        _static(b"\x1f\x8b\x08\x00" + bytes(40), headers={"Content-Encoding": "gzip"}),
        "corrupt gzip body",
    ),
    Fault("too-large-declared", _static(b"x" * 300_000), "response too large", None),
    Fault("too-large-streamed", _route(lambda _s: _endless), "response too large: over"),
    Fault(
        "gzip-bomb",
        _static(gzip_bomb(50_000_000), headers={"Content-Encoding": "gzip"}),
        "response too large: over 200,000 bytes decoded",
    ),
    Fault("redirect-loop", _redirect_loop, "redirect loop"),
    Fault("redirect-chain", _long_chain, "too many redirects"),
    Fault("html-page", _static((HOSTILE / "html-page.html").read_bytes()), "HTML page", None),
    Fault("empty-200", _static(b""), "empty response instead of a feed"),
    Fault("whitespace-200", _static(b" \r\n\t "), "empty response instead of a feed"),
    Fault(
        "garbage-200",
        _static(bytes(range(256)) * 4, headers={"Content-Type": "application/rss+xml"}),
        "not a feed",
    ),
    # Survivable oddities: the poll succeeds.
    Fault(
        "wrong-content-type",
        _static(rss("bad", 3), headers={"Content-Type": "image/png"}),
        None,
        200,
        3,
        ok=True,
    ),
    Fault("no-content-type", _static(rss("bad", 3)), None, 200, 3, ok=True),
    Fault(
        "latin1-declared-utf8",
        _static(
            (HOSTILE / "latin1-declared-utf8.xml").read_bytes(),
            headers={"Content-Type": "application/rss+xml; charset=utf-8"},
        ),
        "parsed with errors: CharacterEncodingOverride",
        200,
        1,
        ok=True,
    ),
    Fault(
        "malformed-xml",
        _static((HOSTILE / "malformed.xml").read_bytes()),
        "parsed with errors",
        200,
        2,
        ok=True,
    ),
    Fault(
        "odd-entries", _static((HOSTILE / "odd-entries.xml").read_bytes()), None, 200, 5, ok=True
    ),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault_is_survived_reported_and_nothing_is_lost(
    fault: Fault, server: FeedServer, tmp_path: Path
) -> None:
    setup = Setup(tmp_path, server, fetch={"max_bytes": 200_000})
    server.add("/good", GOOD, content_type="application/rss+xml")
    setup.feed("Good", "/good")
    target = fault.serve(server)
    config = setup.write()
    data = yaml.safe_load(Path(config).read_text())
    data["feeds"].append(
        {
            "url": server.url(target) if target.startswith("/") else target,
            "name": "Bad",
            "fetch_article": "never",
        }
    )
    Path(config).write_text(yaml.safe_dump(data))

    code, _out, err = cli("run", "--once", "--config", config)
    assert code == 0, err
    assert "Traceback" not in err
    rows = feeds_json(config)
    good, bad = rows["Good"], rows["Bad"]
    assert good["last_status"] == 200 and good["consecutive_failures"] == 0
    assert good["last_error"] is None
    if fault.error is None:
        assert bad["last_error"] is None, bad["last_error"]
    else:
        assert fault.error in (bad["last_error"] or ""), bad["last_error"]
    assert bad["consecutive_failures"] == (0 if fault.ok else 1)
    if fault.status is not None:
        assert bad["last_status"] == fault.status
    if not fault.ok:
        assert fault.error is not None and fault.error.split(" (")[0] in err, err
    delay = since(bad["next_poll_at"])
    assert delay > 50, "the next attempt is scheduled in the future"
    if fault.min_delay is not None:
        assert delay >= fault.min_delay
    stored = items_of(config)
    assert stored["Good"] == 2
    if fault.new is not None:
        assert stored["Bad"] == fault.new

    # The server is fixed: the next cycle stores the feed and resets its failures.
    if not target.startswith("/"):
        return  # nothing listens on that port; the failure itself was the point
    server.add(target, HEALED, content_type="application/rss+xml")
    code, _out, err = cli("run", "--once", "--config", config)
    assert code == 0, err
    bad = feeds_json(config)["Bad"]
    assert (bad["consecutive_failures"], bad["last_error"]) == (0, None)
    assert items_of(config)["Bad"] == (fault.new or 0) + 3


def test_410_stops_polling_and_says_so(server: FeedServer, tmp_path: Path) -> None:
    setup = Setup(tmp_path, server)
    server.add("/good", GOOD)
    server.add("/gone", b"gone", status=410)
    setup.feed("Good", "/good")
    setup.feed("Gone", "/gone")
    config = setup.write()
    assert cli("run", "--once", "--config", config)[0] == 0
    gone = feeds_json(config)["Gone"]
    assert gone["gone"] is True and gone["next_poll_at"] is None
    assert "HTTP 410 Gone" in gone["last_error"]
    code, table, _ = cli("feeds", "--config", config)
    assert code == 0 and "gone (HTTP 410)" in table
    server.add("/good", rss("good", 3))
    assert cli("run", "--once", "--config", config)[0] == 0
    assert server.hits["/gone"] == 1, "a gone feed is not polled again"
    assert items_of(config)["Good"] == 3


@pytest.mark.parametrize("status", [301, 308])
def test_permanent_redirect_updates_the_stored_url(
    status: int, server: FeedServer, tmp_path: Path
) -> None:
    setup = Setup(tmp_path, server)
    server.add("/old", redirect(server.url("/new"), status))
    server.add("/new", rss("moved", 2))
    setup.feed("Moved", "/old")
    config = setup.write()
    assert cli("run", "--once", "--config", config)[0] == 0
    row = feeds_json(config)["Moved"]
    assert row["moved_to"] == server.url("/new") and row["last_status"] == 200
    assert cli("run", "--once", "--config", config)[0] == 0
    assert (server.hits["/old"], server.hits["/new"]) == (1, 2), "polled at the new URL"
    assert items_of(config)["Moved"] == 2


def test_temporary_redirect_keeps_the_stored_url(server: FeedServer, tmp_path: Path) -> None:
    setup = Setup(tmp_path, server)
    server.add("/old", redirect(server.url("/new"), 302))
    server.add("/new", rss("moved", 2))
    setup.feed("Moved", "/old")
    config = setup.write()
    assert cli("run", "--once", "--config", config)[0] == 0
    assert feeds_json(config)["Moved"]["moved_to"] is None


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_feed_with_10000_entries(server: FeedServer, tmp_path: Path) -> None:
    setup = Setup(tmp_path, server, fetch={"timeout": "60s"})
    server.add("/big", rss("big", 10_000), content_type="application/rss+xml")
    server.add("/good", GOOD)
    setup.feed("Big", "/big")
    setup.feed("Good", "/good")
    config = setup.write()
    assert cli("run", "--once", "--config", config)[0] == 0
    assert items_of(config) == {"Big": 10_000, "Good": 2}
    assert feeds_json(config)["Big"]["last_error"] is None
    assert cli("run", "--once", "--config", config)[0] == 0  # unchanged: skipped by hash
    assert items_of(config) == {"Big": 10_000, "Good": 2}


def test_odd_entries_are_stored_sensibly(server: FeedServer, tmp_path: Path) -> None:
    setup = Setup(tmp_path, server)
    server.add("/odd", (HOSTILE / "odd-entries.xml").read_bytes())
    setup.feed("Odd", "/odd")
    config = setup.write()
    assert cli("run", "--once", "--config", config)[0] == 0
    app = build_app(load_config(config))
    with app.sessions() as session:
        items = {i.title: i for i in session.scalars(select(Item))}
    app.engine.dispose()
    assert set(items) == {
        "No link and no date",
        "Dated in the future",
        "Only a GUID",
        "Twice the same GUID, first",
        "Twice the same GUID, second",  # a GUID given to two links is no identity
    }
    assert items["No link and no date"].url is None
    assert items["No link and no date"].published_at is None
    future = items["Dated in the future"].published_at
    assert future is not None and future <= datetime.now(UTC), "clamped to now"


def test_gzip_bomb_through_the_poll_path_keeps_memory_flat(
    server: FeedServer, tmp_path: Path
) -> None:
    member = gzip_bomb(10_000_000)  # gzip members may follow each other in one body
    bomb = member * 100  # ~1 MB on the wire, 1 GB decoded
    assert len(bomb) < 2_000_000
    server.add("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    server.add("/good", GOOD)
    setup = Setup(tmp_path, server, fetch={"max_bytes": 1_000_000, "timeout": "20s"})
    setup.feed("Bomb", "/bomb")
    setup.feed("Good", "/good")
    app = build_app(load_config(setup.write()))
    gc.collect()
    tracemalloc.start()
    try:
        report = asyncio.run(run_once(app))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    errors = {p.feed: p.error for p in report.polls}
    assert "over 1,000,000 bytes decoded" in (errors[server.url("/bomb")] or "")
    assert errors[server.url("/good")] is None
    assert peak < 40_000_000, f"peak traced memory {peak:,} bytes"


# --- faults that need a stubbed network -------------------------------------------------


def _stub_cycle(app: App) -> CycleReport:
    # slow.test resolves to an address that is never answered; any other name fails DNS.
    backend = StubBackend(loopback=True)
    resolver = stub_resolver({"slow.test": ["192.0.2.10"]})

    async def go() -> CycleReport:
        async with stub_fetcher(backend, resolver, app.config.fetch) as fetcher:
            return await run_once(app, fetcher)

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://nxdomain.test/feed", "DNS lookup failed for nxdomain.test"),
        ("http://slow.test/feed", "timed out after 1s"),
    ],
    ids=["dns-failure", "connect-timeout"],
)
def test_network_faults_with_a_stub_resolver(
    url: str, error: str, server: FeedServer, tmp_path: Path
) -> None:
    server.add("/good", GOOD)
    setup = Setup(tmp_path, server)
    setup.feed("Good", "/good")
    config = setup.write()
    data = yaml.safe_load(Path(config).read_text())
    data["feeds"].append({"url": url, "name": "Bad", "fetch_article": "never"})
    Path(config).write_text(yaml.safe_dump(data))
    report = _stub_cycle(build_app(load_config(config)))
    assert [p.outcome for p in report.polls] == ["ok", "error"]
    rows = feeds_json(config)
    assert error in rows["Bad"]["last_error"]
    assert rows["Bad"]["consecutive_failures"] == 1 and since(rows["Bad"]["next_poll_at"]) > 50
    assert items_of(config)["Good"] == 2


def test_failures_back_off_then_reset_on_success(server: FeedServer, tmp_path: Path) -> None:
    server.add("/flaky", b"", status=500)
    setup = Setup(tmp_path, server)
    setup.feed("Flaky", "/flaky")
    config = setup.write()
    delays = []
    for _ in range(4):
        assert cli("run", "--once", "--config", config)[0] == 0
        delays.append(since(feeds_json(config)["Flaky"]["next_poll_at"]))
    # 15m, 30m, 1h, 2h, each ±15 % jitter
    for n, delay in enumerate(delays):
        assert 900 * 2**n * 0.84 < delay < 900 * 2**n * 1.16, delays
    server.add("/flaky", rss("flaky", 1))
    assert cli("run", "--once", "--config", config)[0] == 0
    row = feeds_json(config)["Flaky"]
    assert row["consecutive_failures"] == 0 and row["last_error"] is None
    assert 850 < since(row["next_poll_at"]) < 950


def test_feed_failing_for_days_is_retried_at_max_backoff_and_flagged(
    server: FeedServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server.add("/dead", b"", status=503)
    server.add("/good", GOOD)
    setup = Setup(tmp_path, server, fetch={"max_interval": "6h"})
    setup.feed("Dead", "/dead")
    setup.feed("Good", "/good")
    config = setup.write()
    app = build_app(load_config(config))
    asyncio.run(run_once(app))
    with app.sessions.begin() as session:  # as if it had been failing for three days
        session.execute(
            update(Feed)
            .where(Feed.name == "Dead")
            .values(last_success_at=datetime.now(UTC) - timedelta(days=3), consecutive_failures=20)
        )
    caplog.set_level("WARNING", logger="newsmon.cycle")
    asyncio.run(run_once(app))
    row = feeds_json(config)["Dead"]
    assert row["flagged"] is True and row["consecutive_failures"] == 21
    delay = since(row["next_poll_at"])
    assert 6 * 3600 * 0.84 < delay <= 6 * 3600, "at the maximum backoff (with jitter), not dropped"
    assert not feeds_json(config)["Good"]["flagged"]
    assert any("flagged" in r.getMessage() for r in caplog.records)
    _code, table, _ = cli("feeds", "--config", config)
    assert "21 FLAGGED" in table
    server.add("/dead", rss("dead", 1))
    asyncio.run(run_once(app))
    row = feeds_json(config)["Dead"]
    assert row["flagged"] is False and row["consecutive_failures"] == 0
