"""record_entries: several entries in one transaction, each with its alerts; duplicates skipped."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from monitor.identity import entry_keys
from monitor.ingest import NewEntry, Routing, record_entries
from monitor.model import Article, Entry
from storage.db import make_engine, sessions, upgrade
from storage.models import Item, Story, StoryBand

NOW = datetime(2026, 1, 2, tzinfo=UTC)
ROUTING = Routing(watchlists={}, notifiers=(), default_channels={})


def _new(n: int, words: str) -> NewEntry:
    text = f"Story {n}: " + " ".join(f"{words}{i}" for i in range(60))
    entry = Entry("https://example.org/rss", f"guid-{n}", f"https://example.org/{n}", f"T{n}", text)
    article = Article(title=entry.title, text=text, url=entry.url, outlet="example.org")
    return NewEntry(None, entry, entry_keys(entry, "example.org"), article, (), ())


def _count(session: object, column: object) -> int:
    return int(session.scalar(select(func.count()).select_from(column)))  # type: ignore[attr-defined]


def test_batch_stores_each_entry_once_and_undoes_a_duplicate(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    make = sessions(engine)
    stored = _new(0, "alpha")
    with make() as session:
        assert record_entries(session, [stored], routing=ROUTING, now=NOW)[0].item_id
    # the same entry again, but with other text: its new story must not survive
    again = NewEntry(None, stored.entry, stored.keys, _new(9, "other").article, (), ())
    with make() as session:
        results = record_entries(
            session, [_new(1, "beta"), again, _new(2, "gamma")], routing=ROUTING, now=NOW
        )
    assert [r.item_id is not None for r in results] == [True, False, True]
    assert all(r.new_story for r in results if r.item_id)
    with make() as session:
        assert _count(session, Item) == 3
        assert _count(session, Story) == 3
        orphans = session.scalar(
            select(func.count()).where(StoryBand.story_id.not_in(select(Story.id)))
        )
        assert orphans == 0
    engine.dispose()
