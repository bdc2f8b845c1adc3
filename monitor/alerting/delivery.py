"""The delivery worker: claims pending alerts from the outbox, sends them, marks them sent.

- A claim is a lease; if this replica dies mid-send the lease expires and another replica
  resumes the alert, first asking the channel whether it already arrived (Slack message
  metadata) so it is not posted twice. Email cannot be asked: it is sent again with the
  same Message-ID, which clients use to fold duplicates.
- A temporary failure (outage, 5xx, 429) reschedules the alert with backoff, and the later
  alerts of the same channel wait behind it, so a backlog drains in order. An outage of any
  length delays alerts and loses none. A permanent failure (bad token, unknown channel)
  marks the alert ``failed`` with the reason; ``newsmon alerts --retry`` re-queues it.
- Sends to one channel are paced (``min_interval`` of the notifier, ~1/s for Slack).
- Each alert is claimed on its own, just before it is sent, with its own lease: a slow
  relay never lets the lease of an alert that is still waiting its turn run out.
- Leases and due times are read from the database's clock (PostgreSQL's
  ``clock_timestamp()``), never a replica's own: replicas whose clocks disagree still agree
  on when a lease has run out. A SQLite file lives on one host, whose clock all share.
- A stop (``stop`` set) finishes the alert in flight and claims no more; a cancelled
  delivery puts an alert it has not started sending back to pending.
- A reply in a thread (a follow-up, a dashboard edit) waits for the alert that starts the
  thread while that one may still go out (pending, held, or in ``sending`` after a stop or
  crash); when it failed, the reply fails with it, and ``--retry-failed`` re-queues both.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from monitor.alerting.noise import roll_up
from monitor.alerting.plan import THREADED
from monitor.domain.clock import Clock
from monitor.domain.errors import NotifyError
from monitor.domain.model import (
    Alert,
    AlertKind,
    ClaimedAlert,
    Delivery,
    content_from_json,
    content_to_json,
)
from monitor.runtime.app import App
from monitor.runtime.metrics import Metrics
from monitor.sources.schedule import delivery_backoff
from notifiers.base import Notifier
from storage import queries

log = logging.getLogger("newsmon.delivery")

GAUGE_EVERY = 50  # alerts between two updates of the pending gauge (a grouped count)
WAITING = ("pending", "sending", "held")  # a thread's first alert may still go out


def to_alert(row: ClaimedAlert) -> Alert:
    return Alert(
        id=row.id,
        kind=row.kind,
        notifier=row.notifier,
        channel=row.channel,
        content=content_from_json(row.content),
        state=row.state,
        attempts=row.attempts,
        created_at=row.created_at,
    )


class _Pacer:
    """Keeps sends to one (notifier, channel) at least ``min_interval`` apart."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str | None], float] = {}

    async def wait(self, notifier: Notifier, channel: str | None) -> None:
        interval = notifier.min_interval
        key = (notifier.name, channel)
        if interval > 0 and key in self._last:
            remaining = self._last[key] + interval - time.monotonic()
            if remaining > 0:
                await asyncio.sleep(remaining)  # rate pacing, not waiting for an event

    def sent(self, notifier: Notifier, channel: str | None) -> None:
        self._last[(notifier.name, channel)] = time.monotonic()


def release_held(app: App, now: datetime | None = None) -> int:
    """Release held alerts whose time has come (quiet hours over, end of the hour, digest
    time): per channel, new stories are rolled into one digest alert, the rest become
    pending as they are. One transaction, so a digest and its members' new state commit
    together; returns how many held alerts were released or rolled up."""
    now = now or app.clock.now()
    done = 0
    with app.sessions.begin() as session:
        held = queries.due_held(session, now)
        for group in roll_up(held, THREADED):
            released = [alert.id for alert in group.released]
            if group.digest is not None:
                digest_id = queries.add_alert(
                    session,
                    dedup_key=f"digest:{group.members[0].id}",
                    kind="digest",
                    notifier=group.notifier,
                    channel=group.channel,
                    watchlists=group.digest.watchlists,
                    content=content_to_json(group.digest),
                    state="pending",
                    attempts=0,
                    created_at=now,
                    next_attempt_at=now,
                )
                members = [alert.id for alert in group.members]
                if digest_id is None:  # cannot happen while members are held; be safe
                    released += members
                else:
                    done += queries.roll_into(session, members, digest_id)
                    app.metrics.alert(AlertKind.DIGEST, "created")
            done += queries.release_held(session, released, now)
    if done:
        log.info("released %d held alerts", done)
    return done


async def deliver_pending(
    app: App, *, limit: int | None = None, stop: asyncio.Event | None = None
) -> tuple[int, int]:
    """Deliver every deliverable alert; returns (sent, failed). Safe to run on every replica.

    Claims one alert at a time (its own lease, by the database's clock). When ``stop`` is
    set, the alert in flight is finished and no other is claimed."""
    sent = failed = 0
    await asyncio.to_thread(release_held, app)
    pacer = _Pacer()
    blocked: dict[tuple[str, str | None], datetime] = {}
    for handled in itertools.count(1):
        if (limit is not None and sent + failed >= limit) or (stop and stop.is_set()):
            break
        now, lease = app.clock.now(), app.config.leases.alert
        with app.sessions.begin() as session:
            claimed = queries.claim_alert(session, app.owner, now, lease)
        if claimed is None:
            break
        outcome = await _deliver_one(app, claimed, pacer, blocked)
        sent += outcome == "sent"
        failed += outcome == "failed"
        if handled % GAUGE_EVERY == 0:
            _update_pending_gauge(app.sessions, app.metrics)
    _update_pending_gauge(app.sessions, app.metrics)
    return sent, failed


@dataclass(frozen=True)
class Waiting:
    """Alerts of one channel still to go: how many, and when the next may go."""

    notifier: str
    channel: str | None
    count: int
    next_at: datetime


@dataclass
class Drained:
    """What a delivery run that waits out short waits did, and what is left."""

    sent: int = 0
    failed: int = 0
    waiting: list[Waiting] = field(default_factory=list)


async def deliver_waiting(app: App, budget: float) -> Drained:
    """Deliver every deliverable alert, waiting out rate limits and backoff while the next
    attempt falls within ``budget`` seconds in all (``run --once``: one cron run delivers
    what it can instead of leaving a channel's backlog to the next run)."""
    result = Drained()
    deadline = time.monotonic() + budget
    while True:
        sent, failed = await deliver_pending(app)
        result.sent, result.failed = result.sent + sent, result.failed + failed
        result.waiting = waiting_alerts(app.readers)
        if not result.waiting:
            return result
        due = min(w.next_at for w in result.waiting)
        wait = max((due - app.clock.now()).total_seconds(), 0.05)
        if wait > deadline - time.monotonic():
            return result
        log.info("waiting %.1fs for the next delivery attempt", wait)
        await asyncio.sleep(wait)  # a time the channel asked for, not an event


def waiting_alerts(readers: sessionmaker[Session]) -> list[Waiting]:
    """Per channel, the alerts pending or being sent and when the next may go."""
    with readers() as session:
        return [Waiting(*row) for row in queries.waiting_alerts(session)]


async def _deliver_one(
    app: App,
    row: ClaimedAlert,
    pacer: _Pacer,
    blocked: dict[tuple[str, str | None], datetime],
) -> str:
    key, outbox = (row.notifier, row.channel), Outbox.of(app)
    extra: dict[str, Any] = {"alert_id": row.id, "notifier": row.notifier, "channel": row.channel}
    notifier = app.notifiers.get(row.notifier)
    if notifier is None:
        outbox.mark_failed(row, f"notifier {row.notifier!r} is not configured")
        log.error("alert failed: notifier %s is not configured", row.notifier, extra=extra)
        return "failed"
    if key in blocked:  # an earlier alert of this channel is waiting: keep the order
        wait = max(1.0, (blocked[key] - app.clock.now()).total_seconds())
        outbox.retry_later(row, "waiting for an earlier alert of this channel", wait, count=False)
        return "deferred"
    alert = to_alert(row)
    thread = _thread_of(app.sessions, row)
    if outcome := _check_thread(outbox, app.readers, row, thread, extra):
        return outcome
    if thread is not None:
        alert.thread_id, alert.thread_channel = thread.ts, thread.remote_channel
    try:
        try:
            if row.resumed and (remote := await _already_sent(notifier, alert)):
                log.info("alert was already delivered before a restart", extra=extra)
                outbox.mark_sent(row, Delivery(remote))
                return "sent"
            await pacer.wait(notifier, row.channel)
        except asyncio.CancelledError:  # stopped before sending: another replica may take it
            outbox.release(row)
            raise
        delivery = await asyncio.to_thread(notifier.send, alert)
        pacer.sent(notifier, row.channel)
    except NotifyError as exc:
        if exc.permanent:
            outbox.mark_failed(row, str(exc))
            log.error("alert failed permanently: %s", exc, extra=extra)
            return "failed"
        delay = max(
            exc.retry_after or 0.0,
            delivery_backoff(row.attempts + 1, app.config.delivery.backoff_max),
        )
        outbox.retry_later(row, str(exc), delay)
        blocked[key] = app.clock.now() + timedelta(seconds=delay)
        log.warning("alert delivery failed, retrying in %.0fs: %s", delay, exc, extra=extra)
        return "retry"
    outbox.mark_sent(row, delivery)
    log.info("alert sent", extra={**extra, "kind": row.kind})
    return "sent"


def _check_thread(
    outbox: Outbox,
    readers: sessionmaker[Session],
    row: ClaimedAlert,
    thread: queries.ThreadRef | None,
    extra: dict[str, Any],
) -> str | None:
    """For a reply in a thread (a follow-up, a dashboard edit): what to do instead of
    sending it, if anything — the outcome, or None to send it now."""
    if row.notifier not in THREADED or row.kind not in ("follow_up", "dashboard"):
        return None
    if thread is None:
        return _without_thread(outbox, readers, row, extra)
    if row.kind == "dashboard" and thread.parent_item_id == row.item_id:
        reason = "the thread's first message is this change itself"
        outbox.mark_skipped(row, reason)
        log.info("alert skipped: %s", reason, extra=extra)
        return "skipped"
    return None


def _without_thread(
    outbox: Outbox, readers: sessionmaker[Session], row: ClaimedAlert, extra: dict[str, Any]
) -> str:
    """A reply whose thread is not there (yet): wait for the alert that starts it while
    that may still go out, fail with it when it failed, else skip."""
    parent = None
    if row.thread_key:
        with readers() as session:
            parent = queries.thread_parent(
                session, row.notifier, row.channel, row.thread_key, row.id
            )
    if parent is not None and parent.state in WAITING:
        wait = max(1.0, (parent.due - outbox.clock.now()).total_seconds()) if parent.due else 60.0
        reason = f"waiting for alert {parent.id}, which starts its thread ({parent.state})"
        outbox.retry_later(row, reason, wait, count=False, keep_order=False)
        return "deferred"
    if parent is not None and parent.state == "failed":
        reason = f"alert {parent.id}, which starts its thread, failed (--retry-failed: both)"
        outbox.mark_failed(row, reason)
        log.warning("alert failed: %s", reason, extra=extra)
        return "failed"
    if row.kind == "dashboard":
        skip = "no thread to update: the figure's first alert in this channel was not sent"
    else:
        skip = "the story's alert was not posted on its own (rolled into a digest, or failed)"
    outbox.mark_skipped(row, skip)
    log.info("alert skipped: %s", skip, extra=extra)
    return "skipped"


async def _already_sent(notifier: Notifier, alert: Alert) -> str | None:
    check = getattr(notifier, "already_sent", None)
    if check is None:
        return None
    result = await asyncio.to_thread(check, alert)
    return str(result) if result else None


def _thread_of(sessions: sessionmaker[Session], row: ClaimedAlert) -> queries.ThreadRef | None:
    """The message this alert replies to (or, for a dashboard, edits): the first one sent
    under its thread key."""
    if not row.thread_key or row.notifier not in THREADED:
        return None
    with sessions() as session:
        return queries.find_thread(session, row.notifier, row.channel, row.thread_key)


@dataclass(frozen=True)
class Outbox:
    """What finishing a claimed alert needs: this replica's sessions, lease owner, clock
    and metrics. Each method records one outcome in its own transaction."""

    sessions: sessionmaker[Session]
    owner: str
    clock: Clock
    metrics: Metrics

    @classmethod
    def of(cls, app: App) -> Outbox:
        return cls(app.sessions, app.owner, app.clock, app.metrics)

    def mark_sent(self, row: ClaimedAlert, delivery: Delivery) -> None:
        """Mark sent; the first message sent under a thread key starts that thread."""
        now = self.clock.now()
        remote_id = delivery.remote_id
        with self.sessions.begin() as session:
            queries.mark_sent(session, row.id, self.owner, now, remote_id)
            starts = row.kind != "dashboard" and row.notifier in THREADED
            if row.thread_key and remote_id and starts:
                queries.add_thread(
                    session,
                    notifier=row.notifier,
                    channel=row.channel,
                    key=row.thread_key,
                    ts=remote_id,
                    remote_channel=delivery.remote_channel,
                    parent_alert_id=row.id,
                    now=now,
                )
        self.metrics.delivered(row.kind, (now - row.created_at).total_seconds())

    def mark_skipped(self, row: ClaimedAlert, reason: str) -> None:
        with self.sessions.begin() as session:
            queries.mark_skipped(session, row.id, self.owner, reason)
        self.metrics.alert(row.kind, "skipped")

    def mark_failed(self, row: ClaimedAlert, error: str) -> None:
        with self.sessions.begin() as session:
            queries.mark_failed(session, row.id, self.owner, error)
        self.metrics.alert(row.kind, "failed")

    def retry_later(
        self,
        row: ClaimedAlert,
        error: str,
        delay: float,
        *,
        count: bool = True,
        keep_order: bool = True,
    ) -> None:
        due = self.clock.now() + timedelta(seconds=delay)
        with self.sessions.begin() as session:
            queries.mark_retry(
                session, row.id, self.owner, error, due, count=count, keep_order=keep_order
            )
        if count:
            self.metrics.alert(row.kind, "retried")

    def release(self, row: ClaimedAlert) -> None:
        """Give up a claimed alert this replica did not send, for another to take at once.
        A resumed one stays resumed: an earlier attempt may have sent it, so whoever takes
        it next must look in the channel first."""
        with self.sessions.begin() as session:
            queries.release_alert(
                session, row.id, self.owner, self.clock.now(), resumed=row.resumed
            )
        log.info("alert released on stop", extra={"alert_id": row.id})


def _update_pending_gauge(sessions: sessionmaker[Session], metrics: Metrics) -> None:
    with sessions() as session:
        counts = queries.count_alerts(session)
    metrics.alerts_pending(counts.get("pending", 0) + counts.get("sending", 0))
