"""record_entries: several entries in one transaction, each with its alerts; duplicates skipped."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.alerting.plan import Routing
from monitor.domain.model import Article, Entry, Match
from monitor.identity.keys import entry_keys
from monitor.pipeline.ingest import NewEntry, record_entries
from storage.db import make_engine, sessions, upgrade
from storage.models import Base, Item, Story, StoryBand

NOW = datetime(2026, 1, 2, tzinfo=UTC)
ROUTING = Routing(watchlists={}, notifiers=(), default_channels={})


def _new(n: int, words: str) -> NewEntry:
    text = f"Story {n}: " + " ".join(f"{words}{i}" for i in range(60))
    entry = Entry("https://example.org/rss", f"guid-{n}", f"https://example.org/{n}", f"T{n}", text)
    article = Article(title=entry.title, text=text, url=entry.url, outlet="example.org")
    return NewEntry(None, entry, entry_keys(entry, "example.org"), article, (), ())


def _count(session: Session, table: type[Base]) -> int:
    return session.scalar(select(func.count()).select_from(table)) or 0


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


def _copy(n: int, text: str, outlet: str) -> NewEntry:
    """Entry ``n`` from ``outlet`` carrying ``text`` (a syndicated copy when it is another's)."""
    url = f"https://{outlet}/{n}"
    entry = Entry(f"https://{outlet}/rss", f"guid-{n}", url, "Same title", text)
    article = Article(title=entry.title, text=text, url=url, outlet=outlet)
    return NewEntry(None, entry, entry_keys(entry, outlet), article, (), ())


TEXT = " ".join(f"word{i}" for i in range(60))
EDITED = TEXT.replace("word30", "changed")  # a small edit: still the same story


def test_near_duplicates_within_one_chunk_join_one_story(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    make = sessions(engine)
    batch = [
        _copy(0, TEXT, "a.example"),
        _copy(1, EDITED, "b.example"),  # similar sketch
        _new(2, "unrelated"),
        _copy(3, TEXT, "c.example"),  # identical text
    ]
    with make() as session:
        results = record_entries(session, batch, routing=ROUTING, now=NOW)
    assert [r.new_story for r in results] == [True, False, True, False]
    assert results[1].story_id == results[3].story_id == results[0].story_id
    assert results[2].story_id != results[0].story_id
    # each sees the outlets stored before it, not those later in the chunk
    assert results[1].also_reported_by == ("a.example",)
    assert set(results[3].also_reported_by) == {"a.example", "b.example"}
    with make() as session:
        assert _count(session, Item) == 4
        assert _count(session, Story) == 2
    engine.dispose()


def test_a_chunk_sees_only_earlier_copies_of_a_stored_story(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    make = sessions(engine)
    with make() as session:
        first = record_entries(session, [_copy(0, TEXT, "a.example")], routing=ROUTING, now=NOW)
    batch = [_copy(1, EDITED, "b.example"), _copy(2, TEXT, "c.example")]
    with make() as session:
        results = record_entries(session, batch, routing=ROUTING, now=NOW)
    assert {r.story_id for r in results} == {first[0].story_id}
    assert not any(r.new_story for r in results)
    assert results[0].also_reported_by == ("a.example",)
    assert set(results[1].also_reported_by) == {"a.example", "b.example"}
    engine.dispose()


def test_the_same_entry_twice_in_a_chunk_is_stored_once(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    make = sessions(engine)
    twice = _new(1, "beta")
    with make() as session:
        results = record_entries(
            session, [_new(0, "alpha"), twice, twice, _new(2, "gamma")], routing=ROUTING, now=NOW
        )
    assert [r.item_id is not None for r in results] == [True, True, False, True]
    with make() as session:
        assert _count(session, Item) == 3
        assert _count(session, Story) == 3
    engine.dispose()


def test_a_stored_entry_in_the_middle_of_a_chunk_leaves_the_others_stored(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    make = sessions(engine)
    stored = _copy(5, TEXT, "a.example")
    with make() as session:
        record_entries(session, [stored], routing=ROUTING, now=NOW)
    # the same key again (a replica stored it), between an entry that joins the stored
    # story and two that start their own: only the duplicate is undone
    again = NewEntry(None, stored.entry, stored.keys, _new(9, "other").article, (), ())
    batch = [_new(1, "beta"), _copy(6, EDITED, "b.example"), again, _new(2, "gamma")]
    with make() as session:
        results = record_entries(session, batch, routing=ROUTING, now=NOW)
    assert [r.item_id is not None for r in results] == [True, True, False, True]
    assert [r.new_story for r in results] == [True, False, False, True]
    with make() as session:
        assert _count(session, Item) == 4
        assert _count(session, Story) == 3
        orphans = session.scalar(
            select(func.count()).where(StoryBand.story_id.not_in(select(Story.id)))
        )
        assert orphans == 0
    engine.dispose()


def test_a_chunk_stores_every_column_as_one_entry_does(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    make = sessions(engine)
    published = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
    one, two = _new(1, "alpha"), _new(2, "beta")
    entry = Entry(two.entry.feed_url, two.entry.guid, None, "T2", "x", author="Ann")
    two = NewEntry(
        None,
        entry,
        two.keys,
        Article(title="T2", text=two.article.text, url=None, outlet=None, published_at=published),
        (Match("wl", ()),),
        (),
    )
    with make() as session:
        record_entries(session, [one, two], routing=ROUTING, now=NOW)
    with make() as session:
        rows = {i.guid_key: i for i in session.scalars(select(Item))}
        stored = rows[two.keys.guid_key]
        assert stored.matched == ["wl"] and rows[one.keys.guid_key].matched == []
        assert stored.published_at == published and stored.first_seen_at == NOW
        assert stored.url is None and stored.outlet is None and stored.title == "T2"
        assert stored.summary == "x" and stored.author == "Ann" and stored.feed_id is None
        assert stored.text_hash and stored.content_hash == two.keys.content_hash
    engine.dispose()
