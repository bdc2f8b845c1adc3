"""The outbox worker against the local Slack API and aiosmtpd: outages, rate limits,
permanent errors, re-queueing, pacing, and what arrives after a hostile or huge article.

Time is a fake clock (``tests.support.fakeclock.FakeClock`` as the app's ``clock``): a retry "later"
is a clock step, never a sleep.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.alerting import delivery
from monitor.cli.main import main
from monitor.config.load import load_config
from monitor.domain.model import AlertContent, AlertKind, content_to_json
from monitor.runtime.app import App, build_app
from monitor.sources.schedule import delivery_backoff
from notifiers.slack import SlackNotifier
from storage import queries
from storage.models import AlertRow
from tests.support.config import NO_MAX_AGE, email_notifier, slack_notifier, write_config
from tests.support.fakeclock import FakeClock
from tests.support.slack_server import SlackServer, find_mentions
from tests.support.smtp_server import SmtpServer

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


def delivery_config(tmp_path: Path, db_url: str, slack: SlackServer, smtp: SmtpServer) -> Path:
    """Slack and email notifiers, no feeds: alerts are enqueued by hand."""
    return write_config(
        tmp_path,
        database={"url": db_url},
        notifiers={"slack": slack_notifier(slack), "email": email_notifier(smtp)},
        alerts=NO_MAX_AGE,
        delivery={"backoff_max": "1m"},
    )


@pytest.fixture
def config_path(tmp_path: Path, sqlite_url: str, slack: SlackServer, smtp: SmtpServer) -> Path:
    return delivery_config(tmp_path, sqlite_url, slack, smtp)


@pytest.fixture
def app(config_path: Path, slack: SlackServer, clock: FakeClock) -> Iterator[App]:
    built = build_app(load_config(str(config_path)), environ={"SLACK_BOT_TOKEN": slack.token})
    built.clock = clock
    for notifier in built.notifiers.values():
        notifier.min_interval = 0.0  # pacing has its own test
    yield built
    built.engine.dispose()


def enqueue(app: App, n: int, notifier: str = "slack", channel: str | None = "#news-alerts",
            title: str = "Story") -> list[int]:  # fmt: skip
    """Record ``n`` pending new_item alerts; their ids, oldest first."""
    ids = []
    with app.sessions.begin() as session:
        for i in range(n):
            content = AlertContent(
                kind=AlertKind.NEW_ITEM, watchlists=["nk-deployment"], title=f"{title} {i}",
                url=f"https://news.example/{i}", outlet="news.example", published_at=T0,
            )  # fmt: skip
            alert_id = queries.add_alert(
                session, dedup_key=f"test:{notifier}:{channel}:{title}:{i}",
                kind=AlertKind.NEW_ITEM, notifier=notifier, channel=channel,
                watchlists=["nk-deployment"],
                content=content_to_json(content), state="pending", attempts=0,
                created_at=T0, next_attempt_at=T0,
            )  # fmt: skip
            assert alert_id is not None
            ids.append(alert_id)
    return ids


def deliver(app: App) -> tuple[int, int]:
    return asyncio.run(delivery.deliver_pending(app))


def rows(app: App) -> dict[int, AlertRow]:
    with app.sessions() as session:
        return {row.id: row for row in session.query(AlertRow).all()}


def posted_ids(slack: SlackServer) -> list[int]:
    return [int(m["metadata"]["event_payload"]["alert_id"]) for m in slack.messages]


# --- outages ------------------------------------------------------------------------------


def test_slack_outage_then_recovery_delivers_every_alert_once_in_order(
    app: App, slack: SlackServer, clock: FakeClock
) -> None:
    ids = enqueue(app, 5)
    slack.fail_next("internal_error", times=4)  # four attempts meet HTTP 500
    rounds = 0
    while len(slack.messages) < 5:
        deliver(app)
        clock.advance(61)  # beyond backoff_max: every backoff has elapsed
        rounds += 1
        assert rounds < 10
    assert rounds == 5
    assert posted_ids(slack) == ids  # in order, each once
    state = rows(app)
    assert {state[i].state for i in ids} == {"sent"}
    assert state[ids[0]].attempts == 5  # four failures, then the send
    assert deliver(app) == (0, 0)
    assert len(slack.messages) == 5


def test_connection_refused_is_temporary_and_nothing_is_lost(
    app: App, slack: SlackServer, clock: FakeClock
) -> None:
    ids = enqueue(app, 3)
    slack.stop()  # nobody listens: connection refused
    assert deliver(app) == (0, 0)
    first = rows(app)[ids[0]]
    assert first.state == "pending" and "cannot reach" in (first.last_error or "")
    assert {rows(app)[i].state for i in ids} == {"pending"}
    slack.start()  # on a new port: point the notifier at it
    notifier = app.notifiers["slack"]
    assert isinstance(notifier, SlackNotifier) and notifier._client is not None
    notifier._client.base_url = slack.base_url
    clock.advance(61)
    assert deliver(app) == (3, 0)
    assert posted_ids(slack) == ids


def test_smtp_outage_then_recovery_delivers_every_email_once_in_order(
    app: App, smtp: SmtpServer, clock: FakeClock
) -> None:
    ids = enqueue(app, 3, notifier="email", channel="desk@test.example")
    assert smtp._controller is not None
    handler: Any = smtp._controller.handler

    async def unavailable(*args: object) -> str:
        return "451 4.3.0 try again later"

    handler.handle_DATA = unavailable  # the server is up but refuses mail for now
    for _ in range(3):
        assert deliver(app) == (0, 0)
        clock.advance(61)
    assert smtp.messages == []
    assert rows(app)[ids[0]].attempts == 3
    del handler.handle_DATA
    assert deliver(app) == (3, 0)
    got = [str(m.message["Message-ID"]) for m in smtp.messages]
    assert got == [f"<newsmon-alert-{i}@test.example>" for i in ids]


# --- rate limits and backoff ----------------------------------------------------------------


def test_429_retry_after_is_honoured(app: App, slack: SlackServer, clock: FakeClock) -> None:
    [alert] = enqueue(app, 1)
    slack.fail_next("ratelimited", retry_after=30)
    assert deliver(app) == (0, 0)
    row = rows(app)[alert]
    assert row.next_attempt_at - clock.at >= timedelta(seconds=30)
    clock.advance(29)
    assert deliver(app) == (0, 0)
    assert len(slack.calls) == 1  # not asked again before Retry-After
    clock.advance(2)
    assert deliver(app) == (1, 0)


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    rng = random.Random(7)
    for attempts in range(1, 12):
        base = min(60.0, 2.0**attempts)
        samples = {delivery_backoff(attempts, 60.0, rng) for _ in range(20)}
        assert all(max(1.0, base / 2) <= s <= base for s in samples)
        assert len(samples) > 1  # jitter: replicas do not retry in lockstep


def test_later_alerts_of_a_channel_wait_behind_a_failing_one_others_do_not(
    app: App, slack: SlackServer, clock: FakeClock
) -> None:
    blocked = enqueue(app, 2, channel="#news-alerts")
    other = enqueue(app, 1, channel="#other", title="Other")
    slack.fail_next("internal_error", times=1)
    assert deliver(app) == (1, 0)
    assert posted_ids(slack) == other
    clock.advance(61)
    assert deliver(app) == (2, 0)
    assert posted_ids(slack) == other + blocked


def test_sends_to_one_channel_are_paced(app: App, slack: SlackServer) -> None:
    app.notifiers["slack"].min_interval = 0.2
    enqueue(app, 3)
    deliver(app)
    stamps = [float(m["ts"]) for m in slack.messages]
    assert len(stamps) == 3
    assert all(b - a >= 0.19 for a, b in itertools.pairwise(stamps))


# --- permanent errors and re-queueing -------------------------------------------------------


@pytest.mark.parametrize("error", ["channel_not_found", "invalid_auth"])
def test_permanent_error_fails_once_with_reason_and_retry_requeues(
    app: App,
    slack: SlackServer,
    clock: FakeClock,
    config_path: Path,
    error: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    [alert] = enqueue(app, 1)
    slack.fail_next(error)
    with caplog.at_level(logging.ERROR, logger="newsmon.delivery"):
        assert deliver(app) == (0, 1)
    row = rows(app)[alert]
    assert (row.state, row.attempts) == ("failed", 1)
    assert error in (row.last_error or "")
    assert any(error in r.getMessage() and "permanently" in r.getMessage() for r in caplog.records)
    clock.advance(3600)
    assert deliver(app) == (0, 0)  # no endless loop
    assert len(slack.calls) == 1

    assert main(["alerts", "--retry", str(alert), "--config", str(config_path)]) == 0
    assert "re-queued 1 alert" in capsys.readouterr().out
    assert rows(app)[alert].state == "pending"
    clock.at = datetime.now(UTC) + timedelta(seconds=1)  # the CLI re-queues at the real now
    assert deliver(app) == (1, 0)
    assert posted_ids(slack) == [alert]


def test_retry_failed_requeues_every_failed_alert_and_rejects_unknown_ids(
    app: App,
    slack: SlackServer,
    clock: FakeClock,
    config_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ids = enqueue(app, 2)
    slack.fail_next("channel_not_found", times=2)
    assert deliver(app) == (0, 2)
    assert main(["alerts", "--retry", "9999", "--config", str(config_path)]) == 1
    assert "9999" in capsys.readouterr().err
    assert main(["alerts", "--retry-failed", "--config", str(config_path)]) == 0
    assert "re-queued 2 alert(s)" in capsys.readouterr().out
    clock.at = datetime.now(UTC) + timedelta(seconds=1)
    assert deliver(app) == (2, 0)
    assert posted_ids(slack) == ids


# --- hostile and huge articles, end to end --------------------------------------------------

HOSTILE_TITLE = "<!channel> & <@U123> North Korean troops <http://evil.example|click> in Kursk"
WAR = (
    "North Korean soldiers deployed to Russia's Kursk region fought alongside Russian "
    "troops, Ukrainian officials said. "
)


def _rss(items: list[tuple[str, str, str]]) -> str:
    body = "".join(
        f"<item><title><![CDATA[{title}]]></title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>Fri, 20 Nov 2026 08:00:00 +0000</pubDate>"
        f"<description><![CDATA[{text}]]></description></item>"
        for title, link, text in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Test</title><link>http://test.example/</link>{body}</channel></rss>"
    )


def test_hostile_title_and_huge_article_arrive_escaped_and_truncated(
    tmp_path: Path, slack: SlackServer, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    slack.channels["C0DEPLOY01"] = "nk-deployment"
    huge_title = "North Korean troops in Kursk: " + "a very long headline " * 100
    huge_text = (WAR + "x" * 200 + " ") * 40  # over 10,000 characters
    assert len(huge_text) > 10_000
    feed = tmp_path / "feed.xml"
    feed.write_text(
        _rss(
            [
                (HOSTILE_TITLE, "http://test.example/hostile", WAR + "<!here> @everyone"),
                (huge_title, "http://test.example/huge", huge_text),
            ]
        )
    )
    config = yaml.safe_load(delivery_config(tmp_path, f"sqlite:///{tmp_path / 'e.db'}", slack,
                                         smtp).read_text())  # fmt: skip
    config["feeds"] = [{"url": feed.as_uri(), "name": "Test", "fetch_article": "never"}]
    config["fetch"] = {"allow_private_networks": True}
    path = tmp_path / "e2e.yaml"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    assert main(["run", "--once", "--config", str(path)]) == 0

    messages = slack.messages_in("#nk-deployment")
    assert len(messages) == 2, [c.error for c in slack.calls]  # neither was rejected
    assert all(c.error is None for c in slack.calls)
    hostile = next(m for m in messages if "U123" in m["text"])
    assert "&lt;!channel&gt; &amp; &lt;@U123&gt;" in hostile["text"]
    for message in messages:
        for text in [message["text"], *(str(b) for b in message["blocks"])]:
            assert find_mentions(text) == []
        assert "<http://evil" not in str(message["blocks"])  # shown as typed, not a link
    huge = next(m for m in messages if "very long headline" in m["text"])
    assert "…" in str(huge["blocks"])
    assert len(huge["blocks"][0]["text"]["text"]) <= 150

    # (spaces normalised: unfolding a long header may double the space at a fold)
    subjects = [" ".join(str(m.message["Subject"]).split()) for m in smtp.messages]
    assert len(subjects) == 2, subjects
    assert all(len(s) <= 200 and "\n" not in s for s in subjects), [len(s) for s in subjects]
