"""The lxml fast path of parse_feed against feedparser, the path it stands in for.

Every XML feed fixture under tests/data (and generated ones) is parsed by both paths
under several Content-Types; whenever the fast path accepts a document, its ParsedFeed
must equal feedparser's. The fixtures in tests/data/feeds/differential/ cover what the
fast path must read exactly (text constructs, links, dates, encodings, authors, ttl) or
refuse (malformed XML, DOCTYPE, RSS 1.0, other encodings, elements feedparser gives a
meaning to that the fast path does not read).
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import pytest
from feedparser.datetimes import _parse_date
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.domain.errors import FetchError
from monitor.domain.model import ParsedFeed
from monitor.parse import xml_fast
from monitor.parse.feedparser_xml import parse_with_feedparser, struct_date
from monitor.parse.feeds import parse_feed, with_declared_language
from monitor.parse.fields import resolve_link
from monitor.parse.htmltext import html_to_text
from tests.support.paths import REPO

DATA = REPO / "tests" / "data"
FEEDS = DATA / "feeds"
FIXTURES = sorted(
    p for p in DATA.rglob("*") if p.suffix in (".xml", ".rdf") and "item" not in p.stem
)
FEED_URL = "https://feeds.example/dir/feed.xml"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
CONTENT_TYPES = [
    None,
    "application/rss+xml",
    "application/atom+xml; charset=utf-8",
    "text/xml",
    "text/xml; charset=UTF-8",
    "application/rss+xml; charset=UTF-8",
    "text/plain; charset=US-ASCII",
    "text/html; charset=utf-8",
    "application/octet-stream",
]
# Fixtures the fast path must accept (under the default Content-Type): without this the
# comparison could pass by the fast path refusing everything.
ACCEPTED = {
    "e2e/aggregator.xml",
    "e2e/kyiv-round1.xml",
    "e2e/lang-round1.xml",
    "e2e/seoul.xml",
    "feeds/duplicate-guids.xml",
    "feeds/no-link.xml",
    "feeds/relative-links.xml",
    "feeds/rss091.xml",
    "feeds/rss20.xml",
    "feeds/hostile/odd-entries.xml",
    "feeds/differential/atom-constructs.xml",
    "feeds/differential/atom-no-link.xml",
    "feeds/differential/rss-dates.xml",
    "feeds/differential/rss-no-declaration.xml",
    "feeds/differential/rss-tricky-text.xml",
    "feeds/differential/rss-typical.xml",
    "web/wire.xml",
}
REFUSED = {
    "feeds/atom.xml",  # xhtml content
    "feeds/billion-laughs.xml",  # DOCTYPE
    "feeds/malformed.xml",
    "feeds/rss10.rdf",
    "feeds/hostile/latin1-declared-utf8.xml",  # not UTF-8 after all: not well-formed
    "feeds/hostile/malformed.xml",
    "feeds/differential/rss-latin1.xml",
    "feeds/differential/rss-undeclared-prefix.xml",
    "feeds/differential/rss-known-namespace-elements.xml",
}


def both(body: bytes, content_type: str | None) -> tuple[ParsedFeed | None, ParsedFeed | str]:
    """(fast path result or None if it refused, feedparser's result or its FetchError)."""
    try:
        slow: ParsedFeed | str = parse_with_feedparser(body, FEED_URL, content_type, NOW)
    except FetchError as exc:
        slow = str(exc)
    try:
        fast = xml_fast.parse_fast(body, FEED_URL, content_type, NOW)
    except xml_fast.Refused:
        fast = None
    return fast, slow


def name(path: Path) -> str:
    return path.relative_to(DATA).as_posix()


def test_every_fixture_is_classified() -> None:
    assert {name(p) for p in FIXTURES} == ACCEPTED | REFUSED


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@pytest.mark.parametrize("path", FIXTURES, ids=name)
def test_fast_path_equals_feedparser(path: Path, content_type: str | None) -> None:
    fast, slow = both(path.read_bytes(), content_type)
    if content_type is None:
        assert (fast is not None) == (name(path) in ACCEPTED)
    if fast is not None:
        assert fast == slow


@pytest.mark.parametrize("path", FIXTURES, ids=name)
def test_parse_feed_takes_the_fast_path_when_it_accepts(path: Path) -> None:
    body = path.read_bytes()
    fast, slow = both(body, None)
    try:
        result: ParsedFeed | str = parse_feed(body, url=FEED_URL, now=NOW)
    except FetchError as exc:
        result = str(exc)
    taken = fast if fast is not None else slow
    # parse_feed adds the language the feed declares to entries that name none
    expected = taken if isinstance(taken, str) else with_declared_language(taken, body)
    assert result == expected


@pytest.mark.parametrize("feed", [0, 7, 123])
def test_farm_feeds(feed: int) -> None:
    from bench import farm  # reads ../shared/seeds, so only when this test runs

    body = farm.feed_xml(feed, 1, 20, "http://127.0.0.1:8080")
    fast, slow = both(body, "application/rss+xml")
    assert fast is not None and fast == slow and len(fast.entries) == 20
    undeclared = b"\n  " + body.split(b"?>", 1)[1].lstrip()  # whitespace, then the root
    assert both(undeclared, None) == (slow, slow)
    assert both(b"\n" + body, None)[0] is None  # a declaration must come first


# --- generated items --------------------------------------------------------------------

# Text with the characters feedparser's rules turn on: markup, entities, whitespace,
# Windows-1252 control characters, UTF-8 read as Latin-1.
_PIECES = st.sampled_from(
    [
        "a", "Zürich", " ", "\n", "\t", "<b>", "</b>", "<p>", "</p>", "<br/>", "<made>",
        "</made>", "&amp;", "&lt;", "&gt;", "&eacute;", "&#8220;", "&notreal;", "&amp;amp;",
        "3 < 4", "\x93", "\x85", "\u20ac", "Ã©", "<![CDATA[", "]]>", "<script>x</script>",
        "/rel", "http://", "https:///", "?a=1&b=2", "javascript:", "(Name)", "a@b.example",
    ]
)  # fmt: skip
_TEXT = st.lists(_PIECES, max_size=8).map("".join)


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@settings(max_examples=150, deadline=None)
@given(
    title=_TEXT,
    description=_TEXT,
    link=_TEXT,
    guid=_TEXT,
    author=_TEXT,
    permalink=st.sampled_from(["", ' isPermaLink="false"', ' isPermaLink="true"']),
    content_type=st.sampled_from(CONTENT_TYPES),
)
def test_generated_rss_items(
    title: str,
    description: str,
    link: str,
    guid: str,
    author: str,
    permalink: str,
    content_type: str | None,
) -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{_xml_text(title)}</title><link>{_xml_text(link)}</link>"
        f"<item><title>{_xml_text(title)}</title><link>{_xml_text(link)}</link>"
        f"<guid{permalink}>{_xml_text(guid)}</guid><author>{_xml_text(author)}</author>"
        f"<description>{_xml_text(description)}</description></item>"
        f"<item><guid{permalink}>{_xml_text(guid)}</guid>"
        f"<description><![CDATA[{description.replace(']]>', '')}]]></description></item>"
        "</channel></rss>"
    ).encode()
    fast, slow = both(body, content_type)
    if content_type in (None, "application/rss+xml"):
        assert fast is not None
    if fast is not None:
        assert fast == slow


@settings(max_examples=150, deadline=None)
@given(
    title=_TEXT,
    summary=_TEXT,
    content=_TEXT,
    href=_TEXT,
    name_=_TEXT,
    types=st.tuples(
        *[st.sampled_from(["", ' type="text"', ' type="html"', ' type="text/html"'])] * 3
    ),
)
def test_generated_atom_entries(
    title: str, summary: str, content: str, href: str, name_: str, types: tuple[str, ...]
) -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title{types[0]}>{_xml_text(title)}</title><id>{_xml_text(href)}</id>"
        f"<entry><title{types[0]}>{_xml_text(title)}</title><id>{_xml_text(href)}</id>"
        f'<link href="{_xml_text(href).replace(chr(34), "&quot;")}"/>'
        f"<summary{types[1]}>{_xml_text(summary)}</summary>"
        f"<content{types[2]}>{_xml_text(content)}</content>"
        f"<author><name>{_xml_text(name_)}</name></author></entry>"
        f"<entry><id>{_xml_text(href)}</id><content{types[2]}>{_xml_text(content)}</content>"
        "</entry></feed>"
    ).encode()
    fast, slow = both(body, "application/atom+xml")
    assert fast is not None
    assert fast == slow


# --- html_to_text against the implementation it replaced ------------------------------
# html_to_text skips the passes that cannot match; the straightforward pipeline it came
# from (every pass, every time) is the reference it must agree with.

# Outside quotes a tag ends at the next "<" (what keeps html_to_text linear).
_ATTRS = r"""(?:[^<>"']|"[^"]*"|'[^']*')*"""
_DROP = re.compile(
    r"<!--.*?(?:-->|$)|<!\[CDATA\[|\]\]>"
    r"|<(script|style|noscript|template|iframe|svg|math|object|head|title)\b.*?(?:</\1\s*>|$)",
    re.I | re.S,
)
_BLOCK = re.compile(
    r"</?(?:p|div|h[1-6]|li|ul|ol|dl|dt|dd|tr|table|blockquote|pre|section|article|header"
    r"|footer|aside|figure|figcaption|hr|main|nav|address|details|summary)\b" + _ATTRS + ">",
    re.I,
)
_TAG = re.compile(r"</?[a-zA-Z]" + _ATTRS + r">|</?[a-zA-Z][^<>]*>|<![^<>]*>|<\?[^<>]*>")


def reference_html_to_text(markup: str) -> str:
    if not re.search(r"<[a-z/!?]", markup, re.I):  # plain text: its line breaks are kept
        lines = [" ".join(line.split()) for line in html.unescape(markup).split("\n")]
        return re.sub(r"\n\s*\n\s*", "\n\n", "\n".join(lines)).strip()
    text = _DROP.sub(" ", markup)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"<br\s*/?>", "\n", text, flags=re.I)
    text = _BLOCK.sub("\n\n", text)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    lines = [re.sub(r"[^\S\n]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n\s*\n\s*", "\n\n", "\n".join(lines)).strip()


_HTML_PIECES = st.sampled_from(
    [
        "word", " ", "  ", "\n", "\r\n", "\t", "\xa0", "&nbsp;", "&amp;", "&#10;", "&lt;p&gt;",
        "<p>", "</p>", "<P class='x'>", "<br>", "<BR/>", "<br />", "<br class=x>", "<div>",
        "</div>", "<li>", "<b>", "</b>", "<a href='x>y'>", "</a>", "<img src=\"a>b\">",
        "<script>", "</script>", "<ſcript>", "<SCRİPT>", "<style>", "</style>", "<tıtle>",
        "<!--", "-->", "<![CDATA[", "]]>", "<?pi?>", "<!doctype html>", "3 < 4", "a > b",
        "<", ">", "'", '"', "\u2028", "\x85", "\x00", "\x0b", "&#10;", "&#x85;", "K", "ſ", "ı",
        "İ", "<hr>", "<h2>", "</h2>", "<svg><p>x</p></svg>",
    ]
)  # fmt: skip


@settings(max_examples=2000, deadline=None)
@given(st.lists(_HTML_PIECES, max_size=14).map("".join))
def test_html_to_text_equals_reference(markup: str) -> None:
    assert html_to_text(markup) == reference_html_to_text(markup)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_html_to_text_equals_reference_on_any_text(markup: str) -> None:
    assert html_to_text(markup) == reference_html_to_text(markup)


# --- links ------------------------------------------------------------------------------

_URL_PIECES = st.sampled_from(
    [
        "http://", "https://", "HTTP://", "http:", "//", "/", "host.example", "h", ":8080",
        "[::1]", "[", "]", "a;b", ";", "?", "?q=1", "&", "#", "#frag", "..", ".", "%20", " ",
        "\t", "\n", "\x01", "é", "user@", "\\", "javascript:", "mailto:x@y", "path/",
    ]
)  # fmt: skip


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(_URL_PIECES, max_size=8).map("".join),
    st.sampled_from([FEED_URL, "http://b.example/x/"]),
)
def test_link_shortcut_equals_urljoin(value: str, base: str) -> None:
    def reference(value: str, base: str) -> str | None:
        if not value.strip():
            return None
        try:
            link = urljoin(base, value.strip())
        except ValueError:
            return None
        return link if urlsplit(link).scheme in ("http", "https") else None

    assert resolve_link(value, base) == reference(value, base)


# --- dates ------------------------------------------------------------------------------


@settings(max_examples=3000, deadline=None)
@given(
    st.one_of(
        st.tuples(
            st.sampled_from(["", "Mon, ", "Sat, ", "Thu, ", "Tue,"]),
            st.integers(0, 39).map(lambda d: f"{d:02d}"),
            st.sampled_from(["Jan", "Feb", "Sep", "Dec", "Foo"]),
            st.sampled_from(["0001", "0002", "1999", "2024", "2100", "9998", "9999"]),
            st.tuples(*[st.integers(0, 61)] * 3).map(lambda t: f"{t[0]:02d}:{t[1]:02d}:{t[2]:02d}"),
            st.sampled_from(["GMT", "UT", "Z", "EST", "+0000", "-0000", "+0530", "-1259", "+9999"]),
        ).map(lambda p: f"{p[0]}{p[1]} {p[2]} {p[3]} {p[4]} {p[5]}"),
        st.tuples(
            st.sampled_from(["0001", "0002", "2024", "9998", "9999"]),
            st.integers(0, 13),
            st.integers(0, 32),
            st.tuples(*[st.integers(0, 61)] * 3).map(lambda t: f"{t[0]:02d}:{t[1]:02d}:{t[2]:02d}"),
            st.sampled_from(["Z", "+00:00", "-05:30", "+14:00", "+99:99", ""]),
        ).map(lambda p: f"{p[0]}-{p[1]:02d}-{p[2]:02d}T{p[3]}{p[4]}"),
    )
)
def test_date_shortcut_equals_feedparser(value: str) -> None:
    struct = _parse_date(value)
    expected = (struct_date(struct, NOW) or False) if struct else None
    assert xml_fast._date(value, NOW) == expected


_DECLARATION_PIECES = st.sampled_from(
    [
        "<?", "xml", " ", "version='1.0'", "encoding=", "'", '"', "UTF-8", "iso-8859-1", "?>",
        "\n", "\r", "<rss>", "x", "encoding='utf-8'", '"?>',
    ]
)  # fmt: skip


@settings(max_examples=3000, deadline=None)
@given(st.lists(_DECLARATION_PIECES, max_size=12).map("".join))
def test_declared_encoding_equals_feedparsers_regex(head: str) -> None:
    data = head.encode()
    match = feedparser.encodings.RE_XML_PI_ENCODING.match(data)
    expected = match.group(1).decode("latin-1").lower() if match else ""
    assert xml_fast._declared_encoding(data) == expected


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_character_references_in_an_ascii_body(content_type: str | None) -> None:
    # UTF-8 read as Latin-1, spelled as references: feedparser repairs it whatever the
    # declared or served encoding (it always parses a re-encoded UTF-8 document).
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Caf&#195;&#169;</title>'
        b"<item><title>&#147;Quoted&#148; &#195;&#188;ber</title><author>&#128;</author>"
        b"<description>&#x85; &#195;&#169;&lt;b&gt;x&lt;/b&gt;</description></item>"
        b"</channel></rss>"
    )
    fast, slow = both(body, content_type)
    assert fast is not None and fast == slow
    # the repair is all or nothing per field, before the Windows-1252 mapping
    assert fast.title == "Café" and fast.entries[0].title == "“Quoted” Ã¼ber"
