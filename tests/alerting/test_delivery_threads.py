"""Threads: a syndicated copy of an alerted story goes as a reply into the thread of the
story's first alert in each channel — recorded in the outbox, so never lost or doubled."""

from __future__ import annotations

import json
from contextlib import redirect_stdout
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

from monitor.alerting.plan import plan_follow_up
from monitor.cli.main import main
from monitor.domain.model import Alert, AlertContent, AlertKind, Article
from monitor.domain.notifier_config import SlackConfig
from notifiers.slack import SlackNotifier, render_slack
from tests.support.config import NO_MAX_AGE, slack_notifier, write_config
from tests.support.paths import REPO
from tests.support.slack_server import SHIPPED_CHANNELS, SlackServer

DATA = REPO / "tests" / "data" / "e2e"


@pytest.fixture
def slack_channels() -> dict[str, str]:
    return SHIPPED_CHANNELS


def alerts_json(config: str) -> list[dict[str, Any]]:
    out = StringIO()
    with redirect_stdout(out):
        assert main(["alerts", "--json", "--config", config]) == 0
    data: list[dict[str, Any]] = json.loads(out.getvalue())
    return data


def alert_id(message: dict[str, Any]) -> int:
    return int(message["metadata"]["event_payload"]["alert_id"])


def test_syndicated_copy_replies_in_the_thread_of_the_first_alert(
    tmp_path: Path, slack: SlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    feeds = [
        {"url": (DATA / name).as_uri(), "name": name, "fetch_article": "never"}
        for name in ("kyiv-round1.xml", "seoul.xml", "aggregator.xml")
    ]
    path = write_config(
        tmp_path,
        feeds=feeds,
        notifiers={"slack": slack_notifier(slack)},
        alerts=NO_MAX_AGE,
        log={"level": "WARNING"},
    )
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    assert main(["run", "--once", "--config", str(path)]) == 0

    alerts = alerts_json(str(path))
    follow_ups = [a for a in alerts if a["kind"] == "follow_up"]
    assert follow_ups, "the fixtures carry syndicated copies of an alerted story"
    assert {a["state"] for a in alerts} == {"sent"}
    by_id = {alert_id(m): m for m in slack.messages}
    assert sorted(by_id) == sorted(a["id"] for a in alerts)  # each exactly once
    for follow_up in follow_ups:
        reply = by_id[follow_up["id"]]
        parent = next(m for m in slack.messages if m["ts"] == reply["thread_ts"])
        parent_alert = next(a for a in alerts if a["id"] == alert_id(parent))
        assert parent_alert["kind"] == "new_item"
        assert parent["channel"] == reply["channel"]
        assert reply["blocks"][0]["text"]["text"].startswith("🔁 Also reported")
    top_level = [m for m in slack.messages if not m.get("thread_ts")]
    assert {alert_id(m) for m in top_level} == {a["id"] for a in alerts if a["kind"] != "follow_up"}

    before = len(slack.messages)
    assert main(["run", "--once", "--config", str(path)]) == 0
    assert len(slack.messages) == before


def test_follow_ups_go_only_to_channels_that_thread() -> None:
    article = Article("Copy", "text", "https://b.example/1", "b.example")
    parents = [
        ("slack", "#nk", ["nk-deployment"]),
        ("email", None, ["nk-deployment"]),
        ("console", None, ["nk-deployment"]),
        ("slack", "#nk", ["nk-deployment"]),
    ]
    [planned] = plan_follow_up(7, 3, article, parents)
    assert (planned.notifier, planned.channel, planned.kind) == ("slack", "#nk", "follow_up")
    assert planned.thread_key == "story:3"
    assert planned.dedup_key == "follow_up:item:7:slack:#nk"
    assert planned.content.also_reported_by == ["b.example"]


def _follow_up(alert_id: int, thread: str | None) -> Alert:
    content = AlertContent(
        kind=AlertKind.FOLLOW_UP, watchlists=["nk-deployment"], title="Copy at another outlet",
        url="https://b.example/1", outlet="b.example", published_at=datetime.now(UTC),
        also_reported_by=["b.example"],
    )  # fmt: skip
    return Alert(alert_id, AlertKind.FOLLOW_UP, "slack", "#news-alerts", content,
                 created_at=datetime.now(UTC), thread_id=thread)  # fmt: skip


def test_a_resumed_reply_is_found_in_its_thread_not_sent_twice(slack: SlackServer) -> None:
    notifier = SlackNotifier(SlackConfig(base_url=slack.base_url), token=slack.token)
    parent = notifier.send(_follow_up(1, None))
    reply = _follow_up(2, parent.remote_id)
    sent = notifier.send(reply)
    assert slack.replies_to(str(parent.remote_id))[0]["ts"] == sent.remote_id
    assert sent.thread_id == parent.remote_id
    assert notifier.already_sent(reply) == sent.remote_id
    assert notifier.already_sent(_follow_up(3, parent.remote_id)) is None


def test_webhook_cannot_thread_so_follow_ups_are_not_posted(slack: SlackServer) -> None:
    notifier = SlackNotifier(SlackConfig(), webhook_url=slack.webhook_url)
    assert notifier.send(_follow_up(5, None)).remote_id is None
    assert slack.messages == []


def test_follow_up_payload_has_header_link_and_outlet() -> None:
    payload = render_slack(_follow_up(9, "123.456"))
    assert payload["blocks"][0]["text"]["text"] == "🔁 Also reported · nk-deployment"
    assert "<https://b.example/1|Copy at another outlet>" in json.dumps(payload)
    assert "Also reported by: b.example" in json.dumps(payload)
