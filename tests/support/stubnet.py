"""A network that answers from memory, behind newsmon's real guard: no packet leaves.

``StubBackend`` stands where httpcore would open sockets. It records every address a
connection goes to, answers an address found in ``replies`` with those bytes, connects to
127.0.0.1 for real when ``loopback`` is set, and otherwise hangs like a SYN never answered.
``stub_resolver`` is the DNS: a table, and "no such name" for anything not in it.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import httpcore
import httpx

from monitor.config.settings import FetchConfig
from monitor.sources.fetch import Fetcher
from monitor.sources.netguard import GuardedBackend, guarded_transport

Resolver = Callable[[str, int], Awaitable[list[str]]]


class StubStream(httpcore.AsyncNetworkStream):
    """Plays back ``reply`` and keeps what was sent in ``sent``."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.sent = b""

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data, self.reply = self.reply[:max_bytes], self.reply[max_bytes:]
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.sent += buffer

    async def aclose(self) -> None:
        pass


class StubBackend(httpcore.AsyncNetworkBackend):
    """Records ``(address, port)`` of every connection and answers from ``replies``."""

    def __init__(self, replies: Mapping[str, bytes] | None = None, loopback: bool = False) -> None:
        self.replies = dict(replies or {})
        self.loopback = loopback
        self.connects: list[tuple[str, int]] = []
        self._real = httpcore.AnyIOBackend()

    @property
    def hosts(self) -> list[str]:
        """The addresses connected to, in order, without ports."""
        return [host for host, _ in self.connects]

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self.loopback and host == "127.0.0.1":
            return await self._real.connect_tcp(host, port, timeout, local_address, socket_options)
        self.connects.append((host, port))
        if host not in self.replies:
            await asyncio.Event().wait()  # never set: the client's connect timeout ends this
        return StubStream(self.replies[host])

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def http_response(body: bytes, status: str = "200 OK", **headers: str) -> bytes:
    """The bytes of one HTTP/1.1 response that closes its connection."""
    head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode() + b"\r\n" + body


def stub_resolver(table: Mapping[str, list[str]]) -> Resolver:
    """A resolver answering from ``table``; any other name fails as DNS would."""

    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


def stub_fetcher(
    backend: StubBackend, resolver: Resolver, config: FetchConfig | None = None
) -> Fetcher:
    """A Fetcher whose connections pass newsmon's guard and then reach ``backend``."""
    config = config or FetchConfig()
    guard = GuardedBackend(
        allow_private_networks=config.allow_private_networks, resolver=resolver, inner=backend
    )
    transport = guarded_transport(guard, limits=httpx.Limits(max_connections=10))
    return Fetcher(config, transport=transport)
