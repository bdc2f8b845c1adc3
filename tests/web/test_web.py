"""The web dashboard: pages over data stored by a real ``run --once``, escaping, the token
off loopback, the SVG chart, and each page rendered by headless Chromium.

Set ``NEWSMON_SCREENSHOTS=docs`` to write the Chromium screenshots the README shows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy.orm import Session, sessionmaker

from monitor.cli.main import main
from monitor.runtime.metrics import Metrics
from monitor.service.health import HealthServer, start_health_server
from monitor.web.app import Dashboard, web_dashboard
from monitor.web.charts import Point, estimate_chart
from storage.db import make_engine, read_sessions, sessions, upgrade
from storage.models import AlertRow, Item, Story
from tests.support.feedserver import FeedServer
from tests.support.paths import REPO
from tests.support.service_process import ServiceProcess

DATA = REPO / "tests" / "data"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FIGURE = "nk_killed"
HOSTILE = '<script>alert("pwned")</script>'


def store_history(db_url: str, tmp: Path) -> None:
    """Fill ``db_url`` by two real ``run --once`` over local feeds: the second adds a
    changed figure, so the figure has history from three sources."""
    rss = "application/rss+xml"
    with FeedServer() as feeds:
        feeds.add("/kyiv.xml", (DATA / "e2e" / "kyiv-round1.xml").read_bytes(), content_type=rss)
        feeds.add("/wire.xml", (DATA / "web" / "wire.xml").read_bytes(), content_type=rss)
        config = {
            "database": {"url": db_url},
            "watchlists": str(REPO / "watchlists"),
            "feeds": [
                {"url": feeds.url("/kyiv.xml"), "name": "Kyiv Desk", "fetch_article": "never"},
                {"url": feeds.url("/wire.xml"), "name": "Wire", "fetch_article": "never"},
                {"url": feeds.url("/gone.xml"), "name": "Broken", "fetch_article": "never"},
            ],
            "fetch": {"allow_private_networks": True, "timeout": "10s"},
            "notifiers": {"console": {}},
            "http": {"listen": None},
            "alerts": {"max_age": "off"},
            "log": {"level": "ERROR"},
        }
        path = tmp / "newsmon.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        assert main(["run", "--once", "--config", str(path)]) == 0
        round1 = (DATA / "e2e" / "kyiv-round1.xml").read_text(encoding="utf-8")
        update = (DATA / "e2e" / "kyiv-round2-item.xml").read_text(encoding="utf-8")
        round2 = round1.replace("</channel>", update + "</channel>")
        feeds.add("/kyiv.xml", round2, content_type=rss)
        assert main(["run", "--once", "--config", str(path)]) == 0


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    tmp = tmp_path_factory.mktemp("web")
    url = f"sqlite:///{tmp / 'web.db'}"
    store_history(url, tmp)
    engine = make_engine(url)
    yield read_sessions(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def board(stored: sessionmaker[Session]) -> Dashboard:
    return Dashboard(stored, host="127.0.0.1", token=None)


@pytest.fixture(scope="module")
def server(stored: sessionmaker[Session]) -> Iterator[HealthServer]:
    web = web_dashboard(stored, "127.0.0.1", None)
    with start_health_server("127.0.0.1:0", lambda: {}, Metrics(), web=web) as health:
        yield health


def page(board: Dashboard, target: str) -> str:
    response = board.handle(target, {})
    assert response.status == 200, response.body[:300]
    return response.body.decode()


def test_figures_overview_lists_each_figure_with_its_latest_range(board: Dashboard) -> None:
    html = page(board, "/")
    assert f'href="/figures/{FIGURE}"' in html
    assert "4,000" in html  # the newest estimate, from the second run


def test_figure_page_charts_every_estimate_and_tables_its_sources(board: Dashboard) -> None:
    html = page(board, f"/figures/{FIGURE}")
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart"' in html
    for value in ("3,000", "3,500–4,500", "4,000"):
        assert f'data-value="{value}"' in html  # each estimate drawn, labelled
    assert 'class="band"' in html  # the range drawn as a band
    assert "Spread of sources" in html
    assert "Zelensky" in html  # who said it
    assert 'href="http://wire.test/2026/11/nk-killed-range"' in html
    assert "<th>Corroborations</th>" in html


def test_stories_page_shows_watchlists_outlets_and_alerts(board: Dashboard) -> None:
    html = page(board, "/stories")
    assert "casualty-figures" in html
    # the wire's copy of the Kyiv story: one story, both outlets (the two feeds are polled
    # at once, so either may have stored it first)
    rows = [row for row in html.split("<tr>") if "Zelensky" in row]
    assert len(rows) == 1
    assert "kyiv.test" in rows[0] and "wire.test" in rows[0]
    assert "sent" in html  # the console delivered the alerts


def test_alerts_page_filters_by_state(board: Dashboard) -> None:
    html = page(board, "/alerts?state=sent")
    assert 'class="state-sent">sent</td>' in html
    assert 'class="state-pending">pending</td>' not in html


def test_alerts_page_says_why_an_alert_is_held_rolled_or_failed(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    later = datetime(2030, 1, 1, 7, tzinfo=UTC)
    common = {"kind": "new_item", "notifier": "slack", "channel": "#desk", "watchlists": []}
    with sessions(engine).begin() as session:
        session.add_all(
            [
                AlertRow(dedup_key="h", state="held", hold_reason="quiet_hours",
                         hold_note="quiet 22:00-07:00", next_attempt_at=later, content={},
                         **common),
                AlertRow(dedup_key="r", state="rolled", hold_reason="digest", rolled_into=7,
                         content={}, **common),
                AlertRow(dedup_key="f", state="failed", attempts=5,
                         last_error="slack: channel_not_found", content={}, **common),
            ]
        )  # fmt: skip
    board = Dashboard(read_sessions(engine), host="127.0.0.1", token=None)
    html = page(board, "/alerts")
    assert "held (quiet_hours) until 2030-01-01 07:00: quiet 22:00-07:00" in html
    assert "rolled into digest #7 (digest)" in html
    assert "slack: channel_not_found" in html
    assert "failed (1)" in html
    assert "channel_not_found" not in page(board, "/alerts?state=held")
    engine.dispose()


def test_feeds_page_shows_a_failing_feed_and_its_error(board: Dashboard) -> None:
    html = page(board, "/feeds")
    assert "Broken" in html
    assert "failing ×" in html
    assert "404" in html


def test_a_hostile_title_is_shown_as_text(board: Dashboard) -> None:
    for target in ("/stories", "/figures/nk_troops_deployed", "/alerts"):
        html = page(board, target)
        assert HOSTILE not in html
        assert "<img src=x" not in html
    escaped = "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;"
    assert escaped in page(board, "/stories")
    assert escaped in page(board, "/figures/nk_troops_deployed")  # the article's title


@pytest.mark.postgres
def test_every_page_renders_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    store_history(pg_url, tmp_path)
    engine = make_engine(pg_url)
    board = Dashboard(read_sessions(engine), host="127.0.0.1", token=None)
    assert "4,000" in page(board, "/")
    html = page(board, f"/figures/{FIGURE}")
    assert 'data-value="3,500–4,500"' in html
    assert '<td class="num">2</td>' in html  # the wire's copy corroborates Zelensky
    assert "kyiv.test" in page(board, "/stories")
    assert "sent" in page(board, "/alerts?state=sent")
    assert "failing ×" in page(board, "/feeds")
    engine.dispose()


def test_an_unknown_page_or_figure_is_404(board: Dashboard) -> None:
    assert board.handle("/nope", {}).status == 404
    assert board.handle("/figures/no_such_figure", {}).status == 404


def test_pages_past_the_end_are_empty_not_errors(board: Dashboard) -> None:
    assert "page 99 of 1" in page(board, "/stories?page=99")
    assert "page 1 of 1" in page(board, "/alerts?page=junk")


def test_off_loopback_the_dashboard_needs_its_token(stored: sessionmaker[Session]) -> None:
    board = Dashboard(stored, host="0.0.0.0", token="s3cret")
    assert board.handle("/stories", {}).status == 401
    assert board.handle("/stories?token=wrong", {}).status == 401
    assert board.handle("/stories", {"Authorization": "Bearer s3cret"}).status == 200
    first = board.handle("/stories?token=s3cret", {})
    assert first.status == 200
    cookie = dict(first.headers)["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert board.handle("/feeds", {"Cookie": cookie.split(";")[0]}).status == 200


def test_off_loopback_without_a_token_the_dashboard_is_off(stored: sessionmaker[Session]) -> None:
    board = Dashboard(stored, host="0.0.0.0", token=None)
    response = board.handle("/", {})
    assert response.status == 403
    assert b"NEWSMON_HTTP_TOKEN" in response.body


def test_the_token_can_come_from_the_environment(
    stored: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSMON_HTTP_TOKEN", "from-env")
    handle = web_dashboard(stored, "10.1.2.3", "from-config")
    assert handle("/", {"Authorization": "Bearer from-env"}).status == 200
    assert handle("/", {"Authorization": "Bearer from-config"}).status == 401


def test_probes_stay_open_when_the_dashboard_is_locked(stored: sessionmaker[Session]) -> None:
    web = web_dashboard(stored, "0.0.0.0", "s3cret")
    with start_health_server("127.0.0.1:0", lambda: {}, Metrics(), web=web) as health:
        with urllib.request.urlopen(health.url + "/healthz") as ok:
            assert ok.status == 200
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(health.url + "/figures")
        with denied.value:  # an HTTPError holds the response's socket open until closed
            assert denied.value.code == 401
            assert "default-src 'none'" in denied.value.headers["Content-Security-Policy"]


def test_chart_escapes_sources_and_marks_qualifiers() -> None:
    when = datetime(2026, 11, 16, tzinfo=UTC)
    svg = estimate_chart(
        [
            Point(when, 3000, 3000, 3000, "at_least", "<b>evil</b>"),
            Point(when.replace(day=18), 3500, 4500, 4000, "about", "wire.test"),
        ],
        "people",
    )
    assert "<b>" not in svg
    assert "&lt;b&gt;evil" in svg
    assert svg.count('class="band"') == 1  # only the range is a band
    assert "l6,10 h-12 z" in svg  # "at least": a triangle pointing up
    assert 'fill="white"' in svg  # "about": a hollow marker


def test_chart_of_nothing_says_so() -> None:
    assert "No estimates yet" in estimate_chart([], "people")


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)


needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
PAGES = {"figures": "/", "figure": f"/figures/{FIGURE}", "stories": "/stories"}
PAGES |= {"alerts": "/alerts", "feeds": "/feeds"}


@needs_chromium
@pytest.mark.parametrize("name", list(PAGES))
def test_chromium_renders_each_page(name: str, server: HealthServer, tmp_path: Path) -> None:
    dom = chromium("--dump-dom", server.url + PAGES[name]).stdout
    assert "<header>" in dom and "<table" in dom
    assert HOSTILE not in dom
    shots = Path(os.environ.get("NEWSMON_SCREENSHOTS", tmp_path))
    shot = (REPO / shots if not shots.is_absolute() else shots) / f"dashboard-{name}.png"
    chromium(f"--screenshot={shot}", "--window-size=1280,900", server.url + PAGES[name])
    assert shot.stat().st_size > 5000


@needs_chromium
def test_chromium_shows_the_figure_chart_with_its_values(server: HealthServer) -> None:
    dom = chromium("--dump-dom", server.url + f"/figures/{FIGURE}").stdout
    svg = dom[dom.index("<svg") : dom.index("</svg>")]
    for value in ("3,000", "3,500–4,500", "4,000"):
        assert f">{value}</text>" in svg


def test_newsmon_run_serves_the_dashboard_beside_the_probes(tmp_path: Path) -> None:
    with FeedServer() as feeds:
        feeds.add("/kyiv.xml", (DATA / "e2e" / "kyiv-round1.xml").read_bytes())
        config = {
            "database": {"url": f"sqlite:///{tmp_path / 'newsmon.db'}"},
            "watchlists": str(REPO / "watchlists"),
            "feeds": [{"url": feeds.url("/kyiv.xml"), "name": "Kyiv", "fetch_article": "never"}],
            "fetch": {"allow_private_networks": True, "timeout": "5s"},
            "notifiers": {"console": {}},
            "http": {"listen": "127.0.0.1:0"},
            "alerts": {"max_age": "off"},
            "log": {"level": "INFO", "format": "json"},
            "tick": "0.2s",
        }
        path = tmp_path / "newsmon.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        with ServiceProcess(path) as service:
            service.wait_for_log(lambda line: line.get("msg", "").startswith("polled feed"))
            with urllib.request.urlopen(service.url + "/stories") as stories:
                assert "text/html" in stories.headers["Content-Type"]
                assert "North Korean engineers begin clearing mines" in stories.read().decode()
            with urllib.request.urlopen(service.url + "/healthz") as health:
                assert health.read() == b"ok\n"
            assert service.stop() == 0


def test_a_link_that_is_not_http_is_not_a_link(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    with sessions(engine).begin() as session:
        session.add(Story(id=1, title="Click me"))
        session.flush()  # the item's story must exist first
        session.add(
            Item(
                story_id=1,
                content_hash="c",
                text_hash="t",
                url="javascript:alert(1)",
                outlet="evil.test",
                title="Click me",
            )
        )
    board = Dashboard(read_sessions(engine), host="127.0.0.1", token=None)
    html = page(board, "/stories")
    assert "Click me" in html
    assert "javascript:" not in html
    engine.dispose()
