"""Stopping ``newsmon run`` in the middle of a long delivery drain: SIGTERM finishes the
alert in flight, releases nothing half-done, claims no more, and logs no ERROR or
traceback; the drain itself never makes APScheduler warn about running instances.

The Slack server holds its reply to the first post until the test releases it, so the
stop falls exactly while an alert is being sent.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config.load import load_config
from monitor.runtime.app import build_app
from tests.alerting.test_delivery import enqueue, rows
from tests.support.config import slack_notifier, write_config
from tests.support.feedserver import FeedServer, Response
from tests.support.service_process import ServiceProcess, rss
from tests.support.slack_server import HoldingSlack


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        server.add("/quiet.xml", lambda _r: Response(200, rss([("q", "Weather", "Sunny.")])))
        yield server


def test_sigterm_during_a_long_drain_finishes_the_send_and_logs_no_error(
    tmp_path: Path, holding_slack: HoldingSlack, feeds: FeedServer
) -> None:
    path = write_config(
        tmp_path,
        feeds=[{"url": feeds.url("/quiet.xml"), "interval": "1s", "fetch_article": "never"}],
        fetch={"allow_private_networks": True, "min_interval": "1s"},
        notifiers={"slack": slack_notifier(holding_slack)},
        log={"level": "INFO", "format": "json"},
        delivery={"interval": "0.1s"},
        tick="0.2s",
    )
    app = build_app(load_config(str(path)), environ={"SLACK_BOT_TOKEN": holding_slack.token})
    ids = enqueue(app, 3)

    with ServiceProcess(path, env={"SLACK_BOT_TOKEN": holding_slack.token}) as service:
        assert holding_slack.posted.wait(30), service.log_text()
        # The drain is held for 3 polls of a 1 s feed: some 20 delivery ticks go by.
        assert feeds.wait_for_hits("/quiet.xml", feeds.hits["/quiet.xml"] + 3, timeout=15)
        service.send(signal.SIGTERM)
        service.wait_for_log(lambda line: "finishing the alert" in line["msg"])
        holding_slack.release.set()
        assert service.stop() == 0
        lines = service.lines

    assert [line["msg"] for line in lines if line.get("level") in ("ERROR", "CRITICAL")] == []
    assert not any("Traceback" in str(line) or line.get("not_json") for line in lines)
    assert not any("maximum number of running instances" in line["msg"] for line in lines)
    assert lines[-1]["msg"] == "stopped"
    state = rows(app)
    assert [state[i].state for i in ids] == ["sent", "pending", "pending"]
    assert all(state[i].lease_owner is None for i in ids)
    assert len(holding_slack.messages) == 1
    app.engine.dispose()
