"""Alerts (the outbox): adding, claiming, marking and threading alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, case, func, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from monitor.domain.model import AlertKind, AlertState, AlertStatus, ClaimedAlert
from storage.models import AlertRow, Thread
from storage.queries._common import _insert, _statements, _table


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


def claim_alert(session: Session, owner: str, now: datetime, lease: float) -> ClaimedAlert | None:
    """Claim the oldest deliverable alert: pending and due, or 'sending' whose lease
    expired. It is ``resumed`` for the latter: its replica died between send and mark, so
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
        return _claimed(found, resumed=found["was"] == "sending")
    find, take = _claim_statements(dialect)
    for alert_id, state in conn.execute(find, {"b_now": now}).all():
        params = {"b_id": alert_id, "b_state": state, "b_now": now, "b_owner": owner,
                  "b_until": until}  # fmt: skip
        taken = conn.execute(take, params).mappings().first()
        if taken is not None:  # the row as claimed
            return _claimed(taken, resumed=state == "sending")
    return None


def _claimed(row: RowMapping, *, resumed: bool) -> ClaimedAlert:
    return ClaimedAlert(
        id=row["id"],
        kind=AlertKind(row["kind"]),
        notifier=row["notifier"],
        channel=row["channel"],
        content=row["content"],
        state=AlertState(row["state"]),
        attempts=row["attempts"],
        created_at=row["created_at"],
        thread_key=row["thread_key"],
        item_id=row["item_id"],
        resumed=resumed,
    )


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


def list_alerts(session: Session, limit: int = 100, state: str | None = None) -> list[AlertStatus]:
    """The newest ``limit`` alerts (of one ``state``), newest first."""
    stmt = select(AlertRow).order_by(AlertRow.id.desc()).limit(limit)
    if state:
        stmt = stmt.where(AlertRow.state == state)
    return [
        AlertStatus(
            id=a.id,
            kind=a.kind,
            notifier=a.notifier,
            channel=a.channel,
            watchlists=list(a.watchlists),
            content=dict(a.content),
            state=a.state,
            attempts=a.attempts,
            last_error=a.last_error,
            created_at=a.created_at,
            next_attempt_at=a.next_attempt_at,
            sent_at=a.sent_at,
            hold_reason=a.hold_reason,
            rolled_into=a.rolled_into,
        )
        for a in session.scalars(stmt)
    ]


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
