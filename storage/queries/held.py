"""Held alerts: noise control's held, rolled-up and skipped alerts."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor.domain.model import AlertKind, HeldAlert, content_from_json
from storage.models import AlertRow, Item
from storage.queries._common import _skip_locked
from storage.queries.alerts import _in_channel, _mark


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


def due_held(session: Session, now: datetime, limit: int = 1000) -> list[HeldAlert]:
    """Held alerts whose release time has come, oldest first (locked on PostgreSQL, so one
    replica releases each)."""
    stmt = (
        select(AlertRow)
        .where(AlertRow.state == "held", AlertRow.next_attempt_at <= now)
        .order_by(AlertRow.id)
        .limit(limit)
    )
    return [_held(row) for row in session.scalars(_skip_locked(session, stmt))]


def _held(row: AlertRow) -> HeldAlert:
    return HeldAlert(
        id=row.id,
        kind=AlertKind(row.kind),
        notifier=row.notifier,
        channel=row.channel,
        reason=row.hold_reason or "",
        note=row.hold_note or "",
        until=row.next_attempt_at,
        content=content_from_json(row.content),
    )


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
