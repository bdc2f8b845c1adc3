"""The feeds file: feeds managed by ``newsmon feeds add/remove/import`` without editing YAML.

The config names it (``feeds_file``, default ``feeds.yaml`` beside the config file). It is
plain YAML, one feed per line, so a change reads well in a diff::

    # newsmon feeds: managed by `newsmon feeds add/remove/import`; edits by hand are fine.
    feeds:
      - {url: "https://example.org/rss", name: "Example", interval: "15m"}

Its feeds join the config's own ``feeds:``; a URL listed in both is a problem at its line.
A missing file is an empty list. The running service notices edits (see ``App``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from monitor.config.settings import FeedConfig
from monitor.config.yamlfile import load_yaml, validate_doc
from monitor.domain.errors import ConfigError, Problem

HEADER = "# newsmon feeds: managed by `newsmon feeds add/remove/import`; edits by hand are fine.\n"


class FeedsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    feeds: list[FeedConfig] = Field(default_factory=list)


def read_feeds_file(path: Path) -> list[FeedConfig]:
    """The feeds of ``path`` (none if it does not exist); problems as ConfigError at FILE:LINE."""
    if not path.exists():
        return []
    doc = load_yaml(path)
    if doc.data is None:
        return []
    if not isinstance(doc.data, dict):
        raise ConfigError([Problem(doc.path, 1, "the feeds file must be a mapping with feeds:")])
    parsed = validate_doc(doc, FeedsFile)
    problems = [
        Problem(doc.path, doc.line_of(("feeds", i)), f"feed {feed.url} is listed twice")
        for i, feed in enumerate(parsed.feeds)
        if feed.url in {f.url for f in parsed.feeds[:i]}
    ]
    if problems:
        raise ConfigError(problems)
    return parsed.feeds


def render_feeds_file(feeds: list[dict[str, Any]]) -> str:
    """The feeds file text: a header and one flow mapping per feed, in the given order."""
    lines = [HEADER, "feeds:\n" if feeds else "feeds: []\n"]
    for feed in feeds:
        item = yaml.safe_dump(
            feed, default_flow_style=True, sort_keys=False, width=10_000, allow_unicode=True
        )
        lines.append(f"  - {item.strip()}\n")
    return "".join(lines)


def raw_feeds(path: Path) -> list[dict[str, Any]]:
    """The feeds file's entries as written (durations kept as the user wrote them)."""
    read_feeds_file(path)  # refuse to rewrite a file that does not validate
    if not path.exists():
        return []
    data = load_yaml(path).data
    return list(data.get("feeds") or []) if isinstance(data, dict) else []


def write_feeds_file(path: Path, feeds: list[dict[str, Any]]) -> None:
    """Replace the feeds file atomically (a running service never reads half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_feeds_file(feeds), encoding="utf-8")
    tmp.replace(path)
