"""Attacks through the whole poll path: SSRF, XML entities, secrets in output.

SSRF: with ``allow_private_networks: false`` a feed, an article link or a redirect hop that
resolves to a non-public address is refused after resolution. Names resolve through a stub
resolver and connections go to a recording backend that answers from memory, so no packet
leaves this process — a broken guard could not reach anything.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from monitor.config.load import load_config
from monitor.pipeline.cycle import CycleReport, run_once
from monitor.runtime.app import build_app
from tests.sources.test_faults import Setup, feeds_json, items_of, rss, server
from tests.support.config import NO_MAX_AGE, write_config
from tests.support.feedserver import FeedServer
from tests.support.paths import REPO
from tests.support.stubnet import StubBackend, http_response, stub_fetcher, stub_resolver

__all__ = ["server"]

FEED = rss("public", 1)
ARTICLE_FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>p</title>
<item><title>Short</title><link>http://metadata.test/latest/meta-data/</link>
<guid>art-1</guid><description>Too short.</description></item></channel></rss>"""


DNS = {
    "news.test": ["93.184.216.34"],  # public (never contacted: the backend answers)
    "mixed.test": ["93.184.216.35", "10.0.0.7"],
    "metadata.test": ["169.254.169.254"],
    "intranet.test": ["192.168.1.10"],
    "v6.test": ["::1"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "cgnat.test": ["100.64.1.1"],
    "multicast.test": ["224.0.0.1"],
}
REPLIES = {
    "93.184.216.34": http_response(FEED, **{"Content-Type": "application/rss+xml"}),
}


def stub_cycle(tmp_path: Path, urls: dict[str, str], replies: dict[str, bytes]) -> Any:
    config_path = write_config(
        tmp_path,
        feeds=[{"url": url, "name": name, "fetch_article": "always"} for name, url in urls.items()],
        fetch={"allow_private_networks": False, "timeout": "2s"},
        alerts=NO_MAX_AGE,
    )
    app = build_app(load_config(str(config_path)))
    backend = StubBackend(replies)

    async def go() -> CycleReport:
        async with stub_fetcher(backend, stub_resolver(DNS), app.config.fetch) as fetcher:
            return await run_once(app, fetcher)

    report = asyncio.run(go())
    return report, backend, str(config_path)


PRIVATE = ["mixed", "metadata", "intranet", "v6", "mapped", "cgnat", "multicast"]


def test_ssrf_feed_urls_are_refused_through_the_poll_path(tmp_path: Path) -> None:
    urls = {"public": "http://news.test/rss"}
    urls |= {name: f"http://{name}.test/rss" for name in PRIVATE}
    urls["literal"] = "http://127.0.0.1:5432/"
    urls["literal6"] = "http://[::1]/"
    _report, backend, config = stub_cycle(tmp_path, urls, REPLIES)
    assert backend.hosts == ["93.184.216.34"], "only the public address was contacted"
    rows = feeds_json(config)
    assert rows["public"]["last_error"] is None and rows["public"]["last_status"] == 200
    for name in [*PRIVATE, "literal", "literal6"]:
        assert "refused" in rows[name]["last_error"], rows[name]
        assert "allow_private_networks" in rows[name]["last_error"]
        assert rows[name]["consecutive_failures"] == 1 and not rows[name]["gone"]
    assert items_of(config)["public"] == 1


def test_ssrf_every_redirect_hop_is_refused_through_the_poll_path(tmp_path: Path) -> None:
    replies = {
        "93.184.216.34": http_response(
            b"", "301 Moved Permanently", Location="http://metadata.test/latest/"
        )
    }
    _report, backend, config = stub_cycle(tmp_path, {"hop": "http://news.test/rss"}, replies)
    assert backend.hosts == ["93.184.216.34"]
    row = feeds_json(config)["hop"]
    assert "refused metadata.test" in row["last_error"] and "169.254.169.254" in row["last_error"]
    assert row["moved_to"] is None, "a refused hop never becomes the feed's address"


def test_ssrf_article_links_are_refused_and_the_entry_kept(tmp_path: Path) -> None:
    replies = {"93.184.216.34": http_response(ARTICLE_FEED)}
    _report, backend, config = stub_cycle(tmp_path, {"art": "http://news.test/rss"}, replies)
    assert backend.hosts == ["93.184.216.34"], "the article link was not fetched"
    assert items_of(config)["art"] == 1, "the entry is stored with the feed's summary"


# --- XML attacks through the poll path ---------------------------------------------------


def test_xml_entity_attacks_through_the_poll_path(server: FeedServer, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    server.add("/evil.dtd", b'<!ENTITY remote "REMOTE-MARKER">')
    server.add("/remote.txt", b"REMOTE-MARKER")
    xxe = f"""<?xml version="1.0"?>
<!DOCTYPE rss SYSTEM "{server.url("/evil.dtd")}" [
  <!ENTITY local SYSTEM "{secret.as_uri()}">
  <!ENTITY remote SYSTEM "{server.url("/remote.txt")}">
  <!ENTITY % param SYSTEM "{server.url("/evil.dtd")}">
  %param;
]>
<rss version="2.0"><channel><title>t &local; &remote;</title>
<item><title>XXE &local;</title><description>&remote; body</description>
<guid>xxe-1</guid><link>https://x.example/a</link></item></channel></rss>""".encode()
    laughs = (REPO / "tests" / "data" / "feeds" / "billion-laughs.xml").read_bytes()
    server.add("/xxe", xxe)
    server.add("/laughs", laughs)
    setup = Setup(tmp_path, server)
    setup.feed("xxe", "/xxe")
    setup.feed("laughs", "/laughs")
    config = setup.write()
    app = build_app(load_config(config))
    asyncio.run(run_once(app))
    with app.sessions() as session:
        from sqlalchemy import text

        dump = json.dumps(
            [list(r) for r in session.execute(text("SELECT * FROM items"))], default=str
        )
    assert "TOP-SECRET-MARKER" not in dump and "REMOTE-MARKER" not in dump
    assert "lollollol" not in dump and len(dump) < 20_000
    assert server.hits["/evil.dtd"] == server.hits["/remote.txt"] == 0, "nothing fetched"
    rows = feeds_json(config)
    assert rows["xxe"]["consecutive_failures"] == rows["laughs"]["consecutive_failures"] == 0


# --- secrets never appear in output --------------------------------------------------------

SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-SECRET-TOKEN-4242",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/SECRET-HOOK-4242",
    "NEWSMON_SMTP_PASSWORD": "SECRET-SMTP-PASSWORD-4242",
}


def test_secrets_never_appear_in_any_output(server: FeedServer, tmp_path: Path) -> None:
    server.add("/good", (REPO / "tests" / "data" / "e2e" / "kyiv-round1.xml").read_bytes())
    server.add("/bad", b"", status=500)
    config = {
        "database": {"url": f"sqlite:///{tmp_path / 's.db'}"},
        "watchlists": str(REPO / "watchlists"),
        "feeds": [
            {"url": server.url("/good"), "name": "good", "fetch_article": "never"},
            {"url": server.url("/bad"), "name": "bad", "fetch_article": "never"},
        ],
        "fetch": {"allow_private_networks": True, "timeout": "2s"},
        # Slack and SMTP point at closed local ports: every send fails with an error.
        "notifiers": {
            "slack": {"base_url": "http://127.0.0.1:1/api/", "channel": "#x"},
            "email": {
                "host": "127.0.0.1",
                "port": 1,
                "username": "newsmon",
                "to": ["a@test.example"],
            },
            "console": {},
        },
        "http": {"listen": None},
        "alerts": {"max_age": "off"},  # fixture stories are dated Nov 2026
        "log": {"level": "DEBUG", "format": "json"},
    }
    path = tmp_path / "newsmon.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env |= SECRETS | {"PYTHONPATH": str(REPO)}
    outputs = []
    for args in (
        ["validate"],
        ["run", "--once"],
        ["feeds"],
        ["feeds", "--json"],
        ["alerts", "--json"],
        ["db", "upgrade"],
    ):
        run = subprocess.run(
            [sys.executable, "-m", "monitor", *args, "--config", str(path)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=tmp_path,
        )
        outputs.append(f"$ {args}\n{run.stdout}\n{run.stderr}")
    everything = "\n".join(outputs)
    assert "HTTP 500" in everything, "the failing feed was reported"
    assert '"notifier": "slack"' in everything and '"notifier": "email"' in everything
    assert '"state": "pending"' in everything, "deliveries failed and were kept for retry"
    for name, value in SECRETS.items():
        assert value not in everything, f"{name} leaked"
        assert value[-12:] not in everything, f"part of {name} leaked"
