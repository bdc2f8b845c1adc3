"""Items and stories: identity lookups, story clustering and the items stored."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import TextClause, bindparam, delete, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from monitor.identity.sketch import pack_sketch, unpack_sketch
from storage.models import Item, Story, StoryBand
from storage.queries._common import _statements, _table


def known_entry_keys(
    session: Session, guid_keys: Iterable[str], url_keys: Iterable[str], hashes: Iterable[str]
) -> set[str]:
    """Which of these keys are already stored (a fast pre-filter; the constraints decide)."""
    found: set[str] = set()
    for column, chunk in _key_chunks(guid_keys, url_keys, hashes):
        found.update(session.scalars(select(column).where(column.in_(chunk))))
    return found


def _key_chunks(
    guid_keys: Iterable[str], url_keys: Iterable[str], hashes: Iterable[str]
) -> Iterator[tuple[Any, list[str]]]:
    """(identity column, up to 500 of the given keys for it), empty keys left out."""
    for column, keys in (
        (Item.guid_key, set(guid_keys)),
        (Item.url_key, set(url_keys)),
        (Item.content_hash, set(hashes)),
    ):
        keys.discard("")
        yield from ((column, chunk) for chunk in _chunks(sorted(keys), 500))


def carried_tombstones(
    session: Session, guid_keys: Iterable[str], url_keys: Iterable[str], hashes: Iterable[str]
) -> list[int]:
    """The tombstones (pruned items) among the entries with these keys: a feed still
    carries them, so retention keeps them."""
    found: set[int] = set()
    for column, chunk in _key_chunks(guid_keys, url_keys, hashes):
        found.update(
            session.scalars(select(Item.id).where(column.in_(chunk), Item.pruned_at.is_not(None)))
        )
    return sorted(found)


def _chunks(values: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def insert_item(session: Session, **values: Any) -> int | None:
    """Insert an entry; None when any unique key (GUID, URL, content) says it is known."""
    stmt = _statements(session).insert_item
    return session.connection().execute(stmt, values).scalar_one_or_none()


def story_with_text(session: Session, text_hash: str) -> int | None:
    """The story of a stored item with exactly this text (``identity.text_hash``)."""
    stmt = _statements(session).story_with_text
    return session.connection().execute(stmt, {"text_hash": text_hash}).scalar()


def similar_stories(
    session: Session, bands: Sequence[int], limit: int = 5
) -> list[tuple[int, tuple[int, ...]]]:
    """(story id, sketch) of the stories sharing most LSH band keys with ``bands``.

    Each key yields at most ``PER_BAND`` stories, the newest first, so the cost of a lookup
    does not grow with the database even when a key is common (boilerplate shared by
    thousands of stories); a syndicated copy shares many keys, most of them rare, so it is
    still found. The caller verifies the candidates' sketches."""
    if not bands:
        return []
    params: dict[str, int] = {f"b{i}": band for i, band in enumerate(bands)}
    params["limit"] = limit
    rows = session.connection().execute(_similar_stories_sql(len(bands)), params)
    return [(int(story_id), unpack_sketch(sketch)) for story_id, sketch in rows]


PER_BAND = 8  # stories read per band key: bounds a lookup's rows at BANDS × PER_BAND


@cache
def _similar_stories_sql(bands: int) -> TextClause:
    # Built once per band count: a UNION ALL of per-key index range scans (newest first,
    # LIMIT PER_BAND), counted per story, the best ``limit`` joined to their sketches.
    # Written as compact text (only integers go into it): psycopg converts and prepares
    # statements up to 4 KB only, and the rendered Core statement is longer.
    per_key = " UNION ALL ".join(
        f"SELECT story_id FROM (SELECT story_id FROM story_bands WHERE band = :b{i}"  # noqa: S608
        f" ORDER BY story_id DESC LIMIT {PER_BAND}) AS k{i}"
        for i in range(bands)
    )
    return text(
        "SELECT s.id, s.sketch FROM stories AS s JOIN (SELECT story_id FROM"  # noqa: S608
        f" ({per_key}) AS hits GROUP BY story_id ORDER BY count(*) DESC, story_id DESC"
        " LIMIT :limit) AS best ON s.id = best.story_id"
    )


def create_story(
    session: Session, title: str, sketch: Sequence[int], bands: Sequence[int], now: datetime
) -> int:
    """A new story with its sketch, indexed under its band keys."""
    conn = session.connection()
    story_id = int(
        conn.execute(
            _statements(session).insert_story,
            {"title": title, "first_seen_at": now, "sketch": pack_sketch(sketch)},
        ).scalar_one()
    )
    if bands:
        params = {f"b{i}": band for i, band in enumerate(bands)}
        conn.execute(_insert_bands_sql(len(bands)), {"story_id": story_id, **params})
    return story_id


@cache
def _insert_bands_sql(bands: int) -> TextClause:
    # One multi-row INSERT per band count, as text: psycopg runs an executemany row by row,
    # and SQLAlchemy compiles a multi-row ``values()`` anew on every call.
    rows = ", ".join(f"(:b{i}, :story_id)" for i in range(bands))
    return text(f"INSERT INTO story_bands (band, story_id) VALUES {rows}")  # noqa: S608


# A chunk of entries is placed with a few set-based statements instead of five per entry
# (``monitor.pipeline.ingest.record_entries``): every exact text at once, every band key at once
# (still at most PER_BAND stories per key), the candidates' sketches at once, then the new
# stories, their band keys and the items each as one multi-row INSERT.


def stories_with_texts(session: Session, text_hashes: Collection[str]) -> dict[str, int]:
    """For each of these ``identity.text_hash`` values already stored, the story of an item
    with exactly that text (the oldest story, should a race have made two)."""
    if not text_hashes:
        return {}
    rows = session.connection().execute(
        _chunk_statements(session).stories_with_texts, {"hashes": list(text_hashes)}
    )
    return {text_hash: int(story_id) for text_hash, story_id in rows}


def band_stories(session: Session, bands: Collection[int]) -> dict[int, list[int]]:
    """For each band key, the ids of the newest stories indexed under it (at most
    ``PER_BAND``, newest first): ``similar_stories``'s bounded lookup for many keys."""
    found: dict[int, list[int]] = {}
    if not bands:
        return found
    keys = sorted(bands)
    batches: list[dict[str, Any]] = []
    if session.get_bind().dialect.name == "postgresql":
        sql, batches = _BAND_STORIES_PG, [{"bands": _pg_array(keys)}]
    else:  # a fixed number of keys per statement, so SQLite prepares it once
        sql = _band_stories_sqlite()
        for start in range(0, len(keys), _BAND_BATCH):
            part = keys[start : start + _BAND_BATCH]
            part += [-1] * (_BAND_BATCH - len(part))  # keys are ≥ 0: -1 matches nothing
            batches.append({f"b{i}": band for i, band in enumerate(part)})
    # Straight from the driver's cursor: a chunk reads thousands of (band, story) pairs,
    # and SQLAlchemy's per-row result handling cost more than the query itself.
    # PostgreSQL sends one row per key, its stories as text (fewer rows to convert).
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for params in batches:
            cursor.execute(sql, params)
            for band, ids in cursor.fetchall():
                if isinstance(ids, int):
                    found.setdefault(band, []).append(ids)
                elif ids:
                    found[band] = list(map(int, ids.split(",")))
    finally:
        cursor.close()
    for ids in found.values():
        ids.sort(reverse=True)
    return found


def _pg_array(values: Iterable[int]) -> str:
    """An integer array as PostgreSQL's literal, cast in the statement: psycopg adapts a
    list element by element, in Python."""
    return "{" + ",".join(map(str, values)) + "}"


_BAND_BATCH = 100  # keys per SQLite statement (a compound SELECT may have up to 500 terms)


@cache
def _band_stories_sqlite() -> str:
    return " UNION ALL ".join(
        f"SELECT * FROM (SELECT band, story_id FROM story_bands WHERE band = :b{i}"  # noqa: S608
        f" ORDER BY story_id DESC LIMIT {PER_BAND})"
        for i in range(_BAND_BATCH)
    )


# One statement for every key: an index range scan per key of the array (psycopg's
# placeholder style, run on the driver's cursor).
_BAND_STORIES_PG = (
    "SELECT k.band, array_to_string(ARRAY(SELECT story_id FROM story_bands"  # noqa: S608
    f" WHERE band = k.band ORDER BY story_id DESC LIMIT {PER_BAND}), ',')"
    " FROM unnest(%(bands)s::bigint[]) AS k(band)"
)


def story_sketches(session: Session, story_ids: Collection[int]) -> dict[int, tuple[int, ...]]:
    """The stored sketch of each of these stories."""
    if not story_ids:
        return {}
    rows = session.connection().execute(
        _chunk_statements(session).story_sketches, {"ids": list(story_ids)}
    )
    return {int(story_id): unpack_sketch(sketch) for story_id, sketch in rows}


@dataclass(frozen=True)
class NewStory:
    title: str
    sketch: Sequence[int]
    bands: Sequence[int]


def create_stories(session: Session, stories: Sequence[NewStory], now: datetime) -> list[int]:
    """``create_story`` for many: their ids, in the order given."""
    if not stories:
        return []
    conn, stmts = session.connection(), _chunk_statements(session)
    rows = [
        {"title": s.title, "first_seen_at": now, "sketch": pack_sketch(s.sketch)} for s in stories
    ]
    # One multi-row INSERT: both databases number its rows in the order of its VALUES (a
    # sequence's nextval per row, SQLite's next rowid per row), so the ascending ids are
    # the stories in order. (SQLAlchemy's sort_by_parameter_order would insert SQLite's
    # rows one statement each.)
    ids = sorted(int(story_id) for story_id in conn.execute(stmts.insert_stories, rows).scalars())
    bands = [(band, story_id) for s, story_id in zip(stories, ids, strict=True) for band in s.bands]
    if bands:
        if session.get_bind().dialect.name == "postgresql":
            conn.execute(
                stmts.insert_bands,
                {
                    "bands": _pg_array(b for b, _ in bands),
                    "stories": _pg_array(i for _, i in bands),
                },
            )
        else:  # sqlite3's executemany: one C loop over a prepared statement (through
            # SQLAlchemy, processing each row's parameters cost more than inserting it)
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.executemany(_INSERT_BANDS_SQLITE, bands)
            finally:
                cursor.close()
    return ids


def insert_items(session: Session, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """``insert_item`` for many, one multi-row INSERT … ON CONFLICT DO NOTHING: the id of
    each inserted item by its ``content_hash`` (rows a unique key rejected are absent)."""
    if not rows:
        return {}
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        return _insert_items_pg(conn, rows)
    result = conn.execute(_chunk_statements(session).insert_items, list(rows))
    return {content_hash: int(item_id) for item_id, content_hash in result}


def _insert_items_pg(conn: Any, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    # One array per column, unnested by one short statement: the multi-row VALUES form
    # (16 parameters per row) is a new query text for psycopg to parse on every chunk,
    # which cost more than the insert. Values are bound as the columns' types would.
    items = _table(Item)
    params: dict[str, list[Any]] = {}
    for name, _ in _ITEM_ARRAYS[:-1]:  # all but "matched"
        bind = items.c[name].type.bind_processor(conn.dialect)
        values = [row.get(name) for row in rows]
        params[name] = [bind(v) for v in values] if bind else values
    params["matched"] = [json.dumps(row.get("matched")) for row in rows]
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(_INSERT_ITEMS_PG, params)
        return {content_hash: item_id for item_id, content_hash in cursor.fetchall()}
    finally:
        cursor.close()


_ITEM_ARRAYS = (
    ("feed_id", "integer"),
    ("story_id", "integer"),
    ("guid_key", "text"),
    ("url_key", "text"),
    ("content_hash", "text"),
    ("text_hash", "text"),
    ("url", "text"),
    ("canonical_url", "text"),
    ("outlet", "text"),
    ("title", "text"),
    ("summary", "text"),
    ("text", "text"),
    ("author", "text"),
    ("published_at", "timestamptz"),
    ("first_seen_at", "timestamptz"),
    ("matched", "json"),
)
_INSERT_ITEMS_PG = (
    f"INSERT INTO items ({', '.join(name for name, _ in _ITEM_ARRAYS)})"  # noqa: S608
    f" SELECT * FROM unnest({', '.join(f'%({n})s::{t}[]' for n, t in _ITEM_ARRAYS)})"
    " ON CONFLICT DO NOTHING RETURNING id, content_hash"
)


_INSERT_BANDS_SQLITE = "INSERT INTO story_bands (band, story_id) VALUES (?, ?)"


@dataclass(frozen=True)
class _ChunkStatements:
    stories_with_texts: Any
    story_sketches: Any
    insert_stories: Any
    insert_bands: Any
    insert_items: Any


@cache
def _chunk_statements_for(dialect: str) -> _ChunkStatements:
    dml = postgresql if dialect == "postgresql" else sqlite
    items, stories = _table(Item), _table(Story)
    if dialect == "postgresql":
        insert_bands: Any = text(
            "INSERT INTO story_bands (band, story_id)"
            " SELECT * FROM unnest(CAST(:bands AS bigint[]), CAST(:stories AS integer[]))"
        )
    else:
        insert_bands = None  # _INSERT_BANDS_SQLITE, on the driver's cursor
    return _ChunkStatements(
        stories_with_texts=select(items.c.text_hash, func.min(items.c.story_id))
        .where(items.c.text_hash.in_(bindparam("hashes", expanding=True)))
        .group_by(items.c.text_hash),
        story_sketches=select(stories.c.id, stories.c.sketch).where(
            stories.c.id.in_(bindparam("ids", expanding=True))
        ),
        insert_stories=insert(stories).returning(stories.c.id),
        insert_bands=insert_bands,
        insert_items=dml.insert(items)
        .on_conflict_do_nothing()
        .returning(items.c.id, items.c.content_hash),
    )


def _chunk_statements(session: Session) -> _ChunkStatements:
    return _chunk_statements_for(session.get_bind().dialect.name)


def delete_story(session: Session, story_id: int, bands: Sequence[int]) -> None:
    """Remove a story created in this transaction that turned out to have no item."""
    if bands:
        session.execute(
            delete(StoryBand).where(StoryBand.band.in_(bands), StoryBand.story_id == story_id)
        )
    session.execute(delete(Story).where(Story.id == story_id))


def story_outlets(
    session: Session,
    story_id: int,
    exclude_item: int | None = None,
    exclude_items: Collection[int] = (),
) -> list[str]:
    """Outlets that carried a story, first seen first (without the excluded items: those
    stored later in the same chunk, say)."""
    stmt = (
        select(Item.outlet, func.min(Item.first_seen_at))
        .where(Item.story_id == story_id, Item.outlet.is_not(None))
        .group_by(Item.outlet)
        .order_by(func.min(Item.first_seen_at))
    )
    excluded = {*exclude_items, *([] if exclude_item is None else [exclude_item])}
    if excluded:
        stmt = stmt.where(Item.id.not_in(excluded))
    return [outlet for outlet, _ in session.execute(stmt) if outlet]
