"""A story already stored is never new again, whatever retention drops.

``newsmon run --once`` and the service's retention job against a local feed server, with
the clock moved 91 days ahead (a fake clock every app is built with, the CLI's and the
retention job's), on SQLite and PostgreSQL: items past ``retention.items`` lose their text
but keep their identity as a tombstone while the feed carries them, and go once it
no longer does.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.config.load import load_config
from monitor.runtime import app as app_module
from monitor.runtime.app import build_app
from monitor.service.runner import Service
from storage.models import Item
from tests.alerting.test_baseline import (
    DEMINING,
    NIS,
    ZELENSKY,
    alerted,
    kyiv_config,
    rss,
    rss_item,
    run_once,
)
from tests.support.fakeclock import FakeClock
from tests.support.feedserver import FeedServer
from tests.support.paths import REPO

T0 = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The clock of every app built meanwhile, the CLI's included."""
    fake = FakeClock(T0)
    monkeypatch.setattr(app_module, "database_clock", lambda engine, local=None: fake)
    return fake


def retention(config: str) -> None:
    app = build_app(load_config(config))
    asyncio.run(Service(app)._retention())
    app.engine.dispose()


def stored_items(config: str) -> dict[str, bool]:
    """Per stored item (its slug): whether it is a tombstone."""
    app = build_app(load_config(config))
    with app.sessions() as session:
        rows = session.execute(select(Item.url, Item.pruned_at)).all()
    app.engine.dispose()
    return {(url or "").rsplit("/", 1)[-1]: pruned is not None for url, pruned in rows}


def test_a_story_the_feed_still_carries_after_retention_is_not_announced_again(
    tmp_path: Path, db_url: str, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(REPO / "watchlists", tmp_path / "watchlists")
    # Undated entries and max_age "off": no age rule hides a repeat, only identity can.
    zelensky, demining = rss_item("zelensky", ZELENSKY, None), rss_item("demining", DEMINING, None)
    with FeedServer() as feeds:
        feeds.add("/kyiv.xml", rss(zelensky, demining), content_type="application/rss+xml")
        config = kyiv_config(tmp_path, db_url, feeds, fetch_article="never", max_age="off")
        assert "2 new items" in run_once(config, capsys)
        assert set(alerted(config)) == {"zelensky", "demining"}

        # 91 days later retention prunes the items (90 days) and the sent alerts (30 days)
        # while the feed still carries both stories; a third one makes its body change.
        clock.at = T0 + 91 * DAY
        retention(config)
        assert stored_items(config) == {"zelensky": True, "demining": True}
        assert cli_alert_ids(config) == set()  # delivered alerts are gone too
        nis = rss_item("nis", NIS, None)
        feeds.add("/kyiv.xml", rss(nis, zelensky, demining), content_type="application/rss+xml")
        line = run_once(config, capsys)
        assert line.startswith("newsmon: polled 1 feeds (0 failed), 1 new items, "), line
        assert set(alerted(config)) == {"nis"}  # the pruned stories are not new again

        # The feed drops the Zelensky story: its tombstone goes, the carried one stays.
        clock.at = T0 + 92 * DAY
        feeds.add("/kyiv.xml", rss(nis, demining), content_type="application/rss+xml")
        assert "0 new items" in run_once(config, capsys)
        clock.at = T0 + 94 * DAY
        retention(config)
        assert stored_items(config) == {"demining": True, "nis": False}

        # Still carried and edited (same GUID, new text): not new either.
        edited = demining.replace("Ukrainian intelligence said", "officials in Kyiv said")
        feeds.add("/kyiv.xml", rss(nis, edited), content_type="application/rss+xml")
        assert "0 new items" in run_once(config, capsys)
        assert set(alerted(config)) == {"nis"}


def cli_alert_ids(config: str) -> set[int]:
    from tests.e2e.test_e2e import cli_json

    return {a["id"] for a in cli_json("alerts", "--json", "--config", config)}
