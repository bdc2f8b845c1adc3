"""JSON Feed (1.0/1.1), which feedparser 6 does not read, parsed with ``json``. Pure.

A document without a jsonfeed.org version is still read, with a note in ``error``; an item
that cannot be read is skipped, with a note. Nesting deeper than ``MAX_JSON_DEPTH`` is read
as null rather than exhausting the interpreter's recursion limit.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from monitor.domain.errors import FetchError
from monitor.domain.model import Entry, ParsedFeed
from monitor.domain.text import collapse_spaces as _collapse
from monitor.domain.text import normalise_whitespace
from monitor.parse.fields import clean, resolve_link
from monitor.parse.htmltext import html_to_text

__all__ = ["MAX_JSON_DEPTH", "parse_json_feed"]

_JSON_FEED_VERSION = "https://jsonfeed.org/version/"
MAX_JSON_DEPTH = 64  # deeper arrays and objects are read as null (json.loads recurses)
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)


def parse_json_feed(body: bytes, url: str, now: datetime) -> ParsedFeed:
    """A JSON Feed; FetchError when the body is not JSON or has no ``items`` list."""
    try:
        try:
            data = json.loads(body, parse_int=_json_int)
        except RecursionError:  # nesting past the interpreter's limit: those parts are null
            data = json.loads(_flattened(body), parse_int=_json_int)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FetchError(f"not a feed: invalid JSON ({exc}): {url}") from None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise FetchError(f"not a feed: JSON without a JSON Feed 'items' list: {url}")
    version = data.get("version")
    error = None
    if not (isinstance(version, str) and version.startswith(_JSON_FEED_VERSION)):
        error = f"JSON Feed without a jsonfeed.org version: {version!r}"
    entries = []
    for item in data["items"]:
        if not isinstance(item, dict):
            continue
        try:
            entries.append(_entry_from_json(item, url, now))
        except Exception as exc:
            error = f"an item could not be read ({type(exc).__name__}: {exc})"
    return ParsedFeed(
        title=clean(_str(data.get("title"))),
        link=resolve_link(_str(data.get("home_page_url")), url),
        entries=entries,
        error=error,
    )


def _json_int(text: str) -> int | None:
    """An integer literal; None past Python's 4,300-digit conversion limit (json.loads
    would refuse the whole document)."""
    return int(text) if len(text) <= 4000 else None


def _flattened(body: bytes) -> bytes:
    """``body`` with every array or object nested deeper than ``MAX_JSON_DEPTH`` replaced by
    ``null``, in one pass (strings are skipped whole, so brackets in them do not count)."""
    parts: list[bytes] = []
    depth = 0
    cut_from = -1  # where the too-deep container being dropped starts
    kept_to = 0
    for token in _JSON_TOKEN.finditer(body):
        char = token.group()[:1]
        if char in b"[{":
            depth += 1
            if depth == MAX_JSON_DEPTH + 1:
                cut_from = token.start()
        elif char in b"]}":
            if depth == MAX_JSON_DEPTH + 1 and cut_from >= 0:
                parts += [body[kept_to:cut_from], b"null"]
                kept_to, cut_from = token.end(), -1
            depth -= 1
    parts.append(body[kept_to:])
    return b"".join(parts)


def _entry_from_json(item: dict[str, Any], feed_url: str, now: datetime) -> Entry:
    content = html_to_text(_str(item.get("content_html"))) or normalise_whitespace(
        _str(item.get("content_text"))
    )
    guid = item.get("id")
    return Entry(
        feed_url=feed_url,
        guid=clean(str(guid)) if isinstance(guid, str | int) else None,
        url=resolve_link(_str(item.get("url")) or _str(item.get("external_url")), feed_url),
        title=html_to_text(_str(item.get("title"))),
        summary=_collapse(_str(item.get("summary"))),
        content=content,
        published_at=_iso_date(item.get("date_published") or item.get("date_modified"), now),
        author=_json_author(item),
    )


def _json_author(item: dict[str, Any]) -> str | None:
    authors = item.get("authors")
    candidates = authors if isinstance(authors, list) else [item.get("author")]
    names = [_str(a.get("name")) for a in candidates if isinstance(a, dict)]
    return clean(", ".join(n for n in names if n))


def _iso_date(value: Any, now: datetime) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    try:  # 0001-01-01T00:00:00+14:00 is before datetime's first UTC instant
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except OverflowError:
        return None
    return min(when, now)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
