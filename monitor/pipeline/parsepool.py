"""Feed parsing and entry analysis in worker processes, on the cores the event loop does
not use.

feedparser, URL canonicalisation, watchlist matching, figure extraction and MinHash are
pure Python: in a worker thread they hold the GIL, so a new 50-item feed (≈ 13 ms to
parse, 3 ms to key, 25 ms to analyse) competes with fetching and storage for one core.
Here they go to a small process pool (see ``workers``; none on a single core, where they
stay in a thread), in two calls per feed:

- ``parse_keyed``: the body in, its entries with their identity keys out (the database
  then says which are new);
- ``analyse``: only the *new* entries' articles in (a feed that changed but carries
  nothing new pays for nothing more), matches, figures, text hash, sketch and band keys
  out.

Analysis needs the compiled watchlists, which are reloaded live. Each task carries the
version's ``generation`` and its pickled matcher and extractor (``Compiled.pickled``,
pickled once per version in this process); a worker unpickles them only when the
generation differs from the one it holds, so a reload reaches every worker with its
next task and costs each one unpickling once. The shipped watchlists pickle to 38 KB
(1 ms to pickle, 13 ms to unpickle); with 200 generated ones added, 630 KB (20 ms,
140 ms), which costs this process ≈ 0.3 ms per task to send: little enough not to track
which worker holds which version.

The pool serves its queue in order, so parses are handed to it a few at a time
(``PARSES_PER_WORKER``): an analysis, which a store waits for, then never queues behind
every feed of a cold cycle.

The pool starts on the first task, so a warm cycle of 304s never pays for it, and lives
for the process. Workers exit as soon as it does, however it ends (a SIGKILL included):
they would otherwise linger, holding its stdout/stderr pipes and their memory. Workers are
spawned, not forked: the service process has threads and database connections a fork
would copy mid-use. A worker that dies (a crash in a C extension, the kernel's OOM
killer) takes every task it had queued with it: each is tried again alone, in a process of
its own. One that kills that process too is the cause: its feed fails with a FetchError,
the input is remembered (by hash) and refused from then on, and it is never tried in this
process — which it would kill in turn, and on restart again. The next task starts a new
pool, up to ``MAX_BREAKS`` times.

Article pages are extracted here too (``extract_article``), cut to ``ARTICLE_MAX_BYTES``:
trafilatura took 27 s on one 8 MB page, and on the event loop that stalled every feed. A
parse or an extraction that runs past ``PARSE_TIMEOUT`` has its worker stopped, and its
input is refused as a killer's is.

Spawned workers import the main module as Python's multiprocessing does: the ``newsmon``
command and ``python -m monitor`` are fine; a script that runs a cycle must guard its
top level with ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import pickle
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from monitor.analysis.analyse import Analysis, analyse_all
from monitor.analysis.figures import FigureExtractor
from monitor.analysis.matching import Matcher
from monitor.domain.errors import FetchError
from monitor.domain.model import Article, ParsedFeed
from monitor.identity.keys import KeyedEntry, key_entries
from monitor.parse.feeds import parse_feed

if TYPE_CHECKING:
    from monitor.runtime.app import Compiled

__all__ = ["KeyedFeed", "analyse", "extract_article", "parse", "parse_keyed", "shutdown", "workers"]

T = TypeVar("T")

log = logging.getLogger("newsmon.parse")

MAX_WORKERS = 4
# A few parses queued per worker keep it busy while this process, busy storing, is slow
# to hand it the next; an analysis waits behind at most these (≈ 15 ms each).
PARSES_PER_WORKER = 4
MAX_BREAKS = 3  # pools lost before parsing stays in threads for good (workers cannot start)
ARTICLE_MAX_BYTES = 2_000_000  # of an article page's HTML handed to trafilatura
PARSE_TIMEOUT = 120.0  # seconds a worker may spend on one feed body or article page

_pool: ProcessPoolExecutor | None = None
_breaks = 0
_lock = threading.Lock()
_parse_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)
# In a worker: the generation of compiled watchlists last received, unpickled.
_analysers: tuple[int, Matcher, FigureExtractor] | None = None
# Digests of inputs that killed a worker process: refused, never tried again anywhere.
_killers: set[str] = set()


@dataclass(frozen=True, slots=True)
class KeyedFeed:
    """A parsed feed and its entries, each once, with identity keys and outlet."""

    parsed: ParsedFeed
    entries: list[KeyedEntry]


def workers() -> int:
    """Worker processes to use: the usable cores but one (left to the event loop)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return min(MAX_WORKERS, cores - 1)


async def parse(body: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed:
    """``parse_feed`` in a worker process (in a thread where there is no spare core)."""
    work = partial(parse_feed, body, url=url, content_type=content_type)
    return await _run(work, work, url, input_key=_digest(body))


async def parse_keyed(
    body: bytes, *, url: str, content_type: str | None, feed_outlet: str | None
) -> KeyedFeed:
    """``parse_feed`` and ``key_entries`` in a worker process (or a thread)."""
    work = partial(_parse_keyed, body, url, content_type, feed_outlet)
    async with _parse_slot():
        return await _run(work, work, url, input_key=_digest(body))


async def extract_article(html: bytes, url: str) -> str | None:
    """``extract_article_text`` of the page's first ``ARTICLE_MAX_BYTES``, in a worker
    process (or a thread): never on the event loop."""
    work = partial(_extract_article, html[:ARTICLE_MAX_BYTES], url)
    return await _run(work, work, url, input_key=_digest(html))


def _extract_article(html: bytes, url: str) -> str | None:
    from monitor.parse.article import extract_article_text  # trafilatura: only where it is used

    return extract_article_text(html, url)


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


async def analyse(compiled: Compiled, articles: Sequence[Article], *, feed: str) -> list[Analysis]:
    """Each article analysed with ``compiled``, in a worker process (or a thread)."""
    if not articles:
        return []
    in_thread = partial(analyse_all, compiled.matcher, compiled.extractor, articles)
    if _get_pool() is None:  # no pickling needed
        return await asyncio.to_thread(in_thread)
    in_worker = partial(_analyse, compiled.generation, compiled.pickled, articles)
    return await _run(in_worker, in_thread, feed)


def _parse_slot() -> asyncio.Semaphore:
    """Parses handed to the pool at a time (per event loop). The pool serves its queue in
    order, and a cold cycle fetches every feed at once: unbounded, the analyses the store
    waits for queued behind every feed's parse, and the store sat idle until the last
    feed was parsed (200 feeds: the first store after 11 s instead of 2 s)."""
    loop = asyncio.get_running_loop()
    slots = _parse_slots.get(loop)
    if slots is None:
        slots = _parse_slots[loop] = asyncio.Semaphore(PARSES_PER_WORKER * max(1, workers()))
    return slots


def _parse_keyed(
    body: bytes, url: str, content_type: str | None, feed_outlet: str | None
) -> KeyedFeed:
    parsed = parse_feed(body, url=url, content_type=content_type)
    return KeyedFeed(parsed, key_entries(parsed.entries, feed_outlet))


def _analyse(generation: int, pickled: bytes, articles: Sequence[Article]) -> list[Analysis]:
    """In a worker: unpickle the watchlists only when their generation changed."""
    global _analysers
    if _analysers is None or _analysers[0] != generation:
        matcher, extractor = pickle.loads(pickled)  # noqa: S301 -- pickled by our parent
        _analysers = (generation, matcher, extractor)
    _, matcher, extractor = _analysers
    return analyse_all(matcher, extractor, articles)


async def _run(
    in_worker: Callable[[], T],
    in_thread: Callable[[], T],
    feed: str,
    *,
    input_key: str | None = None,
) -> T:
    """``in_worker`` in the pool; in a thread (``in_thread``) without one.

    With ``input_key`` (the input is the feed's own: a body, a page), a worker that died
    doing it is followed by one retry alone in a process of its own, never in this
    process; otherwise (an analysis of stored entries) by a retry in a thread."""
    if input_key is not None and input_key in _killers:
        raise FetchError(f"refused: this input killed a worker process before: {feed}")
    pool = _get_pool()
    if pool is None:
        return await asyncio.to_thread(in_thread)
    try:
        return await _in(pool, in_worker, input_key, feed)
    except BrokenProcessPool:
        _discard(pool)
        if input_key is None:
            log.warning("a worker process died; analysing in a thread", extra={"feed": feed})
            return await asyncio.to_thread(in_thread)
    log.warning("a worker process died; trying this feed alone", extra={"feed": feed})
    context = multiprocessing.get_context("spawn")
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(1, mp_context=context, initializer=_exit_with_parent) as single:
        try:
            await loop.run_in_executor(single, int)
        except BrokenProcessPool:  # no worker can start at all: nothing to blame the input for
            return await asyncio.to_thread(in_thread)
        try:
            return await _in(single, in_worker, input_key, feed, alone=True)
        except BrokenProcessPool:
            _killers.add(input_key)
    log.error("this feed's input kills the process parsing it; refused", extra={"feed": feed})
    raise FetchError(f"refused: parsing this input killed a worker process: {feed}")


async def _in(
    pool: ProcessPoolExecutor,
    work: Callable[[], T],
    input_key: str | None,
    feed: str,
    *,
    alone: bool = False,
) -> T:
    """``work`` in ``pool``; a feed's own input for at most ``PARSE_TIMEOUT`` seconds. Past
    that the pool's workers are stopped: in the shared pool every task waiting is then
    tried again alone (BrokenProcessPool, as when a worker dies: time spent queued behind
    a stuck parse is not its own); alone, the input is refused from then on."""
    future = asyncio.get_running_loop().run_in_executor(pool, work)
    if input_key is None:
        return await future
    try:
        return await asyncio.wait_for(future, PARSE_TIMEOUT)
    except TimeoutError:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
        if not alone:
            raise BrokenProcessPool("a worker ran past PARSE_TIMEOUT") from None
        _killers.add(input_key)
        log.error("parsing this feed's input took too long; refused", extra={"feed": feed})
        raise FetchError(
            f"refused: parsing this input took longer than {PARSE_TIMEOUT:.0f} s: {feed}"
        ) from None


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
                log.error("worker processes keep dying; parsing in threads from now on")
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
