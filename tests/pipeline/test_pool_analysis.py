"""Entry keys and analysis in the worker processes: the same results as in-process, live
watchlist reloads reach the workers, a feed with nothing new is not analysed, and a dying
worker loses no entry."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from monitor.analysis.analyse import Analysis, analyse_all
from monitor.analysis.watchlist import load_watchlist_text, load_watchlists
from monitor.domain.model import Article
from monitor.identity.keys import key_entries
from monitor.identity.sketch import BANDS, SKETCH_SIZE
from monitor.parse.feeds import parse_feed
from monitor.pipeline import parsepool
from monitor.pipeline.cycle import run_once
from monitor.runtime.app import App, Compiled, compile_watchlists
from storage.models import Item
from tests.support.config import ONE_WORD, write_config
from tests.support.feedserver import FeedServer
from tests.support.paths import REPO

# A watchlist matching one word: .format(name=..., word=...)

ARTICLES = [
    Article(
        title="North Korea sends troops to Russia",
        text=(
            "Pyongyang has sent about 12,000 soldiers to Russia's Kursk region, South Korea's "
            "intelligence service said on Friday, adding that at least 1,100 North Korean "
            "troops had been killed or wounded so far. The deployment, which began in "
            "October, is the first large foreign war North Korea has joined in decades."
        ),
        url="https://news.example/a",
        outlet="news.example",
    ),
    Article(title="Zebra crossing repainted", text="The council repainted a zebra crossing."),
    Article(title="Short", text=""),
]


@pytest.fixture
def one_worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A pool of one process, even on a single-core machine."""
    monkeypatch.setattr(parsepool, "workers", lambda: 1)
    monkeypatch.setattr(parsepool, "_breaks", 0)
    parsepool.shutdown()
    yield
    parsepool.shutdown()


def shipped() -> Compiled:
    return compile_watchlists(load_watchlists(REPO / "watchlists"))


def in_process(compiled: Compiled, articles: Sequence[Article]) -> list[Analysis]:
    return analyse_all(compiled.matcher, compiled.extractor, articles)


def in_pool(compiled: Compiled, articles: Sequence[Article]) -> list[Analysis]:
    return asyncio.run(parsepool.analyse(compiled, articles, feed="test"))


# --- the pool calls ----------------------------------------------------------------------


def test_keys_come_back_with_the_parse_each_entry_once(one_worker: None) -> None:
    body = (
        b"<rss version='2.0'><channel><title>T</title>"
        b"<item><title>A</title><link>https://a.example/1?utm_source=x</link><guid>g1</guid>"
        b"</item><item><title>A again</title><guid>g1</guid></item>"
        b"<item><title>No link</title><guid isPermaLink='false'>g2</guid></item>"
        b"</channel></rss>"
    )
    url = "https://feeds.example/rss"
    keyed = asyncio.run(parsepool.parse_keyed(body, url=url, content_type=None, feed_outlet="Desk"))
    parsed = parse_feed(body, url=url)
    assert keyed.parsed == parsed
    assert keyed.entries == key_entries(parsed.entries, "Desk")
    # "A again" reuses g1 for another link (its permalink GUID): not the same entry
    assert [(k.entry.guid, k.outlet) for k in keyed.entries] == [
        ("g1", "a.example"),
        ("g1", "feeds.example"),
        ("g2", "Desk"),
    ]


def test_analysis_in_a_worker_equals_analysis_in_process(one_worker: None) -> None:
    compiled = shipped()
    expected = in_process(compiled, ARTICLES)
    assert expected[0].matches and expected[0].observations  # the test sees real work
    assert len(expected[0].sketch) == SKETCH_SIZE and len(expected[0].bands) == BANDS
    assert expected[2].sketch == () and expected[2].bands == ()
    assert in_pool(compiled, ARTICLES) == expected
    assert parsepool._pool is not None  # it ran in a worker


def test_many_generated_watchlists_go_to_the_worker(one_worker: None) -> None:
    watchlists = load_watchlists(REPO / "watchlists")
    for n in range(200):
        text = ONE_WORD.format(name=f"gen-{n}", word=f"Zebra{n}")
        watchlists.append(load_watchlist_text(text, f"gen-{n}.yaml"))
    compiled = compile_watchlists(watchlists)
    articles = [*ARTICLES, Article(title="Zebra17 and Zebra199", text="")]
    result = in_pool(compiled, articles)
    assert result == in_process(compiled, articles)
    assert [m.watchlist for m in result[-1].matches] == ["gen-17", "gen-199"]


def test_each_generation_is_analysed_with_its_own_watchlists(one_worker: None) -> None:
    """The worker keeps one version and swaps it when a task brings another."""
    zebra = [Article(title="A zebra escaped", text="")]
    first = compile_watchlists([load_watchlist_text(ONE_WORD.format(name="a", word="Okapi"), "a")])
    second = compile_watchlists([load_watchlist_text(ONE_WORD.format(name="a", word="Zebra"), "a")])
    assert first.generation != second.generation
    for compiled, matched in ((first, []), (second, ["a"]), (first, [])):
        assert [m.watchlist for m in in_pool(compiled, zebra)[0].matches] == matched


def test_parses_wait_their_turn_so_that_analyses_need_not(
    one_worker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At most PARSES_PER_WORKER parses are in the pool's (first come, first served) queue
    however many feeds arrive at once, so an analysis is queued behind that many only."""
    run = parsepool._run
    active: list[int] = [0, 0]  # now, most

    async def counting(*args: Any, **kwargs: Any) -> Any:
        active[0] += 1
        active[1] = max(active)
        try:
            return await run(*args, **kwargs)
        finally:
            active[0] -= 1

    monkeypatch.setattr(parsepool, "_run", counting)
    body = rss(("1", "One"))

    async def many() -> list[parsepool.KeyedFeed]:
        return await asyncio.gather(
            *(
                parsepool.parse_keyed(
                    body, url=f"https://f{i}/", content_type=None, feed_outlet=None
                )
                for i in range(20)
            )
        )

    assert len(asyncio.run(many())) == 20
    assert active[1] == parsepool.PARSES_PER_WORKER


def test_without_a_spare_core_analysis_stays_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsepool, "workers", lambda: 0)
    parsepool.shutdown()
    compiled = shipped()
    assert in_pool(compiled, ARTICLES) == in_process(compiled, ARTICLES)
    assert parsepool._pool is None and "pickled" not in vars(compiled)  # never pickled


# --- through the cycle -------------------------------------------------------------------


def rss(*items: tuple[str, str]) -> bytes:
    """An RSS 2.0 feed of (guid, title) items."""
    body = "".join(
        f"<item><title>{title}</title><guid>{guid}</guid>"
        f"<link>https://news.example/{guid}</link><description>{title}.</description></item>"
        for guid, title in items
    )
    return f"<rss version='2.0'><channel><title>T</title>{body}</channel></rss>".encode()


@pytest.fixture
def app(tmp_path: Path, feed_server: FeedServer, make_app: Callable[..., App]) -> App:
    (tmp_path / "watchlists").mkdir()
    write_watchlist(tmp_path, "Okapi", mtime=1_000_000)
    config = write_config(
        tmp_path,
        watchlists="watchlists",
        feeds=[{"url": feed_server.url("/feed.xml"), "name": "Desk", "fetch_article": "never"}],
        notifiers={"console": {"stream": "stderr"}},
    )
    return make_app(config)


def write_watchlist(tmp_path: Path, word: str, *, mtime: int) -> None:
    path = tmp_path / "watchlists" / "alpha.yaml"
    path.write_text(ONE_WORD.format(name="alpha", word=word))
    os.utime(path, (mtime, mtime))


def matched(app: App) -> dict[str, list[str]]:
    with app.sessions() as session:
        return {title: list(m) for title, m in session.execute(select(Item.title, Item.matched))}


def test_a_reload_between_cycles_changes_what_the_worker_matches(
    one_worker: None, app: App, feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.add("/feed.xml", rss(("1", "A zebra escaped")))
    asyncio.run(run_once(app))
    write_watchlist(tmp_path, "Zebra", mtime=2_000_000)
    assert app.reload_watchlists()
    feed_server.add("/feed.xml", rss(("1", "A zebra escaped"), ("2", "The zebra is back")))
    asyncio.run(run_once(app))
    assert matched(app) == {"A zebra escaped": [], "The zebra is back": ["alpha"]}
    assert parsepool._pool is not None


def test_a_feed_with_nothing_new_is_not_analysed(
    one_worker: None, app: App, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed_server.add("/feed.xml", rss(("1", "One"), ("2", "Two")))
    asyncio.run(run_once(app))
    calls: list[int] = []

    async def spy(compiled: Compiled, articles: Sequence[Article], *, feed: str) -> Any:
        calls.append(len(articles))
        return analyse_all(compiled.matcher, compiled.extractor, articles)

    monkeypatch.setattr(parsepool, "analyse", spy)
    feed_server.add("/feed.xml", rss(("2", "Two"), ("1", "One")))  # reordered: a new body
    report = asyncio.run(run_once(app))
    assert [p.outcome for p in report.polls] == ["ok"] and report.new_items == 0
    feed_server.add("/feed.xml", rss(("3", "Three"), ("2", "Two"), ("1", "One")))
    assert asyncio.run(run_once(app)).new_items == 1
    assert calls == [1]  # only the one new entry, in the third cycle


def test_dying_workers_lose_no_entry(
    one_worker: None, app: App, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every worker dies as it starts: the parse and the analysis each lose a pool and are
    redone in a thread; every entry is stored, matched as in-process."""
    monkeypatch.setattr(parsepool, "_exit_with_parent", sys.exit)
    feed_server.add("/feed.xml", rss(("1", "An okapi escaped"), ("2", "Two")))
    report = asyncio.run(run_once(app))
    assert report.new_items == 2
    assert matched(app) == {"An okapi escaped": ["alpha"], "Two": []}
    assert parsepool._breaks == 2  # parse_keyed and analyse each lost one pool
