"""Group commit for the cycle's writes: poll outcomes (``FeedWriter``) and new entries
(``EntryWriter``) that arrive while a write is in progress go together in the next one.

Each caller still gets back only when its own request is committed, so a finished poll has
been recorded and a stored entry has its alerts (the outbox guarantee) exactly as with one
transaction per feed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Generic, TypeVar

from monitor.alerting.plan import Routing
from monitor.pipeline.ingest import Ingested, NewEntry, record_entries
from monitor.runtime.app import App
from storage import queries

STORE_CHUNK = 400  # entries per transaction: bounded lock time however large the feed

R = TypeVar("R")
T = TypeVar("T")


class _GroupWriter(Generic[R, T]):
    """Group commit: requests that arrive while a write is in progress wait together for
    the next one. Each caller still gets back only when its own request is written; how a
    group is cut and what a failure costs is the subclass's ``_write_pending``."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._pending: list[tuple[R, asyncio.Future[T]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def _submit(self, request: R) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_pending())
        return await future

    async def _write_pending(self) -> None:
        raise NotImplementedError


def _settle(future: asyncio.Future[T], outcome: T | BaseException) -> None:
    if future.done():  # the caller was cancelled meanwhile
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


_Poll = tuple[int, datetime, queries.PollRecord]


class FeedWriter(_GroupWriter[_Poll, None]):
    """Writes poll outcomes back to the feed rows, many per transaction (group commit).

    A warm cycle is almost all bookkeeping: one transaction per feed cost a commit (on
    SQLite a turn at the write lock) per feed. Outcomes that arrive while a write is in
    progress go together in the next one. Each poll still waits until its own row is
    committed, so a finished poll has been recorded, as before.
    """

    async def finish(self, feed_id: int, now: datetime, record: queries.PollRecord) -> None:
        """Record one poll's outcome and release its lease; returns once committed."""
        await self._submit((feed_id, now, record))

    async def _write_pending(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            outcome: Exception | None = None
            try:
                await asyncio.to_thread(self._write, [poll for poll, _ in batch])
            except Exception as exc:  # each poll handles it as its own failure
                outcome = exc
            for _, future in batch:
                _settle(future, outcome)

    def _write(self, polls: list[_Poll]) -> None:
        with self._app.sessions.begin() as session:
            queries.finish_polls(session, self._app.owner, polls)


_Stored = tuple[list[NewEntry], "asyncio.Future[list[Ingested]]"]


class EntryWriter(_GroupWriter[list[NewEntry], list[Ingested]]):
    """Stores the polls' new entries, several feeds' per transaction (group commit).

    In a cold cycle storing is the main process's largest cost, and one transaction per
    feed paid a commit (on SQLite, every index page the feed's stories touched, written
    again) and a turn at the store lock per feed, with the other feeds' threads waiting on
    it. Entries that arrive while a store is in progress go together in the next one, up to
    STORE_CHUNK entries per transaction. Each poll still waits until its own entries are
    committed, and a group that fails is stored again one feed at a time, so one feed's
    failure stays that feed's.
    """

    def __init__(self, app: App, routing: Routing | None = None) -> None:
        super().__init__(app)
        # the routing of the cycle's one version of the watchlists (default: the current)
        self._routing = routing or app.routing()

    async def store(self, entries: Sequence[NewEntry]) -> list[Ingested]:
        """Store one feed's new entries; returns once they are committed."""
        return await self._submit(list(entries))

    async def _write_pending(self) -> None:
        while self._pending:
            group: list[_Stored] = []
            size = 0
            while self._pending and (not group or size + len(self._pending[0][0]) <= STORE_CHUNK):
                group.append(self._pending.pop(0))
                size += len(group[-1][0])
            await self._write(group)

    async def _write(self, group: list[_Stored]) -> None:
        try:
            results = await asyncio.to_thread(
                _store,
                self._app,
                self._routing,
                [new for entries, _ in group for new in entries],
            )
        except Exception as exc:
            if len(group) > 1:  # rolled back: each feed again by itself
                for one in group:
                    await self._write([one])
                return
            _settle(group[0][1], exc)
            return
        start = 0
        for entries, future in group:
            _settle(future, results[start : start + len(entries)])
            start += len(entries)


def _store(app: App, routing: Routing, batch: Sequence[NewEntry]) -> list[Ingested]:
    """Store, a chunk of entries per transaction (each entry with its alerts, so the
    outbox guarantee holds); this replica's writes go one at a time."""
    stored: list[Ingested] = []
    for start in range(0, len(batch), STORE_CHUNK):
        with app.store_lock, app.sessions() as session:
            stored += record_entries(
                session,
                batch[start : start + STORE_CHUNK],
                routing=routing,
                now=app.clock.now(),
            )
    return stored
