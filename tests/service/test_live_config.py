"""The running service follows its config: the feeds file and the config reload live (and
on SIGHUP) keeping the last good version; feed and cycle metrics move; /healthz fails when
the scheduler stops ticking."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx
import pytest
import yaml

from monitor.config.load import load_config
from monitor.pipeline.cycle import sync_feeds
from monitor.runtime.app import App, build_app
from monitor.service.health import start_health_server
from monitor.service.runner import Service
from monitor.sources.fetch import Fetcher
from storage import queries
from tests.support.paths import REPO

WATCHLIST = (REPO / "tests/data/watchlists/one_word.yaml.template").read_text(encoding="utf-8")
RSS = REPO / "tests/data/feeds/rss20.xml"


def _later(path: Path, text: str) -> None:
    """Write ``text`` with a modification time clearly after the previous one."""
    before = path.stat().st_mtime if path.exists() else time.time()
    path.write_text(text, encoding="utf-8")
    os.utime(path, (before + 10, before + 10))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "watchlists").mkdir()
    (tmp_path / "watchlists" / "alpha.yaml").write_text(
        WATCHLIST.format(name="alpha", word="Aardvark")
    )
    config = {
        "database": {"url": f"sqlite:///{tmp_path / 'newsmon.db'}"},
        "watchlists": "watchlists",
        "notifiers": {"console": {}},
        "http": {"listen": None},
        "feeds": [{"url": RSS.as_uri(), "name": "Fixture", "fetch_article": "never"}],
    }
    (tmp_path / "newsmon.yaml").write_text(yaml.safe_dump(config))
    return tmp_path


@pytest.fixture
def service(folder: Path) -> Service:
    path = folder / "newsmon.yaml"
    app = build_app(load_config(str(path)))
    return Service(app, path)


def _active_feeds(app: App) -> list[str]:
    with app.sessions() as session:
        return sorted(f.url for f in queries.list_feeds(session) if f.active)


def _sample(app: App, name: str, **labels: str) -> float | None:
    return app.metrics.registry.get_sample_value(name, labels)


def test_a_feed_added_to_the_feeds_file_is_polled_without_a_restart(
    service: Service, folder: Path
) -> None:
    app = service.app
    added = "https://added.example/rss"
    _later(folder / "feeds.yaml", f"feeds:\n  - {{url: '{added}', name: Added}}\n")

    asyncio.run(service._housekeeping())

    assert [f.url for f in app.config.feeds] == [RSS.as_uri(), added]
    assert _active_feeds(app) == sorted([RSS.as_uri(), added])
    assert _sample(app, "newsmon_reloads_total", outcome="ok") == 1

    _later(folder / "feeds.yaml", "feeds: []\n")
    asyncio.run(service._housekeeping())
    assert _active_feeds(app) == [RSS.as_uri()]  # the removed feed's history stays, inactive


def test_a_broken_config_keeps_the_last_good_version_and_counts_a_failed_reload(
    service: Service, folder: Path
) -> None:
    app = service.app
    good = app.config
    _later(folder / "newsmon.yaml", (folder / "newsmon.yaml").read_text() + "bogus_key: 1\n")

    asyncio.run(service._housekeeping())
    asyncio.run(service._housekeeping())  # the same broken file is counted once

    assert app.config is good
    assert app.reload_error and "bogus_key: unknown key" in app.reload_error
    assert _sample(app, "newsmon_reloads_total", outcome="failed") == 1


def test_sighup_reloads_routes_and_notifiers_but_not_settings_bound_at_start(
    service: Service, folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = service.app
    config = yaml.safe_load((folder / "newsmon.yaml").read_text())
    config["notifiers"] = {}
    config["tick"] = "1s"
    (folder / "newsmon.yaml").write_text(yaml.safe_dump(config))

    service.reload()  # what SIGHUP calls

    assert app.notifiers == {}
    assert app.config.tick == 5.0  # bound at start: the next restart applies it
    assert "tick take effect at the next restart" in caplog.text


def test_the_running_service_records_feed_counts_and_cycle_time(service: Service) -> None:
    app = service.app
    sync_feeds(app)  # as Service.run does at start

    async def one_tick() -> None:
        async with Fetcher(app.config.fetch) as fetcher:
            await service._timed_poll(fetcher, 10)
        await service._housekeeping()

    asyncio.run(one_tick())

    assert _sample(app, "newsmon_feeds") == 1
    assert _sample(app, "newsmon_feeds_failing") == 0
    assert _sample(app, "newsmon_cycle_seconds_count") == 1


def test_healthz_fails_when_the_scheduler_has_not_ticked_for_a_while(service: Service) -> None:
    app = service.app
    with start_health_server(
        "127.0.0.1:0", service.readiness, app.metrics, liveness=service.liveness
    ) as h:
        assert httpx.get(h.url + "/healthz", trust_env=False).status_code == 200
        service._last_tick -= 3600
        response = httpx.get(h.url + "/healthz", trust_env=False)
    assert response.status_code == 503
    assert response.text.startswith("scheduler stalled: no tick for 36")


@pytest.mark.slow
def test_the_running_service_polls_a_feed_added_with_the_cli_and_reloads_on_sighup(
    tmp_path: Path,
) -> None:
    import signal

    from monitor.cli.main import main
    from tests.support.feedserver import FeedServer
    from tests.support.service_process import ServiceProcess

    with FeedServer() as server:
        first = server.add("/first.xml", RSS.read_bytes(), content_type="application/rss+xml")
        added = server.add("/added.xml", RSS.read_bytes(), content_type="application/rss+xml")
        (tmp_path / "watchlists").mkdir()
        (tmp_path / "watchlists" / "alpha.yaml").write_text(
            WATCHLIST.format(name="alpha", word="Aardvark")
        )
        config = {
            "database": {"url": f"sqlite:///{tmp_path / 'newsmon.db'}"},
            "watchlists": "watchlists",
            "feeds": [{"url": first, "interval": "1h", "fetch_article": "never"}],
            "fetch": {"allow_private_networks": True, "timeout": "5s"},
            "notifiers": {"console": {}},
            "http": {"listen": "127.0.0.1:0"},
            "log": {"level": "INFO", "format": "json"},
            "tick": "0.2s",
        }
        path = tmp_path / "newsmon.yaml"
        path.write_text(yaml.safe_dump(config))
        with ServiceProcess(path) as service:
            assert server.wait_for_hits("/first.xml", 1, timeout=15)
            assert main(["feeds", "add", added, "--config", str(path)]) == 0
            service.send(signal.SIGHUP)  # the file watch would find it within 5 s too
            assert server.wait_for_hits("/added.xml", 1, timeout=15), service.log_text()
            response = httpx.get(service.url + "/metrics", trust_env=False).text
            assert 'newsmon_reloads_total{outcome="ok"}' in response
            assert httpx.get(service.url + "/healthz", trust_env=False).text == "ok\n"
            assert service.stop() == 0


def test_healthz_answers_503_when_the_liveness_check_itself_raises(service: Service) -> None:
    def broken() -> tuple[bool, str]:
        raise RuntimeError("clock gone")

    with start_health_server(
        "127.0.0.1:0", service.readiness, service.app.metrics, liveness=broken
    ) as h:
        response = httpx.get(h.url + "/healthz", trust_env=False)
    assert response.status_code == 503
    assert "liveness check raised RuntimeError: clock gone" in response.text
