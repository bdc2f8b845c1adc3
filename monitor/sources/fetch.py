"""Fetching feeds and articles politely and safely over HTTP.

One :class:`Fetcher` per process holds one httpx transport (keep-alive pool sized to
``fetch.concurrency``) and bounds work with a global and a per-host semaphore. Each
``fetch`` call:

- follows redirects itself, up to ``max_redirects``, refusing loops and non-http(s)
  targets; every hop goes through the SSRF guard (:mod:`monitor.sources.netguard`); cookies set
  by one hop are sent on the next hops of the same fetch, never to other fetches;
- sends ``If-None-Match``/``If-Modified-Since`` when given and reports 304 as
  ``not_modified``;
- runs under a total deadline of ``fetch.timeout`` (connect and read timeouts alone would
  let a server trickle one byte a second forever);
- decodes gzip/deflate itself from the raw stream with bounded output per step, so
  ``max_bytes`` limits the *decoded* size and a compression bomb never inflates in
  memory beyond it;
- turns every failure into :class:`~monitor.domain.errors.FetchError` with a one-line message,
  the status, ``retry_after`` (429/503) and ``permanent`` (410, refused addresses).
"""

from __future__ import annotations

import asyncio
import email.utils
import http
import os
import time
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Self
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import httpx

from monitor import USER_AGENT
from monitor.config.settings import FetchConfig
from monitor.domain.errors import FetchError
from monitor.sources.netguard import GuardedBackend, Resolver, guarded_transport

__all__ = ["ARTICLE_ACCEPT", "FEED_ACCEPT", "FetchResult", "Fetcher"]

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
ARTICLE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, text/plain;q=0.8, */*;q=0.5"

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT_REDIRECTS = frozenset({301, 308})
_CHUNK = 64 * 1024
_DISCARD_MAX = 64 * 1024  # bytes of an unwanted body read to keep the connection


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch produced. ``body`` is None exactly when ``not_modified``."""

    url: str  # as requested
    final_url: str  # after redirects
    status: int
    body: bytes | None
    not_modified: bool
    etag: str | None
    last_modified: str | None
    content_type: str | None
    permanent_redirect: str | None  # new address when every hop up to it was 301/308
    retry_after: float | None  # seconds, from Retry-After
    cache_max_age: float | None  # seconds, from Cache-Control max-age or Expires
    elapsed: float  # seconds, wall clock, including redirects


class Fetcher:
    """``async with Fetcher(config) as fetcher: result = await fetcher.fetch(url)``.

    ``resolver`` replaces DNS (tests); ``transport`` replaces the network entirely
    (``httpx.MockTransport`` in tests; it bypasses the SSRF guard).
    """

    def __init__(
        self,
        config: FetchConfig,
        *,
        resolver: Resolver | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        limits = httpx.Limits(
            max_connections=config.concurrency,
            max_keepalive_connections=config.concurrency,
            keepalive_expiry=30.0,
        )
        if transport is None:
            backend = GuardedBackend(
                allow_private_networks=config.allow_private_networks, resolver=resolver
            )
            transport = guarded_transport(backend, limits=limits)
        # The transport is used directly, without an httpx.AsyncClient: redirects are
        # followed here, there is no auth, and a cookie jar shared by every feed is not
        # wanted; the client's layers cost more CPU per request than our whole fetch.
        self._transport = transport
        self._headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}
        self._timeouts = httpx.Timeout(config.timeout).as_dict()
        self._global = asyncio.Semaphore(config.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Self:
        await self._transport.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._transport.__aexit__(exc_type, exc, tb)

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
        allow_file: bool = False,
    ) -> FetchResult:
        """Fetch ``url``; FetchError on any failure. ``allow_file`` admits ``file://``."""
        started = time.monotonic()
        if urlsplit(url).scheme.lower() == "file":
            if not allow_file:
                raise FetchError(f"file:// URLs are not allowed here: {url}", permanent=True)
            return await asyncio.to_thread(self._read_file, url, last_modified, started)
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return await self._follow(url, headers, started)

    async def _follow(self, url: str, headers: dict[str, str], started: float) -> FetchResult:
        current = _checked_url(url)
        seen = {current}
        cookies = httpx.Cookies()  # set by one hop, sent on the next (consent redirects)
        permanent: str | None = None
        still_permanent = True
        deadline: float | None = None  # starts once the first hop has its slots
        for _hop in range(self.config.max_redirects + 1):
            async with self._host_slot(current), self._global:
                deadline = deadline or asyncio.get_running_loop().time() + self.config.timeout
                try:
                    async with asyncio.timeout_at(deadline):
                        response, body = await self._request(current, headers, cookies)
                except TimeoutError:
                    raise FetchError(
                        f"timed out after {self.config.timeout:g}s: {current}"
                    ) from None
            if response.status_code not in _REDIRECTS:
                return _result(url, current, response, body, permanent, started)
            if "set-cookie" in response.headers:
                cookies.extract_cookies(response)
            location = response.headers.get("Location")
            if not location:
                raise FetchError(
                    f"HTTP {response.status_code} redirect without a Location: {current}",
                    status=response.status_code,
                )
            target = _checked_url(str(httpx.URL(current).join(location.strip())))
            if target in seen:
                raise FetchError(f"redirect loop at {target}", status=response.status_code)
            seen.add(target)
            still_permanent = still_permanent and response.status_code in _PERMANENT_REDIRECTS
            if still_permanent:
                permanent = target
            current = target
        raise FetchError(f"too many redirects (over {self.config.max_redirects}) from {url}")

    def _host_slot(self, url: str) -> asyncio.Semaphore:
        host = urlsplit(url).netloc.lower()
        slot = self._hosts.get(host)
        if slot is None:
            slot = self._hosts[host] = asyncio.Semaphore(self.config.per_host)
        return slot

    async def _request(
        self, url: str, headers: dict[str, str], cookies: httpx.Cookies
    ) -> tuple[httpx.Response, bytes | None]:
        request = httpx.Request(
            "GET", url, headers=self._headers | headers, extensions={"timeout": self._timeouts}
        )
        if cookies:
            cookies.set_cookie_header(request)
        try:
            response = await self._transport.handle_async_request(request)
        except httpx.HTTPError as exc:
            raise FetchError(_transport_message(exc, url)) from exc
        response.request = request
        try:
            if response.status_code in _REDIRECTS or response.status_code == 304:
                await _discard_body(response)
                return response, None
            if response.status_code >= 400:
                await _discard_body(response)
                raise _status_error(response)
            return response, await self._read_body(response)
        except httpx.HTTPError as exc:
            raise FetchError(_transport_message(exc, url)) from exc
        finally:
            await response.aclose()

    async def _read_body(self, response: httpx.Response) -> bytes:
        limit = self.config.max_bytes
        length = response.headers.get("Content-Length", "")
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if length.isdigit() and int(length) > limit and encoding in ("", "identity"):
            raise FetchError(f"response too large: {int(length):,} bytes (max {limit:,})")
        decoder = _Decoder(encoding)
        chunks: list[bytes] = []
        size = 0
        async for piece in decoder.decode(_counted(response.aiter_raw(_CHUNK), limit)):
            size += len(piece)
            if size > limit:
                raise FetchError(f"response too large: over {limit:,} bytes decoded")
            chunks.append(piece)
        return b"".join(chunks)

    def _read_file(self, url: str, last_modified: str | None, started: float) -> FetchResult:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise FetchError(f"file:// URL with a remote host: {url}", permanent=True)
        path = url2pathname(unquote(parts.path))
        try:
            stat = os.stat(path)
            if stat.st_size > self.config.max_bytes:
                raise FetchError(f"file too large: {stat.st_size:,} bytes: {path}")
            stamp = email.utils.formatdate(stat.st_mtime, usegmt=True)
            unchanged = last_modified == stamp
            body = None if unchanged else _read_limited(path, self.config.max_bytes)
        except FileNotFoundError:
            raise FetchError(f"file not found: {path}", status=404) from None
        except OSError as exc:
            raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from exc
        return FetchResult(
            url=url,
            final_url=url,
            status=304 if unchanged else 200,
            body=body,
            not_modified=unchanged,
            etag=None,
            last_modified=stamp,
            content_type=None,
            permanent_redirect=None,
            retry_after=None,
            cache_max_age=None,
            elapsed=time.monotonic() - started,
        )


async def _discard_body(response: httpx.Response) -> None:
    """Read a body we do not need (a 304, a redirect, an error page) to its end, so that
    the connection goes back to the pool: httpcore closes a connection whose response was
    closed unread, and a warm cycle of 304s then opened a new connection per feed. A body
    larger than ``_DISCARD_MAX`` is not worth reading; closing it costs one reconnect."""
    read = 0
    async for piece in response.aiter_raw(_CHUNK):
        read += len(piece)
        if read > _DISCARD_MAX:
            return


async def _counted(raw: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """``raw`` as it comes, FetchError past ``limit`` bytes: what arrives counts against
    ``max_bytes`` too, not only what it decodes to (a stream of empty gzip members decodes
    to nothing)."""
    size = 0
    async for data in raw:
        size += len(data)
        if size > limit:
            raise FetchError(f"response too large: over {limit:,} bytes received")
        yield data


class _Decoder:
    """Content-Encoding decoding with bounded output per step (``max_length``)."""

    def __init__(self, encoding: str) -> None:
        codings = [c.strip() for c in encoding.split(",") if c.strip() not in ("", "identity")]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise FetchError(f"unsupported Content-Encoding: {encoding}")
        self.coding = codings[0] if codings else None

    def _new(self, first: bytes) -> zlib._Decompress:
        if self.coding == "deflate" and first[:1] and (first[0] & 0x0F) != 8:
            return zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, no zlib header
        return zlib.decompressobj(zlib.MAX_WBITS | (16 if self.coding != "deflate" else 0))

    async def decode(self, raw: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        if self.coding is None:
            async for data in raw:
                yield data
            return
        inflater: zlib._Decompress | None = None
        async for data in raw:
            while data:
                if inflater is None:
                    inflater = self._new(data)
                try:
                    out = inflater.decompress(data, _CHUNK)
                except zlib.error as exc:
                    raise FetchError(f"corrupt {self.coding} body: {exc}") from exc
                yield out
                data = inflater.unconsumed_tail
                if inflater.eof:  # a further gzip member may follow; other trailing junk not
                    rest = inflater.unused_data
                    if rest and not rest.startswith(b"\x1f\x8b"):
                        # the body ends here: junk after it is not read at all (read into
                        # a finished inflater it piled up in unused_data, uncounted:
                        # 235 MB for a feed with max_bytes 1 MB)
                        return
                    data = rest
                    inflater = None if data else inflater
        if inflater is not None and not inflater.eof:
            yield inflater.flush()  # at most one window of output is pending
            if not inflater.eof:
                raise FetchError(f"truncated {self.coding} body: the stream ended early")


def _read_limited(path: str, limit: int) -> bytes:
    with open(path, "rb") as handle:
        body = handle.read(limit + 1)
    if len(body) > limit:
        raise FetchError(f"file too large: over {limit:,} bytes: {path}")
    return body


def _checked_url(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchError(f"invalid URL {url!r}: {exc}", permanent=True) from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise FetchError(f"only http(s) URLs can be fetched: {url}", permanent=True)
    return str(parsed)


def _validator(value: str | None, limit: int) -> str | None:
    """A cache validator worth storing: one a server sends longer than its column (or with
    control characters) is not used, rather than failing every poll on PostgreSQL."""
    if value is None or len(value) > limit or not value.isprintable():
        return None
    return value


def _result(
    url: str,
    final_url: str,
    response: httpx.Response,
    body: bytes | None,
    permanent: str | None,
    started: float,
) -> FetchResult:
    headers = response.headers
    not_modified = response.status_code == 304
    return FetchResult(
        url=url,
        final_url=final_url,
        status=response.status_code,
        body=None if not_modified else body,
        not_modified=not_modified,
        etag=_validator(headers.get("ETag"), 1024),
        last_modified=_validator(headers.get("Last-Modified"), 200),
        content_type=headers.get("Content-Type"),
        permanent_redirect=permanent,
        retry_after=parse_retry_after(headers.get("Retry-After")),
        cache_max_age=parse_cache_max_age(headers),
        elapsed=time.monotonic() - started,
    )


def _status_error(response: httpx.Response) -> FetchError:
    status = response.status_code
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    retry_after = None
    if status in (429, 503):
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
    message = f"HTTP {status} {phrase}"
    if retry_after is not None:
        message += f" (retry after {retry_after:g}s)"
    return FetchError(
        f"{message}: {response.request.url}",
        status=status,
        retry_after=retry_after,
        permanent=status == 410,
    )


def _transport_message(exc: httpx.HTTPError, url: str) -> str:
    host = urlsplit(url).netloc
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connect to {host} timed out"
    if isinstance(exc, httpx.ReadTimeout):
        return f"read from {host} timed out"
    if isinstance(exc, httpx.TimeoutException):
        return f"request to {host} timed out"
    if isinstance(exc, httpx.ConnectError):
        if "refused" in detail.lower() or _caused_by(exc, ConnectionRefusedError):
            return f"connection refused by {host}"
        if "ssl" in detail.lower() or "certificate" in detail.lower():
            return f"TLS error with {host}: {detail}"
        return f"cannot connect to {host}: {detail}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"{host} broke the HTTP protocol: {detail}"
    return f"fetching {url} failed: {detail}"


def _caused_by(exc: BaseException, kind: type[BaseException], depth: int = 0) -> bool:
    """True when ``kind`` is somewhere in the cause chain (or exception groups) of ``exc``."""
    if isinstance(exc, kind):
        return True
    if depth > 8:
        return False
    inner: list[BaseException] = []
    if isinstance(exc, BaseExceptionGroup):
        inner.extend(exc.exceptions)
    inner.extend(e for e in (exc.__cause__, exc.__context__) if e is not None)
    return any(_caused_by(e, kind, depth + 1) for e in inner)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP-date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def parse_cache_max_age(headers: httpx.Headers) -> float | None:
    """How long the response may be reused: Cache-Control max-age, else Expires − Date."""
    cache_control = headers.get("Cache-Control", "").lower()
    directives = [d.strip() for d in cache_control.split(",")]
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    for directive in directives:
        name, _, value = directive.partition("=")
        if name.strip() == "max-age" and value.strip().strip('"').isdigit():
            return float(value.strip().strip('"'))
    expires = headers.get("Expires")
    if not expires:
        return None
    try:
        until = email.utils.parsedate_to_datetime(expires)
        date = headers.get("Date")
        base = email.utils.parsedate_to_datetime(date) if date else datetime.now(UTC)
    except (TypeError, ValueError, IndexError):
        return 0.0  # an invalid Expires means "already expired" (RFC 9111)
    if until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    if base.tzinfo is None:
        base = base.replace(tzinfo=UTC)
    return max(0.0, (until - base).total_seconds())
