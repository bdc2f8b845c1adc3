"""EntryWriter: the new entries of several feeds share a transaction (group commit), each
poll gets back its own results, and a feed whose entries fail fails alone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from monitor.domain.model import Article, Entry
from monitor.identity.keys import entry_keys
from monitor.pipeline import ingest, writers
from monitor.pipeline.ingest import Ingested, NewEntry
from monitor.pipeline.writers import EntryWriter
from monitor.runtime.app import App
from storage.models import Item
from tests.support.config import write_config, write_one_word_watchlist


@pytest.fixture
def app(tmp_path: Path, db_url: str, make_app: Callable[..., App]) -> App:
    write_one_word_watchlist(tmp_path, "alpha", "okapi")
    config = write_config(
        tmp_path,
        database={"url": db_url},
        watchlists="watchlists",
        feeds=[],
        notifiers={"console": {"stream": "stderr"}},
    )
    return make_app(config)


def entries(feed: str, count: int) -> list[NewEntry]:
    """``count`` distinct entries of the feed named ``feed``, each its own story."""
    made = []
    for n in range(count):
        text = f"{feed} report {n}: " + " ".join(f"{feed}{n}w{i}" for i in range(40))
        url = f"https://{feed}.example/{n}"
        entry = Entry(f"https://{feed}.example/rss", f"{feed}-{n}", url, f"{feed} {n}", text)
        article = Article(title=entry.title, text=text, url=url, outlet=f"{feed}.example")
        made.append(NewEntry(None, entry, entry_keys(entry, article.outlet), article, (), ()))
    return made


@pytest.fixture
def transactions(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The GUIDs stored by each call of record_entries (one call: one transaction)."""
    calls: list[list[str]] = []

    def spy(session: Any, batch: Sequence[NewEntry], **kwargs: Any) -> list[Ingested]:
        # looked up on each call, so that a test can make the real one fail beneath the spy
        stored = ingest.record_entries(session, batch, **kwargs)
        calls.append([new.entry.guid or "" for new in batch])
        return stored

    monkeypatch.setattr(writers, "record_entries", spy)
    return calls


def stored_guids(app: App) -> set[str]:
    with app.sessions() as session:
        urls = session.scalars(select(Item.url)).all()
    return {url.split("//")[1].replace(".example/", "-") for url in urls if url}


async def store_together(writer: EntryWriter, *feeds: list[NewEntry]) -> list[Any]:
    """Hand all the feeds' entries to the writer before it runs, as polls finishing while
    a store is in progress do."""
    return await asyncio.gather(*(writer.store(f) for f in feeds), return_exceptions=True)


def test_feeds_waiting_for_the_writer_share_one_transaction(
    app: App, transactions: list[list[str]]
) -> None:
    a, b, c = entries("a", 3), entries("b", 2), entries("c", 4)
    results = asyncio.run(store_together(EntryWriter(app), a, b, c))
    assert transactions == [[new.entry.guid for new in [*a, *b, *c]]]
    # each poll gets its own entries' results, in its own order
    assert [len(r) for r in results] == [3, 2, 4]
    with app.sessions() as session:
        ids = {item_id: url for item_id, url in session.execute(select(Item.id, Item.url))}
    for feed, outcome in zip((a, b, c), results, strict=True):
        assert [ids[r.item_id] for r in outcome] == [new.article.url for new in feed]
        assert all(r.new_story for r in outcome)


def test_a_group_is_cut_at_the_chunk_size_between_feeds(
    app: App, transactions: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writers, "STORE_CHUNK", 5)
    a, b, c = entries("a", 3), entries("b", 2), entries("c", 4)
    asyncio.run(store_together(EntryWriter(app), a, b, c))
    assert [len(t) for t in transactions] == [5, 4]  # a+b fill a chunk; c goes next
    assert len(stored_guids(app)) == 9


def test_a_failing_feed_fails_alone_and_its_group_is_stored(
    app: App, transactions: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ingest.record_entries

    def broken(session: Any, batch: Sequence[NewEntry], **kwargs: Any) -> list[Ingested]:
        if any(new.entry.guid == "bad-0" for new in batch):
            raise RuntimeError("cannot store bad-0")
        return real(session, batch, **kwargs)

    monkeypatch.setattr(ingest, "record_entries", broken)
    a, bad, c = entries("a", 2), entries("bad", 1), entries("c", 2)
    results = asyncio.run(store_together(EntryWriter(app), a, bad, c))
    assert isinstance(results[1], RuntimeError)
    assert [len(results[0]), len(results[2])] == [2, 2]
    assert stored_guids(app) == {"a-0", "a-1", "c-0", "c-1"}
    # the group's transaction was rolled back, then each feed was stored by itself
    assert transactions == [["a-0", "a-1"], ["c-0", "c-1"]]
