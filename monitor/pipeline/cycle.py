"""One poll of one feed, and one full cycle over all feeds.

scheduler → fetch → parse + identity → the database says what is new → (article fetch) →
match + extract + story sketch → store, compare figures, record alerts → deliver. Only
fetch, store and deliver do I/O; the pure steps between run in ``monitor.pipeline.parsepool``'s
worker processes.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from monitor.alerting.baseline import Baseline, OldNews
from monitor.alerting.delivery import Waiting, deliver_waiting
from monitor.analysis.analyse import Analysis
from monitor.analysis.figures.languages.detect import detect_language
from monitor.config.settings import Config, FetchConfig
from monitor.domain.errors import FetchError
from monitor.domain.model import Article, ClaimedFeed, Entry
from monitor.domain.text import normalise_whitespace
from monitor.identity.keys import EntryKeys, KeyedEntry
from monitor.identity.urls import outlet_of
from monitor.parse.article import needs_article
from monitor.pipeline import parsepool
from monitor.pipeline.ingest import Ingested, NewEntry
from monitor.pipeline.writers import EntryWriter, FeedWriter
from monitor.runtime.app import App, Compiled
from monitor.runtime.metrics import Metrics, PollOutcome
from monitor.sources.fetch import ARTICLE_ACCEPT, Fetcher, FetchResult
from monitor.sources.schedule import IDLE_DIVISOR, Bounds, failure_delay, is_flagged, success_delay
from storage import queries

log = logging.getLogger("newsmon.cycle")

FEED_LEASE_MIN = 300.0


@dataclass
class PollResult:
    feed: str
    outcome: PollOutcome
    entries: int = 0
    new: int = 0
    alerts: int = 0
    error: str | None = None
    baseline: int = 0  # new entries stored as old news: history, no alerts


@dataclass
class CycleReport:
    polls: list[PollResult] = field(default_factory=list)
    delivered: int = 0
    failed: int = 0
    waiting: list[Waiting] = field(default_factory=list)  # alerts still to go, per channel

    @property
    def new_items(self) -> int:
        return sum(p.new for p in self.polls)

    @property
    def baseline(self) -> int:
        return sum(p.baseline for p in self.polls)


def _bounds(fetch: FetchConfig) -> Bounds:
    return Bounds(fetch.min_interval, fetch.max_interval, fetch.idle_interval)


def _newest_items(
    readers: sessionmaker[Session], idle: float | None, now: datetime
) -> dict[int, datetime]:
    """Per feed, when it last gave a new item, for feeds that did within the adaptive
    horizon (idle_interval × IDLE_DIVISOR). One grouped query for a whole batch of polls:
    the horizon is scanned once instead of once per feed."""
    if idle is None:
        return {}
    horizon = now - timedelta(seconds=idle * IDLE_DIVISOR)
    with readers() as session:
        return queries.newest_items(session, horizon)


POLLS_PER_FETCH = 2  # polls in flight per fetch slot (fetch.concurrency)


@dataclass
class PollBatch:
    """What the polls of one claimed batch of feeds share: the feed-row and entry writers,
    when each feed last gave a new item (for the adaptive interval), and the slots that
    bound how many polls are past their fetch at once.

    Without ``slots`` a cold cycle fetched faster than it parsed and stored: every feed's
    body, entries and analyses waited in memory together (1,000 feeds: 493 MB). With them
    a cycle streams, a bounded number of feeds between fetch and store at any time.
    """

    writer: FeedWriter
    entries: EntryWriter
    newest: dict[int, datetime]
    slots: asyncio.Semaphore
    # The cycle's one version of the watchlists: a live reload in the middle of a cycle
    # takes effect at the next one, never between an entry's matching and its routing.
    compiled: Compiled

    @classmethod
    async def start(cls, app: App) -> PollBatch:
        newest = await asyncio.to_thread(
            _newest_items, app.readers, app.config.fetch.idle_interval, app.clock.now()
        )
        slots = asyncio.Semaphore(POLLS_PER_FETCH * app.config.fetch.concurrency)
        compiled = app.compiled
        entries = EntryWriter(app, app.routing(compiled))
        return cls(FeedWriter(app), entries, newest, slots, compiled)

    def quiet_for(self, feed: ClaimedFeed, now: datetime) -> float | None:
        """Seconds since this feed last gave a new item (None: not within the horizon)."""
        newest = self.newest.get(feed.id)
        return None if newest is None else max(0.0, (now - newest).total_seconds())


def _quiet_for(
    idle: float | None, feed: ClaimedFeed, batch: PollBatch, now: datetime
) -> float | None:
    return 0.0 if idle is None else batch.quiet_for(feed, now)


def feed_lease(config: Config) -> float:
    """Long enough for a slow poll with its article fetches; expires if the replica dies."""
    if config.leases.feed is not None:
        return config.leases.feed
    return max(FEED_LEASE_MIN, config.fetch.timeout * 10)


async def poll_feed(
    app: App, fetcher: Fetcher, feed: ClaimedFeed, batch: PollBatch | None = None
) -> PollResult:
    """Poll one claimed feed, store what is new, and release the lease with the outcome."""
    started = time.monotonic()
    batch = batch or await PollBatch.start(app)
    url = feed.fetch_url or feed.url
    renewal = asyncio.create_task(_keep_lease(app, feed))
    try:
        async with batch.slots:
            result = await fetcher.fetch(
                url, etag=feed.etag, last_modified=feed.last_modified, allow_file=True
            )
            outcome = await _process(app, fetcher, feed, batch, result)
    except FetchError as exc:
        outcome = await _failed_or_released(app, feed, batch, exc)
    except Exception as exc:  # one broken feed never stops the others
        log.exception("unexpected error polling feed", extra={"feed": feed.url})
        error = FetchError(f"internal error: {type(exc).__name__}: {exc}")
        outcome = await _failed_or_released(app, feed, batch, error)
    finally:
        renewal.cancel()
    app.metrics.poll(outcome.outcome, time.monotonic() - started)
    return outcome


async def _process(
    app: App, fetcher: Fetcher, feed: ClaimedFeed, batch: PollBatch, result: FetchResult
) -> PollResult:
    now, idle = app.clock.now(), app.config.fetch.idle_interval
    asked = feed.server_interval  # learned from the last full response: a 304 has no <ttl>
    delay = success_delay(
        feed.interval_seconds,
        _bounds(app.config.fetch),
        ttl=asked,
        max_age=result.cache_max_age,
        quiet_for=_quiet_for(idle, feed, batch, now),
    )
    if result.not_modified or result.body is None:
        await _finish(app, feed, batch, now, delay=delay, result=result,
                      body_hash=feed.body_hash, server_interval=asked)  # fmt: skip
        return PollResult(feed.url, "not_modified")
    body_hash = hashlib.sha256(result.body).hexdigest()
    if body_hash == feed.body_hash:  # many servers ignore conditional requests
        await _finish(app, feed, batch, now, delay=delay, result=result,
                      body_hash=body_hash, server_interval=asked)  # fmt: skip
        return PollResult(feed.url, "unchanged")
    keyed = await parsepool.parse_keyed(
        result.body,
        url=result.final_url,
        content_type=result.content_type,
        feed_outlet=feed.name or outlet_of(feed.url),
    )
    parsed = keyed.parsed
    stored = await ingest_entries(app, fetcher, feed, batch, keyed.entries)
    new, alerts, baseline = stored.new, stored.alerts, stored.baseline
    delay = success_delay(
        feed.interval_seconds,
        _bounds(app.config.fetch),
        ttl=parsed.ttl_seconds,
        max_age=result.cache_max_age,
        quiet_for=0.0 if new else _quiet_for(idle, feed, batch, app.clock.now()),
    )
    warning = f"parsed with errors: {parsed.error}" if parsed.error else None
    await _finish(
        app,
        feed,
        batch,
        now,
        delay=delay,
        result=result,
        body_hash=body_hash,
        warning=warning,
        stored=stored,
        server_interval=max(parsed.ttl_seconds or 0, result.cache_max_age or 0) or None,
    )
    log.info(
        "polled feed: %d entries, %d new (%d old news, no alerts), %d alerts",
        len(parsed.entries),
        new,
        baseline,
        alerts,
        extra={"feed": feed.url},
    )
    return PollResult(feed.url, "ok", len(parsed.entries), new, alerts, baseline=baseline)


async def _finish(
    app: App,
    feed: ClaimedFeed,
    batch: PollBatch,
    now: datetime,
    *,
    delay: float,
    result: FetchResult,
    body_hash: str | None,
    warning: str | None = None,
    stored: Stored | None = None,
    server_interval: float | None = None,
) -> None:
    record = queries.PollRecord(
        ok=True,
        status=result.status,
        error=warning,
        next_poll_at=now + timedelta(seconds=delay),
        etag=result.etag or feed.etag,
        last_modified=result.last_modified or feed.last_modified,
        body_hash=body_hash,
        fetch_url=result.permanent_redirect,
        baseline=stored.baseline if stored else 0,
        parsed=stored is not None,
        carried=stored.carried if stored else (),
        server_interval=server_interval,
    )
    if result.permanent_redirect:
        log.warning(
            "feed moved permanently to %s", result.permanent_redirect, extra={"feed": feed.url}
        )
    await batch.writer.finish(feed.id, now, record)


async def _keep_lease(app: App, feed: ClaimedFeed) -> None:
    """Renew the lease on ``feed`` every third of its length while it is being polled: a
    poll that outlived its lease (many new entries, slow article pages) had a concurrent
    twin in another replica, fetching and storing the same feed again."""
    lease = feed_lease(app.config)
    while True:
        await asyncio.sleep(lease / 3)
        try:
            kept = await asyncio.to_thread(_renew, app, feed.id, lease)
        except Exception as exc:  # the database is away: the next renewal may get through
            log.warning("could not renew the feed's lease: %s", exc, extra={"feed": feed.url})
            continue
        if not kept:
            log.warning("lost the lease on a feed being polled", extra={"feed": feed.url})
            return


def _renew(app: App, feed_id: int, lease: float) -> bool:
    with app.sessions.begin() as session:
        return queries.renew_feed(
            session, feed_id, app.owner, app.clock.now() + timedelta(seconds=lease)
        )


RELEASE_RETRIES = (0.5, 1.0, 2.0, 4.0, 8.0)  # seconds between attempts to give a lease up


async def _failed_or_released(
    app: App, feed: ClaimedFeed, batch: PollBatch, exc: FetchError
) -> PollResult:
    """_failed; when even that cannot be recorded (the database is down), the lease is
    given up as soon as the database answers again, so the feed is not locked out of the
    next cycles for the lease's length, and the poll reports why."""
    try:
        return await _failed(app, feed, batch, exc)
    except Exception as db_error:  # reported as this feed's outcome
        error = f"not recorded (database error: {type(db_error).__name__}): {exc}"
        log.error("poll could not be recorded: %s", error, extra={"feed": feed.url})
        for pause in RELEASE_RETRIES:
            try:
                await asyncio.to_thread(_release, app.sessions, app.owner, feed.id)
                break
            except Exception:  # still down: wait and try again
                await asyncio.sleep(pause)
        return PollResult(feed.url, "error", error=error)


def _release(sessions: sessionmaker[Session], owner: str, feed_id: int) -> None:
    with sessions.begin() as session:
        queries.release_feed(session, feed_id, owner)


async def _failed(app: App, feed: ClaimedFeed, batch: PollBatch, exc: FetchError) -> PollResult:
    now = app.clock.now()
    failures = feed.consecutive_failures + 1
    delay = failure_delay(
        feed.interval_seconds, failures, _bounds(app.config.fetch), retry_after=exc.retry_after
    )
    record = queries.PollRecord(
        ok=False,
        status=exc.status,
        error=str(exc),
        next_poll_at=now + timedelta(seconds=delay),
        gone=exc.permanent and exc.status == 410,
    )
    await batch.writer.finish(feed.id, now, record)
    if record.gone:
        log.error("feed is gone (HTTP 410); polling stopped: %s", exc, extra={"feed": feed.url})
    elif is_flagged(failures, feed.last_success_at, now, app.config.fetch.flag_after):
        since = feed.last_success_at.isoformat() if feed.last_success_at else "never"
        log.warning(
            "feed keeps failing (%d in a row, last success: %s), flagged; "
            "next attempt in %.0fs: %s",
            failures,
            since,
            delay,
            exc,
            extra={"feed": feed.url},
        )
    else:
        log.warning(
            "poll failed (%d in a row), next attempt in %.0fs: %s",
            failures,
            delay,
            exc,
            extra={"feed": feed.url},
        )
    return PollResult(feed.url, "gone" if record.gone else "error", error=str(exc))


def _fresh_entries(
    readers: sessionmaker[Session], metrics: Metrics, keyed: Sequence[KeyedEntry]
) -> tuple[list[KeyedEntry], tuple[int, ...]]:
    """The entries not stored yet, oldest first; and the tombstones (pruned items) among
    the others, which the feed still carries."""
    with readers() as session:
        # GUIDs first: an entry whose GUID is stored is not new, and in a feed that only
        # changed a little that is every entry but the new ones, so the URL and content
        # lookups (the same query twice more) run only for the rest.
        known = queries.known_entry_keys(
            session, (k.keys.guid_key for k in keyed if k.keys.guid_key), (), ()
        )
        rest = [k.keys for k in keyed if k.keys.guid_key not in known]
        if rest:
            known |= queries.known_entry_keys(
                session,
                (),
                (k.url_key for k in rest if k.url_key),
                (k.content_hash for k in rest),
            )
        fresh: list[KeyedEntry] = []
        old: list[EntryKeys] = []
        for k in keyed:
            keys = k.keys
            if {keys.guid_key, keys.url_key, keys.content_hash} & known:
                old.append(keys)
            else:
                fresh.append(k)
        # Known by its GUID, a tombstone is found by it; the rest by URL or content.
        carried = queries.carried_tombstones(
            session,
            (k.guid_key for k in old if k.guid_key in known),
            (k.url_key for k in old if k.guid_key not in known and k.url_key),
            (k.content_hash for k in old if k.guid_key not in known),
        )
    metrics.items("duplicate", len(keyed) - len(fresh))
    epoch = datetime.min.replace(tzinfo=UTC)
    fresh.sort(key=lambda k: k.entry.published_at or epoch)
    return fresh, tuple(carried)


@dataclass(frozen=True)
class Stored:
    """What storing a poll's entries did."""

    new: int = 0  # new items
    alerts: int = 0  # alerts recorded
    baseline: int = 0  # new items taken as old news (no alerts)
    carried: tuple[int, ...] = ()  # tombstones the feed still carries


async def ingest_entries(
    app: App, fetcher: Fetcher, feed: ClaimedFeed, batch: PollBatch, keyed: Sequence[KeyedEntry]
) -> Stored:
    """Store the new entries of a feed.

    Article pages are fetched on the event loop; the analysis (matching, extraction, story
    sketch) runs in a worker process and storing in a worker thread (``EntryWriter``), so
    that a feed with many new entries never stalls the other feeds' downloads into their
    deadlines.
    """
    fresh, carried = await asyncio.to_thread(_fresh_entries, app.readers, app.metrics, keyed)
    if not fresh:
        return Stored(carried=carried)
    budget = _ArticleBudget(MAX_ARTICLES_PER_POLL)
    articles = [await build_article(app, fetcher, feed, k.entry, k.outlet, budget) for k in fresh]
    analyses = await parsepool.analyse(batch.compiled, articles, feed=feed.url)
    rule = _baseline(app, feed, batch.compiled)
    seen, first_poll = app.clock.now(), feed.last_success_at is None
    entries = [
        _new_entry(
            feed,
            k,
            article,
            analysis,
            rule.judge(k.entry.published_at, seen, first_poll=first_poll),
        )
        for k, article, analysis in zip(fresh, articles, analyses, strict=True)
    ]
    stored = await batch.entries.store(entries)
    new = alerts = baseline = 0
    for item, result in zip(entries, stored, strict=True):
        if result.item_id is None:
            app.metrics.items("duplicate")
            continue
        new += 1
        alerts += result.alerts
        baseline += result.baseline
        _count(app.metrics, item, result, feed)
    return Stored(new, alerts, baseline, carried)


def _baseline(app: App, feed: ClaimedFeed, compiled: Compiled) -> Baseline:
    """The feed's old-news rule: alerts.max_age, the feed's own, the watchlists' own."""
    return Baseline.of(
        app.config.alerts.max_age, app.feed_max_ages.get(feed.url), compiled.watchlists
    )


def _new_entry(
    feed: ClaimedFeed, keyed: KeyedEntry, article: Article, analysis: Analysis, old_news: OldNews
) -> NewEntry:
    return NewEntry(
        feed.id,
        keyed.entry,
        keyed.keys,
        article,
        analysis.matches,
        analysis.observations,
        text_hash=analysis.text_hash,
        sketch=analysis.sketch,
        bands=analysis.bands,
        old_news=old_news,
    )


def _count(metrics: Metrics, item: NewEntry, result: Ingested, feed: ClaimedFeed) -> None:
    for kind in result.alert_kinds:
        metrics.alert(kind, "created")
    metrics.items("new" if result.new_story else "syndicated")
    for match in item.matches:
        metrics.matched(match.watchlist)
    for obs in item.observations:
        metrics.figure_extracted(obs.figure)
    for change in result.changes:
        log.info(
            "figure %s changed to %s–%s",
            change.observation.figure,
            change.observation.low,
            change.observation.high,
            extra={"feed": feed.url, "item": result.item_id, "url": item.entry.url},
        )


MAX_ARTICLES_PER_POLL = 30  # article pages fetched for one feed's new entries in one poll


@dataclass
class _ArticleBudget:
    """Article fetches one poll may still make: a feed of 10,000 new short entries would
    otherwise fetch 10,000 pages (and outlive its lease doing it)."""

    left: int

    def take(self) -> bool:
        self.left -= 1
        return self.left >= 0


async def build_article(
    app: App,
    fetcher: Fetcher,
    feed: ClaimedFeed,
    entry: Entry,
    outlet: str | None,
    budget: _ArticleBudget | None = None,
) -> Article:
    """The entry's text, or the linked page's main text when the feed carries only a summary
    (while ``budget`` lasts: past it, the entry's own text)."""
    text = entry.text
    mode = app.fetch_modes.get(feed.url, "never")
    if (
        entry.url
        and needs_article(entry, mode, app.config.fetch.article_min_chars)
        and (budget is None or budget.take())
    ):
        try:
            page = await fetcher.fetch(entry.url, accept=ARTICLE_ACCEPT)
            extracted = await parsepool.extract_article(page.body or b"", page.final_url)
            if extracted and len(extracted) > len(text):
                text = extracted
        except FetchError as exc:  # keep the summary; the entry is not lost
            log.warning(
                "article fetch failed, using the feed's summary: %s",
                exc,
                extra={"feed": feed.url, "url": entry.url},
            )
    return Article(
        title=entry.title,
        text=normalise_whitespace(text),  # as newsmon inspect reads a text
        url=entry.url,
        outlet=outlet,
        published_at=entry.published_at,
        language=entry.language or detect_language(f"{entry.title}\n\n{text}"),
    )


def sync_feeds(app: App) -> None:
    specs = [queries.FeedSpec(f.url, f.name, f.interval) for f in app.config.feeds]
    with app.sessions.begin() as session:
        queries.sync_feeds(session, specs, app.clock.now())


async def poll_due(
    app: App, fetcher: Fetcher, *, everything: bool = False, limit: int | None = None
) -> list[PollResult]:
    """Claim the due feeds (all active feeds with ``everything``) and poll them concurrently."""
    feeds = await asyncio.to_thread(_claim, app, everything, limit)
    if not feeds:
        return []
    batch = await PollBatch.start(app)
    return list(await asyncio.gather(*(poll_feed(app, fetcher, feed, batch) for feed in feeds)))


def _claim(app: App, everything: bool, limit: int | None) -> list[ClaimedFeed]:
    now = app.clock.now()
    due_by = now + timedelta(days=36500) if everything else None
    lease = feed_lease(app.config)
    with app.sessions.begin() as session:
        return queries.claim_due_feeds(session, app.owner, now, lease, limit, due_by)


async def run_once(app: App, fetcher: Fetcher | None = None) -> CycleReport:
    """One full cycle: poll every feed once, process every new item, deliver every pending
    alert — waiting out rate limits and retries up to ``delivery.once_wait`` in all."""
    started = time.monotonic()
    sync_feeds(app)
    report = CycleReport()
    if fetcher is None:
        async with Fetcher(app.config.fetch) as own:
            report.polls = await poll_due(app, own, everything=True)
    else:
        report.polls = await poll_due(app, fetcher, everything=True)
    drained = await deliver_waiting(app, app.config.delivery.once_wait)
    report.delivered, report.failed, report.waiting = drained.sent, drained.failed, drained.waiting
    app.metrics.cycle(time.monotonic() - started)
    return report
