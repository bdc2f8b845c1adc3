"""``newsmon feeds add/remove/import/export``: manage feeds without editing YAML.

The feeds live in the feeds file the config names (``feeds_file``, see
``monitor.config.feedsfile``); ``add`` and ``import`` append to it, ``remove`` drops a
line, and a running service picks the change up by itself (its history stays in the
database). Discovery and OPML are pure functions in ``monitor.sources``; this module
fetches and writes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from monitor.config.feedsfile import raw_feeds, write_feeds_file
from monitor.config.load import load_config
from monitor.config.settings import Config, FeedConfig, parse_duration
from monitor.domain.errors import FetchError, NewsmonError
from monitor.domain.model import ParsedFeed
from monitor.parse.feeds import parse_feed
from monitor.sources.discover import announced_feeds, common_feed_urls, looks_like_html
from monitor.sources.fetch import ARTICLE_ACCEPT, Fetcher
from monitor.sources.opml import OpmlFeed, parse_opml, render_opml


@dataclass(frozen=True)
class Resolved:
    """The feed a URL led to, and what else the page announced."""

    url: str
    feed: ParsedFeed
    others: tuple[str, ...] = ()


async def resolve_feed(fetcher: Fetcher, url: str, base_dir: Path = Path(".")) -> Resolved:
    """``url`` itself when it is a feed; else the feed its page announces or a common path has.

    A relative ``file://`` URL is read relative to ``base_dir``, as the config reads it."""
    result = await fetcher.fetch(_absolute(url, base_dir), accept=ARTICLE_ACCEPT, allow_file=True)
    body = result.body or b""
    if not looks_like_html(body, result.content_type):
        return Resolved(url, parse_feed(body, url=url, content_type=result.content_type))
    announced = [f.url for f in announced_feeds(body, result.final_url)]
    candidates = announced or common_feed_urls(result.final_url)
    reasons: list[str] = []
    for candidate in candidates:
        try:
            found = await fetcher.fetch(candidate)
            feed = parse_feed(found.body or b"", url=candidate, content_type=found.content_type)
        except FetchError as exc:
            reasons.append(f"{candidate}: {exc}")
            continue
        others = tuple(u for u in announced if u != candidate)
        return Resolved(candidate, feed, others)
    where = (
        "the feeds it announces" if announced else "none announced; tried " + ", ".join(candidates)
    )
    raise NewsmonError(f"{url} is a web page and no feed was found ({where})" + _why(reasons))


def _absolute(url: str, base_dir: Path) -> str:
    """``file://relative/path`` as the config resolves it; any other URL unchanged."""
    rest = url[len("file://") :] if url.lower().startswith("file://") else None
    if rest is None or rest.startswith("/"):
        return url
    return (base_dir / rest).resolve().as_uri()


def _why(reasons: list[str]) -> str:
    return f": {reasons[0]}" if len(reasons) == 1 else ""


def _feeds_path(config: Config) -> Path:
    if config.feeds_path is None:
        raise NewsmonError("the config sets feeds_file: null; add feeds to its feeds: list")
    return config.feeds_path


def _entry(url: str, name: str | None, interval: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"url": url}
    if name:
        entry["name"] = name
    if interval:
        try:
            parse_duration(interval)
        except ValueError as exc:
            raise NewsmonError(f"--interval {interval!r}: {exc}") from None
        entry["interval"] = interval
    try:
        FeedConfig.model_validate(entry)
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise NewsmonError(f"{url}: {message}") from None
    return entry


def add_feed(config_path: str | None, url: str, name: str | None, interval: str | None) -> int:
    config = load_config(config_path)
    path = _feeds_path(config)
    _entry(url, name, interval)  # bad options fail before any fetch

    async def resolve() -> Resolved:
        async with Fetcher(config.fetch) as fetcher:
            return await resolve_feed(fetcher, url, config.base_dir)

    resolved = asyncio.run(resolve())
    if _absolute(resolved.url, config.base_dir) in {feed.url for feed in config.feeds}:
        raise NewsmonError(f"{resolved.url} is already a feed")
    entry = _entry(resolved.url, name or resolved.feed.title, interval)
    write_feeds_file(path, [*raw_feeds(path), entry])
    found = "" if resolved.url == url else f" (found on {url})"
    print(
        f"added {resolved.url}{found}: {entry.get('name', '(no title)')}, "
        f"{len(resolved.feed.entries)} entries now; in {path}"
    )
    for other in resolved.others:
        print(f"  the page also announces {other} (add it with `newsmon feeds add {other}`)")
    return 0


def remove_feed(config_path: str | None, url: str) -> int:
    config = load_config(config_path)
    path = _feeds_path(config)
    feeds = raw_feeds(path)
    kept = [f for f in feeds if f.get("url") != url]
    if len(kept) == len(feeds):
        listed = url in {feed.url for feed in config.feeds}
        where = "the config file's feeds: list; remove it there" if listed else "no feed"
        raise NewsmonError(f"{url} is not in {path} ({where})")
    write_feeds_file(path, kept)
    print(f"removed {url} from {path}; its history stays in the database")
    return 0


def import_feeds(config_path: str | None, opml_file: str) -> int:
    config = load_config(config_path)
    path = _feeds_path(config)
    try:
        data = sys.stdin.buffer.read() if opml_file == "-" else Path(opml_file).read_bytes()
    except OSError as exc:
        raise NewsmonError(f"{opml_file}: cannot read: {exc.strerror}") from None
    known = {feed.url for feed in config.feeds}
    added, skipped, refused = [], 0, []
    for feed in parse_opml(data, opml_file):
        if feed.url in known:
            skipped += 1
            continue
        try:
            added.append(_entry(feed.url, feed.name, None))
        except NewsmonError as exc:  # not an http(s) URL
            refused.append(str(exc))
            continue
        known.add(feed.url)
    if added:
        write_feeds_file(path, [*raw_feeds(path), *added])
    print(f"imported {len(added)} feeds into {path}; {skipped} already there, skipped")
    for line in refused:
        print(f"  refused {line}", file=sys.stderr)
    return 0


def export_feeds(config_path: str | None) -> int:
    config = load_config(config_path)
    feeds = [OpmlFeed(feed.url, feed.name) for feed in config.feeds]
    sys.stdout.write(render_opml(feeds))
    return 0


def add_feed_parsers(feeds: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    """``feeds add|remove|import|export``: they write the feeds file (``feeds_file``)."""
    actions = feeds.add_subparsers(dest="feeds_action", metavar="ACTION")
    add = actions.add_parser(
        "add",
        parents=[common],
        help="add a feed, or the feed a web page announces",
        description="Add a feed to the feeds file. Given a site's page, find its feed "
        '(<link rel="alternate">, then common paths such as /feed and /rss.xml); given a '
        "feed URL, check that it parses.",
        epilog="example: newsmon feeds add https://www.nknews.org/ --interval 30m",
    )
    add.add_argument("url", metavar="URL")
    add.add_argument("--name", metavar="N", help="display name (default: the feed's title)")
    add.add_argument("--interval", metavar="I", help="poll interval, e.g. 15m (default 15m)")
    remove = actions.add_parser(
        "remove",
        parents=[common],
        help="stop polling a feed (its history stays)",
        epilog="example: newsmon feeds remove https://example.org/rss",
    )
    remove.add_argument("url", metavar="URL")
    imp = actions.add_parser(
        "import",
        parents=[common],
        help="add the feeds of an OPML file (nested outlines; duplicates skipped)",
        epilog="example: newsmon feeds import subscriptions.opml",
    )
    imp.add_argument("file", metavar="FILE", help="an OPML 2.0 file, or - for stdin")
    actions.add_parser(
        "export",
        parents=[common],
        help="print every configured feed as OPML 2.0",
        epilog="example: newsmon feeds export > feeds.opml",
    )
