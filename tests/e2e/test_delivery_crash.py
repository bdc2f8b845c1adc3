"""A process killed (SIGKILL) in the middle of a delivery, then restarted, neither loses
nor doubles an alert: the resumed alert is found in the channel by its message metadata.

The Slack server records the first message and then holds its HTTP response until the test
has killed the process, so the crash falls exactly between "sent" and "marked sent".
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, update

from monitor.cli.main import main
from storage.models import AlertRow
from tests.support.config import NO_MAX_AGE, slack_notifier, write_config
from tests.support.paths import REPO
from tests.support.slack_server import SHIPPED_CHANNELS, HoldingSlack, SlackServer

DATA = REPO / "tests" / "data" / "e2e"


@pytest.fixture
def slack_channels() -> dict[str, str]:
    return SHIPPED_CHANNELS


def alert_ids(slack: SlackServer) -> list[int]:
    return [int(m["metadata"]["event_payload"]["alert_id"]) for m in slack.messages]


def test_sigkill_between_send_and_mark_neither_loses_nor_doubles(
    tmp_path: Path, holding_slack: HoldingSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "newsmon.db"
    path = write_config(
        tmp_path,
        feeds=[
            {"url": (DATA / "kyiv-round1.xml").as_uri(), "name": "Kyiv", "fetch_article": "never"}
        ],
        notifiers={"slack": slack_notifier(holding_slack)},
        alerts=NO_MAX_AGE,
        log={"level": "WARNING"},
    )
    env = {**os.environ, "SLACK_BOT_TOKEN": holding_slack.token}
    env.pop("SLACK_WEBHOOK_URL", None)
    with subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--once", "--config", str(path)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    ) as proc:
        try:
            assert holding_slack.posted.wait(timeout=60), "the first alert never reached Slack"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    holding_slack.release.set()
    assert proc.returncode == -signal.SIGKILL
    assert len(holding_slack.messages) == 1  # posted, but never marked sent
    [crashed] = alert_ids(holding_slack)

    # The dead replica's lease runs out (as it would after leases.alert).
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(
            update(AlertRow)
            .where(AlertRow.state == "sending")
            .values(lease_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    monkeypatch.setenv("SLACK_BOT_TOKEN", holding_slack.token)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    assert main(["run", "--once", "--config", str(path)]) == 0

    with engine.connect() as conn:
        recorded = {row.id: row.state for row in conn.execute(AlertRow.__table__.select())}
    engine.dispose()
    assert len(recorded) >= 2
    assert set(recorded.values()) == {"sent"}
    assert sorted(alert_ids(holding_slack)) == sorted(recorded)  # every alert exactly once
    assert alert_ids(holding_slack).count(crashed) == 1
    history = [c for c in holding_slack.calls if c.method == "conversations.history"]
    assert history, "the resumed alert was looked up before any resend"
