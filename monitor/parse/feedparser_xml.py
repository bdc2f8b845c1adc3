"""XML feeds as feedparser reads them: the path for every RSS, RDF and Atom document.

feedparser always reads bytes (a bare string could be taken for a path or a URL and
fetched), with its HTML sanitizer and relative-URI rewriting off: every field becomes
plain text through :func:`monitor.parse.htmltext.html_to_text` instead. The lxml fast
path (:mod:`monitor.parse.xml_fast`) stands in for this one on the documents it can read
identically, and reuses :func:`as_text`, :func:`struct_date` and :func:`feed_ttl` so that
both read text constructs, dates and TTLs the same way.

XML safety: documents with a DOCTYPE have their internal subset removed before feedparser
sees them (:func:`_without_entity_declarations`), and feedparser runs expat with external
entities off; so billion-laughs and external-entity (file or URL) attacks neither expand
nor fetch anything (see tests/test_parse.py).
"""

from __future__ import annotations

import contextlib
import io
import re
from datetime import UTC, datetime
from typing import Any

import feedparser

from monitor.domain.errors import FetchError
from monitor.domain.model import Entry, ParsedFeed
from monitor.domain.text import collapse_spaces as _collapse
from monitor.parse.fields import clean, resolve_link
from monitor.parse.htmltext import html_to_text

__all__ = ["as_text", "feed_ttl", "parse_with_feedparser", "struct_date"]

# feedparser asks xml.sax for libxml2's driver first; it is never installed, and the failed
# import searched sys.path on every parse (costly in threads: each stat hands the GIL
# over). Expat is the parser the XML-safety notes above are about, so name it directly.
feedparser.api.PREFERRED_XML_PARSERS = ["xml.sax.expatreader"]
_SY_PERIODS = {"hourly": 3600, "daily": 86400, "weekly": 604800, "monthly": 2592000}
_SY_PERIODS["yearly"] = 31536000


def parse_with_feedparser(
    body: bytes, url: str, content_type: str | None, now: datetime
) -> ParsedFeed:
    """Any XML feed feedparser reads; FetchError when nothing usable parsed."""
    # No content-location: feedparser would resolve relative *guids* against it too.
    # Relative links are resolved here instead (resolve_link). The content type is passed only to
    # help charset detection; a non-XML type is not an error when the body is a feed.
    parsed = feedparser.parse(
        io.BytesIO(_without_entity_declarations(body, url)),
        response_headers={"content-type": content_type or "application/xml"},
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    error = _bozo_message(parsed)
    entries = [_entry_from_feedparser(raw, url, now) for raw in parsed.entries]
    if not entries and (error or not parsed.get("version")):
        raise FetchError(f"not a feed: {_why_not_a_feed(body, error)}: {url}")
    feed = parsed.feed
    return ParsedFeed(
        title=_text(feed.get("title_detail")) or None,
        link=resolve_link(feed.get("link"), url),
        entries=entries,
        error=error,
        ttl_seconds=feed_ttl(feed),
    )


_PROLOG = 65536  # bytes in which a DOCTYPE is looked for (it comes before the root)
_INTERNAL_SUBSET = re.compile(rb"(<!DOCTYPE[^\[>]*)\[.*?\]\s*>", re.S)
_WIDE_ENCODINGS = ("utf-32", "utf-16")


def _without_entity_declarations(body: bytes, url: str) -> bytes:
    """``body`` without its DOCTYPE's internal subset, where entities are declared.

    feedparser keeps simple literal entity declarations, and expat expands a reference up
    to 100 times over: a 2 MB feed became 90 M characters (3.2 GB) and killed the parse.
    Without the declarations, references to them stay unexpanded text. A document in a
    16- or 32-bit encoding that declares entities is refused (FetchError)."""
    head = body[:_PROLOG]
    start = head.find(b"<!DOCTYPE")
    if start >= 0:
        match = _INTERNAL_SUBSET.match(body, start)
        if match:
            return body[:start] + match.group(1) + b">" + body[match.end() :]
        return body
    if b"\x00" in head[:4] or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        for encoding in _WIDE_ENCODINGS:
            with contextlib.suppress(UnicodeDecodeError):
                if "<!ENTITY" in head.decode(encoding, errors="ignore"):
                    raise FetchError(f"refused: a feed declaring XML entities in {encoding}: {url}")
    return body


def _why_not_a_feed(body: bytes, error: str | None) -> str:
    start = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html")) or b"<html" in start:
        return "the server sent an HTML page"
    return error or "no RSS, Atom or JSON Feed document found"


def _bozo_message(parsed: Any) -> str | None:
    if not parsed.get("bozo"):
        return None
    exc = parsed.get("bozo_exception")
    if isinstance(exc, feedparser.NonXMLContentType):
        return None
    if exc is None:
        return "malformed feed"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _entry_from_feedparser(raw: Any, feed_url: str, now: datetime) -> Entry:
    contents = [_text(c) for c in raw.get("content", [])]
    content = "\n\n".join(dict.fromkeys(c for c in contents if c))
    return Entry(
        feed_url=feed_url,
        guid=clean(raw.get("id")),
        url=resolve_link(raw.get("link"), feed_url),
        title=_text(raw.get("title_detail")) or clean(raw.get("title")) or "",
        summary=_text(raw.get("summary_detail")) or html_to_text(raw.get("summary") or ""),
        content=content,
        published_at=struct_date(raw.get("published_parsed") or raw.get("updated_parsed"), now),
        author=clean(raw.get("author")),
    )


def _text(detail: Any) -> str:
    """A feedparser text construct (``title_detail``, a ``content`` item) as plain text."""
    if not detail:
        return ""
    return as_text(detail.get("type", "text/html"), detail.get("value") or "")


def as_text(content_type: str, value: str) -> str:
    """A text construct's value as plain text: HTML unless its type says plain text."""
    return _collapse(value) if content_type == "text/plain" else html_to_text(value)


def struct_date(value: Any, now: datetime) -> datetime | None:
    """feedparser's time tuple as an aware UTC datetime, no later than ``now``."""
    if not value:
        return None
    try:
        year, month, day, hour, minute, second = value[:6]
        when = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError):
        return None
    return min(when, now)


def feed_ttl(feed: Any) -> int | None:
    """Seconds between polls the feed asks for: RSS ``<ttl>``, else ``sy:update*``."""
    ttl = str(feed.get("ttl") or "").strip()
    if ttl.isdigit() and int(ttl) > 0:
        return int(ttl) * 60
    period = _SY_PERIODS.get(str(feed.get("sy_updateperiod") or "").strip().lower())
    if period is None:
        return None
    frequency = str(feed.get("sy_updatefrequency") or "1").strip()
    return period // int(frequency) if frequency.isdigit() and int(frequency) > 0 else period
