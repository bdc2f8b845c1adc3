"""Feed discovery: from a site's HTML page to the feed URLs it announces or likely has.

Pure functions; the CLI fetches. ``announced_feeds`` reads ``<link rel="alternate">``
elements with a feed type (RSS, Atom, JSON Feed), resolving relative hrefs against the
page (or its ``<base href>``); ``common_feed_urls`` lists the paths sites usually serve a
feed at, to try when the page announces none.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/json",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
    }
)
COMMON_PATHS = (
    "/feed",
    "/rss",
    "/rss.xml",
    "/feed.xml",
    "/atom.xml",
    "/index.xml",
    "/feeds/posts/default",
)


@dataclass(frozen=True)
class FoundFeed:
    """A feed a page points to: absolute URL and the title the link gives, if any."""

    url: str
    title: str | None = None


def looks_like_html(body: bytes, content_type: str | None) -> bool:
    """Whether a response is a web page rather than a feed."""
    if content_type and "html" in content_type.lower():
        return True
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html"))


def announced_feeds(html: bytes, page_url: str) -> list[FoundFeed]:
    """The feeds a page announces with ``<link rel="alternate" type=...>``, in page order."""
    if not html.strip():
        return []
    try:
        doc = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return []
    base = page_url
    for element in doc.iter("base"):
        if href := (element.get("href") or "").strip():
            base = urljoin(page_url, href)
            break
    found: list[FoundFeed] = []
    seen: set[str] = set()
    for link in doc.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        href = (link.get("href") or "").strip()
        if "alternate" not in rels or kind not in FEED_TYPES or not href:
            continue
        url = urljoin(base, href)
        if urlsplit(url).scheme not in ("http", "https") or url in seen:
            continue
        seen.add(url)
        found.append(FoundFeed(url, (link.get("title") or "").strip() or None))
    return found


def common_feed_urls(page_url: str) -> list[str]:
    """Where a site without ``<link rel="alternate">`` usually serves its feed."""
    parts = urlsplit(page_url)
    root = f"{parts.scheme}://{parts.netloc}"
    return [root + path for path in COMMON_PATHS]
