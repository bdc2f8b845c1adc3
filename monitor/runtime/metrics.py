"""Prometheus metrics of the service, behind small typed methods.

The service creates one ``Metrics`` per process and passes it to the parts that count
things; callers never touch prometheus objects. Each ``Metrics`` owns its own
``CollectorRegistry`` (not the global one), so tests can create fresh ones.

Label values come from small closed sets (``PollOutcome``, ``ItemResult``, …) or from
names an operator controls (watchlists, figures). Nothing is labelled by feed: with
10,000 feeds that would be 10,000 series per metric. Per-feed detail is in
``newsmon feeds``; here there is ``newsmon_feeds_failing`` plus errors by kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

import httpx
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from monitor import __version__
from monitor.domain.errors import FetchError
from monitor.domain.model import AlertKind

PollOutcome = Literal["ok", "not_modified", "unchanged", "error", "gone"]
ItemResult = Literal["new", "duplicate", "syndicated"]
AlertState = Literal["created", "sent", "retried", "failed", "held", "rolled", "skipped"]
FeedErrorKind = Literal[
    "timeout", "network", "http_4xx", "http_5xx", "rate_limited", "too_large", "parse", "other"
]

CONTENT_TYPE = CONTENT_TYPE_LATEST

_FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)
_DELIVERY_BUCKETS = (0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0)
_CYCLE_BUCKETS = (0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)


class Metrics:
    """Every metric newsmon exports, in a registry of its own."""

    def __init__(self) -> None:
        # No "<name>_created" timestamp series: they double the output, and
        # "newsmon_alerts_created" would read as a count of alerts created.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._info = Gauge(
            "newsmon_build_info", "Always 1; the version running.", ["version"], registry=r
        )
        self._polls = Counter("newsmon_polls", "Feed polls by outcome.", ["outcome"], registry=r)
        self._fetch = Histogram(
            "newsmon_fetch_seconds",
            "Time to fetch one feed, whatever the outcome.",
            buckets=_FETCH_BUCKETS,
            registry=r,
        )
        self._items = Counter(
            "newsmon_items",
            "Feed entries seen: new stories, duplicates of known entries, syndicated copies.",
            ["result"],
            registry=r,
        )
        self._matches = Counter(
            "newsmon_matches", "Stories matched, by watchlist.", ["watchlist"], registry=r
        )
        self._figures = Counter(
            "newsmon_figures_extracted",
            "Figure observations extracted from stories, by figure.",
            ["figure"],
            registry=r,
        )
        self._alerts = Counter(
            "newsmon_alerts",
            "Alerts by kind and state change (created, sent, retried after a transient "
            "error, failed for good).",
            ["kind", "state"],
            registry=r,
        )
        self._pending = Gauge(
            "newsmon_alerts_pending", "Alerts recorded but not yet sent.", registry=r
        )
        self._delivery = Histogram(
            "newsmon_delivery_seconds",
            "Latency from an alert being created to it being sent.",
            buckets=_DELIVERY_BUCKETS,
            registry=r,
        )
        self._feed_errors = Counter(
            "newsmon_feed_errors",
            "Failed feed polls, by kind of error.",
            ["kind"],
            registry=r,
        )
        self._failing = Gauge(
            "newsmon_feeds_failing",
            "Feeds whose last poll failed (one or more consecutive failures).",
            registry=r,
        )
        self._feeds = Gauge("newsmon_feeds", "Feeds configured.", registry=r)
        self._watchlists = Gauge(
            "newsmon_watchlists_loaded", "Watchlists currently loaded.", registry=r
        )
        self._reloads = Counter(
            "newsmon_reloads",
            "Live reloads of the config or the watchlists, by outcome (failed: the last good"
            " version stays in force).",
            ["outcome"],
            registry=r,
        )
        self._cycle = Histogram(
            "newsmon_cycle_seconds",
            "Duration of one scheduler cycle (poll due feeds, process, deliver).",
            buckets=_CYCLE_BUCKETS,
            registry=r,
        )
        self._init_series()

    def _init_series(self) -> None:
        """Create every series of the closed label sets at 0, so rates work from the start."""
        self._info.labels(__version__).set(1)
        for outcome in get_args(PollOutcome):
            self._polls.labels(outcome)
        for result in get_args(ItemResult):
            self._items.labels(result)
        for kind in AlertKind:
            for state in get_args(AlertState):
                self._alerts.labels(kind, state)
        for error in get_args(FeedErrorKind):
            self._feed_errors.labels(error)
        for outcome in ("ok", "failed"):
            self._reloads.labels(outcome)

    # -- polling ---------------------------------------------------------------------

    def poll(self, outcome: PollOutcome, seconds: float) -> None:
        """One feed poll finished with ``outcome`` after ``seconds``."""
        self._polls.labels(outcome).inc()
        self._fetch.observe(seconds)

    def feed_error(self, kind: FeedErrorKind) -> None:
        """A feed poll failed; ``kind`` from ``fetch_error_kind``. Unknown kinds count as other."""
        self._feed_errors.labels(kind if kind in _FEED_ERROR_KINDS else "other").inc()

    def feeds(self, configured: int, failing: int) -> None:
        """How many feeds there are and how many are currently failing."""
        self._feeds.set(configured)
        self._failing.set(failing)

    def reload(self, *, ok: bool) -> None:
        """A live reload of the config or the watchlists succeeded or failed."""
        self._reloads.labels("ok" if ok else "failed").inc()

    def cycle(self, seconds: float) -> None:
        """One scheduler cycle took ``seconds``."""
        self._cycle.observe(seconds)

    # -- processing ------------------------------------------------------------------

    def items(self, result: ItemResult, count: int = 1) -> None:
        """``count`` entries were recorded as ``result``."""
        if count:
            self._items.labels(result).inc(count)

    def matched(self, watchlist: str) -> None:
        """A story matched ``watchlist``."""
        self._matches.labels(watchlist).inc()

    def figure_extracted(self, figure: str) -> None:
        """An observation of ``figure`` was extracted."""
        self._figures.labels(figure).inc()

    def watchlists_loaded(self, names: Iterable[str]) -> None:
        """The watchlists now loaded; their match series start at 0."""
        loaded = sorted(set(names))
        for name in loaded:
            self._matches.labels(name)
        self._watchlists.set(len(loaded))

    # -- alerts ----------------------------------------------------------------------

    def alert(self, kind: AlertKind, state: AlertState) -> None:
        """An alert of ``kind`` was created, sent, scheduled for retry or failed for good."""
        self._alerts.labels(kind, state).inc()

    def delivered(self, kind: AlertKind, latency: float) -> None:
        """An alert was sent ``latency`` seconds after it was created."""
        self._alerts.labels(kind, "sent").inc()
        self._delivery.observe(max(latency, 0.0))

    def alerts_pending(self, count: int) -> None:
        """The number of alerts recorded but not yet sent."""
        self._pending.set(count)

    # -- exposition ------------------------------------------------------------------

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric (content type ``CONTENT_TYPE``)."""
        return generate_latest(self.registry)


_FEED_ERROR_KINDS: frozenset[str] = frozenset(get_args(FeedErrorKind))


def fetch_error_kind(error: BaseException) -> FeedErrorKind:
    """Classify a poll failure for ``Metrics.feed_error``.

    Looks at ``FetchError.status`` first, then at the error and its cause chain for
    timeouts and network errors.
    """
    status = error.status if isinstance(error, FetchError) else None
    if status == 429:
        return "rate_limited"
    if status is not None and 400 <= status < 500:
        return "http_4xx"
    if status is not None and status >= 500:
        return "http_5xx"
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, httpx.TimeoutException | TimeoutError):
            return "timeout"
        if isinstance(seen, httpx.TransportError | OSError):
            return "network"
        seen = seen.__cause__ or seen.__context__
    return "other"
