"""Feed bodies → :class:`~monitor.model.ParsedFeed` of plain-text entries. Pure: no I/O.

RSS 0.9x/1.0/2.0 and Atom go through feedparser, always over ``io.BytesIO`` (a bare
string could be taken for a path or a URL and fetched) with its HTML sanitizer and
relative-URI rewriting off: newsmon reduces every field to plain text with
:func:`html_to_text` instead, which is faster and drops markup entirely. JSON Feed
(1.0/1.1), which feedparser 6 does not read, is parsed here with ``json``.

XML safety: feedparser strips DOCTYPE entity declarations except simple literal ones and
runs expat with external entities off, so billion-laughs and external-entity (file or
URL) attacks neither expand nor fetch anything (see tests/test_parse.py).

Decisions:
- Malformed feeds keep whatever parsed; feedparser's complaint goes in ``error``.
  FetchError is raised only when nothing usable parsed: an empty body, an HTML page, or
  a broken document without a single entry.
- ``published_at`` is the entry's published date, else its updated date, as aware UTC.
  A date in the future is clamped to ``now``: feeds that mislabel local time as UTC are
  common, and a future date would otherwise sort first forever.
- Links are resolved against the feed URL (GUIDs are never rewritten); only http(s)
  links are kept (``javascript:`` and ``mailto:`` links become None).
- ``ttl_seconds`` comes from RSS ``<ttl>`` (minutes), else from ``sy:updatePeriod`` /
  ``sy:updateFrequency``.
"""

from __future__ import annotations

import html
import io
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from monitor.errors import FetchError
from monitor.model import Entry, ParsedFeed

__all__ = ["html_to_text", "parse_feed"]

_JSON_FEED_VERSION = "https://jsonfeed.org/version/"

# feedparser asks xml.sax for libxml2's driver first; it is never installed, and the failed
# import searched sys.path on every parse (costly in threads: each stat hands the GIL
# over). Expat is the parser the XML-safety notes above are about, so name it directly.
feedparser.api.PREFERRED_XML_PARSERS = ["xml.sax.expatreader"]
_SY_PERIODS = {"hourly": 3600, "daily": 86400, "weekly": 604800, "monthly": 2592000}
_SY_PERIODS["yearly"] = 31536000


def parse_feed(
    body: bytes, *, url: str, content_type: str | None = None, now: datetime | None = None
) -> ParsedFeed:
    """Parse a feed body fetched from ``url``; FetchError when nothing usable is in it."""
    now = now or datetime.now(UTC)
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise FetchError(f"empty response instead of a feed: {url}")
    if head.startswith((b"{", b"[")) or "json" in (content_type or "").lower():
        return _parse_json_feed(body, url, now)
    return _parse_xml_feed(body, url, content_type, now)


# --- XML (feedparser) -------------------------------------------------------------------


def _parse_xml_feed(body: bytes, url: str, content_type: str | None, now: datetime) -> ParsedFeed:
    # No content-location: feedparser would resolve relative *guids* against it too.
    # Relative links are resolved here instead (_link). The content type is passed only to
    # help charset detection; a non-XML type is not an error when the body is a feed.
    parsed = feedparser.parse(
        io.BytesIO(body),
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
        link=_link(feed.get("link"), url),
        entries=entries,
        error=error,
        ttl_seconds=_ttl(feed),
    )


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
        guid=_clean(raw.get("id")),
        url=_link(raw.get("link"), feed_url),
        title=_text(raw.get("title_detail")) or _clean(raw.get("title")) or "",
        summary=_text(raw.get("summary_detail")) or html_to_text(raw.get("summary") or ""),
        content=content,
        published_at=_struct_date(raw.get("published_parsed") or raw.get("updated_parsed"), now),
        author=_clean(raw.get("author")),
    )


def _text(detail: Any) -> str:
    """A feedparser text construct (``title_detail``, a ``content`` item) as plain text."""
    if not detail:
        return ""
    value = detail.get("value") or ""
    if detail.get("type", "text/html") == "text/plain":
        return _collapse(value)
    return html_to_text(value)


def _struct_date(value: Any, now: datetime) -> datetime | None:
    if not value:
        return None
    try:
        year, month, day, hour, minute, second = value[:6]
        when = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError):
        return None
    return min(when, now)


def _ttl(feed: Any) -> int | None:
    ttl = str(feed.get("ttl") or "").strip()
    if ttl.isdigit() and int(ttl) > 0:
        return int(ttl) * 60
    period = _SY_PERIODS.get(str(feed.get("sy_updateperiod") or "").strip().lower())
    if period is None:
        return None
    frequency = str(feed.get("sy_updatefrequency") or "1").strip()
    return period // int(frequency) if frequency.isdigit() and int(frequency) > 0 else period


# --- JSON Feed ----------------------------------------------------------------------------


def _parse_json_feed(body: bytes, url: str, now: datetime) -> ParsedFeed:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FetchError(f"not a feed: invalid JSON ({exc}): {url}") from None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise FetchError(f"not a feed: JSON without a JSON Feed 'items' list: {url}")
    version = data.get("version")
    error = None
    if not (isinstance(version, str) and version.startswith(_JSON_FEED_VERSION)):
        error = f"JSON Feed without a jsonfeed.org version: {version!r}"
    items = [item for item in data["items"] if isinstance(item, dict)]
    return ParsedFeed(
        title=_clean(_str(data.get("title"))),
        link=_link(_str(data.get("home_page_url")), url),
        entries=[_entry_from_json(item, url, now) for item in items],
        error=error,
    )


def _entry_from_json(item: dict[str, Any], feed_url: str, now: datetime) -> Entry:
    content = html_to_text(_str(item.get("content_html"))) or _collapse_paragraphs(
        _str(item.get("content_text"))
    )
    guid = item.get("id")
    return Entry(
        feed_url=feed_url,
        guid=_clean(str(guid)) if isinstance(guid, str | int) else None,
        url=_link(_str(item.get("url")) or _str(item.get("external_url")), feed_url),
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
    return _clean(", ".join(n for n in names if n))


def _iso_date(value: Any, now: datetime) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return min(when, now)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


# --- shared ---------------------------------------------------------------------------


def _clean(value: Any) -> str | None:
    text = _collapse(value) if isinstance(value, str) else ""
    return text or None


def _link(value: Any, base: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        link = urljoin(base, value.strip())
    except ValueError:
        return None
    return link if urlsplit(link).scheme in ("http", "https") else None


# --- HTML → text ----------------------------------------------------------------------

_ATTRS = r"""(?:[^>"']|"[^"]*"|'[^']*')*"""  # quoted attribute values may contain ">"
_DROP = re.compile(
    r"<!--.*?(?:-->|$)|<!\[CDATA\[|\]\]>"
    r"|<(script|style|noscript|template|iframe|svg|math|object|head|title)\b.*?(?:</\1\s*>|$)",
    re.I | re.S,
)
_WHITESPACE = re.compile(r"\s+")
_BREAK = re.compile(r"<br\s*/?>", re.I)
_BLOCK = re.compile(
    r"</?(?:p|div|h[1-6]|li|ul|ol|dl|dt|dd|tr|table|blockquote|pre|section|article|header"
    r"|footer|aside|figure|figcaption|hr|main|nav|address|details|summary)\b" + _ATTRS + ">",
    re.I,
)
_TAG = re.compile(r"</?[a-zA-Z]" + _ATTRS + r">|</?[a-zA-Z][^>]*>|<![^>]*>|<\?[^>]*>")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*")


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: no tags, scripts or styles; entities unescaped;
    whitespace collapsed; paragraph breaks kept as blank lines, ``<br>`` as newlines."""
    if "<" not in markup and "&" not in markup:
        return _collapse(markup)
    text = _DROP.sub(" ", markup)
    text = _WHITESPACE.sub(" ", text)
    text = _BREAK.sub("\n", text)
    text = _BLOCK.sub("\n\n", text)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    return _collapse_paragraphs(text)


def _collapse(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def _collapse_paragraphs(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
