"""End to end: local feeds → ``newsmon run --once`` → local Slack API and SMTP server.

Proves, on SQLite and PostgreSQL: every recorded alert arrives exactly once; a second run
with unchanged feeds sends nothing; the same story through a tracking URL or a syndicated
copy is not alerted again; a new item with a changed figure sends exactly one
figure_change alert per channel, showing the previous value and its source.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.cli.main import main
from tests.support.config import NO_MAX_AGE, email_notifier, slack_notifier, write_config
from tests.support.feedserver import FeedServer
from tests.support.paths import REPO
from tests.support.slack_server import SHIPPED_CHANNELS, SlackServer
from tests.support.smtp_server import SmtpServer

DATA = REPO / "tests" / "data" / "e2e"


@pytest.fixture
def slack_channels() -> dict[str, str]:
    return SHIPPED_CHANNELS


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        server.add(
            "/kyiv.xml", (DATA / "kyiv-round1.xml").read_bytes(), content_type="application/rss+xml"
        )
        server.add(
            "/seoul.xml", (DATA / "seoul.xml").read_bytes(), content_type="application/atom+xml"
        )
        server.add(
            "/agg.xml", (DATA / "aggregator.xml").read_bytes(), content_type="application/rss+xml"
        )
        yield server


def desks_config(
    tmp_path: Path, db_url: str, feeds: FeedServer, slack: SlackServer, smtp: SmtpServer
) -> Path:
    desks = {"/kyiv.xml": "Kyiv Desk", "/seoul.xml": "Seoul Desk", "/agg.xml": "Aggregator"}
    return write_config(
        tmp_path,
        database={"url": db_url},
        feeds=[
            {"url": feeds.url(path), "name": name, "interval": "15m", "fetch_article": "never"}
            for path, name in desks.items()
        ],
        fetch={"allow_private_networks": True, "timeout": "10s"},
        notifiers={
            "slack": slack_notifier(slack),
            "email": email_notifier(smtp, to=["analysts@test.example"]),
        },
        alerts=NO_MAX_AGE,
        log={"level": "WARNING"},
    )


def cli_json(*args: str) -> Any:
    """Run a listing command in-process and parse its JSON."""
    from contextlib import redirect_stdout
    from io import StringIO

    out = StringIO()
    with redirect_stdout(out):
        assert main(list(args)) == 0
    return json.loads(out.getvalue())


def alert_id(message: dict[str, Any]) -> int:
    payload = (message.get("metadata") or {}).get("event_payload") or {}
    return int(payload["alert_id"])


def slack_alert_ids(slack: SlackServer) -> list[int]:
    return [alert_id(m) for m in slack.messages]


def email_alert_ids(smtp: SmtpServer) -> list[str]:
    return [str(m.message["Message-ID"]) for m in smtp.messages]


def test_run_once_delivers_each_alert_once_and_alerts_a_changed_figure(
    tmp_path: Path,
    db_url: str,
    feeds: FeedServer,
    slack: SlackServer,
    smtp: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    config = str(desks_config(tmp_path, db_url, feeds, slack, smtp))

    # Round 1: everything is new.
    assert main(["run", "--once", "--config", config]) == 0
    alerts = cli_json("alerts", "--json", "--config", config)
    assert alerts, "the round-1 stories match the shipped watchlists"
    assert {a["state"] for a in alerts} == {"sent"}
    slack_rows = [a for a in alerts if a["notifier"] == "slack"]
    email_rows = [a for a in alerts if a["notifier"] == "email"]
    # Exactly once: each recorded alert arrived once, and nothing arrived unrecorded.
    assert sorted(slack_alert_ids(slack)) == sorted(a["id"] for a in slack_rows)
    assert len(email_alert_ids(smtp)) == len(set(email_alert_ids(smtp))) == len(email_rows)

    # One new_item alert per story and channel: the tracking-URL copy and the syndicated
    # copy of the Zelensky story are recorded, not alerted.
    new_items = [a for a in slack_rows if a["kind"] == "new_item"]
    per_channel = Counter((a["channel"], a["url"]) for a in new_items)
    assert all(count == 1 for count in per_channel.values())
    titles = {a["title"] for a in new_items}
    # The Kyiv story reached us three times (its own feed, a tracking-URL copy, a syndicated
    # copy from Seoul): whichever copy came first carries the story's only alert per channel.
    zelensky = Counter(a["channel"] for a in new_items if "Zelensky" in a["title"])
    assert zelensky and set(zelensky.values()) == {1}
    assert not any("Kyiv metro" in t for t in titles)

    figures = cli_json("figures", "nk_killed", "--json", "--config", config)
    assert {(f["low"], f["high"]) for f in figures} == {(3000, 3000)}
    assert max(f["corroborations"] for f in figures) >= 2  # Kyiv and Seoul both said it

    feeds_json = cli_json("feeds", "--json", "--config", config)
    assert {f["name"] for f in feeds_json} == {"Kyiv Desk", "Seoul Desk", "Aggregator"}
    assert all(f["last_status"] == 200 and f["consecutive_failures"] == 0 for f in feeds_json)

    # Round 2: the same feeds again — nothing new is sent.
    before_slack, before_mail = len(slack.messages), len(smtp.messages)
    assert main(["run", "--once", "--config", config]) == 0
    assert (len(slack.messages), len(smtp.messages)) == (before_slack, before_mail)

    # Round 3: a new item with a changed figure → exactly one figure_change per channel.
    round2 = (
        (DATA / "kyiv-round1.xml")
        .read_text()
        .replace("<item>", (DATA / "kyiv-round2-item.xml").read_text() + "\n<item>", 1)
    )
    feeds.add("/kyiv.xml", round2.encode(), content_type="application/rss+xml")
    assert main(["run", "--once", "--config", config]) == 0
    alerts = cli_json("alerts", "--json", "--config", config)
    change_rows = [
        a
        for a in alerts
        if a["kind"] == "figure_change" and (a["url"] or "").endswith("nk-killed-update")
    ]
    assert Counter((a["notifier"], a["channel"]) for a in change_rows) == {
        ("slack", "#nk-casualties"): 1,
        ("email", None): 1,
    }
    change_ids = {a["id"] for a in change_rows}
    posted = [m for m in slack.messages[before_slack:] if alert_id(m) in change_ids]
    assert len(posted) == 1
    assert posted[0]["channel"] == slack.channel_id("#nk-casualties")
    text = json.dumps(posted[0])
    assert "4,000" in text and "3,000" in text and "Zelensky" in text, (
        text
    )  # before → after, by whom
    # On Slack the change is a reply in the figure's thread, whose first message (the first
    # nk_killed change) is edited into a dashboard of the current range of estimates.
    parent = next(m for m in slack.messages if m["ts"] == posted[0].get("thread_ts"))
    first_change = next(a for a in alerts if a["id"] == alert_id(parent))
    assert first_change["kind"] == "figure_change"
    [dashboard] = [a for a in alerts if a["kind"] == "dashboard"]
    assert dashboard["state"] == "sent" and dashboard["channel"] == "#nk-casualties"
    assert parent.get("edited") and "nk_killed" in parent["text"]
    assert "3,000–4,000" in parent["text"], parent["text"]
    # every other Slack alert is exactly one message
    assert sorted(slack_alert_ids(slack)) == sorted(
        a["id"] for a in alerts if a["notifier"] == "slack" and a["kind"] != "dashboard"
    )
    figures = cli_json("figures", "nk_killed", "--json", "--config", config)
    assert figures[0]["low"] == 4000  # newest first

    # Round 4: a partitive restates both known values ("11,000 … deployed and at least
    # 4,000 of them have been killed"): the 4,000 are the killed, not troops deployed, so
    # no figure changes and no figure_change alert is recorded.
    round3 = round2.replace("<item>", (DATA / "kyiv-round3-item.xml").read_text() + "\n<item>", 1)
    feeds.add("/kyiv.xml", round3.encode(), content_type="application/rss+xml")
    assert main(["run", "--once", "--config", config]) == 0
    alerts = cli_json("alerts", "--json", "--config", config)
    assert [a for a in alerts if (a["url"] or "").endswith("nk-pullback")], "stored and matched"
    assert not [
        a
        for a in alerts
        if a["kind"] == "figure_change" and (a["url"] or "").endswith("nk-pullback")
    ]
    deployed = cli_json("figures", "nk_troops_deployed", "--json", "--config", config)
    assert {(f["low"], f["high"]) for f in deployed} == {(11000, 11000)}


def test_run_once_as_a_subprocess_prints_alerts_on_the_console(
    tmp_path: Path, feeds: FeedServer
) -> None:
    config = {
        "database": {"url": f"sqlite:///{tmp_path / 'console.db'}"},
        "watchlists": str(REPO / "watchlists"),
        "feeds": [{"url": feeds.url("/kyiv.xml"), "name": "Kyiv Desk", "fetch_article": "never"}],
        "fetch": {"allow_private_networks": True},
        "notifiers": {"console": {}},
        "http": {"listen": None},
        "alerts": {"max_age": "off"},
    }
    path = tmp_path / "console.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "monitor", "run", "--once", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert "[New story]" in run.stdout
    assert "Zelensky: at least 3,000 North Korean soldiers killed in Kursk" in run.stdout
    assert "polled 1 feeds (0 failed)" in run.stderr
