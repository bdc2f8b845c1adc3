"""``run --once`` is what cron runs: it waits out short waits (a 429's Retry-After, backoff)
up to ``delivery.once_wait`` in all, delivers everything it can, and says what is left and
when it goes. The service's worker never waits (see test_delivery)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.cli.main import main
from monitor.config.load import load_config
from monitor.runtime.app import build_app
from notifiers.slack import SlackNotifier
from storage.models import AlertRow
from tests.alerting.test_delivery import delivery_config, enqueue
from tests.support.slack_server import SlackServer, _Failure
from tests.support.smtp_server import SmtpServer


class RateLimitingSlack(SlackServer):
    """Answers every ``every``-th chat.postMessage with HTTP 429 and ``Retry-After``."""

    every: int = 4
    retry_after: int = 0
    posts: int = 0

    def _take_failure(self, method: str) -> _Failure | None:
        if method == "chat.postMessage":
            with self._lock:
                self.posts += 1
                if self.posts % self.every == 0:
                    return _Failure("ratelimited", 429, self.retry_after, None)
        return super()._take_failure(method)


@pytest.fixture
def slack() -> Iterator[RateLimitingSlack]:
    with RateLimitingSlack() as server:
        yield server


@pytest.fixture
def unpaced(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slack's one-post-a-second pacing has its own test; here it would only cost time."""
    monkeypatch.setattr(SlackNotifier, "min_interval", 0.0)


def config(tmp_path: Path, slack: SlackServer, smtp: SmtpServer, **delivery: Any) -> Path:
    path = delivery_config(tmp_path, f"sqlite:///{tmp_path / 'once.db'}", slack, smtp)
    data = yaml.safe_load(path.read_text())
    data["delivery"].update(delivery)
    path.write_text(yaml.safe_dump(data))
    return path


def states(path: Path) -> dict[int, str]:
    app = build_app(load_config(str(path)))
    with app.sessions() as session:
        found = {row.id: row.state for row in session.query(AlertRow)}
    app.engine.dispose()
    return found


def run_once(path: Path, slack: SlackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    assert main(["run", "--once", "--config", str(path)]) == 0


@pytest.mark.usefixtures("unpaced")
def test_run_once_waits_out_rate_limits_and_sends_all_twelve(
    tmp_path: Path,
    slack: RateLimitingSlack,
    smtp: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = config(tmp_path, slack, smtp)
    app = build_app(load_config(str(path)), environ={"SLACK_BOT_TOKEN": slack.token})
    ids = enqueue(app, 12)
    app.engine.dispose()

    run_once(path, slack, monkeypatch)

    err = capsys.readouterr().err
    posted = [int(m["metadata"]["event_payload"]["alert_id"]) for m in slack.messages]
    assert posted == ids  # all twelve, each once, in order
    assert [c.status for c in slack.calls].count(429) == 3  # calls 4, 8 and 12
    assert set(states(path).values()) == {"sent"}
    assert "12 alerts delivered" in err and "pending" not in err


def test_run_once_says_what_is_still_pending_and_when_it_goes(
    tmp_path: Path,
    slack: RateLimitingSlack,
    smtp: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    slack.every, slack.retry_after = 2, 120  # the wait asked for is beyond the bound
    path = config(tmp_path, slack, smtp, once_wait="30s")
    app = build_app(load_config(str(path)), environ={"SLACK_BOT_TOKEN": slack.token})
    enqueue(app, 3)
    app.engine.dispose()
    started = datetime.now(UTC)

    run_once(path, slack, monkeypatch)

    err = capsys.readouterr().err
    assert len(slack.messages) == 1  # the second call met the 429: no wait of 2 minutes
    assert "1 alerts delivered, 2 still pending" in err
    [line] = [line for line in err.splitlines() if "still pending for" in line]
    assert "2 alert(s) still pending for slack #news-alerts: next attempt at " in line
    due = datetime.fromisoformat(line.split("next attempt at ")[1].split(" ")[0])
    assert 110 <= (due - started).total_seconds() <= 130
    assert sorted(states(path).values()) == ["pending", "pending", "sent"]


def test_once_wait_zero_does_not_wait(
    tmp_path: Path, slack: RateLimitingSlack, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    slack.every, slack.retry_after = 1, 0  # every post is rate-limited: backoff ≥ 1 s
    path = config(tmp_path, slack, smtp, once_wait=0)
    app = build_app(load_config(str(path)), environ={"SLACK_BOT_TOKEN": slack.token})
    enqueue(app, 2)
    app.engine.dispose()
    done = threading.Event()
    timer = threading.Timer(20, done.set)  # a guard only: the run must not wait at all
    timer.start()
    try:
        run_once(path, slack, monkeypatch)
    finally:
        timer.cancel()
    assert not done.is_set()
    assert len([c for c in slack.calls if c.method == "chat.postMessage"]) == 1
