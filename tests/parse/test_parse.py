"""parse_feed over the fixture feeds in tests/data/feeds/, html_to_text, and XML attacks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from monitor.domain.errors import FetchError
from monitor.domain.model import Entry, ParsedFeed
from monitor.parse.feeds import parse_feed
from monitor.parse.htmltext import html_to_text
from tests.support.feedserver import FeedServer
from tests.support.paths import REPO

FEEDS = REPO / "tests" / "data" / "feeds"
FEED_URL = "https://feeds.example/dir/feed.xml"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def parse(name: str, content_type: str | None = None) -> ParsedFeed:
    return parse_feed((FEEDS / name).read_bytes(), url=FEED_URL, content_type=content_type, now=NOW)


def test_rss20() -> None:
    feed = parse("rss20.xml", "application/rss+xml; charset=utf-8")
    assert (feed.title, feed.link, feed.error, feed.ttl_seconds) == (
        "Harbour Gazette & Courier",
        "https://gazette.example/",
        None,
        1800,
    )
    first, second, third = feed.entries
    assert first == Entry(
        feed_url=FEED_URL,
        guid="gazette-1001",
        url="https://gazette.example/news/ferry-timetable?utm_source=rss",
        title="Ferry timetable changes after storm & flooding",
        summary="The morning ferry will leave twenty minutes later.",
        content="The morning ferry will leave twenty minutes later from Monday.\n\n"
        "Officials said the pier needs repairs\nbefore summer.",
        published_at=datetime(2024, 3, 5, 8, 30, tzinfo=UTC),
        author="Mara Lindqvist",
    )
    assert second.published_at is None  # unparsable date
    assert second.guid == second.url == "https://gazette.example/news/lighthouse"
    assert third.published_at == NOW  # the year 2950 is clamped to now


def test_rss10_with_syndication_period() -> None:
    feed = parse("rss10.rdf")
    assert feed.ttl_seconds == 1800  # hourly, twice
    (entry,) = feed.entries
    assert entry.title == "Early harvest expected in the lower valley"
    assert entry.published_at == datetime(2024, 4, 10, 6, 15, tzinfo=UTC)
    assert entry.author == "Tomas Reyes"


def test_rss091() -> None:
    (entry,) = parse("rss091.xml").entries
    assert entry.url == "http://bulletin.example/library"
    assert entry.summary == "The library now stays open until eight."


def test_atom_text_constructs() -> None:
    feed = parse("atom.xml", "application/atom+xml")
    bridge, budget = feed.entries
    assert bridge.title == "Bridge reopens ahead of schedule"
    assert bridge.summary == "Traffic resumes on the river crossing <not a tag>."  # type="text"
    assert bridge.content == "Traffic resumed on Thursday.\n\nEngineers finished early."
    assert bridge.published_at == datetime(2024, 5, 2, 5, 45, tzinfo=UTC)
    assert bridge.author == "Ines Okafor"
    assert budget.title == "Council budget: 3 < 4"
    assert budget.content == "The council approved the budget."
    assert budget.published_at == datetime(2024, 5, 1, 18, 0, tzinfo=UTC)  # from <updated>


def test_json_feed() -> None:
    feed = parse("jsonfeed.json", "application/feed+json")
    assert (feed.title, feed.link, feed.error) == ("Coastal Wire", "https://wire.example/", None)
    tides, seals = feed.entries  # the non-object item is skipped
    assert tides.content == (
        "Forecasters expect the highest tides in a decade.\n\nResidents should move cars."
    )
    assert tides.summary == "Forecasters expect the highest tides in a decade."
    assert tides.author == "Priya Nair, Jon Berg"
    assert tides.published_at == datetime(2024, 3, 20, 9, 0, tzinfo=UTC)
    assert (seals.guid, seals.url) == ("78", "https://feeds.example/stories/seals")
    assert seals.content == "Volunteers counted 212 pups.\n\nThat is more than last year."
    assert seals.author == "Wire staff"


def test_malformed_feed_keeps_what_parsed() -> None:
    feed = parse("malformed.xml")
    assert [e.title for e in feed.entries] == [
        "First story survives the damage",
        "Second story unclosed",
    ]
    assert feed.error is not None and "undefined entity" in feed.error


def test_relative_links_resolve_against_the_feed_url() -> None:
    feed = parse("relative-links.xml")
    assert feed.link == "https://feeds.example/"
    assert [e.url for e in feed.entries] == [
        "https://feeds.example/news/2024/market-day",
        "https://feeds.example/dir/stories/ferry",
        None,  # javascript: is not a link
    ]
    assert [e.guid for e in feed.entries] == ["rel-1", "rel-2", "rel-3"]  # never rewritten


def test_entry_without_link_or_guid() -> None:
    (entry,) = parse("no-link.xml").entries
    assert (entry.url, entry.guid) == (None, None)
    assert entry.text == "No link, no guid: only a title and a text."


def test_duplicate_guids_are_all_returned() -> None:
    # Identity and dedup are a later stage; the parser reports what the feed says.
    feed = parse("duplicate-guids.xml")
    assert [e.guid for e in feed.entries] == ["echo-5", "echo-5"]


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"", None, "empty response"),
        (b"  \n ", None, "empty response"),
        ((FEEDS / "html-page.html").read_bytes(), "text/html", "the server sent an HTML page"),
        (b"<rss><channel><item><title>x", None, None),  # truncated but usable: no error
        (b"hello, plain text", "text/plain", "not a feed"),
        (b"{not json", "application/json", "invalid JSON"),
        (b'{"version": "1"}', None, "JSON Feed 'items'"),
        (b"[1, 2]", None, "JSON Feed 'items'"),
    ],
)
def test_unusable_bodies(body: bytes, content_type: str | None, message: str | None) -> None:
    if message is None:
        assert parse_feed(body, url=FEED_URL, content_type=content_type).entries
        return
    with pytest.raises(FetchError, match=message):
        parse_feed(body, url=FEED_URL, content_type=content_type)


def test_empty_but_valid_feed_is_not_an_error() -> None:
    body = b"<?xml version='1.0'?><rss version='2.0'><channel><title>Quiet</title></channel></rss>"
    feed = parse_feed(body, url=FEED_URL)
    assert (feed.title, feed.entries, feed.error) == ("Quiet", [], None)


# --- XML attacks ------------------------------------------------------------------------


def test_billion_laughs_is_not_expanded() -> None:
    feed = parse("billion-laughs.xml")
    texts = [feed.title or ""] + [e.title + e.summary for e in feed.entries]
    assert all("lollol" not in t and len(t) < 200 for t in texts)


def test_external_entities_are_never_read_or_fetched(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    feed_server.add("/evil.dtd", b'<!ENTITY remote "REMOTE-MARKER">')
    feed_server.add("/remote.txt", b"REMOTE-MARKER")
    body = f"""<?xml version="1.0"?>
<!DOCTYPE rss SYSTEM "{feed_server.url("/evil.dtd")}" [
  <!ENTITY local SYSTEM "{secret.as_uri()}">
  <!ENTITY remote SYSTEM "{feed_server.url("/remote.txt")}">
  <!ENTITY % param SYSTEM "{feed_server.url("/evil.dtd")}">
  %param;
]>
<rss version="2.0"><channel><title>t &local; &remote;</title>
<item><title>a &local;</title><description>&remote;</description>
<link>https://x.example/a</link></item></channel></rss>""".encode()
    feed = parse_feed(body, url=FEED_URL)
    dumped = repr(feed)
    assert "TOP-SECRET-MARKER" not in dumped and "REMOTE-MARKER" not in dumped
    assert feed_server.requests == []


def test_fast_path_parser_neither_expands_nor_fetches(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    # parse_feed never gives it a DOCTYPE; this is the parser's own safety underneath that.
    from monitor.parse import xml_fast

    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    feed_server.add("/remote.txt", b"REMOTE-MARKER")
    feed_server.add("/evil.dtd", b'<!ENTITY remote "REMOTE-MARKER">')
    body = f"""<?xml version="1.0"?>
<!DOCTYPE rss SYSTEM "{feed_server.url("/evil.dtd")}" [
  <!ENTITY local SYSTEM "{secret.as_uri()}">
  <!ENTITY remote SYSTEM "{feed_server.url("/remote.txt")}">
]>
<rss version="2.0"><channel><title>t &local; &remote;</title></channel></rss>""".encode()
    for document in (body, (FEEDS / "billion-laughs.xml").read_bytes()):
        try:
            root = etree.fromstring(document, xml_fast._THREAD.parser)
        except etree.XMLSyntaxError as exc:  # refusing is safe too
            assert "network entity" in str(exc) or "amplification" in str(exc)
            continue
        text = "".join(root.itertext())
        assert "MARKER" not in text and "lollol" not in text
    assert feed_server.requests == []


def test_a_url_as_body_is_not_fetched(feed_server: FeedServer) -> None:
    url = feed_server.add("/feed.xml", (FEEDS / "rss20.xml").read_bytes())
    with pytest.raises(FetchError):
        parse_feed(url.encode(), url=FEED_URL)
    with pytest.raises(FetchError):
        parse_feed(str(FEEDS / "rss20.xml").encode(), url=FEED_URL)  # nor a path read
    assert feed_server.requests == []


# --- html_to_text ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        # plain text keeps its line breaks (domain.text.normalise_whitespace), entities or not
        ("plain   text\n here", "plain text\nhere"),
        ("Q&amp;A:\n\n\n 3 < 4 ]]>", "Q&A:\n\n3 < 4 ]]>"),
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ("a<br>b<br/>c", "a\nb\nc"),
        ("<b>bold</b> and <a href='x>y'>link</a>", "bold and link"),
        ("x<script>var a = '<p>';</script>y", "x y"),
        ("<style>p{}</style><p>kept</p>", "kept"),
        ("<!-- hidden <p>comment</p> -->shown", "shown"),
        ("Tom &amp; Jerry &lt;3 &#8212; &nbsp;ok", "Tom & Jerry <3 — ok"),
        ("&amp;lt;b&amp;gt;", "&lt;b&gt;"),  # unescaped once, not twice
        ("3 < 4 and 5 > 2", "3 < 4 and 5 > 2"),
        ("<ul><li>a</li><li>b</li></ul>", "a\n\nb"),
        ("<div>\n  <p>  spaced   out </p>\n</div>", "spaced out"),
        ("<p>unterminated <script>alert(1)", "unterminated"),
        ("<![CDATA[inside]]>", "inside"),
        ("", ""),
        # the shortcuts html_to_text takes (plain <p>/<br> only; no newline in the source)
        ("<p>One\n two</p>\n<p>Three</p>", "One two\n\nThree"),
        ("<p>a<br>b</p><p>c <b>d</b></p>", "a\nb\n\nc d"),
        # a <p> inside another tag is not a paragraph; outside quotes a tag ends at the
        # next "<" (what keeps stripping linear), so the unquoted "<p>" goes with it
        ("<div title=<p>>x", "x"),
        ("a&#10;b&nbsp;&nbsp;c\tc", "a\nb c c"),  # an entity's newline is a line break
        ("<SCRİPT>hidden</script>shown", "shown"),  # İ matches i when case is ignored
        ("<b>x</b> ]]> y", "x y"),
    ],
)
def test_html_to_text(markup: str, text: str) -> None:
    assert html_to_text(markup) == text
