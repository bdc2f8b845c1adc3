"""Exactly once, also when replicas are slow, skewed or stopped.

Two replicas are two ``App`` objects on one database (each its own lease owner and
notifiers), running ``deliver_pending`` in turn or side by side. What decides is SQL (the
claim's conditional UPDATE), so each test runs on SQLite and PostgreSQL — but the one about
clock skew: a SQLite file lives on one host, whose clock every replica shares.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.alerting import delivery
from monitor.config.load import load_config
from monitor.domain.clock import SystemClock
from monitor.domain.model import Alert, AlertContent, AlertKind, Delivery, content_to_json
from monitor.runtime.app import App, build_app, database_clock
from storage import queries
from storage.models import AlertRow
from tests.alerting.test_delivery import T0, delivery_config, enqueue, rows
from tests.support.fakeclock import FakeClock, SkewedClock
from tests.support.slack_server import SlackServer
from tests.support.smtp_server import SmtpServer

EMAIL = ("email", "desk@test.example")


@pytest.fixture
def config_path(tmp_path: Path, db_url: str, slack: SlackServer, smtp: SmtpServer) -> Path:
    return delivery_config(tmp_path, db_url, slack, smtp)


def replica(config_path: Path, slack: SlackServer) -> App:
    app = build_app(load_config(str(config_path)), environ={"SLACK_BOT_TOKEN": slack.token})
    for notifier in app.notifiers.values():
        notifier.min_interval = 0.0
    return app


@pytest.fixture
def replicas(config_path: Path, slack: SlackServer) -> Iterator[tuple[App, App]]:
    a, b = replica(config_path, slack), replica(config_path, slack)
    yield a, b
    a.engine.dispose()
    b.engine.dispose()


def message_ids(smtp: SmtpServer) -> Counter[str]:
    return Counter(str(m.message["Message-ID"]) for m in smtp.messages)


def wrap_send(app: App, name: str, around: Any) -> None:
    """Replace a replica's notifier.send with ``around(real_send, alert)``."""
    notifier = app.notifiers[name]
    real = notifier.send
    # patched on this replica's instance only, the other replica keeps the real send
    notifier.send = lambda alert: around(real, alert)  # type: ignore[method-assign]


# --- one lease per alert ------------------------------------------------------------------


def test_slow_relay_and_two_replicas_send_each_email_once(
    replicas: tuple[App, App], smtp: SmtpServer
) -> None:
    """Each of A's sends takes 70 s of (fake) time: after two of them a lease taken for a
    whole batch at the start would have run out, and B would send the rest a second time."""
    a, b = replicas
    a.clock = b.clock = clock = FakeClock(T0)
    ids = enqueue(a, 6, *EMAIL)
    sends = 0

    def slow(real: Any, alert: Alert) -> Delivery:
        nonlocal sends
        result: Delivery = real(alert)
        clock.advance(70)
        sends += 1
        if sends == 2:  # meanwhile replica B runs a whole delivery round
            other = threading.Thread(target=lambda: asyncio.run(delivery.deliver_pending(b)))
            other.start()
            other.join(30)
        return result

    wrap_send(a, "email", slow)
    asyncio.run(delivery.deliver_pending(a))
    assert message_ids(smtp) == Counter(f"<newsmon-alert-{i}@test.example>" for i in ids)
    assert {row.state for row in rows(a).values()} == {"sent"}


def test_a_stop_finishes_the_alert_in_flight_and_claims_no_more(
    replicas: tuple[App, App], smtp: SmtpServer
) -> None:
    a, b = replicas
    ids = enqueue(a, 3, *EMAIL)
    stop = asyncio.Event()
    in_flight, go_on = threading.Event(), threading.Event()

    def held(real: Any, alert: Alert) -> Delivery:
        in_flight.set()
        go_on.wait(30)
        result: Delivery = real(alert)
        return result

    wrap_send(a, "email", held)

    async def stopped_mid_send() -> tuple[int, int]:
        task = asyncio.create_task(delivery.deliver_pending(a, stop=stop))
        assert await asyncio.to_thread(in_flight.wait, 30)
        stop.set()  # SIGTERM
        go_on.set()
        return await task

    assert asyncio.run(stopped_mid_send()) == (1, 0)
    state = rows(a)
    assert [state[i].state for i in ids] == ["sent", "pending", "pending"]
    assert all(state[i].lease_owner is None for i in ids)
    assert asyncio.run(delivery.deliver_pending(b)) == (2, 0)  # another replica, at once
    assert message_ids(smtp) == Counter(f"<newsmon-alert-{i}@test.example>" for i in ids)


@pytest.mark.parametrize("resumed", [False, True], ids=["pending", "resumed"])
def test_a_cancelled_delivery_releases_the_alert_it_had_not_started_to_send(
    replicas: tuple[App, App], slack: SlackServer, monkeypatch: pytest.MonkeyPatch, resumed: bool
) -> None:
    """Released to be taken at once; one whose earlier attempt may have been sent (left in
    'sending' by a dead replica) stays one the next sender looks up in the channel first."""
    a, _ = replicas
    ids = enqueue(a, 2)
    if resumed:
        with a.sessions.begin() as session:
            gone = datetime.now(UTC) - timedelta(minutes=5)
            session.query(AlertRow).filter_by(id=ids[1]).update(
                {"state": "sending", "lease_owner": "dead", "lease_until": gone}
            )
    pacing = asyncio.Event()

    async def wait_forever(self: Any, notifier: Any, channel: str | None) -> None:
        if slack.messages:  # the second alert waits for its turn in the channel
            pacing.set()
            await asyncio.Event().wait()

    monkeypatch.setattr(delivery._Pacer, "wait", wait_forever)

    async def cancelled_while_pacing() -> None:
        task = asyncio.create_task(delivery.deliver_pending(a))
        await pacing.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancelled_while_pacing())
    state = rows(a)
    assert state[ids[0]].state == "sent"
    expected = "sending" if resumed else "pending"
    assert (state[ids[1]].state, state[ids[1]].lease_owner) == (expected, None)
    assert state[ids[1]].attempts == 0
    monkeypatch.undo()
    lookups = sum(c.method == "conversations.history" for c in slack.calls)
    assert asyncio.run(delivery.deliver_pending(a)) == (1, 0)
    assert sum(c.method == "conversations.history" for c in slack.calls) == lookups + resumed
    assert [m["metadata"]["event_payload"]["alert_id"] for m in slack.messages] == ids


# --- clock skew -------------------------------------------------------------------------


def test_a_replica_whose_clock_is_three_minutes_ahead_takes_no_leased_alert(
    pg_url: str, tmp_path: Path, slack: SlackServer, smtp: SmtpServer,
) -> None:  # fmt: skip
    path = delivery_config(tmp_path, pg_url, slack, smtp)
    a, b = replica(path, slack), replica(path, slack)
    b_host = SkewedClock(SystemClock())  # from when B starts, three minutes ahead
    b.clock = database_clock(b.engine, local=b_host)
    ids = enqueue(a, 3, *EMAIL)
    in_flight, go_on = threading.Event(), threading.Event()

    def held(real: Any, alert: Alert) -> Delivery:
        if alert.id == ids[0]:
            in_flight.set()
            go_on.wait(30)
        result: Delivery = real(alert)
        return result

    wrap_send(a, "email", held)
    first = threading.Thread(target=lambda: asyncio.run(delivery.deliver_pending(a, limit=1)))
    first.start()
    assert in_flight.wait(30)

    b_host.skew = timedelta(minutes=3)  # beyond A's two-minute lease, by B's clock
    assert asyncio.run(delivery.deliver_pending(b)) == (2, 0)  # not A's, in flight
    go_on.set()
    first.join(30)
    assert message_ids(smtp) == Counter(f"<newsmon-alert-{i}@test.example>" for i in ids)
    a.engine.dispose()
    b.engine.dispose()


def test_leases_are_stamped_with_the_database_clock(
    pg_url: str, tmp_path: Path, slack: SlackServer, smtp: SmtpServer,
) -> None:  # fmt: skip
    app = replica(delivery_config(tmp_path, pg_url, slack, smtp), slack)
    app.clock = database_clock(app.engine, local=SkewedClock(SystemClock(), timedelta(hours=1)))
    [alert] = enqueue(app, 1, *EMAIL)
    before = datetime.now(UTC)
    assert asyncio.run(delivery.deliver_pending(app)) == (1, 0)
    sent_at = rows(app)[alert].sent_at
    assert sent_at is not None and abs((sent_at - before).total_seconds()) < 30
    app.engine.dispose()


# --- follow-ups wait for their story's alert ---------------------------------------------


def add(app: App, kind: AlertKind, key: str, **values: Any) -> int:
    content = AlertContent(
        kind=kind, watchlists=["nk-deployment"], title=f"{kind} {key}",
        url=f"https://news.example/{kind}", outlet="other.example", published_at=T0,
        also_reported_by=["other.example"] if kind == "follow_up" else [],
    )  # fmt: skip
    fields: dict[str, Any] = {
        "kind": kind, "notifier": "slack", "channel": "#news-alerts",
        "watchlists": ["nk-deployment"], "content": content_to_json(content), "state": "pending",
        "attempts": 0, "created_at": T0, "next_attempt_at": T0, "thread_key": "story:1",
    }  # fmt: skip
    fields.update(values)
    with app.sessions.begin() as session:
        alert_id = queries.add_alert(session, dedup_key=f"{kind}:{key}", **fields)
    assert alert_id is not None
    return alert_id


def test_a_follow_up_waits_for_its_story_alert_stuck_in_sending(
    replicas: tuple[App, App], slack: SlackServer
) -> None:
    a, b = replicas
    a.clock = b.clock = clock = FakeClock(T0)
    lease_end = T0 + timedelta(seconds=120)
    parent = add(
        a, AlertKind.NEW_ITEM, "p", state="sending", lease_owner="dead", lease_until=lease_end
    )
    follow = add(a, AlertKind.FOLLOW_UP, "f")
    assert asyncio.run(delivery.deliver_pending(b)) == (0, 0)
    row = rows(a)[follow]
    assert row.state == "pending" and row.next_attempt_at >= lease_end  # waiting, not skipped
    assert f"waiting for alert {parent}" in (row.last_error or "")
    assert slack.messages == []

    clock.advance(121)  # the stopped replica's lease runs out: B resumes the story's alert
    assert asyncio.run(delivery.deliver_pending(b)) == (2, 0)
    story, reply = slack.messages
    assert story["thread_ts"] is None and reply["thread_ts"] == story["ts"]


def test_a_follow_up_fails_with_its_story_alert_and_retry_failed_brings_both_back(
    replicas: tuple[App, App], slack: SlackServer
) -> None:
    a, _ = replicas
    a.clock = clock = FakeClock(T0)
    parent = add(a, AlertKind.NEW_ITEM, "p")
    follow = add(a, AlertKind.FOLLOW_UP, "f")
    # What an earlier version left behind: a follow-up skipped for good.
    old_reason = "the story's alert was not posted on its own (rolled into a digest, or failed)"
    legacy = add(a, AlertKind.FOLLOW_UP, "old", state="skipped", last_error=old_reason)
    slack.fail_next("channel_not_found")
    assert asyncio.run(delivery.deliver_pending(a)) == (0, 2)
    state = rows(a)
    assert (state[parent].state, state[follow].state) == ("failed", "failed")
    assert f"alert {parent}" in (state[follow].last_error or "")

    with a.sessions.begin() as session:
        assert queries.requeue_alerts(session, clock.now()) == 3  # --retry-failed
    assert asyncio.run(delivery.deliver_pending(a)) == (3, 0)
    story, *replies = slack.messages
    assert [m["thread_ts"] for m in replies] == [story["ts"]] * 2
    assert {rows(a)[i].state for i in (parent, follow, legacy)} == {"sent"}


def test_a_follow_up_of_a_story_rolled_into_a_digest_is_still_skipped(
    replicas: tuple[App, App], slack: SlackServer
) -> None:
    a, _ = replicas
    add(a, AlertKind.NEW_ITEM, "p", state="rolled")
    follow = add(a, AlertKind.FOLLOW_UP, "f")
    assert asyncio.run(delivery.deliver_pending(a)) == (0, 0)
    assert rows(a)[follow].state == "skipped"
    assert slack.messages == []
