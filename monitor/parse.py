"""Feed bodies → :class:`~monitor.model.ParsedFeed` of plain-text entries. Pure: no I/O.

RSS 0.9x/1.0/2.0 and Atom are read as feedparser reads them, always from bytes (a bare
string could be taken for a path or a URL and fetched), with its HTML sanitizer and
relative-URI rewriting off: newsmon reduces every field to plain text with
:func:`html_to_text` instead, which is faster and drops markup entirely. Two paths give
the same result: a fast one over an lxml tree for the well-formed UTF-8 RSS 2.0 and
Atom 1.0 that most feeds are (about 20× cheaper per entry), and feedparser itself for
everything the fast path refuses (see "XML fast path" below; tests/
test_parse_differential.py holds the two equal). JSON Feed (1.0/1.1), which feedparser 6
does not read, is parsed here with ``json``.

XML safety: the fast path's parser loads no DTD, resolves no entities and never reaches
the network, and documents with a DOCTYPE go to feedparser, which strips DOCTYPE entity
declarations except simple literal ones and runs expat with external entities off; so
billion-laughs and external-entity (file or URL) attacks neither expand nor fetch
anything (see tests/test_parse.py).

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

import contextlib
import functools
import html
import io
import json
import re
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import feedparser
from feedparser.datetimes import _parse_date
from lxml import etree

from monitor.errors import FetchError
from monitor.model import Entry, ParsedFeed
from monitor.text import collapse_spaces as _collapse
from monitor.text import normalise_whitespace

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
        return _bounded(_parse_json_feed(body, url, now))
    return _with_language(_bounded(_parse_xml_feed(body, url, content_type, now)), body)


# An RSS channel's <language> or the root element's xml:lang, within the feed's head.
_DECLARED_LANGUAGE = re.compile(
    rb"<language>\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*\s*</language>"
    rb"|<(?:rss|feed|rdf:RDF|channel)\b[^>]*\bxml:lang=[\"']([A-Za-z]{2,3})",
)


def _with_language(parsed: ParsedFeed, body: bytes) -> ParsedFeed:
    """Every entry with the language its feed declares (an entry's own wins)."""
    m = _DECLARED_LANGUAGE.search(body[:8192])
    if m is None:
        return parsed
    language = (m.group(1) or m.group(2)).decode("ascii").lower()
    entries = [e if e.language else replace(e, language=language) for e in parsed.entries]
    return replace(parsed, entries=entries)


# --- limits and storable text -----------------------------------------------------------

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
_EPOCH = datetime.min.replace(tzinfo=UTC)


def storable(text: str, limit: int) -> str:
    """``text`` without the characters a database or a reader chokes on, cut to ``limit``."""
    if not text.isprintable():
        text = _UNSTORABLE.sub(" ", text)
    return text[:limit]


def _storable_or_none(text: str | None, limit: int = _FIELD_LIMIT) -> str | None:
    return (storable(text, limit).strip() or None) if text else None


def _storable_url(url: str | None) -> str | None:
    return url if url is None or (len(url) <= URL_LIMIT and url.isprintable()) else None


def _bounded(parsed: ParsedFeed) -> ParsedFeed:
    """At most ``MAX_ENTRIES`` entries (the newest; undated ones count as oldest, and the
    feed's own order decides ties), every field storable and within its limit."""
    entries = parsed.entries
    error = parsed.error
    if len(entries) > MAX_ENTRIES:
        order = sorted(range(len(entries)), key=lambda i: (entries[i].published_at or _EPOCH, -i))
        kept = sorted(order[-MAX_ENTRIES:])
        note = _too_many(len(entries))
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


# --- XML (feedparser) -------------------------------------------------------------------


def _parse_xml_feed(body: bytes, url: str, content_type: str | None, now: datetime) -> ParsedFeed:
    try:
        return _fast_xml_feed(body, url, content_type, now)
    except Exception:  # a refusal, or a fault of the fast path: feedparser reads it all
        return _feedparser_xml_feed(body, url, content_type, now)


def _feedparser_xml_feed(
    body: bytes, url: str, content_type: str | None, now: datetime
) -> ParsedFeed:
    # No content-location: feedparser would resolve relative *guids* against it too.
    # Relative links are resolved here instead (_link). The content type is passed only to
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
        link=_link(feed.get("link"), url),
        entries=entries,
        error=error,
        ttl_seconds=_ttl(feed),
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
    return _as_text(detail.get("type", "text/html"), detail.get("value") or "")


def _as_text(content_type: str, value: str) -> str:
    """A text construct's value as plain text: HTML unless its type says plain text."""
    return _collapse(value) if content_type == "text/plain" else html_to_text(value)


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


# --- XML fast path (lxml) ---------------------------------------------------------------
#
# feedparser spends ~200 µs per entry in its SAX handlers; lxml builds a tree in a few.
# Most feeds are well-formed UTF-8 RSS 2.0 or Atom 1.0 using a handful of elements:
# _fast_xml_feed reads those and yields exactly what _feedparser_xml_feed yields for them
# (tests/test_parse_differential.py holds the two paths equal). The rules it follows are
# feedparser's own (its mixin's pop(), _start_link, _end_guid, ...), restated for the
# documents it accepts. Whatever it is not sure to read identically it refuses
# (_Refused) and feedparser parses the document as before: malformed XML (so feedparser's
# leniency and bozo message are kept), a DOCTYPE, an encoding other than UTF-8/ASCII,
# RSS 1.0 and older Atom, xml:base, an element feedparser gives a meaning to that is not
# read here, a field given twice, markup inside a field.
#
# XML safety: the parser loads no DTD, resolves no entities and reaches no network, and a
# document with a DOCTYPE is refused before it is parsed.


class _Refused(Exception):
    """The fast path cannot promise feedparser's reading of this document."""


_A = "{http://www.w3.org/2005/Atom}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_SY = "{http://purl.org/rss/1.0/modules/syndication/}"
_MEDIA = "{http://search.yahoo.com/mrss/}"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_LANG_ONLY = frozenset((_XML_LANG,))
_TYPE_AND_LANG = frozenset(("type", _XML_LANG))
_PERMALINK_AND_LANG = frozenset(("isPermaLink", _XML_LANG))
_TYPE_NAMES = {
    "text": "text/plain",
    "plain": "text/plain",
    "html": "text/html",
    "xhtml": "application/xhtml+xml",
}
_SY_FIELDS = {
    _SY + "updatePeriod": "sy_updateperiod",
    _SY + "updateFrequency": "sy_updatefrequency",
}
# Element → field, for the elements read; each may appear once.
_RSS_CHANNEL = {"title": "title", "link": "link", "ttl": "ttl"} | _SY_FIELDS
_RSS_ITEM = {
    "title": "title",
    "link": "link",
    "description": "summary",
    "guid": "guid",
    "pubDate": "published",
    "author": "author",
    _DC + "creator": "author",
    _DC + "date": "updated",
    "{http://purl.org/rss/1.0/modules/content/}encoded": "content",
}
_ATOM_FEED = {_A + "title": "title", _A + "id": "guid"} | _SY_FIELDS
_ATOM_ENTRY = {
    _A + "id": "guid",
    _A + "title": "title",
    _A + "summary": "summary",
    _A + "published": "published",
    _A + "updated": "updated",
    _A + "author": "author",
}
# Elements that may repeat, read as lists.
_RSS_CHANNEL_LISTS = {"item": "items"}
_ATOM_FEED_LISTS = {_A + "link": "links", _A + "entry": "entries"}
_ATOM_ENTRY_LISTS = {_A + "link": "links", _A + "content": "contents"}
# Elements feedparser files where newsmon never looks: ignored, but must hold no elements.
_RSS_CHANNEL_IGNORED = frozenset(
    (
        "description", "language", "copyright", "managingEditor", "webMaster", "pubDate",
        "lastBuildDate", "category", "generator", "docs", "cloud", "rating", _SY + "updateBase",
    )
)  # fmt: skip
_RSS_ITEM_IGNORED = frozenset(
    (
        "category", "comments", "enclosure", _MEDIA + "content", _MEDIA + "thumbnail",
        "{http://wellformedweb.org/CommentAPI/}commentRss",
        "{http://purl.org/rss/1.0/modules/slash/}comments",
    )
)  # fmt: skip
_ATOM_FEED_IGNORED = frozenset(
    _A + name for name in ("subtitle", "updated", "generator", "icon", "logo", "rights", "category")
)
_ATOM_ENTRY_IGNORED = frozenset((_A + "category", _A + "rights"))
_ATOM_PERSON = frozenset((_A + "name", _A + "email", _A + "uri"))
# Containers whose children feedparser files under the container, and the children it
# keeps there (its "special hack" for image and textInput files any other child's
# siblings under the channel).
_RSS_CHANNEL_CONTAINERS = {
    "image": frozenset(("title", "link", "description", "url", "width", "height")),
    "textInput": frozenset(("title", "link", "description", "name")),
    "skipHours": frozenset(("hour",)),
    "skipDays": frozenset(("day",)),
}
_ATOM_FEED_CONTAINERS = {_A + "author": _ATOM_PERSON, _A + "contributor": _ATOM_PERSON}
_HTML_TYPES = frozenset(("text/html", "application/xhtml+xml"))
_TEXT_TYPES = frozenset(("text/plain", "text/html"))
_XML_MEDIA_TYPES = (
    "application/xml",
    "application/xml-dtd",
    "application/xml-external-parsed-entity",
)
_MIXIN = feedparser.mixin._FeedParserMixin
_KNOWN_NAMESPACES = {uri.lower(): prefix for uri, prefix in _MIXIN.namespaces.items()}
_KNOWN_PREFIXES = frozenset(_KNOWN_NAMESPACES.values())
_CP1252 = str.maketrans(feedparser.html._cp1252)
_C1_CONTROLS = re.compile("[\x80-\x9f]")
_BASE_ATTRIBUTE = re.compile(rb"""[\s"'](?:xml:)?base\s*=""", re.I)
_LINK_ENTITY = re.compile("&([A-Za-z0-9_]+);")
_ENCODING_VALUE = re.compile(rb"""encoding=['"](.*?)['"]""")


class _ThreadParser(threading.local):
    """lxml locks a parser for the whole of a parse, so each thread has its own."""

    def __init__(self) -> None:
        self.parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
        )


_THREAD = _ThreadParser()


def _fast_xml_feed(body: bytes, url: str, content_type: str | None, now: datetime) -> ParsedFeed:
    _check_encoding(body, content_type)
    if b"<!DOCTYPE" in body or (b"base" in body.lower() and _BASE_ATTRIBUTE.search(body)):
        raise _Refused("a DOCTYPE or a base URI")
    try:
        root = etree.fromstring(body, _THREAD.parser)
    except etree.XMLSyntaxError:
        raise _Refused("not well-formed") from None
    if root.tag == "rss" and not _other_attributes(root, {"version"}):
        return _fast_rss(root, url, now)
    if root.tag == _A + "feed" and not _other_attributes(root, _LANG_ONLY):
        return _fast_atom(root, url, now)
    raise _Refused(f"root element {root.tag!r}")


def _check_encoding(body: bytes, content_type: str | None) -> None:
    """_Refused unless feedparser decodes this body as UTF-8 (or ASCII, for an ASCII body),
    as lxml does. feedparser decides by its reading of RFC 3023
    (feedparser.encodings.convert_to_utf8), restated here."""
    data = body[3:] if body.startswith(b"\xef\xbb\xbf") else body
    start = data.lstrip(b" \t\r\n")  # whitespace before a root (not before <?xml: lxml refuses)
    if not start.startswith(b"<") or start.startswith(b"<\x00"):
        raise _Refused("not UTF-8 XML")
    declared = _declared_encoding(data)
    if declared not in ("", "utf-8"):
        raise _Refused(f"declared encoding {declared}")
    media, charset = feedparser.encodings.parse_content_type(content_type or "application/xml")
    if media in _XML_MEDIA_TYPES or (media.startswith("application/") and media.endswith("+xml")):
        encoding = charset or declared or "utf-8"
    elif media.startswith("text/"):
        encoding = charset or "us-ascii"
    else:
        encoding = declared or "utf-8"
    if encoding.lower() in ("utf-8", "utf8") or (
        encoding.lower() in ("us-ascii", "ascii") and body.isascii()
    ):
        return
    raise _Refused(f"encoding {encoding}")


def _declared_encoding(data: bytes) -> str:
    """What feedparser's RE_XML_PI_ENCODING finds: the encoding in the XML declaration,
    lowercased. Its ".*" runs to the end of the first line and backtracks, which is the
    whole document when that is one line; rfind does the same search from the end."""
    if not data.startswith(b"<?"):
        return ""
    end = data.find(b"\n")
    line = data if end < 0 else data[:end]
    position = len(line)
    while (position := line.rfind(b"encoding=", 0, position)) >= 0:
        match = _ENCODING_VALUE.match(line, position)
        if match and line.find(b"?>", match.end()) >= 0:
            return match.group(1).decode("latin-1").lower()
    return ""


def _fast_rss(root: Any, url: str, now: datetime) -> ParsedFeed:
    channel = root[0] if len(root) == 1 else None
    if channel is None or channel.tag != "channel" or channel.attrib:
        raise _Refused("not a single plain <channel>")
    fields = _fields(
        channel, _RSS_CHANNEL, _RSS_CHANNEL_LISTS, _RSS_CHANNEL_IGNORED, _RSS_CHANNEL_CONTAINERS
    )
    title = fields.get("title")
    link = fields.get("link")
    items, note = _newest(fields.get("items", []), ("pubDate", _DC + "date"), now)
    return ParsedFeed(
        error=note,
        title=(_as_text(*_rss_title(title)) or None) if title is not None else None,
        # feedparser's fix for "&amp;" in links, as it applies it to a channel's link
        link=_link(_LINK_ENTITY.sub(r"&\g<1>", _field(link, uri=True)), url)
        if link is not None
        else None,
        entries=[_fast_rss_entry(item, url, now) for item in items],
        ttl_seconds=_ttl(_values(fields, ("ttl", "sy_updateperiod", "sy_updatefrequency"))),
    )


def _newest(
    elements: list[Any], date_tags: tuple[str, ...], now: datetime
) -> tuple[list[Any], str | None]:
    """At most ``MAX_ENTRIES`` of a document's item elements, the newest (as _bounded
    chooses), before any is read in full: 180,000 tiny items are read by their dates
    only, not turned into 180,000 entries; and a note saying so."""
    if len(elements) <= MAX_ENTRIES:
        return elements, None

    def when(index: int) -> tuple[datetime, int]:
        for child in elements[index]:
            if child.tag in date_tags and (found := _date((child.text or "").strip(), now)):
                return found, -index
        return _EPOCH, -index

    order = sorted(range(len(elements)), key=when)
    kept = sorted(order[-MAX_ENTRIES:])
    return [elements[i] for i in kept], _too_many(len(elements))


def _too_many(count: int) -> str:
    return f"too many entries: kept the newest {MAX_ENTRIES} of {count}"


def _fast_rss_entry(item: Any, feed_url: str, now: datetime) -> Entry:
    if item.attrib:
        raise _Refused("attributes on <item>")
    fields = _fields(item, _RSS_ITEM, {}, _RSS_ITEM_IGNORED, {})
    guid = link = None
    if (guid_element := fields.get("guid")) is not None:
        # A guid is the link too unless isPermaLink says otherwise (or a <link> is given).
        is_link = guid_element.get("isPermaLink", "true") == "true"
        guid = _field(guid_element, uri=is_link, attributes=_PERMALINK_AND_LANG)
        link = guid if is_link else None
    if (link_element := fields.get("link")) is not None:
        link = _field(link_element, uri=True)
        if "&" in link:  # feedparser's repair of "&amp;" in item links
            link = _LINK_ENTITY.sub(r"&\g<1>", link.replace("&amp;", "&"))
    title = fields.get("title")
    title_type, title_value = _rss_title(title) if title is not None else ("", "")
    content = _field(fields["content"]) if "content" in fields else None
    summary = fields.get("summary")
    # Without a <description>, feedparser copies the content into the summary.
    summary_value = _field(summary) if summary is not None else content or ""
    author = fields.get("author")
    return Entry(
        feed_url=feed_url,
        guid=_clean(guid),
        url=_link(link, feed_url),
        title=(_as_text(title_type, title_value) or _clean(title_value) or "")
        if title_type
        else "",
        summary=html_to_text(summary_value),
        content=html_to_text(content) if content else "",
        published_at=_fast_date(_values(fields, ("published", "updated")), now),
        author=_clean(_field(author)) if author is not None else None,
    )


def _fast_atom(root: Any, url: str, now: datetime) -> ParsedFeed:
    fields = _fields(root, _ATOM_FEED, _ATOM_FEED_LISTS, _ATOM_FEED_IGNORED, _ATOM_FEED_CONTAINERS)
    title = fields.get("title")
    guid = fields.get("guid")
    link = _atom_link(fields.get("links", ()))
    if link is None and guid is not None:
        link = _field(guid, uri=True)  # an Atom id stands in for a missing link
    entries, note = _newest(fields.get("entries", []), (_A + "published", _A + "updated"), now)
    return ParsedFeed(
        error=note,
        title=(_as_text(*_atom_text(title)) or None) if title is not None else None,
        link=_link(link, url),
        entries=[_fast_atom_entry(entry, url, now) for entry in entries],
        ttl_seconds=_ttl(_values(fields, ("sy_updateperiod", "sy_updatefrequency"))),
    )


def _fast_atom_entry(entry: Any, feed_url: str, now: datetime) -> Entry:
    if _other_attributes(entry, _LANG_ONLY):
        raise _Refused("attributes on <entry>")
    fields = _fields(entry, _ATOM_ENTRY, _ATOM_ENTRY_LISTS, _ATOM_ENTRY_IGNORED, {})
    guid = _field(fields["guid"], uri=True) if "guid" in fields else None
    link = _atom_link(fields.get("links", ()))
    title = fields.get("title")
    contents = [_atom_text(c) for c in fields.get("contents", ())]
    summary = fields.get("summary")
    if summary is not None:
        summary_type, summary_value = _atom_text(summary)
        summary_text = _as_text(summary_type, summary_value) or html_to_text(summary_value)
    else:  # feedparser copies the first content into the summary, without its type
        summary_text = html_to_text(contents[0][1]) if contents else ""
    title_type, title_value = _atom_text(title) if title is not None else ("", "")
    author = fields.get("author")
    return Entry(
        feed_url=feed_url,
        guid=_clean(guid),
        url=_link(link if link is not None else guid, feed_url),
        title=(_as_text(title_type, title_value) or _clean(title_value) or "")
        if title_type
        else "",
        summary=summary_text,
        content=_joined(contents),
        published_at=_fast_date(_values(fields, ("published", "updated")), now),
        author=_clean(_atom_person(author)) if author is not None else None,
    )


def _fields(
    parent: Any,
    single: dict[str, str],
    lists: dict[str, str],
    ignored: frozenset[str],
    containers: dict[str, frozenset[str]],
) -> dict[str, Any]:
    """The children of ``parent`` by field name (lists for ``lists``); _Refused when a
    field repeats or a child may mean something to feedparser that is not read here."""
    fields: dict[str, Any] = {}
    for child in parent:
        tag = child.tag
        if (name := single.get(tag)) is not None:
            if name in fields:
                raise _Refused(f"{tag} twice")
            fields[name] = child
        elif (name := lists.get(tag)) is not None:
            fields.setdefault(name, []).append(child)
        elif tag in ignored:
            if len(child):
                raise _Refused(f"elements inside {tag}")
        elif tag in containers:
            allowed = containers[tag]
            if any(c.tag not in allowed or len(c) for c in child):
                raise _Refused(f"unexpected elements inside {tag}")
        elif tag == _A + "link" and parent.tag == "channel":
            _check_channel_atom_link(child)
        else:
            _check_foreign(child)
    return fields


def _check_channel_atom_link(element: Any) -> None:
    """An <atom:link> in an RSS channel is common (rel="self"); feedparser takes it for
    the channel's link only when it is an alternate link."""
    rel = element.get("rel", "alternate").lower()
    if len(element) or "href" not in element.attrib or rel == "alternate":
        raise _Refused("an alternate <atom:link> in the channel")


def _check_foreign(element: Any) -> None:
    """_Refused unless feedparser ignores ``element`` and all inside it: elements of a
    namespace it does not know, under a prefix it has no handlers for."""
    for node in element.iter():
        tag = node.tag
        if not isinstance(tag, str) or not tag.startswith("{"):
            raise _Refused(f"element {tag!r}")
        uri, _, local = tag[1:].partition("}")
        prefix = (node.prefix or "").lower()
        lowered = uri.lower()
        if lowered in _KNOWN_NAMESPACES or "backend.userland.com/rss" in lowered:
            raise _Refused(f"element {tag!r}")
        if not prefix or prefix in _KNOWN_PREFIXES or _has_handler(prefix, local.lower()):
            raise _Refused(f"element {tag!r} under prefix {prefix!r}")


@functools.lru_cache(maxsize=1024)
def _has_handler(prefix: str, local: str) -> bool:
    name = f"{prefix}_{local}"
    return hasattr(_MIXIN, "_start_" + name) or hasattr(_MIXIN, "_end_" + name)


def _other_attributes(element: Any, allowed: frozenset[str] | set[str]) -> bool:
    attributes = element.attrib
    return bool(attributes) and any(name not in allowed for name in attributes)


def _text_of(element: Any, attributes: frozenset[str] | set[str] = _LANG_ONLY) -> str:
    if len(element) or _other_attributes(element, attributes):
        raise _Refused(f"elements or attributes inside {element.tag}")
    text: str = element.text or ""
    return text


def _field(
    element: Any,
    *,
    uri: bool = False,
    attributes: frozenset[str] | set[str] = _LANG_ONLY,
) -> str:
    """An element's text as feedparser's pop() leaves it."""
    return _finish(_text_of(element, attributes).strip(), uri=uri)


def _finish(text: str, *, uri: bool = False) -> str:
    if uri and text:
        text = _resolved(text)
    if not text.isascii():
        # feedparser undoes UTF-8 read as Latin-1 when it can (its parser is always
        # told the text is "utf-8": it re-encodes documents to UTF-8 before parsing)
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            text = text.encode("iso-8859-1").decode("utf-8")
        if _C1_CONTROLS.search(text):  # translate() visits every character: only if needed
            text = text.translate(_CP1252)
    return text


def _resolved(uri: str) -> str:
    """feedparser's resolve_uri without a base URI: _urljoin("", uri), which only drops
    extra slashes after "scheme://" (and is slow to find none)."""
    scheme_end = uri.find("://")
    if scheme_end >= 0 and uri.startswith("/", scheme_end + 3):
        return str(feedparser.urls._urljoin("", uri))
    return uri


def _values(fields: dict[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    return {name: _field(fields[name]) for name in names if name in fields}


def _rss_title(element: Any) -> tuple[str, str]:
    """An RSS title's type and value: plain text unless it looks like HTML to feedparser."""
    raw = _text_of(element).strip()
    # feedparser's test wants a close tag or an entity: neither without "<" or "&"
    looks_like_html = ("<" in raw or "&" in raw) and _MIXIN.looks_like_html(raw)
    content_type = "text/html" if looks_like_html else "text/plain"
    return content_type, _finish(raw)


def _atom_text(element: Any) -> tuple[str, str]:
    """An Atom text construct's type and value; _Refused for xhtml and other types."""
    content_type = _content_type(element.get("type", "text"))
    if content_type not in _TEXT_TYPES:
        raise _Refused(f"type {content_type} in {element.tag}")
    return content_type, _field(element, attributes=_TYPE_AND_LANG)


def _content_type(value: str) -> str:
    """feedparser's map_content_type: Atom's short type names as MIME types."""
    lowered = value.lower()
    return _TYPE_NAMES.get(lowered, lowered)


def _atom_link(links: Any) -> str | None:
    """The last alternate HTML link's href, as feedparser's _start_link picks it."""
    found = None
    for element in links:
        if len(element) or "href" not in element.attrib:
            raise _Refused("an Atom link without href")
        rel = element.get("rel", "alternate").lower()
        default_type = "application/atom+xml" if rel == "self" else "text/html"
        content_type = _content_type(element.get("type", default_type))
        if rel == "alternate" and content_type in _HTML_TYPES:
            found = _resolved(element.get("href"))
    return found


def _atom_person(element: Any) -> str:
    """An Atom person as feedparser's author string: "name (email)", name, or email."""
    if _other_attributes(element, _LANG_ONLY) or (element.text or "").strip():
        raise _Refused("text or attributes in an Atom person")
    parts: dict[str, str] = {}
    for child in element:
        if child.tag not in _ATOM_PERSON or child.tag in parts or (child.tail or "").strip():
            raise _Refused("unexpected content in an Atom person")
        parts[child.tag] = _text_of(child).strip()
    name, email = parts.get(_A + "name"), parts.get(_A + "email")
    if name and email:
        return f"{name} ({email})"
    return name or email or ""


def _joined(contents: Any) -> str:
    texts = (_as_text(content_type, value) for content_type, value in contents)
    return "\n\n".join(dict.fromkeys(t for t in texts if t))


def _fast_date(values: dict[str, str], now: datetime) -> datetime | None:
    """The published date, else (if there is none, or feedparser cannot read it) the
    updated date, as _struct_date makes feedparser's time tuple."""
    for name in ("published", "updated"):
        if name in values and (when := _date(values[name], now)) is not None:
            return when or None
    return None


# The two date forms nearly all feeds use, read as feedparser's _parse_date reads them
# (its W3C-DTF handler, tried first, rejects every RFC 822 string these match), without
# its generic tokenising; any other form, or a value datetime rejects, goes to it.
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
_RFC822 = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?([0-9]{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct"
    r"|Nov|Dec) ([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) (GMT|UT|Z|[+-][0-9]{4})"
)
_W3CDTF = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(Z|[+-][0-9]{2}:[0-9]{2})"
)


def _date(value: str, now: datetime) -> datetime | Literal[False] | None:
    """_struct_date(feedparser's _parse_date(value), now); None if feedparser reads no
    date, False if it reads one that _struct_date refuses."""
    if match := _RFC822.fullmatch(value):
        day, month, year, hour, minute, second, zone = match.groups()
        numbers = (int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second))
    elif match := _W3CDTF.fullmatch(value):
        year, month, day, hour, minute, second, zone = match.groups()
        numbers = (int(year), int(month), int(day), int(hour), int(minute), int(second))
    else:
        return _feedparser_date(value, now)
    if not 1 < numbers[0] < 9999:
        return _feedparser_date(value, now)  # near datetime's limits: let feedparser decide
    try:
        when = datetime(*numbers, tzinfo=UTC)
    except ValueError:
        return _feedparser_date(value, now)
    if zone[0] in "+-":
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[-2:]))
        when = when + offset if zone[0] == "-" else when - offset
    return min(when, now)


def _feedparser_date(value: str, now: datetime) -> datetime | Literal[False] | None:
    struct = _parse_date(value)
    return (_struct_date(struct, now) or False) if struct else None


# --- JSON Feed ----------------------------------------------------------------------------


MAX_JSON_DEPTH = 64  # deeper arrays and objects are read as null (json.loads recurses)
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)


def _parse_json_feed(body: bytes, url: str, now: datetime) -> ParsedFeed:
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
        title=_clean(_str(data.get("title"))),
        link=_link(_str(data.get("home_page_url")), url),
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
    try:  # 0001-01-01T00:00:00+14:00 is before datetime's first UTC instant
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except OverflowError:
        return None
    return min(when, now)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


# --- shared ---------------------------------------------------------------------------


def _clean(value: Any) -> str | None:
    text = _collapse(value) if isinstance(value, str) else ""
    return text or None


# An absolute http(s) URL that urljoin returns as it is, whatever the base: a host, no
# path parameters (";"), no empty query or fragment (urlunparse would drop "?" or "#").
_PLAIN_URL = re.compile(r"https?://[^/?#\[\];\s]+(?:/[^?#;\s]*)?(?:\?[^#\s]+)?(?:#\S+)?")


def _link(value: Any, base: str) -> str | None:
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


# --- HTML → text ----------------------------------------------------------------------

# Quoted attribute values may contain ">" (and "<"); outside quotes a tag ends at the next
# "<". Without that bound every unclosed "<" scanned to the end of the text and 64 KB of
# "<p a" took 38 s (quadratic); with it each attempt stops at the next "<", so a pass is
# linear (tests/test_hostile.py holds it so).
_ATTRS = r"""(?:[^<>"']|"[^"]*"|'[^']*')*"""
# One literal first character lets the regex engine skip to each "<" instead of trying
# every position, which is most of a pass's cost; "]]>" is replaced apart for that reason.
_DROP = re.compile(
    r"<(?:!--.*?(?:-->|$)|!\[CDATA\["
    r"|(script|style|noscript|template|iframe|svg|math|object|head|title)\b.*?(?:</\1\s*>|$))",
    re.I | re.S,
)
_BREAK = re.compile(r"<br\s*/?>", re.I)
_BLOCK = re.compile(
    r"</?(?:p|div|h[1-6]|li|ul|ol|dl|dt|dd|tr|table|blockquote|pre|section|article|header"
    r"|footer|aside|figure|figcaption|hr|main|nav|address|details|summary)\b" + _ATTRS + ">",
    re.I,
)
_TAG = re.compile(r"</?[a-zA-Z]" + _ATTRS + r">|</?[a-zA-Z][^<>]*>|<![^<>]*>|<\?[^<>]*>")
# Where markup could start (the tags, comments, CDATA and processing instructions the
# passes below remove); re.I as in _DROP, so "<ſcript>" is markup too.
_MARKUP = re.compile(r"<[a-z/!?]", re.I)


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: no tags, scripts or styles; entities unescaped;
    whitespace collapsed; paragraph breaks kept as blank lines, ``<br>`` as newlines.

    Text with no markup in it is plain text: its own line breaks are kept (as
    :func:`monitor.text.normalise_whitespace` keeps them), so an entry carrying a plain-text
    article reads as that article does in ``newsmon inspect``."""
    if "<" not in markup or not _MARKUP.search(markup):
        return normalise_whitespace(html.unescape(markup) if "&" in markup else markup)
    # Each pass is a regex starting with "<" (see _DROP) or a str method: a pass that
    # visits every character costs several times more.
    text = _DROP.sub(" ", markup)
    if "]]>" in text:
        text = text.replace("]]>", " ")
    if "\n" in text:  # the source's newlines are spaces; line breaks come from tags
        text = text.replace("\n", " ")
    if "<" in text:
        # Paragraphs and line breaks alone (common) need none of the regexes below:
        # with no other "<", each of these is a whole tag they would match.
        simple = text.replace("<p>", "\n\n").replace("</p>", "\n\n").replace("<br>", "\n")
        if "<" in simple:
            simple = _BREAK.sub("\n", text)
            simple = _BLOCK.sub("\n\n", simple)
            simple = _TAG.sub("", simple)
        text = simple
    return normalise_whitespace(html.unescape(text))
