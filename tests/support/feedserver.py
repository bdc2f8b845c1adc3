"""A real local HTTP server for tests: register routes, point newsmon at ``server.url(path)``.

    def test_poll(feed_server: FeedServer) -> None:
        feed_server.add("/rss", Path("tests/data/feeds/rss20.xml").read_bytes(),
                        content_type="application/rss+xml")
        feed_server.add("/dyn", lambda request: Response(body=b"hi"))   # dynamic
        ... fetch feed_server.url("/rss") ...
        assert feed_server.hits["/rss"] == 1

It binds 127.0.0.1 on a free port, serves HTTP/1.1 with keep-alive from a thread per
connection, records every request, and stops when the fixture ends. Dynamic behaviour is
a callable ``(Request) -> Response``; helpers below build the common ones (ETag/304,
redirects, slow trickle, gzip bomb, 429 with Retry-After). Waiting is done on events
(``wait_for_hits``), never with sleeps; slow responses wait on the server's stop event so
teardown is immediate.

Use it through the ``feed_server`` fixture (``tests/conftest.py``) or
``with FeedServer() as server:``.
"""

from __future__ import annotations

import gzip
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "FeedServer",
    "Request",
    "Response",
    "conditional",
    "gzip_bomb",
    "redirect",
    "trickle",
]


@dataclass(frozen=True)
class Request:
    """One request as the server saw it. Header names are lower-case."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class Response:
    """What a route answers. ``body`` may be an iterable of chunks (sent as they come,
    without Content-Length, then the connection closes)."""

    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response]


class FeedServer:
    """A threaded HTTP server on 127.0.0.1 serving registered routes."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[Request] = []
        self.hits: Counter[str] = Counter()
        self.connections = 0  # TCP connections accepted (keep-alive check)
        self.stopping = threading.Event()
        self._changed = threading.Condition()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(
        self,
        path: str,
        body: bytes | str | Handler = b"",
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        content_type: str | None = None,
    ) -> str:
        """Serve ``body`` (or call it, when it is a callable) at ``path``; returns its URL."""
        if callable(body):
            self.routes[path] = body
            return self.url(path)
        data = body.encode("utf-8") if isinstance(body, str) else body
        fixed = dict(headers or {})
        if content_type:
            fixed["Content-Type"] = content_type
        self.routes[path] = lambda _request: Response(status, data, dict(fixed))
        return self.url(path)

    def wait_for_hits(self, path: str, count: int, timeout: float = 5.0) -> bool:
        """Block until ``path`` has been requested ``count`` times (False on timeout)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.hits[path] >= count, timeout)

    def _record(self, request: Request) -> None:
        with self._changed:
            self.requests.append(request)
            self.hits[request.path] += 1
            self._changed.notify_all()

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _make_handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else delayed ACKs add 40 ms per keep-alive request

        def setup(self) -> None:
            super().setup()
            with server._changed:
                server.connections += 1

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
            )
            server._record(request)
            handler = server.routes.get(parts.path)
            response = handler(request) if handler else Response(404, b"not found")
            self._send(response)

        do_HEAD = do_GET

        def _send(self, response: Response) -> None:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if isinstance(response.body, bytes):
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)
                return
            self.send_header("Connection", "close")
            self.close_connection = True
            self.end_headers()
            try:
                for chunk in response.body:
                    self.wfile.write(chunk)
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean

    return _Handler


# --- helpers for dynamic routes ------------------------------------------------------


def conditional(
    body: bytes, *, etag: str = '"v1"', last_modified: str | None = None, **headers: str
) -> Handler:
    """Serve ``body`` with an ETag; answer 304 to a matching If-None-Match/-Modified-Since."""

    def handle(request: Request) -> Response:
        fixed = {"ETag": etag, **headers}
        if last_modified:
            fixed["Last-Modified"] = last_modified
        if request.headers.get("if-none-match") == etag or (
            last_modified and request.headers.get("if-modified-since") == last_modified
        ):
            return Response(304, b"", fixed)
        return Response(200, body, fixed)

    return handle


def redirect(location: str, status: int = 301) -> Handler:
    return lambda _request: Response(status, b"", {"Location": location})


def trickle(server: FeedServer, body: bytes, interval: float) -> Handler:
    """Send ``body`` one byte every ``interval`` seconds (waiting on the stop event)."""

    def chunks() -> Iterator[bytes]:
        for i in range(len(body)):
            if server.stopping.wait(interval):
                return
            yield body[i : i + 1]

    return lambda _request: Response(200, chunks(), {"Content-Type": "application/xml"})


def gzip_bomb(decoded_size: int) -> bytes:
    """A gzip body of ``decoded_size`` zero bytes (about 1,000 times smaller)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    parts = []
    for _ in range(decoded_size // len(block)):
        parts.append(compressor.compress(block))
    parts.append(compressor.compress(bytes(decoded_size % len(block))))
    parts.append(compressor.flush())
    return b"".join(parts)


def gzipped(body: bytes) -> bytes:
    return gzip.compress(body)
