"""Retention: pruning old rows while keeping identity as tombstones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from storage.models import AlertRow, Feed, Item

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
