"""Feeds: syncing the configured list, leases on polls, and recording each poll."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from monitor.domain.model import ClaimedFeed, FeedStatus
from storage.models import Feed, Item, UTCDateTime
from storage.queries._common import _insert, _skip_locked, _table
from storage.queries.stories import _chunks


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
) -> list[ClaimedFeed]:
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
    return sorted((_claimed(feed) for feed in session.scalars(stmt)), key=lambda f: f.id)


def _claimed(feed: Feed) -> ClaimedFeed:
    return ClaimedFeed(
        id=feed.id,
        url=feed.url,
        name=feed.name,
        fetch_url=feed.fetch_url,
        interval_seconds=feed.interval_seconds,
        etag=feed.etag,
        last_modified=feed.last_modified,
        body_hash=feed.body_hash,
        last_success_at=feed.last_success_at,
        consecutive_failures=feed.consecutive_failures,
        server_interval=feed.server_interval,
    )


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


def list_feeds(session: Session) -> list[FeedStatus]:
    """The active feeds' polling state, by id."""
    rows = session.scalars(select(Feed).where(Feed.active.is_(True)).order_by(Feed.id))
    return [
        FeedStatus(
            url=f.url,
            name=f.name,
            active=f.active,
            gone=f.gone,
            last_polled_at=f.last_polled_at,
            last_success_at=f.last_success_at,
            last_status=f.last_status,
            consecutive_failures=f.consecutive_failures,
            last_error=f.last_error,
            next_poll_at=f.next_poll_at,
            fetch_url=f.fetch_url,
            polls=f.polls,
            baseline_entries=f.baseline_entries,
            lease_owner=f.lease_owner,
            lease_until=f.lease_until,
        )
        for f in rows
    ]


def newest_items(session: Session, since: datetime) -> dict[int, datetime]:
    """Per feed, when it last gave a new item, for feeds that gave one since ``since``.
    One grouped query for a whole batch of polls."""
    rows = session.execute(
        select(Item.feed_id, func.max(Item.first_seen_at))
        .where(Item.first_seen_at >= since, Item.feed_id.is_not(None))
        .group_by(Item.feed_id)
    ).all()
    return {feed_id: newest for feed_id, newest in rows if feed_id is not None}


def feed_counts(session: Session) -> tuple[int, int]:
    """(feeds polled, feeds whose last poll failed): what the service's gauges show."""
    active = Feed.active.is_(True) & Feed.gone.is_(False)
    failing = func.count().filter(Feed.consecutive_failures > 0)
    total, bad = session.execute(select(func.count(), failing).where(active)).one()
    return int(total), int(bad)
