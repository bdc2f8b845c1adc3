"""Old news is history, not an alert: ``newsmon run --once`` against a local feed server.

A feed added today carries stories weeks old and an undated one. The first run stores them
(items, stories, figures) as the feed's baseline without alerting; the fresh story alerts,
and its figure is compared with the baseline's. On SQLite and PostgreSQL: the first poll,
the counts and the known values are the database's.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.cli.main import main
from tests.e2e.test_e2e import cli_json
from tests.support.config import write_config
from tests.support.feedserver import FeedServer
from tests.support.paths import REPO

NOW = datetime.now(UTC)

ZELENSKY = (
    "Zelensky: at least 3,000 North Korean soldiers killed in Kursk",
    "President Volodymyr Zelensky said that at least 3,000 North Korean soldiers have been "
    "killed in Russia's Kursk region since the units arrived at the front.",
)
DEMINING = (
    "North Korean engineers begin clearing mines near Sudzha",
    "Military engineers from North Korea have started demining fields and roads around "
    "Sudzha in Russia's Kursk region, Ukrainian intelligence said.",
)
NIS = (
    "Spy agency says about 11,000 North Korean troops are in Russia",
    "South Korea's National Intelligence Service said that North Korea has sent about 11,000 "
    "soldiers to Russia, and that most of them are deployed in the Kursk region.",
)
UPDATE = (
    "Ukraine now puts North Korean deaths at 4,000",
    "Ukraine's military intelligence said that 4,000 North Korean soldiers have been killed "
    "in the fighting in Russia's Kursk region.",
)
ROTATION = (
    "Second rotation of North Korean troops reaches Kursk",
    "A second rotation of North Korean soldiers has been deployed to Russia's Kursk region, "
    "Ukrainian intelligence said.",
)


def rss_item(slug: str, story: tuple[str, str], age: timedelta | None) -> str:
    date = f"<pubDate>{format_datetime(NOW - age)}</pubDate>" if age is not None else ""
    title, text = story
    return (
        f"<item><title>{title}</title><link>http://kyiv.test/{slug}</link>"
        f'<guid isPermaLink="false">{slug}</guid>{date}'
        f"<description><![CDATA[<p>{text}</p>]]></description></item>"
    )


def rss(*items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>Kyiv Desk</title><link>http://kyiv.test/</link><description>t</description>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


BACKLOG = [
    rss_item("old-zelensky", ZELENSKY, timedelta(days=20)),
    rss_item("old-demining", DEMINING, timedelta(days=25)),
    rss_item("undated-nis", NIS, None),
    rss_item("fresh-update", UPDATE, timedelta(hours=1)),
]


def kyiv_config(tmp_path: Path, db_url: str, feeds: FeedServer, **feed: Any) -> str:
    path = write_config(
        tmp_path,
        database={"url": db_url},
        watchlists=str(tmp_path / "watchlists"),
        feeds=[{"url": feeds.url("/kyiv.xml"), "name": "Kyiv Desk", **feed}],
        fetch={"allow_private_networks": True, "timeout": "10s"},
        notifiers={"console": {}},
        log={"level": "WARNING"},
    )
    return str(path)


@pytest.fixture
def watchlists(tmp_path: Path) -> Path:
    directory = tmp_path / "watchlists"
    shutil.copytree(REPO / "watchlists", directory)
    return directory


def run_once(config: str, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["run", "--once", "--config", config]) == 0
    return capsys.readouterr().err.strip()


def alerted(config: str) -> dict[str, set[str]]:
    """Per alerted entry (its slug), the alert kinds it raised."""
    alerts: dict[str, set[str]] = {}
    for alert in cli_json("alerts", "--json", "--config", config):
        alerts.setdefault(alert["url"].rsplit("/", 1)[-1], set()).add(alert["kind"])
    return alerts


def test_a_new_feed_backlog_is_stored_as_baseline_and_only_the_fresh_story_alerts(
    tmp_path: Path,
    db_url: str,
    watchlists: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with FeedServer() as feeds:
        feeds.add("/kyiv.xml", rss(*BACKLOG), content_type="application/rss+xml")
        config = kyiv_config(tmp_path, db_url, feeds, fetch_article="never")

        line = run_once(config, capsys)
        assert line == (
            "newsmon: polled 1 feeds (0 failed), 4 new items "
            "(3 taken as baseline: old news, no alerts), 2 alerts delivered"
        )
        # The old and the undated entries are history; the fresh one is news, and its
        # figure changed from the value the baseline stored.
        assert alerted(config) == {"fresh-update": {"new_item", "figure_change"}}
        [change] = [a for a in cli_json("alerts", "--json", "--config", config)
                    if a["kind"] == "figure_change"]  # fmt: skip
        assert change["state"] == "sent"
        killed = cli_json("figures", "nk_killed", "--json", "--config", config)
        assert [(f["low"], f["changed"]) for f in killed] == [(4000, True), (3000, True)]
        troops = cli_json("figures", "--json", "--config", config)
        assert 11000 in {f["low"] for f in troops}  # the undated entry's figure is stored
        [feed] = cli_json("feeds", "--json", "--config", config)
        assert feed["baseline_entries"] == 3

        # Later polls: an undated entry is new now, not the feed's baseline.
        feeds.add(
            "/kyiv.xml",
            rss(rss_item("undated-rotation", ROTATION, None), *BACKLOG),
            content_type="application/rss+xml",
        )
        line = run_once(config, capsys)
        assert line.startswith("newsmon: polled 1 feeds (0 failed), 1 new items, ")
        assert alerted(config)["undated-rotation"] == {"new_item"}
        [feed] = cli_json("feeds", "--json", "--config", config)
        assert feed["baseline_entries"] == 3
        capsys.readouterr()
        assert main(["feeds", "--config", config]) == 0
        table = capsys.readouterr().out
        header, row = table.splitlines()[0], table.splitlines()[-1]
        assert header.split()[-3:] == ["baseline", "last", "error"]
        assert row.split()[-1] == "3"  # no error after it


def test_a_feed_or_watchlist_max_age_reaches_further_back_and_off_alerts_everything(
    tmp_path: Path,
    sqlite_url: str,
    watchlists: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The demining watchlist wants the last four weeks; the feed keeps the default (2 days).
    demining = watchlists / "demining.yaml"
    demining.write_text(demining.read_text() + '\nmax_age: "4w"\n')
    with FeedServer() as feeds:
        feeds.add("/kyiv.xml", rss(*BACKLOG), content_type="application/rss+xml")
        config = kyiv_config(tmp_path, sqlite_url, feeds, fetch_article="never")
        line = run_once(config, capsys)
        assert "4 new items (3 taken as baseline: old news, no alerts)" in line
        assert alerted(config) == {
            "old-demining": {"new_item"},  # 25 days old: within the watchlist's 4 weeks
            "fresh-update": {"new_item", "figure_change"},
        }

    # A feed with max_age "off": its whole backlog alerts, the undated entry too.
    with FeedServer() as feeds:
        feeds.add("/kyiv.xml", rss(*BACKLOG), content_type="application/rss+xml")
        config = kyiv_config(
            tmp_path, f"sqlite:///{tmp_path / 'off.db'}", feeds, fetch_article="never",
            max_age="off",
        )  # fmt: skip
        line = run_once(config, capsys)
        assert "4 new items, " in line and "baseline" not in line
        assert set(alerted(config)) == {
            "old-zelensky",
            "old-demining",
            "undated-nis",
            "fresh-update",
        }


def test_the_watchlist_max_age_wins_over_the_feeds_which_wins_over_alerts_max_age() -> None:
    from monitor.alerting.baseline import Baseline
    from monitor.config.settings import DEFAULT_MAX_AGE

    class Wl:
        def __init__(self, name: str, max_age: float | None) -> None:
            self.name, self.max_age = name, max_age

    day = 86400.0
    wls = [Wl("eager", 30 * day), Wl("strict", 3600.0), Wl("plain", None)]
    week_old, hours_old = NOW - timedelta(days=7), NOW - timedelta(hours=3)

    default = Baseline.of(DEFAULT_MAX_AGE, None, wls)
    old = default.judge(week_old, NOW, first_poll=False)
    assert old.baseline and [w.name in old for w in wls] == [False, True, True]
    recent = default.judge(hours_old, NOW, first_poll=False)
    assert not recent.baseline and [w.name in recent for w in wls] == [False, True, False]

    slow_feed = Baseline.of(DEFAULT_MAX_AGE, 14 * day, wls)
    old = slow_feed.judge(week_old, NOW, first_poll=False)
    assert not old.baseline and [w.name in old for w in wls] == [False, True, False]

    undated = default.judge(None, NOW, first_poll=True)
    assert undated.baseline and [w.name in undated for w in wls] == [True, True, True]
    assert not default.judge(None, NOW, first_poll=False).baseline
