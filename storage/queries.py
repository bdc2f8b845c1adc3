"""The queries newsmon runs. Each takes an open Session; callers own the transaction.

Work that several replicas may attempt at once is decided by the database: inserts use
``ON CONFLICT DO NOTHING`` against unique keys, and claims of feeds and alerts are
conditional UPDATEs (``... WHERE lease_until < now``), so exactly one replica wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Select,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from monitor.model import KnownValue, Observation
from storage.models import (
    AlertRow,
    Feed,
    FigureObservation,
    FigureSeries,
    Item,
    Story,
    StorySketch,
    Thread,
)

# ----------------------------------------------------------------------------- helpers


def _insert(session: Session, table: Any) -> Any:
    """A dialect-specific INSERT that supports ``on_conflict_do_nothing``."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


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
    table = _feeds_table()
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


def _feeds_table() -> Table:
    """The feeds Table, for Core statements run as executemany (an ORM UPDATE given a list
    of parameters would be a bulk update by primary key, without our lease condition)."""
    return cast(Table, Feed.__table__)


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
            params.update(b_etag=rec.etag, b_modified=rec.last_modified, b_hash=rec.body_hash)
        if rec.fetch_url:
            params["b_fetch_url"] = rec.fetch_url
        kinds.setdefault((rec.ok, bool(rec.fetch_url)), []).append(params)
    for (ok, moved), rows in kinds.items():
        session.execute(_finish_statement(ok, moved), rows)


def _finish_statement(ok: bool, moved: bool) -> Any:
    table = _feeds_table()
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
    for column, keys in (
        (Item.guid_key, set(guid_keys)),
        (Item.url_key, set(url_keys)),
        (Item.content_hash, set(hashes)),
    ):
        keys.discard("")
        for chunk in _chunks(sorted(keys), 500):
            found.update(session.scalars(select(column).where(column.in_(chunk))))
    return found


def _chunks(values: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def insert_item(session: Session, **values: Any) -> int | None:
    """Insert an entry; None when any unique key (GUID, URL, content) says it is known."""
    stmt = _insert(session, Item).values(**values).on_conflict_do_nothing().returning(Item.id)
    return session.execute(stmt).scalar_one_or_none()


def find_similar_story(
    session: Session, sketch: Sequence[int], min_shared: int, min_similarity: float
) -> int | None:
    """The story whose stored sketch is closest to ``sketch``, if similar enough."""
    if not sketch:
        return None
    candidates = session.execute(
        select(StorySketch.story_id, func.count())
        .where(StorySketch.h.in_(list(sketch)))
        .group_by(StorySketch.story_id)
        .having(func.count() >= min_shared)
        .order_by(func.count().desc(), StorySketch.story_id)
        .limit(5)
    ).all()
    if not candidates:
        return None
    others: dict[int, list[int]] = {story_id: [] for story_id, _shared in candidates}
    for story_id, h in session.execute(  # every candidate's sketch in one query
        select(StorySketch.story_id, StorySketch.h).where(StorySketch.story_id.in_(list(others)))
    ):
        others[story_id].append(h)
    best: tuple[float, int] | None = None
    for story_id, other in others.items():
        score = sketch_similarity(sketch, other)
        if score >= min_similarity and (best is None or score > best[0]):
            best = (score, story_id)
    return best[1] if best else None


def sketch_similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two bottom-k sketches."""
    k = min(len(a), len(b))
    if k == 0:
        return 0.0
    union_bottom = sorted(set(a) | set(b))[:k]
    both = set(a) & set(b)
    return sum(1 for h in union_bottom if h in both) / k


def create_story(session: Session, title: str, sketch: Sequence[int], now: datetime) -> int:
    # Core statements, not the ORM unit of work: one cached INSERT for the story and one
    # executemany for its sketch (a multi-row VALUES would be compiled anew every time).
    story_id = int(
        session.execute(
            insert(Story).values(title=title, first_seen_at=now).returning(Story.id)
        ).scalar_one()
    )
    if sketch:
        session.execute(
            _insert(session, StorySketch).on_conflict_do_nothing(),
            [{"story_id": story_id, "h": h} for h in sorted(set(sketch))],
        )
    return story_id


def delete_story(session: Session, story_id: int) -> None:
    """Remove a story created in this transaction that turned out to have no item."""
    session.execute(delete(StorySketch).where(StorySketch.story_id == story_id))
    session.execute(delete(Story).where(Story.id == story_id))


def story_outlets(session: Session, story_id: int, exclude_item: int | None = None) -> list[str]:
    """Outlets that carried a story, first seen first."""
    stmt = (
        select(Item.outlet, func.min(Item.first_seen_at))
        .where(Item.story_id == story_id, Item.outlet.is_not(None))
        .group_by(Item.outlet)
        .order_by(func.min(Item.first_seen_at))
    )
    if exclude_item is not None:
        stmt = stmt.where(Item.id != exclude_item)
    return [outlet for outlet, _ in session.execute(stmt) if outlet]


# ----------------------------------------------------------------------------- figures


def lock_series(session: Session, figure: str, unit: str) -> int:
    """The id of the (figure, unit) series, created if new and locked for this transaction."""
    session.execute(
        _insert(session, FigureSeries).values(figure=figure, unit=unit).on_conflict_do_nothing()
    )
    stmt = select(FigureSeries.id).where(FigureSeries.figure == figure, FigureSeries.unit == unit)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return int(session.execute(stmt).scalar_one())


def known_values(session: Session, series_id: int) -> list[KnownValue]:
    """Distinct current values of a series, latest first, with corroborations.

    Increments and values their article dated in the past are stored but are not current
    estimates, so a new value is compared with these only."""
    rows = session.scalars(
        select(FigureObservation)
        .where(
            FigureObservation.series_id == series_id,
            FigureObservation.increment.is_(False),  # additions, not totals
            FigureObservation.as_of.is_(None),  # history the article dated in the past
        )
        .order_by(FigureObservation.first_seen_at.desc(), FigureObservation.id.desc())
    ).all()
    grouped: dict[tuple[float, float], list[FigureObservation]] = {}
    for row in rows:
        grouped.setdefault((row.low, row.high), []).append(row)
    values = []
    for group in grouped.values():
        latest = group[0]
        sources = {(r.outlet or r.url or "", r.attributed_to or "") for r in group}
        values.append(
            KnownValue(
                low=latest.low,
                high=latest.high,
                value=latest.value,
                qualifier=latest.qualifier,
                attributed_to=latest.attributed_to,
                outlet=latest.outlet,
                url=latest.url,
                published_at=latest.published_at,
                first_seen_at=latest.first_seen_at,
                corroborations=len(sources),
            )
        )
    return values


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
    stmt = (
        _insert(session, FigureObservation)
        .values(
            series_id=series_id,
            item_id=item_id,
            watchlist=obs.watchlist,
            value=obs.value,
            low=obs.low,
            high=obs.high,
            qualifier=obs.qualifier,
            attributed_to=obs.attributed_to,
            quote=obs.quote,
            increment=obs.increment,
            as_of=obs.as_of.isoformat() if obs.as_of else None,
            url=url,
            outlet=outlet,
            title=title,
            published_at=published_at,
            first_seen_at=now,
            changed=changed,
        )
        .on_conflict_do_nothing()
        .returning(FigureObservation.id)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


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


def add_alert(session: Session, **values: Any) -> int | None:
    """Record an alert in the outbox; None when its dedup_key was recorded before."""
    stmt = (
        _insert(session, AlertRow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(AlertRow.id)
    )
    return session.execute(stmt).scalar_one_or_none()


def claim_alerts(
    session: Session, owner: str, now: datetime, lease: float, limit: int = 100
) -> list[tuple[AlertRow, bool]]:
    """Claim deliverable alerts in creation order: pending and due, or 'sending' whose lease
    expired. The flag is True for the latter: its replica died between send and mark, so
    the caller must check the channel before sending again."""
    deliverable = or_(
        and_(AlertRow.state == "pending", AlertRow.next_attempt_at <= now),
        and_(AlertRow.state == "sending", AlertRow.lease_until < now),
    )
    stmt: Any = select(AlertRow.id, AlertRow.state).where(deliverable).order_by(AlertRow.id)
    found = session.execute(_skip_locked(session, stmt.limit(limit))).all()
    candidates: list[tuple[int, str]] = [(row[0], row[1]) for row in found]
    resumed: dict[int, bool] = {}
    for alert_id, state in candidates:
        result = session.execute(
            update(AlertRow)
            .where(AlertRow.id == alert_id, AlertRow.state == state, deliverable)
            .values(state="sending", lease_owner=owner, lease_until=now + timedelta(seconds=lease))
        )
        if getattr(result, "rowcount", 0) == 1:
            resumed[alert_id] = state == "sending"
    if not resumed:
        return []
    rows = session.scalars(select(AlertRow).where(AlertRow.id.in_(resumed)).order_by(AlertRow.id))
    return [(row, resumed[row.id]) for row in rows]


def mark_sent(
    session: Session, alert_id: int, owner: str, now: datetime, remote_id: str | None
) -> None:
    session.execute(
        update(AlertRow)
        .where(AlertRow.id == alert_id, AlertRow.lease_owner == owner)
        .values(
            state="sent",
            sent_at=now,
            remote_id=remote_id,
            attempts=AlertRow.attempts + 1,
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
) -> None:
    """A temporary failure (``count``) or a deferral: back to pending; later alerts of the
    same channel wait too, so a backlog drains in order."""
    row = session.get(AlertRow, alert_id)
    session.execute(
        update(AlertRow)
        .where(AlertRow.id == alert_id, AlertRow.lease_owner == owner)
        .values(
            state="pending",
            attempts=AlertRow.attempts + (1 if count else 0),
            last_error=error,
            next_attempt_at=next_attempt_at,
            lease_owner=None,
            lease_until=None,
        )
    )
    if row is not None:
        session.execute(
            update(AlertRow)
            .where(
                AlertRow.state == "pending",
                AlertRow.notifier == row.notifier,
                AlertRow.channel.is_(None)
                if row.channel is None
                else AlertRow.channel == row.channel,
                AlertRow.id > alert_id,
                AlertRow.next_attempt_at < next_attempt_at,
            )
            .values(next_attempt_at=next_attempt_at)
        )


def mark_failed(session: Session, alert_id: int, owner: str, error: str) -> None:
    session.execute(
        update(AlertRow)
        .where(AlertRow.id == alert_id, AlertRow.lease_owner == owner)
        .values(
            state="failed",
            attempts=AlertRow.attempts + 1,
            last_error=error,
            lease_owner=None,
            lease_until=None,
        )
    )


def requeue_alerts(session: Session, now: datetime, alert_id: int | None = None) -> int:
    """Put failed alerts (one, or all) back to pending."""
    stmt = update(AlertRow).where(AlertRow.state == "failed")
    if alert_id is not None:
        stmt = stmt.where(AlertRow.id == alert_id)
    result = session.execute(stmt.values(state="pending", next_attempt_at=now, last_error=None))
    return int(getattr(result, "rowcount", 0))


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


def find_thread(session: Session, notifier: str, channel: str | None, key: str) -> str | None:
    """The message id (Slack ``ts``) that alerts under ``key`` reply to in a channel."""
    return session.scalars(
        select(Thread.ts).where(
            Thread.notifier == notifier, Thread.channel == (channel or ""), Thread.key == key
        )
    ).first()


def add_thread(
    session: Session,
    *,
    notifier: str,
    channel: str | None,
    key: str,
    ts: str,
    parent_alert_id: int,
    now: datetime,
) -> None:
    """Remember the message that starts a thread (the first one sent under ``key`` wins)."""
    session.execute(
        _insert(session, Thread)
        .values(
            notifier=notifier,
            channel=channel or "",
            key=key,
            ts=ts,
            parent_alert_id=parent_alert_id,
            created_at=now,
        )
        .on_conflict_do_nothing()
    )


# ----------------------------------------------------------------------------- retention


def prune(session: Session, items_before: datetime, alerts_before: datetime) -> tuple[int, int]:
    """Delete delivered alerts and old items; figure observations (history) are kept."""
    alerts = session.execute(
        delete(AlertRow).where(AlertRow.state == "sent", AlertRow.sent_at < alerts_before)
    )
    items = session.execute(delete(Item).where(Item.first_seen_at < items_before))
    return int(getattr(alerts, "rowcount", 0)), int(getattr(items, "rowcount", 0))
