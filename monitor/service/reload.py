"""Live reload of the whole config: feeds (the config's and the feeds file's), notifiers and
their routes, watchlists, alert and delivery settings.

``reload_config`` runs on SIGHUP and when the config file or the feeds file changes (the
service checks their modification times every few seconds). A config that does not load,
or a notifier whose secret is missing, is logged once and counted in
``newsmon_reloads{outcome="failed"}``; the last good version stays in force. Settings
bound at start (``database``, ``http``, ``fetch``, ``tick``) take effect at the next
restart, and the log says so.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from monitor.config.load import load_config
from monitor.config.settings import Config
from monitor.domain.errors import NewsmonError
from monitor.pipeline.cycle import sync_feeds
from monitor.runtime.app import App, load_compiled
from notifiers import build_notifiers

log = logging.getLogger("newsmon")

BOUND_AT_START = ("database", "http", "fetch", "tick", "log")


def config_mtimes(config_path: Path | None, config: Config) -> dict[str, float]:
    """Modification times of the config file and the feeds file (absent files left out)."""
    paths = [p for p in (config_path, config.feeds_path) if p is not None]
    mtimes = {}
    for path in paths:
        try:
            mtimes[str(path)] = path.stat().st_mtime
        except OSError:
            continue
    return mtimes


def reload_config(app: App, config_path: Path | None) -> bool:
    """Load the config again and put it in force; on any error keep the last good one."""
    try:
        config = load_config(str(config_path) if config_path else None)
        notifiers = build_notifiers(config.notifiers, os.environ)
        compiled = load_compiled(config.watchlists_dir)
    except NewsmonError as exc:
        message = str(exc)
        if message != app.reload_error:
            log.error("config reload failed, keeping the last good version:\n%s", message)
        app.reload_error = message
        app.metrics.reload(ok=False)
        return False
    kept = {key: getattr(app.config, key) for key in BOUND_AT_START}
    changed = sorted(key for key, value in kept.items() if getattr(config, key) != value)
    if changed:
        log.warning("config reloaded; %s take effect at the next restart", ", ".join(changed))
    app.config = config.model_copy(update=kept)
    for cached in ("fetch_modes", "feed_max_ages"):
        app.__dict__.pop(cached, None)  # functools.cached_property of the old config
    app.notifiers = notifiers
    app.compiled = compiled
    app.reload_error = None
    sync_feeds(app)
    app.metrics.reload(ok=True)
    app.metrics.watchlists_loaded(compiled.by_name)
    log.info(
        "config reloaded: %d feeds, notifiers %s",
        len(config.feeds),
        ", ".join(sorted(notifiers)) or "none",
    )
    log.info("watchlists reloaded: %s", ", ".join(sorted(compiled.by_name)))
    return True
