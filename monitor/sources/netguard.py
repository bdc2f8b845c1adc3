"""SSRF guard: feed and article URLs must not reach the service's own network.

A feed list or an article link can point at ``http://169.254.169.254/`` (cloud metadata),
``http://localhost:5432/`` or a name that *resolves* to one. The guard sits where the
connection is made — an httpcore network backend — so it sees every hop of every redirect
and every connection the pool opens:

1. resolve the host with an injectable resolver (default: the event loop's getaddrinfo);
2. refuse with :class:`~monitor.domain.errors.FetchError` (``permanent=True``) when *any* address
   is loopback, private, link-local, multicast, reserved, unspecified, CGNAT or otherwise
   not globally routable — IPv4 and IPv6, including addresses embedded in IPv4-mapped,
   NAT64, 6to4 and Teredo IPv6;
3. connect to the address that was checked (never resolving again, so there is no DNS
   rebinding window). TLS still verifies and sends SNI for the hostname: httpcore passes
   the origin's hostname to ``start_tls``, not the address we connected to.

With ``allow_private_networks`` the check is skipped but resolution and connection are
the same, so both modes behave alike. Proxies are not supported: the fetcher creates its
client with ``trust_env=False``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import select
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
import httpx
from httpcore import AsyncConnectionInterface

from monitor.domain.errors import FetchError

__all__ = ["GuardedBackend", "Resolver", "guarded_transport", "is_public_address", "resolve"]

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""``await resolver(host, port)`` → the host's addresses as strings (IPv4 or IPv6)."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


async def resolve(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the running loop's getaddrinfo (TCP addresses, in order)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[str, None] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        seen.setdefault(str(sockaddr[0]), None)
    return list(seen)


def is_public_address(address: str | IPAddress) -> bool:
    """True when ``address`` is globally routable unicast (safe to fetch from)."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d on the wire
            return is_public_address(ip.ipv4_mapped)
        embedded = _embedded_ipv4(ip)
        if embedded is not None and not is_public_address(embedded):
            return False
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip in _CGNAT
        or not ip.is_global
    )


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore backend that resolves, checks, then connects to the checked address."""

    def __init__(
        self,
        *,
        allow_private_networks: bool = False,
        resolver: Resolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.allow_private_networks = allow_private_networks
        self._resolve = resolver or resolve
        self._inner = inner or httpcore.AnyIOBackend()

    async def addresses_for(self, host: str, port: int) -> list[str]:
        """The addresses a connection to ``host`` may use; FetchError when refused."""
        host = host.strip("[]")
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = await self._resolve(host, port)
            except (OSError, UnicodeError) as exc:
                raise FetchError(f"DNS lookup failed for {host}: {_reason(exc)}") from exc
            if not addresses:
                raise FetchError(f"DNS lookup failed for {host}: no addresses")
        if not self.allow_private_networks:
            for address in addresses:
                if not is_public_address(address.split("%")[0]):
                    raise FetchError(
                        f"refused {host}: it resolves to {address}, a private, loopback "
                        "or reserved address (set fetch.allow_private_networks to allow)",
                        permanent=True,
                    )
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.addresses_for(host, port)
        last_error: Exception | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
                return _Stream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise FetchError("unix sockets are not allowed", permanent=True)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _Stream(httpcore.AsyncNetworkStream):
    """A connection's stream, with its socket looked up once.

    Before each request it schedules, the pool asks every idle connection whether its
    socket is readable (a server-side close). anyio answers by building a dict of socket
    attributes and calling getpeername, every time: at 50 keep-alive connections that was
    most of httpx's CPU per request. Here the socket is fetched once and polled directly.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: socket.socket | None = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            return _is_readable(self._socket)
        if info == "socket":
            return self._socket
        return self._inner.get_extra_info(info)


def _is_readable(sock: socket.socket) -> bool:
    """True when a read would not block: data, or the end of the stream (or a closed socket)."""
    fd = sock.fileno()
    if fd < 0:
        return True
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(0))


class _Pool(httpcore.AsyncConnectionPool):
    """httpcore's pool with its bookkeeping made cheap at many connections.

    Each time a request comes or goes, httpcore 1.0 checks every connection for expiry
    (a ``poll`` of each idle socket, for a server-side close) and recounts all connections
    for every idle one (``len([... for c in connections])`` in the loop): at 50 keep-alive
    connections that was most of httpx's CPU per request. Here a connection is checked
    when it is about to be reused, and the whole pool is swept for expired connections at
    most every ``SWEEP_SECONDS``; the count is ``len()``. What the pool decides is the
    same: no request goes out on a connection the server closed, idle connections expire
    after ``keepalive_expiry``, and the limits hold (tests/test_fetch.py).
    """

    SWEEP_SECONDS = 1.0
    _next_sweep = 0.0

    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        closing: list[AsyncConnectionInterface] = []
        now = time.monotonic()
        sweep = now >= self._next_sweep
        if sweep:
            self._next_sweep = now + self.SWEEP_SECONDS
        for connection in list(self._connections):
            if connection.is_closed():
                self._connections.remove(connection)
                continue
            surplus = len(self._connections) > self._max_keepalive_connections
            if (sweep and connection.has_expired()) or (connection.is_idle() and surplus):
                self._connections.remove(connection)
                closing.append(connection)
        for pool_request in [r for r in self._requests if r.is_queued()]:
            origin = pool_request.request.url.origin
            available = self._reusable(origin, closing)
            if available is not None:
                pool_request.assign_to_connection(available)
                continue
            if len(self._connections) >= self._max_connections:
                idle = next((c for c in self._connections if c.is_idle()), None)
                if idle is None:
                    continue  # stays queued until a connection frees up
                self._connections.remove(idle)
                closing.append(idle)
            connection = self.create_connection(origin)
            self._connections.append(connection)
            pool_request.assign_to_connection(connection)
        return closing

    def _reusable(
        self, origin: httpcore.Origin, closing: list[AsyncConnectionInterface]
    ) -> AsyncConnectionInterface | None:
        """A connection that can take a request to ``origin`` now; expired ones found on
        the way are moved to ``closing``."""
        for connection in list(self._connections):
            if not (connection.can_handle_request(origin) and connection.is_available()):
                continue
            if connection.is_idle() and connection.has_expired():
                self._connections.remove(connection)
                closing.append(connection)
                continue
            return connection
        return None


def guarded_transport(
    backend: GuardedBackend,
    *,
    limits: httpx.Limits,
    verify: ssl.SSLContext | bool = True,
) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connection pool connects only through ``backend``.

    httpx does not expose the pool's network backend, so the transport's pool is replaced
    by an equivalent one built with ``backend`` (covered by tests: if httpx renames
    ``_pool``, the loopback refusal test fails).
    """
    context = httpx.create_ssl_context(verify=verify, trust_env=False)  # loaded once
    transport = httpx.AsyncHTTPTransport(verify=context, limits=limits, trust_env=False)
    transport._pool = _Pool(
        ssl_context=context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=backend,
    )
    return transport


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror) and exc.args and len(exc.args) > 1:
        return str(exc.args[1])
    return str(exc) or type(exc).__name__
