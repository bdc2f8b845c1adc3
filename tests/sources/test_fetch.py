"""Fetcher and SSRF guard against a real local server (127.0.0.1) and stub backends.

No test sends a packet outside 127.0.0.0/8: refusals of other ranges are proven with a
stub resolver and a stub inner backend that records what it would have connected to and
answers from memory.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor import USER_AGENT
from monitor.config.settings import FetchConfig
from monitor.domain.errors import FetchError
from monitor.sources.fetch import (
    ARTICLE_ACCEPT,
    FEED_ACCEPT,
    Fetcher,
    FetchResult,
    parse_cache_max_age,
    parse_retry_after,
)
from monitor.sources.netguard import GuardedBackend, is_public_address
from tests.support.feedserver import (
    FeedServer,
    Request,
    Response,
    conditional,
    gzip_bomb,
    gzipped,
    redirect,
    trickle,
)
from tests.support.stubnet import StubBackend, http_response, stub_fetcher, stub_resolver

RSS = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"


def local(**overrides: Any) -> FetchConfig:
    return FetchConfig(**{"allow_private_networks": True, "timeout": 5.0, **overrides})


def fetch(url: str, config: FetchConfig | None = None, **kwargs: Any) -> FetchResult:
    async def go() -> FetchResult:
        async with Fetcher(config or local()) as fetcher:
            return await fetcher.fetch(url, **kwargs)

    return asyncio.run(go())


def fetch_error(url: str, config: FetchConfig | None = None, **kwargs: Any) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetch(url, config, **kwargs)
    return info.value


# --- success, headers, conditional GET ------------------------------------------------


def test_fetch_returns_body_and_caching_headers(feed_server: FeedServer) -> None:
    url = feed_server.add(
        "/rss",
        RSS,
        content_type="application/rss+xml",
        headers={"ETag": '"abc"', "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"}
        | {"Cache-Control": "public, max-age=600"},
    )
    result = fetch(url)
    assert result.status == 200 and result.body == RSS and not result.not_modified
    assert (result.url, result.final_url, result.permanent_redirect) == (url, url, None)
    assert result.etag == '"abc"'
    assert result.last_modified == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert result.content_type == "application/rss+xml"
    assert result.cache_max_age == 600.0 and result.retry_after is None
    sent = feed_server.requests[0].headers
    assert sent["user-agent"] == USER_AGENT
    assert sent["accept"] == FEED_ACCEPT
    assert "if-none-match" not in sent


def test_conditional_get_reports_not_modified(feed_server: FeedServer) -> None:
    url = feed_server.add("/feed", conditional(RSS, etag='"v7"'))
    first = fetch(url)
    assert first.etag == '"v7"' and first.body == RSS
    second = fetch(url, etag=first.etag, accept=ARTICLE_ACCEPT)
    assert second.status == 304 and second.not_modified and second.body is None
    assert feed_server.requests[1].headers["if-none-match"] == '"v7"'
    assert feed_server.requests[1].headers["accept"] == ARTICLE_ACCEPT


def test_if_modified_since_is_sent(feed_server: FeedServer) -> None:
    stamp = "Tue, 02 Jan 2024 10:00:00 GMT"
    url = feed_server.add("/feed", conditional(RSS, etag='"x"', last_modified=stamp))
    assert fetch(url, last_modified=stamp).not_modified


def test_keep_alive_reuses_one_connection(feed_server: FeedServer) -> None:
    url = feed_server.add("/rss", RSS)

    async def go() -> None:
        async with Fetcher(local()) as fetcher:
            for _ in range(5):
                await fetcher.fetch(url)

    asyncio.run(go())
    assert feed_server.hits["/rss"] == 5
    assert feed_server.connections == 1


def test_304_redirect_and_error_responses_keep_the_connection(feed_server: FeedServer) -> None:
    """Bodies we do not need are read to their end, so the connection is reused: a warm
    cycle of 304s on one connection, not one connection per feed."""
    url = feed_server.add("/feed", conditional(RSS, etag='"v1"'))
    feed_server.add("/moved", redirect("/feed", 302))
    feed_server.add("/broken", lambda _request: Response(500, b"oops"))

    async def go() -> None:
        async with Fetcher(local()) as fetcher:
            for _ in range(3):
                assert (await fetcher.fetch(url, etag='"v1"')).not_modified
            assert (await fetcher.fetch(feed_server.url("/moved"))).body == RSS
            with pytest.raises(FetchError, match="HTTP 500"):
                await fetcher.fetch(feed_server.url("/broken"))
            assert (await fetcher.fetch(url, etag='"v1"')).not_modified

    asyncio.run(go())
    assert feed_server.connections == 1


def test_pool_keeps_at_most_max_connections_and_reuses_them(feed_server: FeedServer) -> None:
    """The pool's own bookkeeping (netguard._Pool): concurrent requests share a bounded set
    of keep-alive connections."""
    url = feed_server.add("/rss", RSS)

    async def go() -> None:
        async with Fetcher(local(concurrency=3, per_host=3)) as fetcher:
            for _ in range(4):
                results = await asyncio.gather(*(fetcher.fetch(url) for _ in range(6)))
                assert all(r.body == RSS for r in results)

    asyncio.run(go())
    assert feed_server.hits["/rss"] == 24
    assert feed_server.connections <= 3


# --- redirects -----------------------------------------------------------------------


def test_redirect_chain_reports_leading_permanent_hops(feed_server: FeedServer) -> None:
    feed_server.add("/old", redirect("/newer", 301))
    feed_server.add("/newer", redirect(feed_server.url("/temp"), 302))
    feed_server.add("/temp", redirect("/final", 308))
    final = feed_server.add("/final", RSS)
    result = fetch(feed_server.url("/old"))
    assert result.final_url == final and result.body == RSS
    assert result.permanent_redirect == feed_server.url("/newer")


def test_all_permanent_redirects_move_the_feed(feed_server: FeedServer) -> None:
    feed_server.add("/a", redirect("/b", 308))
    feed_server.add("/b", redirect("/c", 301))
    final = feed_server.add("/c", RSS)
    assert fetch(feed_server.url("/a")).permanent_redirect == final


def test_cookies_set_by_a_redirect_are_sent_on_the_next_hop_only(feed_server: FeedServer) -> None:
    """A hop that sets a cookie and redirects to a page that wants it works; the cookie is
    not sent with later fetches (nothing is shared between feeds)."""

    def gated(request: Request) -> Response:
        if "consent=yes" in request.headers.get("cookie", ""):
            return Response(200, RSS)
        return Response(403, b"no consent")

    feed_server.add("/feed", gated)
    feed_server.add(
        "/consent",
        lambda _r: Response(302, b"", {"Location": "/feed", "Set-Cookie": "consent=yes; Path=/"}),
    )
    plain = feed_server.add("/plain", RSS)

    async def go() -> None:
        async with Fetcher(local()) as fetcher:
            assert (await fetcher.fetch(feed_server.url("/consent"))).body == RSS
            assert (await fetcher.fetch(plain)).body == RSS

    asyncio.run(go())
    assert [r.headers.get("cookie") for r in feed_server.requests] == [None, "consent=yes", None]


def test_redirect_loop_is_detected(feed_server: FeedServer) -> None:
    feed_server.add("/a", redirect("/b", 302))
    feed_server.add("/b", redirect("/a", 302))
    assert "redirect loop" in str(fetch_error(feed_server.url("/a")))
    assert feed_server.hits == {"/a": 1, "/b": 1}


def test_too_many_redirects(feed_server: FeedServer) -> None:
    for i in range(4):
        feed_server.add(f"/{i}", redirect(f"/{i + 1}", 302))
    feed_server.add("/4", RSS)
    assert fetch(feed_server.url("/0"), local(max_redirects=4)).body == RSS
    assert "too many redirects" in str(fetch_error(feed_server.url("/0"), local(max_redirects=3)))


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://example.org/x", "gopher://x/"])
def test_redirect_to_other_schemes_is_refused(feed_server: FeedServer, target: str) -> None:
    feed_server.add("/r", redirect(target, 302))
    error = fetch_error(feed_server.url("/r"))
    assert "only http(s)" in str(error) and error.permanent


# --- status mapping ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "message", "retry_after", "permanent"),
    [
        (404, {}, "HTTP 404 Not Found", None, False),
        (410, {}, "HTTP 410 Gone", None, True),
        (403, {}, "HTTP 403 Forbidden", None, False),
        (500, {}, "HTTP 500 Internal Server Error", None, False),
        (
            503,
            {"Retry-After": "120"},
            "HTTP 503 Service Unavailable (retry after 120s)",
            120,
            False,
        ),
        (429, {"Retry-After": "7"}, "HTTP 429 Too Many Requests (retry after 7s)", 7, False),
        (429, {"Retry-After": "soon"}, "HTTP 429 Too Many Requests:", None, False),
    ],
)
def test_status_errors(
    feed_server: FeedServer,
    status: int,
    headers: dict[str, str],
    message: str,
    retry_after: float | None,
    permanent: bool,
) -> None:
    url = feed_server.add("/x", b"nope", status=status, headers=headers)
    error = fetch_error(url)
    assert str(error).startswith(message)
    assert (error.status, error.retry_after, error.permanent) == (status, retry_after, permanent)


def test_retry_after_http_date(feed_server: FeedServer) -> None:
    url = feed_server.add(
        "/x", status=503, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}
    )
    retry_after = fetch_error(url).retry_after
    assert retry_after is not None and retry_after > 86400 * 365


def test_connection_refused() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and is closed now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    error = fetch_error(f"http://127.0.0.1:{port}/feed")
    assert str(error) == f"connection refused by 127.0.0.1:{port}"


def test_dns_failure_message() -> None:
    async def no_such_host(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def go() -> None:
        async with Fetcher(local(), resolver=no_such_host) as fetcher:
            await fetcher.fetch("http://no-such-host.invalid/feed")

    with pytest.raises(FetchError, match=r"DNS lookup failed for no-such-host\.invalid: Name"):
        asyncio.run(go())


def test_only_http_urls_and_file_only_when_allowed(tmp_path: Path) -> None:
    assert "only http(s)" in str(fetch_error("ftp://example.org/feed"))
    feed = tmp_path / "sample feed.xml"
    feed.write_bytes(RSS)
    url = feed.as_uri()
    assert "not allowed" in str(fetch_error(url))
    result = fetch(url, allow_file=True)
    assert result.status == 200 and result.body == RSS and result.last_modified
    again = fetch(url, allow_file=True, last_modified=result.last_modified)
    assert again.not_modified and again.body is None
    assert fetch_error((tmp_path / "missing.xml").as_uri(), allow_file=True).status == 404
    assert "too large" in str(fetch_error(url, local(max_bytes=10), allow_file=True))


# --- deadline, size limits, decoding -------------------------------------------------


def test_trickling_server_is_cut_at_the_total_deadline(feed_server: FeedServer) -> None:
    url = feed_server.add("/slow", trickle(feed_server, RSS, interval=0.05))
    started = time.monotonic()
    error = fetch_error(url, local(timeout=0.5))
    assert "timed out after 0.5s" in str(error)
    assert time.monotonic() - started < 2.0  # read timeout alone would never fire


def test_gzip_bomb_stops_at_max_bytes_with_flat_memory(feed_server: FeedServer) -> None:
    bomb = gzip_bomb(64 * 1024 * 1024)
    assert len(bomb) < 200_000
    url = feed_server.add("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    tracemalloc.start()
    try:
        error = fetch_error(url, local(max_bytes=1_000_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "too large: over 1,000,000 bytes decoded" in str(error)
    assert peak < 6_000_000, peak


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "x-gzip"])
def test_compressed_bodies_are_decoded(feed_server: FeedServer, encoding: str) -> None:
    import zlib

    body = gzipped(RSS) if "gzip" in encoding else zlib.compress(RSS)
    url = feed_server.add("/z", body, headers={"Content-Encoding": encoding})
    assert fetch(url).body == RSS
    assert feed_server.requests[0].headers["accept-encoding"] == "gzip, deflate"


def test_max_bytes_plain(feed_server: FeedServer) -> None:
    url = feed_server.add("/big", b"x" * 2000)
    assert "too large: 2,000 bytes" in str(fetch_error(url, local(max_bytes=1000)))
    chunked = feed_server.add("/stream", lambda _r: Response(200, iter([b"x" * 800] * 3)))
    assert "over 1,000 bytes" in str(fetch_error(chunked, local(max_bytes=1000)))
    assert fetch(url, local(max_bytes=2000)).body == b"x" * 2000


def test_unknown_content_encoding(feed_server: FeedServer) -> None:
    url = feed_server.add("/br", b"\x00\x01", headers={"Content-Encoding": "br"})
    assert "unsupported Content-Encoding: br" in str(fetch_error(url))


# --- concurrency -----------------------------------------------------------------------


def test_per_host_limit_bounds_concurrent_requests(feed_server: FeedServer) -> None:
    release = threading.Event()
    active = 0
    peak = 0
    lock = threading.Lock()

    def held(_request: Request) -> Response:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        release.wait(5)
        with lock:
            active -= 1
        return Response(200, RSS)

    url = feed_server.add("/held", held)

    async def go() -> list[FetchResult]:
        async with Fetcher(local(per_host=2, concurrency=10)) as fetcher:
            tasks = [asyncio.create_task(fetcher.fetch(f"{url}?n={i}")) for i in range(5)]
            assert await asyncio.to_thread(feed_server.wait_for_hits, "/held", 2)
            # A third request must not arrive while two are held.
            assert not await asyncio.to_thread(feed_server.wait_for_hits, "/held", 3, 0.2)
            release.set()
            return await asyncio.gather(*tasks)

    results = asyncio.run(go())
    assert [r.status for r in results] == [200] * 5 and peak == 2


# --- helpers ---------------------------------------------------------------------------


def test_parse_retry_after() -> None:
    from datetime import UTC, datetime

    now = datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Mon, 01 Jan 2024 00:02:00 GMT", now=now) == 120.0
    assert parse_retry_after("Sun, 31 Dec 2023 00:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("-5") is None and parse_retry_after("") is None
    assert parse_retry_after(None) is None and parse_retry_after("later") is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Cache-Control": "max-age=300"}, 300.0),
        ({"Cache-Control": "private, max-age=60, must-revalidate"}, 60.0),
        ({"Cache-Control": "no-cache"}, 0.0),
        ({"Cache-Control": "no-store, max-age=600"}, 0.0),
        (
            {"Expires": "Mon, 01 Jan 2024 01:00:00 GMT", "Date": "Mon, 01 Jan 2024 00:00:00 GMT"},
            3600.0,
        ),
        ({"Expires": "0"}, 0.0),
        ({}, None),
    ],
)
def test_parse_cache_max_age(headers: dict[str, str], expected: float | None) -> None:
    assert parse_cache_max_age(httpx.Headers(headers)) == expected


# --- SSRF guard ------------------------------------------------------------------------

BLOCKED = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.1",
    "198.18.0.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "2002:7f00:1::1",
    "2001:db8::1",
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", BLOCKED)
def test_guard_refuses_non_public_addresses(address: str) -> None:
    assert not is_public_address(address)
    inner = StubBackend()
    guard = GuardedBackend(resolver=stub_resolver({"evil.example": [address]}), inner=inner)
    with pytest.raises(FetchError, match=r"refused evil\.example") as info:
        asyncio.run(guard.connect_tcp("evil.example", 80))
    assert info.value.permanent
    with pytest.raises(FetchError, match="refused"):
        asyncio.run(guard.connect_tcp(address, 80))  # an IP literal is checked too
    assert inner.connects == []


@pytest.mark.parametrize("address", PUBLIC)
def test_guard_connects_to_the_checked_address(address: str) -> None:
    assert is_public_address(address)
    inner = StubBackend({address: b""})
    guard = GuardedBackend(resolver=stub_resolver({"news.example": [address]}), inner=inner)
    asyncio.run(guard.connect_tcp("news.example", 443))
    assert inner.connects == [(address, 443)]  # the address, never the name again


def test_guard_refuses_a_name_with_any_private_address() -> None:
    inner = StubBackend()
    resolver = stub_resolver({"mixed.example": ["8.8.8.8", "10.0.0.5"]})
    with pytest.raises(FetchError, match=r"10\.0\.0\.5"):
        asyncio.run(GuardedBackend(resolver=resolver, inner=inner).connect_tcp("mixed.example", 80))
    assert inner.connects == []


def test_every_redirect_hop_is_checked() -> None:
    inner = StubBackend(
        {"8.8.8.8": http_response(b"", "302 Found", Location="http://metadata.internal/latest/")}
    )
    table = {"news.example": ["8.8.8.8"], "metadata.internal": ["169.254.169.254"]}

    async def go() -> None:
        async with stub_fetcher(inner, stub_resolver(table)) as fetcher:
            await fetcher.fetch("http://news.example/feed")

    with pytest.raises(FetchError, match=r"refused metadata\.internal: .*169\.254\.169\.254"):
        asyncio.run(go())
    assert inner.connects == [("8.8.8.8", 80)]


def test_fetch_through_the_guard_uses_the_hostname_in_the_request() -> None:
    inner = StubBackend({"8.8.8.8": http_response(b"ok")})
    table = {"news.example": ["8.8.8.8"]}

    async def go() -> FetchResult:
        async with stub_fetcher(inner, stub_resolver(table)) as fetcher:
            return await fetcher.fetch("http://news.example/feed")

    assert asyncio.run(go()).body == b"ok"
    assert inner.connects == [("8.8.8.8", 80)]


def test_loopback_server_refused_unless_private_networks_allowed(feed_server: FeedServer) -> None:
    url = feed_server.add("/rss", RSS)
    error = fetch_error(url, FetchConfig(allow_private_networks=False))
    assert "refused 127.0.0.1" in str(error) and error.permanent
    assert feed_server.hits["/rss"] == 0
    localhost = url.replace("127.0.0.1", "localhost")
    assert "refused localhost" in str(fetch_error(localhost, FetchConfig()))
    assert fetch(url, FetchConfig(allow_private_networks=True)).body == RSS
