"""Find and load the config file: defaults, the file, the feeds file and the environment."""

from __future__ import annotations

import os
from pathlib import Path

from monitor.config.feedsfile import read_feeds_file
from monitor.config.settings import Config, DatabaseConfig, FeedConfig
from monitor.config.yamlfile import YamlDoc, load_yaml, validate_doc
from monitor.domain.errors import ConfigError, Problem


def find_config_path(explicit: str | None) -> Path | None:
    """The config file to use, or None for the built-in defaults."""
    if explicit:
        return Path(explicit)
    if env := os.environ.get("NEWSMON_CONFIG"):
        return Path(env)
    default = Path("newsmon.yaml")
    return default if default.exists() else None


def load_config(explicit: str | None = None) -> Config:
    """Load, validate and resolve the configuration; every problem at once as ConfigError."""
    path = find_config_path(explicit)
    if path is None:
        doc = YamlDoc("<defaults>", {}, {(): 1})
        base_dir = Path(".")
    else:
        if not path.exists():
            raise ConfigError([Problem(str(path), None, "config file not found")])
        doc = load_yaml(path)
        base_dir = path.parent
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError([Problem(doc.path, 1, "the config file must be a mapping of keys")])
    problems = _duplicate_feeds(doc, data)
    try:
        config = validate_doc(doc, Config, data)
    except ConfigError as exc:
        problems += exc.problems
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0))
    feeds = config.feeds + _managed_feeds(config.model_copy(update={"base_dir": base_dir}))
    overrides: dict[str, object] = {
        "base_dir": base_dir,
        "feeds": [_resolve_file_url(feed, base_dir) for feed in feeds],
    }
    if env_url := os.environ.get("NEWSMON_DATABASE_URL"):
        overrides["database"] = DatabaseConfig(url=env_url)
    return config.model_copy(update=overrides)


def _managed_feeds(config: Config) -> list[FeedConfig]:
    """The feeds file's feeds (see ``monitor.config.feedsfile``), none listed twice."""
    path = config.feeds_path
    if path is None:
        return []
    listed = {feed.url for feed in config.feeds}
    managed = read_feeds_file(path)
    twice = [f.url for f in managed if f.url in listed]
    if twice:
        message = f"feed {twice[0]} is also listed in the config's feeds:"
        raise ConfigError([Problem(str(path), None, message)])
    return managed


def _resolve_file_url(feed: FeedConfig, base_dir: Path) -> FeedConfig:
    """``file://relative/path`` is relative to the config file; ``file:///abs`` is absolute."""
    rest = feed.url[len("file://") :] if feed.url.lower().startswith("file://") else None
    if rest is None or rest.startswith("/"):
        return feed
    return feed.model_copy(update={"url": (base_dir / rest).resolve().as_uri()})


def _duplicate_feeds(doc: YamlDoc, data: dict[str, object]) -> list[Problem]:
    feeds = data.get("feeds")
    if not isinstance(feeds, list):
        return []
    seen: set[str] = set()
    problems = []
    for i, feed in enumerate(feeds):
        url = feed.get("url") if isinstance(feed, dict) else None
        if not isinstance(url, str):
            continue
        if url in seen:
            problems.append(
                Problem(doc.path, doc.line_of(("feeds", i)), f"feed {url} is listed twice")
            )
        seen.add(url)
    return problems
