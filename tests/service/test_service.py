"""``newsmon run`` as operators see it: endpoints, metrics, JSON logs, live watchlists, signals.

Each test starts the real service as a subprocess against local feed servers and waits on
what it logs or serves, never on sleeps.
"""

from __future__ import annotations

import itertools
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.config.load import load_config
from monitor.runtime.app import build_app
from monitor.service.health import start_health_server
from monitor.service.runner import Service
from storage.db import make_engine, upgrade
from tests.support.config import write_config
from tests.support.feedserver import FeedServer, Request, Response
from tests.support.service_process import ServiceProcess, rss, story_text, wait_until

WATCHLIST = """\
name: {name}
description: test watchlist {name}
terms:
  word: [{word}]
match:
  all_of: [word]
alerts: [new_item]
routes:
  - {{notifier: console}}
"""

METRICS = (
    "newsmon_polls_total",
    "newsmon_fetch_seconds_bucket",
    "newsmon_items_total",
    "newsmon_matches_total",
    "newsmon_alerts_total",
    "newsmon_delivery_seconds_bucket",
    "newsmon_watchlists_loaded",
    "newsmon_build_info",
)


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def rotating_feed(text: str) -> Any:
    """A feed handler that carries one new entry on every request."""
    counter = itertools.count(1)

    def handle(_request: Request) -> Response:
        n = next(counter)
        body = f"{text} {story_text(str(n), 'Update')}"
        return Response(200, rss([(f"entry-{n}", f"Report {n}", body)]))

    return handle


def zoo_config(tmp_path: Path, feeds: FeedServer, **extra: Any) -> Path:
    watchlists = tmp_path / "watchlists"
    watchlists.mkdir(exist_ok=True)
    (watchlists / "alpha.yaml").write_text(WATCHLIST.format(name="alpha", word="Aardvark"))
    zoo = {"url": feeds.url("/feed.xml"), "name": "Zoo Desk", "interval": "1s"}
    return write_config(
        tmp_path,
        watchlists=str(watchlists),
        feeds=[{**zoo, "fetch_article": "never"}],
        fetch={"allow_private_networks": True, "timeout": "5s", "min_interval": "1s"},
        notifiers={"console": {}},
        http={"listen": "127.0.0.1:0"},
        log={"level": "INFO", "format": "json"},
        delivery={"interval": "1s"},
        tick="0.2s",
        **extra,
    )


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(want) + r"\}" if want else "") + r" (\S+)"
    found = re.search(r"^" + pattern + r"$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_run_serves_health_readiness_and_metrics_and_logs_json_naming_each_feed(
    tmp_path: Path, feeds: FeedServer
) -> None:
    feeds.add("/feed.xml", rotating_feed("An Aardvark escaped from the zoo."))
    config = zoo_config(tmp_path, feeds)
    with (
        ServiceProcess(config) as service,
        httpx.Client(base_url=service.url, timeout=5, trust_env=False) as client,
    ):
        assert client.get("/healthz").text == "ok\n"
        # Two cycles with a match each, and their alerts delivered.
        assert wait_until(
            lambda: (
                metric(
                    client.get("/metrics").text,
                    "newsmon_alerts_total",
                    kind="new_item",
                    state="sent",
                )
                >= 2
            ),
            timeout=15,
        ), service.log_text()
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        checks = ready.json()["checks"]
        assert set(checks) == {"database", "scheduler", "watchlists"}
        assert "schema at revision" in checks["database"]["detail"]
        assert checks["watchlists"]["detail"] == "alpha"
        text = client.get("/metrics").text
        for name in METRICS:
            assert name in text, name
        assert metric(text, "newsmon_polls_total", outcome="ok") >= 2
        assert metric(text, "newsmon_items_total", result="new") >= 2
        assert metric(text, "newsmon_matches_total", watchlist="alpha") >= 2
        assert service.stop() == 0

    assert service.lines and not [line for line in service.lines if line.get("not_json")]
    assert all({"ts", "level", "logger", "msg"} <= set(line) for line in service.lines)
    polled = [line for line in service.lines if line["msg"].startswith("polled feed")]
    assert polled and all(line["feed"] == feeds.url("/feed.xml") for line in polled)
    sent = [line for line in service.lines if line["msg"] == "alert sent"]
    assert sent and all(isinstance(line["alert_id"], int) for line in sent)
    assert service.lines[-1]["msg"] == "stopped"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_run_stops_cleanly_on_a_signal(
    tmp_path: Path, feeds: FeedServer, sig: signal.Signals
) -> None:
    feeds.add("/feed.xml", rotating_feed("Nothing to see."))
    with ServiceProcess(zoo_config(tmp_path, feeds)) as service:
        service.wait_for_log(lambda line: line["msg"].startswith("polled feed"))
        assert service.stop(sig) == 0
    assert service.lines[-1]["msg"] == "stopped"


def test_an_edited_watchlist_takes_effect_and_a_broken_edit_keeps_the_last_good_version(
    tmp_path: Path, feeds: FeedServer
) -> None:
    feeds.add("/feed.xml", rotating_feed("A Zebra crossed the road."))
    config = zoo_config(tmp_path, feeds)
    beta = tmp_path / "watchlists" / "beta.yaml"
    with (
        ServiceProcess(config) as service,
        httpx.Client(base_url=service.url, timeout=5, trust_env=False) as client,
    ):
        service.wait_for_log(lambda line: line["msg"].startswith("polled feed"))
        assert metric(client.get("/metrics").text, "newsmon_matches_total", watchlist="beta") == 0

        # A new watchlist: picked up (SIGHUP forces the check), then new entries match it.
        beta.write_text(WATCHLIST.format(name="beta", word="Zebra"))
        service.send(signal.SIGHUP)
        service.wait_for_log(lambda line: line["msg"] == "watchlists reloaded: alpha, beta")
        assert wait_until(
            lambda: (
                metric(client.get("/metrics").text, "newsmon_matches_total", watchlist="beta") >= 1
            ),
            timeout=10,
        ), service.log_text()

        # A broken edit: reported with FILE:LINE in the log and /readyz; beta stays in force.
        beta.write_text(WATCHLIST.format(name="beta", word="Zebra") + "match: [unclosed\n")
        service.send(signal.SIGHUP)
        error = service.wait_for_log(lambda line: "reload failed" in line["msg"])
        assert error["level"] == "ERROR"
        assert re.search(re.escape(str(beta)) + r":\d+: ", error["msg"]), error["msg"]
        detail = client.get("/readyz").json()["checks"]["watchlists"]
        assert detail["ok"] is True
        assert detail["detail"].startswith("alpha, beta; last reload failed: ")
        assert re.search(re.escape(str(beta)) + r":\d+: ", detail["detail"])
        matched = metric(client.get("/metrics").text, "newsmon_matches_total", watchlist="beta")
        assert wait_until(
            lambda: (
                metric(client.get("/metrics").text, "newsmon_matches_total", watchlist="beta")
                > matched
            ),
            timeout=10,
        ), "the last good beta still matches new entries"
        assert service.stop() == 0


def test_readyz_is_503_while_the_database_is_not_migrated_or_unreachable(
    tmp_path: Path, feeds: FeedServer
) -> None:
    app = build_app(load_config(str(zoo_config(tmp_path, feeds))), migrate=False)
    service = Service(app)
    with start_health_server("127.0.0.1:0", service.readiness, app.metrics) as health:
        url = health.url + "/readyz"

        def database() -> tuple[int, dict[str, Any]]:
            response = httpx.get(url, trust_env=False)
            return response.status_code, response.json()["checks"]["database"]

        status, check = database()
        assert status == 503 and check["ok"] is False
        assert "schema at revision none" in check["detail"]

        upgrade(app.engine)
        status, check = database()
        assert check["ok"] is True  # still 503: the scheduler is not running here
        assert status == 503

        app.engine = make_engine("postgresql+psycopg://newsmon@127.0.0.1:1/absent")
        status, check = database()
        assert status == 503 and check["ok"] is False
        assert check["detail"].startswith("unreachable: ")
