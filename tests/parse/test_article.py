"""extract_article_text on saved pages (tests/data/articles/) and needs_article."""

from __future__ import annotations

import pytest

from monitor.domain.model import Entry
from monitor.parse.article import extract_article_text, needs_article
from tests.support.feedserver import FeedServer
from tests.support.paths import REPO

ARTICLES = REPO / "tests" / "data" / "articles"
URL = "https://gazette.example/news/ferry-rescue"


def test_extracts_the_article_and_drops_furniture() -> None:
    text = extract_article_text((ARTICLES / "harbour-report.html").read_bytes(), URL)
    assert text is not None
    assert "at least 14 people were rescued and two remain missing" in text
    assert "said harbour master Jonas Eklund" in text
    for furniture in ("cookies", "Most read", "500 attend", "Comments", "Quay Street", "analytics"):
        assert furniture not in text
    assert "\n\n" in text  # paragraphs are kept apart


def test_accepts_str_and_returns_none_without_text() -> None:
    html = (ARTICLES / "harbour-report.html").read_text(encoding="utf-8")
    assert extract_article_text(html, URL) == extract_article_text(html.encode(), URL)
    assert extract_article_text(b"", URL) is None
    assert extract_article_text("<html><body><nav>Home</nav></body></html>", URL) is None


def test_never_fetches_anything(feed_server: FeedServer) -> None:
    linked = feed_server.add("/page", (ARTICLES / "harbour-report.html").read_bytes())
    head = f'<head><link rel="canonical" href="{linked}"></head>'
    html = f"<html>{head}<body><p>{linked}</p></body></html>"
    extract_article_text(html, linked)
    extract_article_text(linked, linked)  # a URL given as the page is text, not a fetch
    assert feed_server.requests == []


def entry(text: str, url: str | None = URL) -> Entry:
    return Entry(feed_url="https://gazette.example/rss", guid="g", url=url, title="t", summary=text)


@pytest.mark.parametrize(
    ("item", "mode", "expected"),
    [
        (entry("short"), "auto", True),
        (entry("x" * 600), "auto", False),
        (entry("x" * 599), "auto", True),
        (entry("x" * 5000), "always", True),
        (entry("short"), "never", False),
        (entry("short", url=None), "always", False),
        (entry("short", url="file:///etc/passwd"), "always", False),
        (entry("short", url="javascript:alert(1)"), "auto", False),
    ],
)
def test_needs_article(item: Entry, mode: str, expected: bool) -> None:
    assert needs_article(item, mode, 600) is expected


def test_needs_article_rejects_unknown_modes() -> None:
    with pytest.raises(ValueError, match="auto, always, never"):
        needs_article(entry("x"), "sometimes", 600)
