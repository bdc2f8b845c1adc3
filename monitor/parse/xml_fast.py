"""The lxml fast path for RSS 2.0 and Atom 1.0: feedparser's reading, about 20× cheaper.

feedparser spends ~200 µs per entry in its SAX handlers; lxml builds a tree in a few.
Most feeds are well-formed UTF-8 RSS 2.0 or Atom 1.0 using a handful of elements:
:func:`parse_fast` reads those and yields exactly what
:func:`~monitor.parse.feedparser_xml.parse_with_feedparser` yields for them
(tests/test_parse_differential.py holds the two paths equal). The rules it follows are
feedparser's own (its mixin's pop(), _start_link, _end_guid, ...), restated for the
documents it accepts. Whatever it is not sure to read identically it refuses
(:class:`Refused`) and feedparser parses the document as before: malformed XML (so feedparser's
leniency and bozo message are kept), a DOCTYPE, an encoding other than UTF-8/ASCII,
RSS 1.0 and older Atom, xml:base, an element feedparser gives a meaning to that is not
read here, a field given twice, markup inside a field.

XML safety: the parser loads no DTD, resolves no entities and reaches no network, and a
document with a DOCTYPE is refused before it is parsed.
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import feedparser
from feedparser.datetimes import _parse_date
from lxml import etree

from monitor.domain.model import Entry, ParsedFeed
from monitor.parse.feedparser_xml import as_text, feed_ttl, struct_date
from monitor.parse.fields import EPOCH, MAX_ENTRIES, clean, resolve_link, too_many
from monitor.parse.htmltext import html_to_text

__all__ = ["Refused", "parse_fast"]


class Refused(Exception):
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


def parse_fast(body: bytes, url: str, content_type: str | None, now: datetime) -> ParsedFeed:
    """A well-formed UTF-8 RSS 2.0 or Atom 1.0 feed, read as feedparser reads it;
    Refused when this path cannot promise that reading."""
    _check_encoding(body, content_type)
    if b"<!DOCTYPE" in body or (b"base" in body.lower() and _BASE_ATTRIBUTE.search(body)):
        raise Refused("a DOCTYPE or a base URI")
    try:
        root = etree.fromstring(body, _THREAD.parser)
    except etree.XMLSyntaxError:
        raise Refused("not well-formed") from None
    if root.tag == "rss" and not _other_attributes(root, {"version"}):
        return _fast_rss(root, url, now)
    if root.tag == _A + "feed" and not _other_attributes(root, _LANG_ONLY):
        return _fast_atom(root, url, now)
    raise Refused(f"root element {root.tag!r}")


def _check_encoding(body: bytes, content_type: str | None) -> None:
    """Refused unless feedparser decodes this body as UTF-8 (or ASCII, for an ASCII body),
    as lxml does. feedparser decides by its reading of RFC 3023
    (feedparser.encodings.convert_to_utf8), restated here."""
    data = body[3:] if body.startswith(b"\xef\xbb\xbf") else body
    start = data.lstrip(b" \t\r\n")  # whitespace before a root (not before <?xml: lxml refuses)
    if not start.startswith(b"<") or start.startswith(b"<\x00"):
        raise Refused("not UTF-8 XML")
    declared = _declared_encoding(data)
    if declared not in ("", "utf-8"):
        raise Refused(f"declared encoding {declared}")
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
    raise Refused(f"encoding {encoding}")


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
        raise Refused("not a single plain <channel>")
    fields = _fields(
        channel, _RSS_CHANNEL, _RSS_CHANNEL_LISTS, _RSS_CHANNEL_IGNORED, _RSS_CHANNEL_CONTAINERS
    )
    title = fields.get("title")
    link = fields.get("link")
    items, note = _newest(fields.get("items", []), ("pubDate", _DC + "date"), now)
    return ParsedFeed(
        error=note,
        title=(as_text(*_rss_title(title)) or None) if title is not None else None,
        # feedparser's fix for "&amp;" in links, as it applies it to a channel's link
        link=resolve_link(_LINK_ENTITY.sub(r"&\g<1>", _field(link, uri=True)), url)
        if link is not None
        else None,
        entries=[_fast_rss_entry(item, url, now) for item in items],
        ttl_seconds=feed_ttl(_values(fields, ("ttl", "sy_updateperiod", "sy_updatefrequency"))),
    )


def _newest(
    elements: list[Any], date_tags: tuple[str, ...], now: datetime
) -> tuple[list[Any], str | None]:
    """At most ``MAX_ENTRIES`` of a document's item elements, the newest (as bounded
    chooses), before any is read in full: 180,000 tiny items are read by their dates
    only, not turned into 180,000 entries; and a note saying so."""
    if len(elements) <= MAX_ENTRIES:
        return elements, None

    def when(index: int) -> tuple[datetime, int]:
        for child in elements[index]:
            if child.tag in date_tags and (found := _date((child.text or "").strip(), now)):
                return found, -index
        return EPOCH, -index

    order = sorted(range(len(elements)), key=when)
    kept = sorted(order[-MAX_ENTRIES:])
    return [elements[i] for i in kept], too_many(len(elements))


def _fast_rss_entry(item: Any, feed_url: str, now: datetime) -> Entry:
    if item.attrib:
        raise Refused("attributes on <item>")
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
        guid=clean(guid),
        url=resolve_link(link, feed_url),
        title=(as_text(title_type, title_value) or clean(title_value) or "") if title_type else "",
        summary=html_to_text(summary_value),
        content=html_to_text(content) if content else "",
        published_at=_fast_date(_values(fields, ("published", "updated")), now),
        author=clean(_field(author)) if author is not None else None,
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
        title=(as_text(*_atom_text(title)) or None) if title is not None else None,
        link=resolve_link(link, url),
        entries=[_fast_atom_entry(entry, url, now) for entry in entries],
        ttl_seconds=feed_ttl(_values(fields, ("sy_updateperiod", "sy_updatefrequency"))),
    )


def _fast_atom_entry(entry: Any, feed_url: str, now: datetime) -> Entry:
    if _other_attributes(entry, _LANG_ONLY):
        raise Refused("attributes on <entry>")
    fields = _fields(entry, _ATOM_ENTRY, _ATOM_ENTRY_LISTS, _ATOM_ENTRY_IGNORED, {})
    guid = _field(fields["guid"], uri=True) if "guid" in fields else None
    link = _atom_link(fields.get("links", ()))
    title = fields.get("title")
    contents = [_atom_text(c) for c in fields.get("contents", ())]
    summary = fields.get("summary")
    if summary is not None:
        summary_type, summary_value = _atom_text(summary)
        summary_text = as_text(summary_type, summary_value) or html_to_text(summary_value)
    else:  # feedparser copies the first content into the summary, without its type
        summary_text = html_to_text(contents[0][1]) if contents else ""
    title_type, title_value = _atom_text(title) if title is not None else ("", "")
    author = fields.get("author")
    return Entry(
        feed_url=feed_url,
        guid=clean(guid),
        url=resolve_link(link if link is not None else guid, feed_url),
        title=(as_text(title_type, title_value) or clean(title_value) or "") if title_type else "",
        summary=summary_text,
        content=_joined(contents),
        published_at=_fast_date(_values(fields, ("published", "updated")), now),
        author=clean(_atom_person(author)) if author is not None else None,
    )


def _fields(
    parent: Any,
    single: dict[str, str],
    lists: dict[str, str],
    ignored: frozenset[str],
    containers: dict[str, frozenset[str]],
) -> dict[str, Any]:
    """The children of ``parent`` by field name (lists for ``lists``); Refused when a
    field repeats or a child may mean something to feedparser that is not read here."""
    fields: dict[str, Any] = {}
    for child in parent:
        tag = child.tag
        if (name := single.get(tag)) is not None:
            if name in fields:
                raise Refused(f"{tag} twice")
            fields[name] = child
        elif (name := lists.get(tag)) is not None:
            fields.setdefault(name, []).append(child)
        elif tag in ignored:
            if len(child):
                raise Refused(f"elements inside {tag}")
        elif tag in containers:
            allowed = containers[tag]
            if any(c.tag not in allowed or len(c) for c in child):
                raise Refused(f"unexpected elements inside {tag}")
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
        raise Refused("an alternate <atom:link> in the channel")


def _check_foreign(element: Any) -> None:
    """Refused unless feedparser ignores ``element`` and all inside it: elements of a
    namespace it does not know, under a prefix it has no handlers for."""
    for node in element.iter():
        tag = node.tag
        if not isinstance(tag, str) or not tag.startswith("{"):
            raise Refused(f"element {tag!r}")
        uri, _, local = tag[1:].partition("}")
        prefix = (node.prefix or "").lower()
        lowered = uri.lower()
        if lowered in _KNOWN_NAMESPACES or "backend.userland.com/rss" in lowered:
            raise Refused(f"element {tag!r}")
        if not prefix or prefix in _KNOWN_PREFIXES or _has_handler(prefix, local.lower()):
            raise Refused(f"element {tag!r} under prefix {prefix!r}")


@functools.lru_cache(maxsize=1024)
def _has_handler(prefix: str, local: str) -> bool:
    name = f"{prefix}_{local}"
    return hasattr(_MIXIN, "_start_" + name) or hasattr(_MIXIN, "_end_" + name)


def _other_attributes(element: Any, allowed: frozenset[str] | set[str]) -> bool:
    attributes = element.attrib
    return bool(attributes) and any(name not in allowed for name in attributes)


def _text_of(element: Any, attributes: frozenset[str] | set[str] = _LANG_ONLY) -> str:
    if len(element) or _other_attributes(element, attributes):
        raise Refused(f"elements or attributes inside {element.tag}")
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
    """An Atom text construct's type and value; Refused for xhtml and other types."""
    content_type = _content_type(element.get("type", "text"))
    if content_type not in _TEXT_TYPES:
        raise Refused(f"type {content_type} in {element.tag}")
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
            raise Refused("an Atom link without href")
        rel = element.get("rel", "alternate").lower()
        default_type = "application/atom+xml" if rel == "self" else "text/html"
        content_type = _content_type(element.get("type", default_type))
        if rel == "alternate" and content_type in _HTML_TYPES:
            found = _resolved(element.get("href"))
    return found


def _atom_person(element: Any) -> str:
    """An Atom person as feedparser's author string: "name (email)", name, or email."""
    if _other_attributes(element, _LANG_ONLY) or (element.text or "").strip():
        raise Refused("text or attributes in an Atom person")
    parts: dict[str, str] = {}
    for child in element:
        if child.tag not in _ATOM_PERSON or child.tag in parts or (child.tail or "").strip():
            raise Refused("unexpected content in an Atom person")
        parts[child.tag] = _text_of(child).strip()
    name, email = parts.get(_A + "name"), parts.get(_A + "email")
    if name and email:
        return f"{name} ({email})"
    return name or email or ""


def _joined(contents: Any) -> str:
    texts = (as_text(content_type, value) for content_type, value in contents)
    return "\n\n".join(dict.fromkeys(t for t in texts if t))


def _fast_date(values: dict[str, str], now: datetime) -> datetime | None:
    """The published date, else (if there is none, or feedparser cannot read it) the
    updated date, as struct_date makes feedparser's time tuple."""
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
    """struct_date(feedparser's _parse_date(value), now); None if feedparser reads no
    date, False if it reads one that struct_date refuses."""
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
    return (struct_date(struct, now) or False) if struct else None
