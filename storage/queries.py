"""The queries newsmon runs. Each takes an open Session; callers own the transaction.

Work that several replicas may attempt at once is decided by the database: inserts use
``ON CONFLICT DO NOTHING`` against unique keys, and claims of feeds and alerts are
conditional UPDATEs (``... WHERE lease_until < now``), so exactly one replica wins.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    Select,
    Table,
    TextClause,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from monitor.domain.model import KnownValue, Observation
from monitor.identity.sketch import pack_sketch, unpack_sketch
from storage.models import (
    AlertRow,
    Base,
    Feed,
    FigureObservation,
    FigureSeries,
    Item,
    Story,
    StoryBand,
    Thread,
    UTCDateTime,
)

# ----------------------------------------------------------------------------- helpers


def _insert(session: Session, table: Any) -> Any:
    """A dialect-specific INSERT that supports ``on_conflict_do_nothing``."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@dataclass(frozen=True)
class _Statements:
    """Statements of the per-entry hot path, built once per dialect: executed with
    parameters on the session's connection they skip the ORM and reuse their compiled
    form (building a statement per call cost more than running it)."""

    insert_item: Any
    story_with_text: Any
    insert_story: Any
    insert_series: Any
    lock_series: Any
    known_values: Any
    insert_observation: Any
    insert_alert: Any


@cache
def _statements_for(dialect: str) -> _Statements:
    dml = postgresql if dialect == "postgresql" else sqlite
    items, stories = _table(Item), _table(Story)
    series, obs, alerts = _table(FigureSeries), _table(FigureObservation), _table(AlertRow)
    lock = select(series.c.id).where(
        series.c.figure == bindparam("figure"), series.c.unit == bindparam("unit")
    )
    return _Statements(
        insert_item=dml.insert(items).on_conflict_do_nothing().returning(items.c.id),
        story_with_text=select(items.c.story_id)
        .where(items.c.text_hash == bindparam("text_hash"))
        .limit(1),
        insert_story=insert(stories).returning(stories.c.id),
        insert_series=dml.insert(series).on_conflict_do_nothing(),
        lock_series=lock.with_for_update() if dialect == "postgresql" else lock,
        known_values=_known_values(obs),
        insert_observation=dml.insert(obs).on_conflict_do_nothing().returning(obs.c.id),
        insert_alert=dml.insert(alerts)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(alerts.c.id),
    )


def _known_values(obs: Table) -> Select[Any]:
    """Per distinct (low, high) of a series' current estimates: its latest observation and
    how many distinct sources (outlet, else URL; with who is quoted) stated it.

    Grouped by the database: a series keeps every observation, so reading them all into
    Python for each new one made a series' n-th observation cost O(n) in Python."""
    current = and_(
        obs.c.series_id == bindparam("series_id"),
        obs.c.increment.is_(False),  # additions, not totals
        obs.c.as_of.is_(None),  # history the article dated in the past
    )
    newest_first = (obs.c.first_seen_at.desc(), obs.c.id.desc())
    rank = func.row_number().over(partition_by=(obs.c.low, obs.c.high), order_by=newest_first)
    latest = (
        select(
            obs.c.id,
            obs.c.low,
            obs.c.high,
            obs.c.value,
            obs.c.qualifier,
            obs.c.attributed_to,
            obs.c.outlet,
            obs.c.url,
            obs.c.published_at,
            obs.c.first_seen_at,
            rank.label("rank"),
        )
        .where(current)
        .subquery("latest")
    )
    source = func.coalesce(func.nullif(obs.c.outlet, ""), func.nullif(obs.c.url, ""), "")
    who = func.coalesce(obs.c.attributed_to, "")
    sources = (
        select(obs.c.low, obs.c.high, source.label("source"), who.label("who"))
        .where(current)
        .distinct()
        .subquery("sources")
    )
    counts = (
        select(sources.c.low, sources.c.high, func.count().label("corroborations"))
        .group_by(sources.c.low, sources.c.high)
        .subquery("counts")
    )
    return (
        select(*(c for c in latest.c if c.name not in ("id", "rank")), counts.c.corroborations)
        .join_from(
            latest, counts, and_(latest.c.low == counts.c.low, latest.c.high == counts.c.high)
        )
        .where(latest.c.rank == 1)
        .order_by(latest.c.first_seen_at.desc(), latest.c.id.desc())
    )


def _table(model: type[Base]) -> Table:
    """A model's Table, for Core statements: no ORM unit of work, and run as executemany
    (an ORM UPDATE given a list of parameters would be a bulk update by primary key,
    without our lease condition)."""
    return cast(Table, model.__table__)


def _statements(session: Session) -> _Statements:
    return _statements_for(session.get_bind().dialect.name)


def _skip_locked(session: Session, stmt: Select[Any]) -> Select[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True)
    return stmt


# ----------------------------------------------------------------------------- feeds


@dataclass(frozen=True)
class FeedSpec:
    url: str
    name: str | None
    interval_seconds: float


def sync_feeds(session: Session, feeds: Sequence[FeedSpec], now: datetime) -> None:
    """Make the feeds table agree with the config: add new feeds, update, deactivate removed.

    Reads the table once and writes only the rows that differ, so that starting a cycle
    with 10,000 unchanged feeds costs one SELECT instead of 10,000 UPDATEs."""
    wanted = {feed.url: feed for feed in feeds}
    table = _table(Feed)
    rows = session.execute(
        select(Feed.id, Feed.url, Feed.name, Feed.interval_seconds, Feed.active)
    ).all()
    existing = {row.url for row in rows}
    missing = [
        {
            "url": f.url,
            "name": f.name,
            "interval_seconds": f.interval_seconds,
            "active": True,
            "next_poll_at": now,
            "consecutive_failures": 0,
            "gone": False,
            "polls": 0,
        }
        for url, f in wanted.items()
        if url not in existing
    ]
    if missing:  # another replica may add the same feeds meanwhile
        session.execute(_insert(session, table).on_conflict_do_nothing(), missing)
    changed = [
        {"b_id": row.id, "b_name": f.name, "b_interval": f.interval_seconds}
        for row in rows
        if (f := wanted.get(row.url)) is not None
        and (row.name, row.interval_seconds, row.active) != (f.name, f.interval_seconds, True)
    ]
    if changed:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                name=bindparam("b_name"), interval_seconds=bindparam("b_interval"), active=True
            ),
            changed,
        )
    removed = [row.id for row in rows if row.active and row.url not in wanted]
    for chunk in _chunks(removed, 500):
        session.execute(update(table).where(table.c.id.in_(chunk)).values(active=False))


def claim_feed(
    session: Session,
    feed_id: int,
    owner: str,
    now: datetime,
    lease: float,
    due_by: datetime | None = None,
) -> bool:
    """Take the lease on a feed due by ``due_by`` (default now). True for exactly one replica."""
    result = session.execute(
        update(Feed)
        .where(Feed.id == feed_id, *_claimable(now, due_by))
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease))
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def renew_feed(session: Session, feed_id: int, owner: str, until: datetime) -> bool:
    """Extend this replica's lease on a feed it is still polling; False if it lost it."""
    result = session.execute(
        update(Feed).where(Feed.id == feed_id, Feed.lease_owner == owner).values(lease_until=until)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def release_feed(session: Session, feed_id: int, owner: str) -> None:
    """Give up the lease on a feed without recording a poll (it could not be recorded)."""
    session.execute(
        update(Feed)
        .where(Feed.id == feed_id, Feed.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )


def _claimable(now: datetime, due_by: datetime | None) -> tuple[Any, ...]:
    """A feed that is active, due by ``due_by`` (default now) and not leased."""
    return (
        Feed.active.is_(True),
        Feed.gone.is_(False),
        Feed.next_poll_at <= (due_by or now),
        or_(Feed.lease_until.is_(None), Feed.lease_until < now),
    )


def claim_due_feeds(
    session: Session,
    owner: str,
    now: datetime,
    lease: float,
    limit: int | None = None,
    due_by: datetime | None = None,
) -> list[Feed]:
    """Claim the due feeds this replica can get, in one UPDATE … RETURNING, ordered by id.

    The UPDATE repeats the conditions of its subquery, so a feed another replica leased in
    between is not taken (exactly one winner, as with claim_feed). On PostgreSQL the
    subquery's ``SKIP LOCKED`` passes over rows another replica is claiming right now;
    SQLite's write lock (transactions begin IMMEDIATE) serialises claimers anyway.
    ``due_by`` later than ``now`` claims feeds before their time (``run --once``)."""
    due = (
        select(Feed.id)
        .where(*_claimable(now, due_by))
        .order_by(Feed.next_poll_at, Feed.id)
        .limit(limit)
    )
    stmt = (
        update(Feed)
        .where(Feed.id.in_(_skip_locked(session, due).scalar_subquery()), *_claimable(now, due_by))
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease))
        .returning(Feed)
        .execution_options(synchronize_session=False)
    )
    return sorted(session.scalars(stmt), key=lambda feed: feed.id)


@dataclass(frozen=True)
class PollRecord:
    """What one poll of a feed did, to be written back to the feed row."""

    ok: bool
    status: int | None
    error: str | None
    next_poll_at: datetime
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    fetch_url: str | None = None
    gone: bool = False
    baseline: int = 0  # entries stored as old news by this poll
    parsed: bool = False  # the poll read the feed's entries (not 304 or an unchanged body)
    carried: tuple[int, ...] = ()  # tombstones (pruned items) the feed still carries
    server_interval: float | None = None  # what the server asked for (ok polls)


def finish_poll(session: Session, feed_id: int, owner: str, now: datetime, rec: PollRecord) -> None:
    """Record a poll's outcome and release the lease (only if this replica still holds it)."""
    finish_polls(session, owner, [(feed_id, now, rec)])


def finish_polls(
    session: Session, owner: str, polls: Sequence[tuple[int, datetime, PollRecord]]
) -> None:
    """finish_poll for many feeds: one executemany per kind of outcome (ok or failed, with
    or without a new address), so a cycle's bookkeeping is a few statements, not one
    transaction per feed. A row whose lease this replica lost is left alone."""
    kinds: dict[tuple[bool, bool], list[dict[str, Any]]] = {}
    for feed_id, now, rec in polls:
        params: dict[str, Any] = {
            "b_id": feed_id,
            "b_owner": owner,
            "b_now": now,
            "b_status": rec.status,
            "b_next": rec.next_poll_at,
            "b_gone": rec.gone,
            "b_error": rec.error,
        }
        if rec.ok:  # an ok poll may still carry a warning (a feed that parsed with errors)
            params.update(
                b_etag=rec.etag,
                b_modified=rec.last_modified,
                b_hash=rec.body_hash,
                b_baseline=rec.baseline,
                b_parsed=now if rec.parsed else None,
            )
            params["b_server_interval"] = rec.server_interval
        if rec.fetch_url:
            params["b_fetch_url"] = rec.fetch_url
        kinds.setdefault((rec.ok, bool(rec.fetch_url)), []).append(params)
    for (ok, moved), rows in kinds.items():
        session.execute(_finish_statement(ok, moved), rows)
    carried = [{"b_id": i, "b_now": now} for _, now, rec in polls for i in rec.carried]
    if carried:
        items = _table(Item)
        session.execute(
            update(items).where(items.c.id == bindparam("b_id")).values(seen_at=bindparam("b_now")),
            carried,
        )


def _finish_statement(ok: bool, moved: bool) -> Any:
    table = _table(Feed)
    c = table.c
    values: dict[str, Any] = {
        "last_polled_at": bindparam("b_now"),
        "last_status": bindparam("b_status"),
        "next_poll_at": bindparam("b_next"),
        "lease_owner": None,
        "lease_until": None,
        "polls": c.polls + 1,
        "gone": bindparam("b_gone"),
        "last_error": bindparam("b_error"),
    }
    if ok:
        values.update(
            last_success_at=bindparam("b_now"),
            consecutive_failures=0,
            etag=bindparam("b_etag"),
            last_modified=bindparam("b_modified"),
            body_hash=bindparam("b_hash"),
            baseline_entries=c.baseline_entries + bindparam("b_baseline"),
            parsed_at=func.coalesce(bindparam("b_parsed", type_=UTCDateTime()), c.parsed_at),
            server_interval=bindparam("b_server_interval"),
        )
    else:
        values["consecutive_failures"] = c.consecutive_failures + 1
    if moved:
        values["fetch_url"] = bindparam("b_fetch_url")
    return (
        update(table)
        .where(c.id == bindparam("b_id"), c.lease_owner == bindparam("b_owner"))
        .values(**values)
    )


def list_feeds(session: Session) -> list[Feed]:
    return list(session.scalars(select(Feed).where(Feed.active.is_(True)).order_by(Feed.id)))


# ----------------------------------------------------------------------------- items and stories


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


# ----------------------------------------------------------------------------- figures


def lock_series(session: Session, figure: str, unit: str) -> int:
    """The id of the (figure, unit) series, created if new and locked for this transaction."""
    conn, stmts = session.connection(), _statements(session)
    params = {"figure": figure, "unit": unit}
    conn.execute(stmts.insert_series, params)
    return int(conn.execute(stmts.lock_series, params).scalar_one())


def known_values(session: Session, series_id: int) -> list[KnownValue]:
    """Distinct current values of a series, latest first, with corroborations.

    Increments and values their article dated in the past are stored but are not current
    estimates, so a new value is compared with these only."""
    stmt = _statements(session).known_values
    rows = session.connection().execute(stmt, {"series_id": series_id})
    return [KnownValue(**row._mapping) for row in rows]


def add_observation(
    session: Session,
    *,
    series_id: int,
    item_id: int | None,
    obs: Observation,
    url: str | None,
    outlet: str | None,
    title: str | None,
    published_at: datetime | None,
    now: datetime,
    changed: bool,
) -> bool:
    """Store one observation; False if this item already stated this value."""
    values = {
        "series_id": series_id,
        "item_id": item_id,
        "watchlist": obs.watchlist,
        "value": obs.value,
        "low": obs.low,
        "high": obs.high,
        "qualifier": obs.qualifier,
        "attributed_to": obs.attributed_to,
        "quote": obs.quote,
        "increment": obs.increment,
        "as_of": obs.as_of.isoformat() if obs.as_of else None,
        "url": url,
        "outlet": outlet,
        "title": title,
        "published_at": published_at,
        "first_seen_at": now,
        "changed": changed,
    }
    stmt = _statements(session).insert_observation
    return session.connection().execute(stmt, values).scalar_one_or_none() is not None


def list_observations(
    session: Session, figure: str | None = None
) -> list[tuple[FigureObservation, FigureSeries]]:
    stmt = (
        select(FigureObservation, FigureSeries)
        .join(FigureSeries, FigureSeries.id == FigureObservation.series_id)
        .order_by(
            FigureSeries.figure,
            FigureObservation.first_seen_at.desc(),
            FigureObservation.id.desc(),
        )
    )
    if figure:
        stmt = stmt.where(FigureSeries.figure == figure)
    return [(obs, series) for obs, series in session.execute(stmt).all()]


# ----------------------------------------------------------------------------- alerts (outbox)


def _in_channel(notifier: str, channel: str | None) -> tuple[Any, Any]:
    """Alerts of one notifier's channel (``None``: the notifier's only one, e.g. console)."""
    same = AlertRow.channel.is_(None) if channel is None else AlertRow.channel == channel
    return AlertRow.notifier == notifier, same


def add_alert(session: Session, **values: Any) -> int | None:
    """Record an alert in the outbox; None when its dedup_key was recorded before."""
    stmt = _statements(session).insert_alert
    return session.connection().execute(stmt, values).scalar_one_or_none()


def database_now(session: Session) -> datetime:
    """The database server's clock now (PostgreSQL; not the transaction's start time)."""
    now: datetime = session.execute(select(func.clock_timestamp())).scalar_one()
    return now


def claim_alert(
    session: Session, owner: str, now: datetime, lease: float
) -> tuple[AlertRow, bool] | None:
    """Claim the oldest deliverable alert: pending and due, or 'sending' whose lease
    expired. The flag is True for the latter: its replica died between send and mark, so
    the caller must check the channel before sending again.

    One alert, taken right before it is sent, so each has a lease of its own (a lease for a
    batch ran out under the alerts still waiting their turn behind a slow relay). Core
    statements built once per dialect: one claim per alert sent, and building them cost
    more than running them. The conditional UPDATE takes the alert only if it is still in
    the state it was read in: of two replicas reading the same one, one wins."""
    dialect = session.get_bind().dialect.name
    conn = session.connection()
    until = now + timedelta(seconds=lease)
    if dialect == "postgresql":  # one statement: the pick is locked, others skip it
        params = {"b_now": now, "b_owner": owner, "b_until": until}
        found = conn.execute(_claim_pg_statement(), params).mappings().first()
        if found is None:
            return None
        values = dict(found)
        was = values.pop("was")
        return AlertRow(**values), was == "sending"
    find, take = _claim_statements(dialect)
    for alert_id, state in conn.execute(find, {"b_now": now}).all():
        params = {"b_id": alert_id, "b_state": state, "b_now": now, "b_owner": owner,
                  "b_until": until}  # fmt: skip
        taken = conn.execute(take, params).mappings().first()
        if taken is not None:  # the row as claimed, detached: the caller only reads it
            return AlertRow(**taken), state == "sending"
    return None


def _deliverable() -> Any:
    c = _table(AlertRow).c
    now: Any = bindparam("b_now")
    return or_(
        and_(c.state == "pending", c.next_attempt_at <= now),
        and_(c.state == "sending", c.lease_until < now),
    )


@cache
def _claim_pg_statement() -> Any:
    """UPDATE alerts … FROM (the oldest deliverable, FOR UPDATE SKIP LOCKED) RETURNING the
    row and the state it was claimed in."""
    table = _table(AlertRow)
    c = table.c
    pick = (
        select(c.id, c.state)
        .where(_deliverable())
        .order_by(c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .subquery("pick")
    )
    return (
        update(table)
        .where(c.id == pick.c.id)
        .values(state="sending", lease_owner=bindparam("b_owner"), lease_until=bindparam("b_until"))
        .returning(*c, pick.c.state.label("was"))
    )


@cache
def _claim_statements(dialect: str) -> tuple[Any, Any]:
    """Find the oldest deliverable, then take it if it is still in the state it was read
    in (SQLite: one writer at a time, and no RETURNING of another table's columns)."""
    c = _table(AlertRow).c
    deliverable = _deliverable()
    find: Any = select(c.id, c.state).where(deliverable).order_by(c.id).limit(1)
    take = (
        update(_table(AlertRow))
        .where(c.id == bindparam("b_id"), c.state == bindparam("b_state"), deliverable)
        .values(state="sending", lease_owner=bindparam("b_owner"), lease_until=bindparam("b_until"))
        .returning(*_table(AlertRow).c)
    )
    return find, take


def _mark(session: Session, alert_id: int, owner: str, **values: Any) -> None:
    """Finish an alert this replica holds the lease on (a Core UPDATE: no ORM evaluation)."""
    c = _table(AlertRow).c
    session.execute(
        update(_table(AlertRow))
        .where(c.id == alert_id, c.lease_owner == owner)
        .values(lease_owner=None, lease_until=None, **values)
    )


def mark_sent(
    session: Session, alert_id: int, owner: str, now: datetime, remote_id: str | None
) -> None:
    params = {"b_id": alert_id, "b_owner": owner, "b_now": now, "b_remote": remote_id}
    session.connection().execute(_mark_sent_statement(), params)


@cache
def _mark_sent_statement() -> Any:
    # Built once (one per sent alert, building it cost more than running it).
    c = _table(AlertRow).c
    return (
        update(_table(AlertRow))
        .where(c.id == bindparam("b_id"), c.lease_owner == bindparam("b_owner"))
        .values(
            state="sent",
            sent_at=bindparam("b_now"),
            remote_id=bindparam("b_remote"),
            attempts=c.attempts + 1,
            last_error=None,
            lease_owner=None,
            lease_until=None,
        )
    )


def mark_retry(
    session: Session,
    alert_id: int,
    owner: str,
    error: str,
    next_attempt_at: datetime,
    *,
    count: bool = True,
    keep_order: bool = True,
) -> None:
    """A temporary failure (``count``) or a deferral: back to pending; with ``keep_order``
    later alerts of the same channel wait too, so a backlog drains in order."""
    c = _table(AlertRow).c
    row = session.execute(select(c.notifier, c.channel).where(c.id == alert_id)).first()
    _mark(
        session,
        alert_id,
        owner,
        state="pending",
        attempts=c.attempts + (1 if count else 0),
        last_error=error,
        next_attempt_at=next_attempt_at,
    )
    if row is not None and keep_order:
        same = c.channel.is_(None) if row.channel is None else c.channel == row.channel
        session.execute(
            update(_table(AlertRow))
            .where(
                c.state == "pending",
                c.notifier == row.notifier,
                same,
                c.id > alert_id,
                c.next_attempt_at < next_attempt_at,
            )
            .values(next_attempt_at=next_attempt_at)
        )


def mark_failed(session: Session, alert_id: int, owner: str, error: str) -> None:
    attempts = _table(AlertRow).c.attempts + 1
    _mark(session, alert_id, owner, state="failed", attempts=attempts, last_error=error)


def release_alert(
    session: Session, alert_id: int, owner: str, now: datetime, *, resumed: bool = False
) -> None:
    """Give up the claim on an alert this replica did not send: back to pending, due at
    once — or, when ``resumed`` (an earlier attempt may have sent it), left in 'sending'
    with its lease run out, so the next claim checks the channel before sending."""
    c = _table(AlertRow).c
    values: dict[str, Any] = (
        {"lease_owner": None, "lease_until": now}
        if resumed
        else {"state": "pending", "lease_owner": None, "lease_until": None}
    )
    session.execute(
        update(_table(AlertRow))
        .where(c.id == alert_id, c.lease_owner == owner, c.state == "sending")
        .values(**values)
    )


def requeue_alerts(session: Session, now: datetime, alert_id: int | None = None) -> int:
    """Put failed alerts (one, or all) back to pending. Re-queueing all also brings back
    the follow-ups an earlier version skipped while their story's alert was unsent: they
    wait for it again (and are skipped again if it was never posted on its own)."""
    failed = AlertRow.state == "failed"
    if alert_id is not None:
        which = and_(failed, AlertRow.id == alert_id)
    else:
        unthreaded = and_(
            AlertRow.state == "skipped",
            AlertRow.kind == "follow_up",
            AlertRow.last_error.like("the story's alert was not posted%"),
        )
        which = or_(failed, unthreaded)
    result = session.execute(
        update(AlertRow)
        .where(which)
        .values(state="pending", next_attempt_at=now, last_error=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))


def waiting_alerts(session: Session) -> list[tuple[str, str | None, int, datetime]]:
    """Per (notifier, channel): alerts pending or being sent, and the earliest time the
    next may go (a pending alert's next attempt, a claimed one's lease end)."""
    c = _table(AlertRow).c
    due = case((c.state == "sending", c.lease_until), else_=c.next_attempt_at)
    rows = session.execute(
        select(c.notifier, c.channel, func.count(), func.min(due))
        .where(c.state.in_(("pending", "sending")))
        .group_by(c.notifier, c.channel)
        .order_by(c.notifier, c.channel)
    ).all()
    return [(n, ch, int(count), _aware(at)) for n, ch, count, at in rows]


def _aware(value: Any) -> datetime:
    """A timestamp an aggregate returned (SQLite gives a naive string) as aware UTC."""
    parsed: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def list_alerts(session: Session, limit: int = 100, state: str | None = None) -> list[AlertRow]:
    stmt = select(AlertRow).order_by(AlertRow.id.desc()).limit(limit)
    if state:
        stmt = stmt.where(AlertRow.state == state)
    return list(session.scalars(stmt))


def count_alerts(session: Session) -> dict[str, int]:
    rows = session.execute(select(AlertRow.state, func.count()).group_by(AlertRow.state)).all()
    return {state: int(count) for state, count in rows}


def story_alert_routes(session: Session, story_id: int) -> list[tuple[str, str | None, list[str]]]:
    """(notifier, channel, watchlists) of the new_item alerts recorded for a story."""
    rows = session.execute(
        select(AlertRow.notifier, AlertRow.channel, AlertRow.watchlists)
        .where(AlertRow.story_id == story_id, AlertRow.kind == "new_item")
        .order_by(AlertRow.id)
    ).all()
    return [(notifier, channel, list(watchlists)) for notifier, channel, watchlists in rows]


@dataclass(frozen=True)
class ThreadRef:
    """A thread newsmon started in a channel: the parent message and the item it was for."""

    ts: str
    remote_channel: str | None
    parent_item_id: int | None


@dataclass(frozen=True)
class ThreadParent:
    """The alert that starts a thread in a channel: its state and when it may next go."""

    id: int
    state: str
    due: datetime | None


def thread_parent(
    session: Session, notifier: str, channel: str | None, key: str, before: int
) -> ThreadParent | None:
    """The first alert recorded under thread ``key`` in a channel (not a dashboard edit, and
    older than alert ``before``): the one whose message starts the thread."""
    row = session.execute(
        select(AlertRow.id, AlertRow.state, AlertRow.next_attempt_at, AlertRow.lease_until)
        .where(
            *_in_channel(notifier, channel),
            AlertRow.thread_key == key,
            AlertRow.kind.not_in(("dashboard", "follow_up")),
            AlertRow.id < before,
        )
        .order_by(AlertRow.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    due = row.lease_until if row.state == "sending" else row.next_attempt_at
    return ThreadParent(row.id, row.state, due)


def find_thread(session: Session, notifier: str, channel: str | None, key: str) -> ThreadRef | None:
    """The message (Slack ``ts``) that alerts under ``key`` reply to in a channel."""
    row = session.execute(
        select(Thread.ts, Thread.remote_channel, AlertRow.item_id)
        .outerjoin(AlertRow, AlertRow.id == Thread.parent_alert_id)
        .where(Thread.notifier == notifier, Thread.channel == (channel or ""), Thread.key == key)
    ).first()
    return ThreadRef(row[0], row[1], row[2]) if row else None


def add_thread(
    session: Session,
    *,
    notifier: str,
    channel: str | None,
    key: str,
    ts: str,
    parent_alert_id: int,
    now: datetime,
    remote_channel: str | None = None,
) -> None:
    """Remember the message that starts a thread (the first one sent under ``key`` wins)."""
    session.execute(
        _insert(session, Thread)
        .values(
            notifier=notifier,
            channel=channel or "",
            key=key,
            ts=ts,
            remote_channel=remote_channel,
            parent_alert_id=parent_alert_id,
            created_at=now,
        )
        .on_conflict_do_nothing()
    )


# ----------------------------------------------------------------------------- held alerts


def thread_planned(session: Session, notifier: str, channel: str | None, key: str) -> bool:
    """Whether an alert under thread ``key`` was already recorded for the channel (it has
    started, or will start, the thread)."""
    found = session.scalars(
        select(AlertRow.id)
        .where(
            *_in_channel(notifier, channel),
            AlertRow.thread_key == key,
            AlertRow.kind != "dashboard",
            AlertRow.state.not_in(("failed", "skipped")),
        )
        .limit(1)
    ).first()
    return found is not None


def story_watchlists(
    session: Session, story_id: int, exclude_items: Collection[int] = ()
) -> list[str]:
    """Every watchlist an item of the story matched (but the excluded ones)."""
    names: list[str] = []
    stmt = select(Item.matched).where(Item.story_id == story_id)
    if exclude_items:
        stmt = stmt.where(Item.id.not_in(exclude_items))
    for matched in session.scalars(stmt):
        names += [name for name in matched or [] if name not in names]
    return names


def new_item_counts(
    session: Session, notifier: str, channel: str | None, since: datetime
) -> dict[str, int]:
    """Per watchlist: new_item alerts recorded for a channel since ``since`` that were (or
    will be) sent on their own — held and rolled-up ones do not count."""
    counts: dict[str, int] = {}
    rows = session.scalars(
        select(AlertRow.watchlists).where(
            *_in_channel(notifier, channel),
            AlertRow.created_at >= since,
            AlertRow.kind == "new_item",
            AlertRow.state.not_in(("held", "rolled")),
        )
    )
    for watchlists in rows:
        for name in watchlists or []:
            counts[name] = counts.get(name, 0) + 1
    return counts


def due_held(session: Session, now: datetime, limit: int = 1000) -> list[AlertRow]:
    """Held alerts whose release time has come, oldest first (locked on PostgreSQL, so one
    replica releases each)."""
    stmt = (
        select(AlertRow)
        .where(AlertRow.state == "held", AlertRow.next_attempt_at <= now)
        .order_by(AlertRow.id)
        .limit(limit)
    )
    return list(session.scalars(_skip_locked(session, stmt)))


def release_held(session: Session, alert_ids: Sequence[int], now: datetime) -> int:
    """Held alerts become pending, due now."""
    if not alert_ids:
        return 0
    result = session.execute(
        update(AlertRow)
        .where(AlertRow.id.in_(alert_ids), AlertRow.state == "held")
        .values(state="pending", next_attempt_at=now)
    )
    return int(getattr(result, "rowcount", 0))


def roll_into(session: Session, member_ids: Sequence[int], digest_id: int) -> int:
    """Held alerts delivered as part of a digest alert."""
    result = session.execute(
        update(AlertRow)
        .where(AlertRow.id.in_(member_ids), AlertRow.state == "held")
        .values(state="rolled", rolled_into=digest_id, lease_owner=None, lease_until=None)
    )
    return int(getattr(result, "rowcount", 0))


def mark_skipped(session: Session, alert_id: int, owner: str, reason: str) -> None:
    """Nothing to deliver (e.g. a dashboard edit with no thread to edit)."""
    _mark(session, alert_id, owner, state="skipped", last_error=reason)


# ----------------------------------------------------------------------------- retention


# A tombstone its feed no longer carries goes only once no feed has carried it for this
# long: another feed may carry the same entry (by URL or content) and be read less often.
TOMBSTONE_GRACE = timedelta(days=1)


def prune(
    session: Session,
    items_before: datetime,
    alerts_before: datetime,
    now: datetime | None = None,
) -> tuple[int, int]:
    """Delete delivered alerts; turn old items into tombstones (their text dropped, their
    keys kept: a story already stored is never new again); figure observations (history)
    are kept. Returns (alerts deleted, items pruned)."""
    alerts = session.execute(
        delete(AlertRow).where(
            or_(
                and_(AlertRow.state == "sent", AlertRow.sent_at < alerts_before),
                and_(
                    AlertRow.state.in_(("rolled", "skipped")),
                    AlertRow.created_at < alerts_before,
                ),
            )
        )
    )
    now = now or datetime.now(UTC)
    items = session.execute(
        update(Item)
        .where(Item.first_seen_at < items_before, Item.pruned_at.is_(None))
        .values(text="", summary="", pruned_at=now, seen_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(alerts, "rowcount", 0)), int(getattr(items, "rowcount", 0))


def drop_tombstones(session: Session, now: datetime) -> int:
    """Delete the tombstones no feed carries any more: their feed was read (``parsed_at``)
    since a poll last carried them (``seen_at``), or the feed is gone from the config, and
    no feed has carried them for TOMBSTONE_GRACE."""
    feed = select(Feed.parsed_at).where(Feed.id == Item.feed_id).scalar_subquery()
    active = select(Feed.id).where(Feed.active.is_(True), Feed.gone.is_(False))
    result = session.execute(
        delete(Item)
        .where(
            Item.pruned_at.is_not(None),
            Item.seen_at < now - TOMBSTONE_GRACE,
            or_(Item.feed_id.is_(None), Item.feed_id.not_in(active), Item.seen_at < feed),
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))
