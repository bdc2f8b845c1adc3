"""Feed parsing in worker processes, so that it runs on the cores the event loop does not.

feedparser is pure Python: in a worker thread it holds the GIL, so parsing a 50-item feed
(≈ 13 ms) competes with fetching, deduplication and storage for one core. Here bodies go
to a small process pool (one worker per core beyond the first; none on a single core, where
parsing stays in a thread). Shipping a body and its parsed entries costs ≈ 0.3 ms.

The pool starts on the first parse, so a warm cycle of 304s never pays for it, and lives
for the process. Workers exit as soon as it does, however it ends (a SIGKILL included):
they would otherwise linger, holding its stdout/stderr pipes and their memory. Workers are
spawned, not forked: the service process has threads and database connections a fork
would copy mid-use. A worker that dies (a crash in a C extension) costs only its feed a
retry in a thread; the next parse starts a new pool, up to ``MAX_BREAKS`` times.

Spawned workers import the main module as Python's multiprocessing does: the ``newsmon``
command and ``python -m monitor`` are fine; a script that runs a cycle must guard its
top level with ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial

from monitor.model import ParsedFeed
from monitor.parse import parse_feed

__all__ = ["parse", "shutdown", "workers"]

log = logging.getLogger("newsmon.parse")

MAX_WORKERS = 4
MAX_BREAKS = 3  # pools lost before parsing stays in threads for good (workers cannot start)

_pool: ProcessPoolExecutor | None = None
_breaks = 0
_lock = threading.Lock()


def workers() -> int:
    """Parse processes to use: the usable cores but one (left to the event loop)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return min(MAX_WORKERS, cores - 1)


async def parse(body: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed:
    """``parse_feed`` in a worker process (in a thread where there is no spare core)."""
    work = partial(parse_feed, body, url=url, content_type=content_type)
    pool = _get_pool()
    if pool is None:
        return await asyncio.to_thread(work)
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, work)
    except BrokenProcessPool:
        log.warning(
            "a feed parser process died; parsing this feed in a thread", extra={"feed": url}
        )
        _discard(pool)
        return await asyncio.to_thread(work)


def shutdown() -> None:
    """Stop the workers (they also stop when this process exits)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _get_pool() -> ProcessPoolExecutor | None:
    global _pool
    with _lock:
        if _pool is None and _breaks < MAX_BREAKS and (count := workers()) > 0:
            context = multiprocessing.get_context("spawn")
            _pool = ProcessPoolExecutor(count, mp_context=context, initializer=_exit_with_parent)
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool, _breaks
    with _lock:
        if _pool is pool:
            _pool = None
            _breaks += 1
            if _breaks == MAX_BREAKS:
                log.error("feed parser processes keep dying; parsing in threads from now on")
    pool.shutdown(wait=False, cancel_futures=True)


def _exit_with_parent() -> None:
    """In each worker: exit the moment the parent process is gone (its sentinel closes)."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
