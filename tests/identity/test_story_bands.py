"""Near-duplicate stories by LSH band keys (monitor.identity.sketch): copies with small edits join
their story however many stories share boilerplate, a lookup reads a bounded number of
rows, and databases of earlier revisions get their sketches and bands from item text."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Engine, func, select, text

from monitor.alerting.plan import Routing
from monitor.domain.model import Article, Entry
from monitor.identity.keys import entry_keys
from monitor.identity.sketch import (
    BANDS,
    SKETCH_SIZE,
    pack_sketch,
    sketch_bands,
    sketch_similarity,
    text_sketch,
)
from monitor.pipeline.ingest import NewEntry, record_entries
from storage import queries
from storage.db import alembic_config, make_engine, sessions, upgrade
from storage.models import Item, Story, StoryBand
from tests.storage.test_migrations import migration, revisions
from tests.support.service_process import story_text

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
ROUTING = Routing(watchlists={}, notifiers=(), default_channels={})
# Page furniture every story of an outlet carries: a third of each text below, so that
# some band keys are shared by every story (the case that made lookups quadratic).
BOILERPLATE = (
    "Sign up for our morning newsletter to get the day's most important stories delivered "
    "to your inbox before breakfast, and follow our live coverage on the website and in the "
    "app, where our reporters answer your questions every weekday afternoon at three. "
)


def _edit(body: str, every: int = 30) -> str:
    """A syndicated copy: the same text with every ``every``-th word changed."""
    words = body.split()
    return " ".join("edited" if i % every == 5 else w for i, w in enumerate(words))


def _entry(n: int, body: str, outlet: str = "example.org") -> NewEntry:
    url = f"https://{outlet}/{n}"
    entry = Entry(f"https://{outlet}/rss", f"guid-{n}", url, f"Title {n}", body)
    article = Article(title=entry.title, text=body, url=url, outlet=outlet)
    return NewEntry(None, entry, entry_keys(entry, outlet), article, (), ())


def _store(engine: Engine, *entries: NewEntry) -> list[int | None]:
    with sessions(engine)() as session:
        return [r.story_id for r in record_entries(session, entries, routing=ROUTING, now=NOW)]


# ----------------------------------------------------------------------------- the sketch


def test_sketches_estimate_jaccard_and_copies_share_band_keys() -> None:
    body = story_text("alpha", "North Korean") + " " + story_text("beta", "troops")
    copy = _edit(body)
    other = story_text("gamma", "North Korean") + " " + story_text("delta", "troops")
    a, b, c = text_sketch(body), text_sketch(copy), text_sketch(other)
    assert len(a) == len(b) == len(c) == SKETCH_SIZE
    assert text_sketch(body.upper()) == a  # case and punctuation do not count
    assert text_sketch("too short to sketch") == ()
    assert sketch_similarity(a, a) == 1.0
    assert sketch_similarity(a, b) >= 0.5 > sketch_similarity(a, c)
    assert len(sketch_bands(a)) == BANDS
    assert len(set(sketch_bands(a)) & set(sketch_bands(b))) >= 3
    assert not set(sketch_bands(a)) & set(sketch_bands(c))


# ----------------------------------------------------------------------------- lookups


def test_an_edited_copy_joins_its_story_among_many_sharing_boilerplate(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    target = BOILERPLATE + story_text("target", "Kursk") + " " + story_text("t2", "troops")
    crowd = [
        BOILERPLATE + story_text(f"crowd{n}", "Kursk") + " " + story_text(f"c{n}", "troops")
        for n in range(40)
    ]
    first = _store(engine, _entry(0, target))[0]
    stored = _store(engine, *(_entry(n + 1, body) for n, body in enumerate(crowd)))
    assert len(set(stored)) == len(crowd) and first not in stored  # boilerplate is no story
    copy = _edit(target)
    unrelated = BOILERPLATE + story_text("new", "Kursk") + " " + story_text("n2", "troops")
    joined, fresh = _store(
        engine, _entry(100, copy, "agency.example"), _entry(101, unrelated, "agency.example")
    )
    assert joined == first
    assert fresh not in {first, *stored}
    engine.dispose()


def test_a_lookup_reads_at_most_per_band_stories_per_key(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    common = [1, 2, 3]  # band keys every story below shares
    with sessions(engine).begin() as session:
        ids = [
            queries.create_story(session, f"S{n}", (), [*common, 1000 + n], NOW)
            for n in range(3 * queries.PER_BAND)
        ]
    with sessions(engine)() as session:
        found = queries.similar_stories(session, common, limit=100)
        rare = queries.similar_stories(session, [*common, 1000], limit=100)
    newest = set(ids[-queries.PER_BAND :])
    assert {story_id for story_id, _ in found} == newest  # the newest per key, no more
    assert {story_id for story_id, _ in rare} == newest | {ids[0]}  # and the rare key's
    engine.dispose()


# ----------------------------------------------------------------------------- migration


def test_stories_of_an_earlier_revision_get_sketches_and_bands_from_their_text(
    db_url: str,
) -> None:
    engine = make_engine(db_url)
    before = revisions()[revisions().index("0004") - 1]
    upgrade(engine, before)
    body = story_text("old", "North Korean") + " " + story_text("older", "troops")
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO stories (id, title, first_seen_at) VALUES (7, 'Old', :now)"),
            {"now": NOW.replace(tzinfo=None)},
        )
        for n, item_text in ((1, body), (2, "a later, different copy")):  # first: lower id
            conn.execute(
                text(
                    "INSERT INTO items (story_id, content_hash, text_hash, title, summary,"
                    " text, first_seen_at, matched) VALUES (7, :c, :t, 'Old', '', :text,"
                    " :now, '[]')"
                ),
                {"c": f"c{n}", "t": f"t{n}", "text": item_text, "now": NOW},
            )
        conn.execute(text("INSERT INTO story_sketch (story_id, h) VALUES (7, 1), (7, 2)"))
    upgrade(engine)
    sketch = text_sketch(body)  # from the first item's text, as a new story gets it
    with sessions(engine)() as session:
        assert session.scalar(select(Story.sketch)) == pack_sketch(sketch)
        bands = session.scalars(select(StoryBand.band).where(StoryBand.story_id == 7))
        assert sorted(bands) == sorted(sketch_bands(sketch))
    assert _store(engine, _entry(3, _edit(body), "agency.example")) == [7]
    command.downgrade(alembic_config(engine), before)  # and back: bottom-k rows again
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM story_sketch WHERE story_id = 7")) == 48
        assert conn.scalar(select(func.count()).select_from(Item.__table__)) == 3
    engine.dispose()


def test_a_story_stored_with_24_band_keys_is_found_by_a_copy_after_the_migration_to_12(
    db_url: str,
) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0005")
    body = story_text("old", "North Korean") + " " + story_text("older", "troops")
    sketch = text_sketch(body)
    old_keys = migration("0006")._bands_0005(sketch)  # what revisions 0004-0005 wrote
    assert len(old_keys) == 24 and old_keys[:BANDS] == sketch_bands(sketch)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO stories (id, title, first_seen_at, sketch) VALUES (:id, '', :now, :s)"
            ),
            [
                {"id": 7, "now": NOW.replace(tzinfo=None), "s": pack_sketch(sketch)},
                {"id": 8, "now": NOW.replace(tzinfo=None), "s": None},  # a text too short
            ],
        )
        conn.execute(
            text("INSERT INTO story_bands (band, story_id) VALUES (:band, :story_id)"),
            [{"band": band, "story_id": 7} for band in old_keys]
            + [{"band": 1, "story_id": 8}],  # a key no sketch gives: not one the code writes
        )
    upgrade(engine)
    assert _band_rows(engine) == {(band, 7) for band in sketch_bands(sketch)}
    assert _store(engine, _entry(3, _edit(body), "agency.example")) == [7]
    command.downgrade(alembic_config(engine), "0005")
    assert _band_rows(engine) == {(band, 7) for band in old_keys}
    engine.dispose()


def test_migrating_down_and_up_again_gives_back_the_band_keys_the_code_wrote(
    db_url: str,
) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    bodies = [story_text(f"story{n}", "Kursk") for n in range(5)]
    _store(engine, *(_entry(n, body) for n, body in enumerate([*bodies, "too short"])))
    written = _band_rows(engine)
    assert len(written) == len(bodies) * BANDS
    command.downgrade(alembic_config(engine), "0005")
    assert len(_band_rows(engine)) == len(bodies) * 24
    upgrade(engine)
    assert _band_rows(engine) == written
    engine.dispose()


def _band_rows(engine: Engine) -> set[tuple[int, int]]:
    with engine.connect() as conn:
        return {
            (band, story)
            for band, story in conn.execute(select(StoryBand.band, StoryBand.story_id))
        }
