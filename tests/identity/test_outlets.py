"""Outlets are registrable domains by the Public Suffix List: two sites on github.io are two
outlets, so a story they both carry reaches a watchlist's ``min_outlets: 2`` through
``run --once`` (a hand rule made them one outlet, ``github.io``, and the story never
alerted)."""

from __future__ import annotations

import json
import random
from contextlib import redirect_stdout
from datetime import UTC, datetime
from email.utils import format_datetime
from io import StringIO
from pathlib import Path

import pytest
import yaml

from monitor.cli.main import main
from tests.alerting.test_noise_control import WATCHLIST, WORDS


def rss(items: list[tuple[str, str]], text: str) -> str:
    date = format_datetime(datetime.now(UTC))
    body = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{date}</pubDate><description>{text}</description></item>"
        for title, link in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Blogs</title>'
        f"<link>https://planet.example/</link>{body}</channel></rss>"
    )


def test_two_github_io_sites_are_two_outlets_for_min_outlets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    watchlists = tmp_path / "watchlists"
    watchlists.mkdir()
    data = yaml.safe_load(WATCHLIST.read_text(encoding="utf-8"))
    data["routes"] = [{"notifier": "console"}]
    data["noise"] = {"min_outlets": 2}
    (watchlists / "noisy.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    text = "Boats in the harbour of Port Alder. " + " ".join(random.Random(1).sample(WORDS, 60))
    feed = tmp_path / "planet.xml"
    feed.write_text(
        rss(
            [
                ("Harbour story", "https://alice.github.io/harbour"),
                ("Harbour story", "https://bob.github.io/2026/harbour"),
            ],
            text,
        )
    )
    config = {
        "database": {"url": f"sqlite:///{tmp_path / 'outlets.db'}"},
        "watchlists": str(watchlists),
        "feeds": [{"url": feed.as_uri(), "name": "Planet", "fetch_article": "never"}],
        "fetch": {"allow_private_networks": True},
        "notifiers": {"console": {}},
        "http": {"listen": None},
    }
    path = tmp_path / "newsmon.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["run", "--once", "--config", str(path)]) == 0
    capsys.readouterr()
    out = StringIO()
    with redirect_stdout(out):
        assert main(["alerts", "--json", "--config", str(path)]) == 0
    alerts = json.loads(out.getvalue())
    assert [a["kind"] for a in alerts] == ["new_item"]
    assert alerts[0]["state"] == "sent"
