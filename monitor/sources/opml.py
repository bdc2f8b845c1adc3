"""OPML 2.0 in and out: the feed lists other readers import and export.

Pure functions: ``parse_opml`` reads every ``<outline xmlUrl=...>`` at any depth (folders
are nested outlines) and skips a URL it has already seen; ``render_opml`` writes one flat
``<body>`` of outlines. The XML parser loads no DTD, resolves no entity and reaches no
network: an OPML file is as untrusted as a feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from lxml import etree

from monitor.domain.errors import NewsmonError


@dataclass(frozen=True)
class OpmlFeed:
    """One feed of an OPML file: its URL and, when the outline gives one, its name."""

    url: str
    name: str | None = None


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_opml(data: bytes, source: str = "OPML") -> list[OpmlFeed]:
    """Every feed outline of an OPML document, in document order, duplicates skipped."""
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise NewsmonError(f"{source}: not valid XML: {exc}") from None
    if root is None or etree.QName(root).localname != "opml":
        raise NewsmonError(f"{source}: not an OPML document (no <opml> root)")
    feeds: list[OpmlFeed] = []
    seen: set[str] = set()
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if not url or url in seen:
            continue
        seen.add(url)
        name = (outline.get("title") or outline.get("text") or "").strip() or None
        feeds.append(OpmlFeed(url, name))
    return feeds


def render_opml(
    feeds: list[OpmlFeed], *, title: str = "newsmon feeds", now: datetime | None = None
) -> str:
    """An OPML 2.0 document listing ``feeds`` (names escaped; no folders)."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(now or datetime.now(UTC))
    body = etree.SubElement(root, "body")
    for feed in feeds:
        label = feed.name or feed.url
        etree.SubElement(body, "outline", type="rss", text=label, title=label, xmlUrl=feed.url)
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml.decode("utf-8")
