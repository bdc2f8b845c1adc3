"""Feeds without editing YAML: discovery, OPML, and `newsmon feeds add/remove/import/export`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from monitor.cli.main import main
from monitor.config.feedsfile import read_feeds_file
from monitor.config.load import load_config
from monitor.domain.errors import ConfigError, NewsmonError
from monitor.sources.discover import announced_feeds, common_feed_urls, looks_like_html
from monitor.sources.opml import OpmlFeed, parse_opml, render_opml
from tests.support.feedserver import FeedServer
from tests.support.paths import REPO

DATA = REPO / "tests" / "data"
RSS = (DATA / "feeds" / "rss20.xml").read_bytes()
ATOM = (DATA / "feeds" / "atom.xml").read_bytes()
ROOT = REPO


# --------------------------------------------------------------------- pure functions


def test_announced_feeds_resolves_relative_links_against_the_page_and_keeps_order() -> None:
    html = b"""<!doctype html><html><head>
      <link rel="stylesheet" href="/style.css">
      <link rel="alternate" type="application/rss+xml" title="All news" href="/rss">
      <link rel="Alternate" type="application/atom+xml; charset=utf-8" href="atom.xml">
      <link rel="alternate" type="text/html" hreflang="ko" href="/ko/">
      <link rel="alternate" type="application/rss+xml" href="/rss">
    </head><body></body></html>"""
    found = announced_feeds(html, "https://site.example/news/today")
    assert [(f.url, f.title) for f in found] == [
        ("https://site.example/rss", "All news"),
        ("https://site.example/news/atom.xml", None),
    ]


def test_announced_feeds_honours_base_href_and_ignores_non_http_links() -> None:
    html = b"""<html><head><base href="https://cdn.example/feeds/">
      <link rel="alternate" type="application/rss+xml" href="main.xml">
      <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
    </head></html>"""
    assert [f.url for f in announced_feeds(html, "https://site.example/")] == [
        "https://cdn.example/feeds/main.xml"
    ]


def test_a_page_without_feed_links_announces_none_and_common_paths_are_on_its_host() -> None:
    assert announced_feeds(b"<html><body>hello</body></html>", "https://a.example/x") == []
    assert announced_feeds(b"", "https://a.example/") == []
    urls = common_feed_urls("https://a.example/some/page?q=1")
    assert urls[0] == "https://a.example/feed"
    assert all(u.startswith("https://a.example/") for u in urls)


def test_html_is_told_from_a_feed_by_content_type_or_doctype() -> None:
    assert looks_like_html(b"<rss/>", "text/html; charset=utf-8")
    assert looks_like_html(b"\n<!DOCTYPE html><html>", None)
    assert not looks_like_html(RSS, "application/rss+xml")
    assert not looks_like_html(RSS, None)


def test_parse_opml_reads_nested_outlines_and_skips_duplicates() -> None:
    feeds = parse_opml((DATA / "opml" / "nested.opml").read_bytes())
    assert feeds == [
        OpmlFeed("https://nk.example.org/rss", "NK Watch"),
        OpmlFeed("https://seoul.example.org/feed", "Seoul Daily & Co"),
        OpmlFeed("https://kyiv.example.org/atom.xml", None),
    ]


def test_rendered_opml_reads_back_the_same_feeds_with_names_escaped() -> None:
    feeds = [OpmlFeed("https://a.example/rss?x=1&y=2", "<Tom & Jerry>"), OpmlFeed("https://b/")]
    text = render_opml(feeds)
    assert 'version="2.0"' in text
    assert "&lt;Tom &amp; Jerry&gt;" in text
    assert parse_opml(text.encode()) == [feeds[0], OpmlFeed("https://b/", "https://b/")]


@pytest.mark.parametrize(
    "data",
    [
        b"not xml at all",
        b"<rss version='2.0'/>",
        (DATA / "feeds" / "billion-laughs.xml").read_bytes(),
    ],
)
def test_parse_opml_refuses_what_is_not_opml_with_one_line(data: bytes) -> None:
    with pytest.raises(NewsmonError) as info:
        parse_opml(data, "subs.opml")
    assert str(info.value).startswith("subs.opml: ")


# --------------------------------------------------------------------- the commands


@pytest.fixture()
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a config that may fetch from 127.0.0.1, and the shipped watchlists."""
    shutil.copytree(ROOT / "watchlists", tmp_path / "watchlists")
    (tmp_path / "newsmon.yaml").write_text(
        "database: {url: 'sqlite:///newsmon.db'}\n"
        "fetch: {allow_private_networks: true, timeout: '10s'}\n"
        "feeds:\n  - {url: 'https://listed.example/rss', name: Listed}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSMON_CONFIG", raising=False)
    monkeypatch.delenv("NEWSMON_DATABASE_URL", raising=False)
    return tmp_path


def _managed(site: Path) -> list[dict[str, object]]:
    data = yaml.safe_load((site / "feeds.yaml").read_text(encoding="utf-8"))
    return list(data["feeds"] or [])


def test_feeds_add_finds_the_feed_a_page_announces(
    site: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_server.add(
        "/",
        '<html><head><link rel="alternate" type="application/rss+xml" href="/news.rss">'
        '<link rel="alternate" type="application/atom+xml" href="/news.atom"></head></html>',
        content_type="text/html",
    )
    feed_server.add("/news.rss", RSS, content_type="application/rss+xml")
    feed_server.add("/news.atom", ATOM, content_type="application/atom+xml")

    assert main(["feeds", "add", feed_server.url("/"), "--interval", "30m"]) == 0

    assert _managed(site) == [
        {
            "url": feed_server.url("/news.rss"),
            "name": "Harbour Gazette & Courier",
            "interval": "30m",
        }
    ]
    out = capsys.readouterr().out
    assert f"added {feed_server.url('/news.rss')} (found on {feed_server.url('/')})" in out
    assert f"also announces {feed_server.url('/news.atom')}" in out
    config = load_config(None)
    assert [f.url for f in config.feeds] == [
        "https://listed.example/rss",
        feed_server.url("/news.rss"),
    ]
    assert config.feeds[1].interval == 1800


def test_feeds_add_tries_common_paths_when_the_page_announces_nothing(
    site: Path, feed_server: FeedServer
) -> None:
    feed_server.add("/home", "<!doctype html><html><body>no links</body></html>")
    feed_server.add("/rss.xml", RSS, content_type="application/rss+xml")

    assert main(["feeds", "add", feed_server.url("/home"), "--name", "Found"]) == 0

    assert _managed(site) == [{"url": feed_server.url("/rss.xml"), "name": "Found"}]
    assert feed_server.hits["/feed"] == 1 and feed_server.hits["/rss"] == 1


def test_feeds_add_of_a_feed_url_checks_that_it_parses(
    site: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    good = feed_server.add("/good", RSS, content_type="application/rss+xml")
    bad = feed_server.add("/bad", b"this is not a feed", content_type="application/rss+xml")

    assert main(["feeds", "add", bad]) == 1
    assert not (site / "feeds.yaml").exists()
    assert capsys.readouterr().err.startswith("newsmon: ")

    assert main(["feeds", "add", good]) == 0
    assert main(["feeds", "add", good]) == 1
    assert "already a feed" in capsys.readouterr().err
    assert [f["url"] for f in _managed(site)] == [good]


def test_feeds_add_of_a_page_without_any_feed_says_what_it_tried(
    site: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    page = feed_server.add("/", "<html><body>nothing</body></html>", content_type="text/html")
    assert main(["feeds", "add", page]) == 1
    err = capsys.readouterr().err
    assert "no feed was found" in err and feed_server.url("/rss.xml") in err


def test_feeds_remove_drops_the_line_and_names_feeds_it_cannot_remove(
    site: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = feed_server.add("/rss", RSS, content_type="application/rss+xml")
    assert main(["feeds", "add", url]) == 0
    assert main(["feeds", "remove", url]) == 0
    assert _managed(site) == []
    assert main(["feeds", "remove", "https://listed.example/rss"]) == 1
    assert "config file's feeds: list" in capsys.readouterr().err


def test_feeds_import_skips_duplicates_and_export_lists_every_feed(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    opml = DATA / "opml" / "nested.opml"
    assert main(["feeds", "import", str(opml)]) == 0
    assert main(["feeds", "import", str(opml)]) == 0
    out = capsys.readouterr().out
    assert "imported 3 feeds" in out and "imported 0 feeds" in out and "3 already there" in out
    assert [f["url"] for f in _managed(site)] == [
        "https://nk.example.org/rss",
        "https://seoul.example.org/feed",
        "https://kyiv.example.org/atom.xml",
    ]

    assert main(["feeds", "export"]) == 0
    exported = parse_opml(capsys.readouterr().out.encode())
    assert [f.url for f in exported] == [
        "https://listed.example/rss",
        "https://nk.example.org/rss",
        "https://seoul.example.org/feed",
        "https://kyiv.example.org/atom.xml",
    ]
    assert exported[2].name == "Seoul Daily & Co"


def test_a_broken_feeds_file_fails_validate_at_its_line(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (site / "feeds.yaml").write_text(
        "feeds:\n  - {url: 'https://a.example/rss'}\n  - {url: 'ftp://b.example/', interval: 5}\n"
        "  - {url: 'https://a.example/rss'}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        read_feeds_file(site / "feeds.yaml")
    assert [p.line for p in info.value.problems] == [3]
    assert main(["validate"]) == 1
    assert "feeds.yaml:3: feeds.1.url: feed url must start with" in capsys.readouterr().err


def test_a_feed_in_both_the_config_and_the_feeds_file_is_a_problem(site: Path) -> None:
    (site / "feeds.yaml").write_text("feeds:\n  - {url: 'https://listed.example/rss'}\n")
    with pytest.raises(ConfigError, match="also listed in the config"):
        load_config(None)
