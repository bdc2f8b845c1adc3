"""One reading everywhere: ``newsmon inspect`` reads a text as the service reads the same
text arriving in a feed (one normalisation, monitor.domain.text.normalise_whitespace), and
``--published DATE`` gives the article the date an entry would carry."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import pytest

from monitor.analysis.analyse import analyse
from monitor.analysis.watchlist import load_watchlists
from monitor.cli.inspect import article_from_bytes, inspect_article
from monitor.cli.main import main
from monitor.domain.model import Article
from monitor.domain.text import normalise_whitespace
from monitor.parse.feeds import parse_feed
from monitor.runtime.app import Compiled, compile_watchlists
from tests.support.paths import REPO

# Texts in the shapes real copy takes: a headline line with no full stop, bullets, blank
# line runs, CRLF, an ampersand, trailing spaces.
TEXTS = [
    "SEOUL: N. KOREAN LOSSES TOP 2,000\nSouth Korea's spy agency said on Monday that about"
    " 2,000 North Korean soldiers sent to Russia have been killed.",
    "Key facts\n\n\n- Troops sent: 11,000\n- Killed: 300 \n\nQ&A: what Pyongyang gets in return",
    "Kyiv says Russia fired 20 North Korean KN-23s at its cities.\r\nMost missed.\r\n",
    "  One   line   only, spaced out  ",
]


def feed_with(text: str) -> bytes:
    """An RSS feed carrying ``text`` as an item's plain-text description."""
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>T</title>"
        "<link>https://news.example/</link><item><title>Item</title>"
        "<link>https://news.example/a</link><guid>a</guid>"
        f"<description>{escape(text, quote=False)}</description></item></channel></rss>"
    ).encode()


def service_text(text: str) -> str:
    """The article text the service matches, for ``text`` arriving in a feed."""
    [entry] = parse_feed(feed_with(text), url="https://news.example/feed").entries
    return normalise_whitespace(entry.text)  # as monitor.pipeline.cycle.build_article does


@pytest.mark.parametrize("text", TEXTS)
def test_inspect_reads_a_file_as_the_service_reads_the_same_text_in_a_feed(text: str) -> None:
    assert article_from_bytes(text.encode(), "a.txt").text == service_text(text)


def test_line_breaks_are_kept_and_spaces_collapsed() -> None:
    text = "HEADLINE\r\n\r\n\r\nFirst  line.\n second line \n\n\nlast"
    assert normalise_whitespace(text) == "HEADLINE\n\nFirst line.\nsecond line\n\nlast"
    assert normalise_whitespace(normalise_whitespace(text)) == normalise_whitespace(text)


def test_an_html_page_is_normalised_too() -> None:
    page = b"<html><title>T</title><body><p>One  \n two</p><p>Three</p></body></html>"
    assert "  " not in article_from_bytes(page, "https://news.example/a").text


def test_the_figures_inspect_shows_are_those_of_the_feed_path() -> None:
    compiled = compile_watchlists(load_watchlists(REPO / "watchlists"))
    for text in TEXTS:
        from_file = article_from_bytes(text.encode(), "a.txt")
        from_feed = Article(title="", text=service_text(text))
        service = analyse(compiled.matcher, compiled.extractor, from_feed)
        shown = inspect_article(from_file, compiled)
        assert shown["figures"] == [o.to_json() for o in service.observations]


# --- the command line ---------------------------------------------------------------------


@pytest.fixture
def article_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(REPO)  # the quick-start config and the shipped watchlists
    path = tmp_path / "article.txt"
    path.write_text(TEXTS[0], encoding="utf-8")
    return path


def test_inspect_takes_published_and_gives_the_article_that_date(
    article_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[Article] = []
    original = inspect_article

    def spy(article: Article, compiled: Compiled) -> dict[str, object]:
        seen.append(article)
        return original(article, compiled)

    monkeypatch.setattr("monitor.cli.inspect.inspect_article", spy)
    assert main(["inspect", "--json", str(article_file), "--published", "2025-06-19"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert "casualty-figures" in [w["name"] for w in result["watchlists"]]
    assert seen[0].published_at == datetime(2025, 6, 19, tzinfo=UTC)
    assert seen[0].text == service_text(TEXTS[0])


def test_inspect_without_published_reads_the_text_as_of_today(
    article_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[Article] = []

    def spy(article: Article, compiled: Compiled) -> dict[str, object]:
        seen.append(article)
        return {"watchlists": [], "figures": []}

    monkeypatch.setattr("monitor.cli.inspect.inspect_article", spy)
    assert main(["inspect", "--json", str(article_file)]) == 0
    published = seen[0].published_at
    assert published is not None and published.date() == datetime.now(UTC).date()


def test_a_bad_published_date_is_a_one_line_user_error(
    article_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect", str(article_file), "--published", "19/06/2025"]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "newsmon: --published '19/06/2025' is not a date: use YYYY-MM-DD, e.g. 2025-06-19"
    ]
