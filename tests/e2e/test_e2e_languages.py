"""End to end in several languages: a Korean and an English article stating the same
figure corroborate each other (one value, no figure_change); a Ukrainian article with a new
value raises exactly one figure_change per channel, quoting it in Ukrainian."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from monitor.cli.main import main
from tests.e2e.test_e2e import alert_id, cli_json
from tests.support.feedserver import FeedServer
from tests.support.paths import REPO
from tests.support.slack_server import SHIPPED_CHANNELS as CHANNELS
from tests.support.slack_server import SlackServer
from tests.support.smtp_server import SmtpServer

DATA = REPO / "tests" / "data" / "e2e"


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    with SlackServer(channels=dict(CHANNELS)) as server:
        yield server


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        body = (DATA / "lang-round1.xml").read_bytes()
        server.add("/lang.xml", body, content_type="application/rss+xml")
        yield server


def _config(
    tmp_path: Path, db_url: str, feeds: FeedServer, slack: SlackServer, smtp: SmtpServer
) -> str:
    config = {
        "database": {"url": db_url},
        "watchlists": str(REPO / "watchlists"),
        "feeds": [
            {"url": feeds.url("/lang.xml"), "name": "Languages Desk", "fetch_article": "never"}
        ],
        "fetch": {"allow_private_networks": True, "timeout": "10s"},
        "notifiers": {
            "slack": {"base_url": slack.base_url, "channel": "#news-alerts"},
            "email": {
                "host": "127.0.0.1",
                "port": smtp.port,
                "from": "n@test.example",
                "to": ["a@test.example"],
            },
        },
        "http": {"listen": None},
        "alerts": {"max_age": "off"},
        "log": {"level": "WARNING"},
    }
    path = tmp_path / "newsmon.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return str(path)


def test_korean_and_english_corroborate_and_ukrainian_changes_the_figure(
    tmp_path: Path,
    db_url: str,
    feeds: FeedServer,
    slack: SlackServer,
    smtp: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    config = _config(tmp_path, db_url, feeds, slack, smtp)

    # Round 1: "about 12,000" in English and "약 1만2000명" in Korean are one value.
    assert main(["run", "--once", "--config", config]) == 0
    figures = cli_json("figures", "nk_troops_deployed", "--json", "--config", config)
    assert {(f["low"], f["high"]) for f in figures} == {(12000, 12000)}
    assert len({f["url"] for f in figures}) == 2  # both articles, one value
    assert max(f["corroborations"] for f in figures) >= 2
    alerts = cli_json("alerts", "--json", "--config", config)
    # the first value ever stored is a change; the Korean copy of it is not
    first = [a for a in alerts if a["kind"] == "figure_change"]
    assert {a["url"] for a in first} <= {"http://lang.test/en/nis-12000"}
    assert not any("seoul-daily" in (a["url"] or "") for a in first)

    # Round 2: a Ukrainian article says about 15,000: one figure_change per channel.
    round2 = (
        (DATA / "lang-round1.xml")
        .read_text(encoding="utf-8")
        .replace(
            "<item>", (DATA / "lang-round2-item.xml").read_text(encoding="utf-8") + "<item>", 1
        )
    )
    feeds.add("/lang.xml", round2.encode(), content_type="application/rss+xml")
    before = len(slack.messages)
    assert main(["run", "--once", "--config", config]) == 0
    alerts = cli_json("alerts", "--json", "--config", config)
    changes = [a for a in alerts if a["kind"] == "figure_change" and "/uk/" in (a["url"] or "")]
    assert Counter((a["notifier"], a["channel"]) for a in changes) == {
        ("slack", "#nk-deployment"): 1,
        ("email", None): 1,
    }
    change_ids = {a["id"] for a in changes}
    posted = [m for m in slack.messages[before:] if alert_id(m) in change_ids]
    assert len(posted) == 1
    text = json.dumps(posted[0], ensure_ascii=False)
    assert "15,000" in text and "12,000" in text, text  # before → after
    assert "15 тисяч" in text and "(Ukrainian)" in text, text  # the quote, in its language
