"""The service's HTTP endpoints: ``/healthz``, ``/readyz`` and ``/metrics``.

A stdlib ``ThreadingHTTPServer`` in a daemon thread, listening on ``http.listen``:

- ``/healthz``: 200 ``ok`` while the service is alive: the process serves requests and,
  when the service passes a liveness check, its scheduler still ticks; else 503 with why.
- ``/readyz``: 200 when every readiness check passes, else 503; the JSON body gives each
  check, e.g. ``{"ready": false, "checks": {"database": {"ok": false, "detail": "..."}}}``.
  The checks are computed on each request by the callable the service passes in.
- ``/metrics``: the Prometheus text exposition of the service's ``Metrics``.
- any other GET: the dashboard (``monitor.web``) when the service passes one in.
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import threading
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from monitor.config.settings import parse_listen
from monitor.domain.errors import ConfigError, Problem
from monitor.runtime.metrics import CONTENT_TYPE, Metrics
from monitor.service.logs import redact
from monitor.web.app import WebResponse

log = logging.getLogger(__name__)

CheckResult = tuple[bool, str]
"""One readiness check: whether it passes, and a human-readable detail."""

Readiness = Callable[[], Mapping[str, CheckResult]]
Liveness = Callable[[], CheckResult]

Web = Callable[[str, Mapping[str, str]], "WebResponse"]
"""The dashboard: (path and query, request headers) → response."""


_POLL_INTERVAL = 0.1  # how often serve_forever checks for shutdown; bounds close() latency


class HealthServer:
    """A running health server. ``close()`` (or leaving the ``with`` block) stops it."""

    def __init__(self, server: _Server, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        """The port listened on (the one the OS chose when ``listen`` asked for port 0)."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL for clients, e.g. ``http://127.0.0.1:8080``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def close(self) -> None:
        """Stop serving and release the port. Safe to call twice."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> HealthServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def start_health_server(
    listen: str,
    readiness: Readiness,
    metrics: Metrics,
    *,
    liveness: Liveness | None = None,
    web: Web | None = None,
) -> HealthServer:
    """Listen on ``listen`` ("host:port", port 0 for any) and serve in a daemon thread.

    Raises ConfigError when ``listen`` is malformed or the address cannot be bound.
    """
    try:
        host, port = parse_listen(listen)
        family = _address_family(host, port)
        server = _Server(family, (host, port), _Handler)
    except (ValueError, OSError) as e:
        raise ConfigError([Problem("http.listen", None, f"cannot listen on {listen}: {e}")]) from e
    server.readiness = readiness
    server.metrics = metrics
    server.liveness = liveness
    server.web = web
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": _POLL_INTERVAL},
        name="newsmon-http",
        daemon=True,
    )
    thread.start()
    health = HealthServer(server, thread)
    log.info("HTTP endpoints listening", extra={"url": health.url})
    return health


def _address_family(host: str, port: int) -> socket.AddressFamily:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    return infos[0][0]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    readiness: Readiness
    metrics: Metrics
    liveness: Liveness | None
    web: Web | None

    def __init__(
        self,
        family: socket.AddressFamily,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
    ) -> None:
        self.address_family = family
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, a DNS lookup we do not need.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "newsmon"
    timeout = 10  # seconds a client may take to send its request

    def do_GET(self) -> None:
        self._respond(head=False)

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def _respond(self, *, head: bool) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            status, ctype, body = _healthz(self.server.liveness)
        elif path == "/readyz":
            status, ctype, body = _readyz(self.server.readiness)
        elif path == "/metrics":
            status, ctype, body = HTTPStatus.OK, CONTENT_TYPE, self.server.metrics.render()
        elif self.server.web is not None:
            self._respond_web(self.server.web, head=head)
            return
        elif path == "/":
            status, ctype, body = HTTPStatus.OK, "text/plain; charset=utf-8", _INDEX
        else:
            status, ctype, body = HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _respond_web(self, web: Web, *, head: bool) -> None:
        try:
            page = web(self.path, dict(self.headers.items()))
        except Exception:  # a broken page must answer 500, not drop the connection
            log.exception("dashboard page failed", extra={"path": self.path})
            page = WebResponse(500, b"internal error\n", "text/plain; charset=utf-8")
        self.send_response(page.status)
        self.send_header("Content-Type", page.content_type)
        self.send_header("Content-Length", str(len(page.body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", _CSP)
        for name, value in page.headers:
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(page.body)

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        log.debug("HTTP %s", format % args, extra={"client": self.client_address[0]})


# Pages carry no script: even an unescaped title could run nothing.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'"
_INDEX = b"newsmon\n/healthz  liveness\n/readyz   readiness (JSON)\n/metrics  Prometheus metrics\n"


def _healthz(liveness: Liveness | None) -> tuple[HTTPStatus, str, bytes]:
    try:
        alive, detail = liveness() if liveness else (True, "ok")
    except Exception as e:  # a broken check must answer "not alive", not kill the handler
        log.exception("liveness check failed")
        alive, detail = False, f"liveness check raised {type(e).__name__}: {e}"
    status = HTTPStatus.OK if alive else HTTPStatus.SERVICE_UNAVAILABLE
    return status, "text/plain; charset=utf-8", f"{detail}\n".encode()


def _readyz(readiness: Readiness) -> tuple[HTTPStatus, str, bytes]:
    try:
        checks = {name: (bool(ok), str(detail)) for name, (ok, detail) in readiness().items()}
    except Exception as e:  # a broken check must answer "not ready", not kill the handler
        log.exception("readiness check failed")
        checks = {"readiness": (False, f"readiness check raised {type(e).__name__}: {e}")}
    ready = all(ok for ok, _ in checks.values())
    doc = {
        "ready": ready,
        "checks": {
            name: {"ok": ok, "detail": redact(detail)} for name, (ok, detail) in checks.items()
        },
    }
    body = (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode()
    status = HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE
    return status, "application/json", body
