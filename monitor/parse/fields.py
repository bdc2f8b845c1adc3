"""What every feed parser shares: the limits on a feed and its fields, and field cleaning.

Each parser returns what it read; :func:`bounded` then keeps at most ``MAX_ENTRIES``
entries and makes every field storable and within its limit. :func:`clean` and
:func:`resolve_link` read a text field and a link the same way in every format. Pure.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from monitor.domain.model import Entry, ParsedFeed
from monitor.domain.text import collapse_spaces as _collapse

__all__ = [
    "EPOCH",
    "MAX_ENTRIES",
    "TEXT_LIMIT",
    "TITLE_LIMIT",
    "URL_LIMIT",
    "bounded",
    "clean",
    "resolve_link",
    "storable",
    "too_many",
]

MAX_ENTRIES = 10_000  # per feed per poll: the newest are kept, and the feed's status says so
TITLE_LIMIT = 1000  # characters of a title (one feed's 5 MB title was in every alert row)
TEXT_LIMIT = 200_000  # characters of a summary or a content
_FIELD_LIMIT = 4000  # characters of a GUID (stored only hashed)
URL_LIMIT = 2048  # a longer link is dropped, not cut (storage's column; a cut link is wrong)
_AUTHOR_LIMIT = 300  # storage's column
# What neither database stores, nor any reader wants: C0 controls but tab and newline
# (PostgreSQL refuses NUL in text), DEL, C1 controls, lone surrogates (not encodable as
# UTF-8) and the noncharacters U+FFFE/U+FFFF.
_UNSTORABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]+")
EPOCH = datetime.min.replace(tzinfo=UTC)


def storable(text: str, limit: int) -> str:
    """``text`` without the characters a database or a reader chokes on, cut to ``limit``."""
    if not text.isprintable():
        text = _UNSTORABLE.sub(" ", text)
    return text[:limit]


def _storable_or_none(text: str | None, limit: int = _FIELD_LIMIT) -> str | None:
    return (storable(text, limit).strip() or None) if text else None


def _storable_url(url: str | None) -> str | None:
    return url if url is None or (len(url) <= URL_LIMIT and url.isprintable()) else None


def bounded(parsed: ParsedFeed) -> ParsedFeed:
    """At most ``MAX_ENTRIES`` entries (the newest; undated ones count as oldest, and the
    feed's own order decides ties), every field storable and within its limit."""
    entries = parsed.entries
    error = parsed.error
    if len(entries) > MAX_ENTRIES:
        order = sorted(range(len(entries)), key=lambda i: (entries[i].published_at or EPOCH, -i))
        kept = sorted(order[-MAX_ENTRIES:])
        note = too_many(len(entries))
        error = f"{error}; {note}" if error else note
        entries = [entries[i] for i in kept]
    return ParsedFeed(
        title=_storable_or_none(parsed.title),
        link=_storable_url(parsed.link),
        entries=[_bounded_entry(entry) for entry in entries],
        error=error,
        ttl_seconds=parsed.ttl_seconds,
    )


def _bounded_entry(entry: Entry) -> Entry:
    return Entry(
        feed_url=entry.feed_url,
        guid=_storable_or_none(entry.guid),
        url=_storable_url(entry.url),
        title=storable(entry.title, TITLE_LIMIT),
        summary=storable(entry.summary, TEXT_LIMIT),
        content=storable(entry.content, TEXT_LIMIT),
        published_at=entry.published_at,
        author=_storable_or_none(entry.author, _AUTHOR_LIMIT),
    )


def too_many(count: int) -> str:
    """The feed's note when it holds more than ``MAX_ENTRIES`` entries."""
    return f"too many entries: kept the newest {MAX_ENTRIES} of {count}"


def clean(value: Any) -> str | None:
    """A plain-text field with its whitespace collapsed; None when empty or not text."""
    text = _collapse(value) if isinstance(value, str) else ""
    return text or None


# An absolute http(s) URL that urljoin returns as it is, whatever the base: a host, no
# path parameters (";"), no empty query or fragment (urlunparse would drop "?" or "#").
_PLAIN_URL = re.compile(r"https?://[^/?#\[\];\s]+(?:/[^?#;\s]*)?(?:\?[^#\s]+)?(?:#\S+)?")


def resolve_link(value: Any, base: str) -> str | None:
    """``value`` resolved against ``base``; None unless it is an http(s) link."""
    if not isinstance(value, str) or not value.strip():
        return None
    text: str = value.strip()
    if text.isascii() and text.isprintable() and _PLAIN_URL.fullmatch(text):
        return text  # what urljoin would return, in a fraction of its time
    try:
        link = urljoin(base, text)
    except ValueError:
        return None
    return link if urlsplit(link).scheme in ("http", "https") else None
