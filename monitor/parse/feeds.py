"""Feed bodies → :class:`~monitor.domain.model.ParsedFeed` of plain-text entries. Pure: no I/O.

:func:`parse_feed` is the one entry point; the package holds one module per concern:

- :mod:`~monitor.parse.feedparser_xml`: RSS 0.9x/1.0/2.0 and Atom as feedparser reads
  them, with its HTML sanitizer and relative-URI rewriting off;
- :mod:`~monitor.parse.xml_fast`: the same reading over an lxml tree for the well-formed
  UTF-8 RSS 2.0 and Atom 1.0 that most feeds are (about 20× cheaper per entry); whatever
  it refuses goes to feedparser (tests/test_parse_differential.py holds the two equal);
- :mod:`~monitor.parse.jsonfeed`: JSON Feed (1.0/1.1), which feedparser 6 does not read;
- :mod:`~monitor.parse.fields`: the limits every feed is held to, and field cleaning;
- :mod:`~monitor.parse.htmltext`: :func:`html_to_text`, which every field goes through
  (faster than feedparser's sanitizer, and it drops markup entirely).

XML safety: the fast path's parser loads no DTD, resolves no entities and never reaches
the network, and documents with a DOCTYPE go to feedparser, which gets them without their
entity declarations and runs expat with external entities off; so billion-laughs and
external-entity (file or URL) attacks neither expand nor fetch anything (see
tests/test_parse.py).

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

import re
from dataclasses import replace
from datetime import UTC, datetime

from monitor.domain.errors import FetchError
from monitor.domain.model import ParsedFeed
from monitor.parse.feedparser_xml import parse_with_feedparser
from monitor.parse.fields import bounded
from monitor.parse.jsonfeed import parse_json_feed
from monitor.parse.xml_fast import parse_fast

__all__ = ["parse_feed"]


def parse_feed(
    body: bytes, *, url: str, content_type: str | None = None, now: datetime | None = None
) -> ParsedFeed:
    """Parse a feed body fetched from ``url``; FetchError when nothing usable is in it."""
    now = now or datetime.now(UTC)
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise FetchError(f"empty response instead of a feed: {url}")
    if head.startswith((b"{", b"[")) or "json" in (content_type or "").lower():
        return bounded(parse_json_feed(body, url, now))
    return with_declared_language(bounded(_parse_xml_feed(body, url, content_type, now)), body)


# An RSS channel's <language> or the root element's xml:lang, within the feed's head.
_DECLARED_LANGUAGE = re.compile(
    rb"<language>\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*\s*</language>"
    rb"|<(?:rss|feed|rdf:RDF|channel)\b[^>]*\bxml:lang=[\"']([A-Za-z]{2,3})",
)


def with_declared_language(parsed: ParsedFeed, body: bytes) -> ParsedFeed:
    """Every entry with the language its feed declares (an entry's own wins)."""
    m = _DECLARED_LANGUAGE.search(body[:8192])
    if m is None:
        return parsed
    language = (m.group(1) or m.group(2)).decode("ascii").lower()
    entries = [e if e.language else replace(e, language=language) for e in parsed.entries]
    return replace(parsed, entries=entries)


def _parse_xml_feed(body: bytes, url: str, content_type: str | None, now: datetime) -> ParsedFeed:
    try:
        return parse_fast(body, url, content_type, now)
    except Exception:  # a refusal, or a fault of the fast path: feedparser reads it all
        return parse_with_feedparser(body, url, content_type, now)
