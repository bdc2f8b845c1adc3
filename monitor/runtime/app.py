"""The running application: config, database, compiled watchlists, notifiers, metrics.

Built once per process by the CLI. The compiled watchlists are swapped as one object on a
live reload, so a cycle always sees one consistent version.
"""

from __future__ import annotations

import itertools
import logging
import os
import pickle
import socket
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerting.plan import Routing
from monitor.analysis.figures import FigureExtractor
from monitor.analysis.matching import Matcher
from monitor.analysis.watchlist import Watchlist, load_watchlists
from monitor.config.settings import Config
from monitor.domain.clock import Clock, DatabaseClock, SystemClock
from monitor.domain.errors import ConfigError, Problem
from monitor.domain.notifier_config import NOTIFIER_NAMES
from monitor.runtime.metrics import Metrics
from notifiers import build_notifiers
from notifiers.base import Notifier
from storage import queries
from storage.db import make_engine, read_sessions, sessions, upgrade

log = logging.getLogger("newsmon")

_generations = itertools.count(1)


@dataclass(frozen=True)
class Compiled:
    """One consistent version of the watchlists, compiled for matching and extraction.

    ``generation`` names the version (unique in this process): worker processes keep the
    matcher and extractor of the last one they were sent, and unpickle ``pickled`` only
    when it changes.
    """

    watchlists: tuple[Watchlist, ...]
    matcher: Matcher
    extractor: FigureExtractor
    by_name: Mapping[str, Watchlist]
    tolerances: Mapping[str, float]
    source_mtimes: Mapping[str, float] = field(default_factory=dict)
    generation: int = field(default_factory=lambda: next(_generations))

    @cached_property
    def pickled(self) -> bytes:
        """The matcher and extractor as worker processes receive them (pickled once)."""
        return pickle.dumps((self.matcher, self.extractor), pickle.HIGHEST_PROTOCOL)


def compile_watchlists(watchlists: list[Watchlist], directory: Path | None = None) -> Compiled:
    specs = [spec for wl in watchlists for spec in wl.figures]
    return Compiled(
        watchlists=tuple(watchlists),
        matcher=Matcher(watchlists),
        extractor=FigureExtractor(specs),
        by_name={wl.name: wl for wl in watchlists},
        tolerances={spec.name: spec.tolerance for spec in specs},
        source_mtimes=watchlist_mtimes(directory) if directory else {},
    )


def watchlist_mtimes(directory: Path) -> dict[str, float]:
    """Modification times of the watchlist files, to notice edits without a restart."""
    try:
        return {str(p): p.stat().st_mtime for p in sorted(directory.glob("*.yaml"))}
    except OSError:
        return {}


def load_compiled(directory: Path) -> Compiled:
    if not directory.is_dir():
        raise ConfigError([Problem(str(directory), None, "watchlist directory not found")])
    return compile_watchlists(load_watchlists(directory), directory)


def default_channels(config: Config) -> dict[str, str | None]:
    slack = config.notifiers.slack
    channels: dict[str, str | None] = dict.fromkeys(NOTIFIER_NAMES)
    channels["slack"] = slack.channel if slack else None
    return channels


def instance_id() -> str:
    """This replica's name in leases: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class App:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    compiled: Compiled
    notifiers: dict[str, Notifier]
    metrics: Metrics
    # Leases, due times and polls are stamped with it (build_app: the database's clock).
    clock: Clock = field(default_factory=SystemClock)
    owner: str = field(default_factory=instance_id)
    reload_error: str | None = None
    # Serialises this replica's ingest transactions (worker threads); other replicas are
    # kept apart by the database's unique keys and locks.
    store_lock: threading.Lock = field(default_factory=threading.Lock)

    @cached_property
    def readers(self) -> sessionmaker[Session]:
        """Sessions that only read (they never wait for SQLite's write lock)."""
        return read_sessions(self.engine)

    @cached_property
    def fetch_modes(self) -> dict[str, str]:
        """fetch_article of each configured feed, by URL."""
        return {feed.url: feed.fetch_article for feed in self.config.feeds}

    @cached_property
    def feed_max_ages(self) -> dict[str, float]:
        """max_age of each configured feed that sets its own, by URL."""
        return {f.url: f.max_age for f in self.config.feeds if f.max_age is not None}

    def routing(self, compiled: Compiled | None = None) -> Routing:
        """Where alerts can go, by ``compiled`` (default: the current watchlists)."""
        compiled = compiled or self.compiled
        return Routing(
            watchlists=compiled.by_name,
            notifiers=tuple(self.notifiers),
            default_channels=default_channels(self.config),
            tolerances=compiled.tolerances,
        )

    def reload_watchlists(self) -> bool:
        """Load edited watchlists; on error keep the last good version. True if reloaded."""
        directory = self.config.watchlists_dir
        if watchlist_mtimes(directory) == self.compiled.source_mtimes:
            return False
        try:
            compiled = load_compiled(directory)
        except ConfigError as exc:
            message = str(exc)
            if message != self.reload_error:
                log.error("watchlist reload failed, keeping the last good version:\n%s", message)
            self.reload_error = message
            self.metrics.reload(ok=False)
            # Remember these mtimes so the same broken edit is not re-read every tick.
            self.compiled = _with_mtimes(self.compiled, watchlist_mtimes(directory))
            return False
        self.compiled = compiled
        self.reload_error = None
        self.metrics.reload(ok=True)
        self.metrics.watchlists_loaded(compiled.by_name)
        log.info("watchlists reloaded: %s", ", ".join(sorted(compiled.by_name)))
        return True


def _with_mtimes(compiled: Compiled, mtimes: Mapping[str, float]) -> Compiled:
    return Compiled(
        compiled.watchlists,
        compiled.matcher,
        compiled.extractor,
        compiled.by_name,
        compiled.tolerances,
        mtimes,
        compiled.generation,  # the same matcher and extractor: workers keep theirs
    )


def database_clock(engine: Engine, local: Clock | None = None) -> Clock:
    """The database's clock on PostgreSQL; on SQLite ``local`` (by default this host's), as
    the file is on this host."""
    local = local or SystemClock()
    if engine.dialect.name != "postgresql":
        return local
    readers = read_sessions(engine)

    def server_now() -> datetime:
        with readers() as session:
            return queries.database_now(session)

    return DatabaseClock(server_now, local)


def build_app(
    config: Config, *, migrate: bool = True, environ: Mapping[str, str] | None = None
) -> App:
    """Everything a command needs; raises ConfigError/StorageError/NotifyError on bad setup."""
    compiled = load_compiled(config.watchlists_dir)
    engine = make_engine(config.database.url)
    if migrate:
        upgrade(engine)
    notifiers = build_notifiers(config.notifiers, os.environ if environ is None else environ)
    metrics = Metrics()
    metrics.watchlists_loaded(compiled.by_name)
    return App(
        config, engine, sessions(engine), compiled, notifiers, metrics, database_clock(engine)
    )
