"""The test kit's fixtures: databases (SQLite and PostgreSQL), local servers, apps.

The kit itself lives in ``tests/support/``: the config writer (``config.py``), the local
servers (``feedserver.py``, ``slack_server.py``, ``smtp_server.py``, ``service_process.py``),
a network stub behind newsmon's guard (``stubnet.py``) and the paths (``paths.py``).

Tests about SQL semantics take the ``db_url`` fixture and run on both backends. The
PostgreSQL one gets a schema of its own per test (``search_path`` in the URL), so tests
never see each other's rows. Without a reachable PostgreSQL those runs are skipped — except
under CI (``CI=true``), where a missing database is a failure, not a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from monitor.config.load import load_config
from monitor.runtime.app import App, build_app
from tests.support.feedserver import FeedServer
from tests.support.paths import shared
from tests.support.slack_server import HoldingSlack, SlackServer
from tests.support.smtp_server import SmtpServer

PG_URL = os.environ.get("NEWSMON_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except OperationalError as exc:
        return str(exc).splitlines()[0]


_PG_PROBLEM: str | bool | None = False  # False: not probed yet


def _require_pg() -> None:
    global _PG_PROBLEM
    if _PG_PROBLEM is False:
        _PG_PROBLEM = _pg_available()
    if _PG_PROBLEM:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {_PG_PROBLEM}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {_PG_PROBLEM}")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose connections use a fresh, private schema."""
    _require_pg()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'newsmon.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'newsmon.db'}"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def seeds_dir() -> Path:
    return shared("seeds")


@pytest.fixture
def slack_channels() -> dict[str, str] | None:
    """The channels (id → name) the ``slack`` server knows; a module overrides this."""
    return None


def _channels(slack_channels: dict[str, str] | None) -> dict[str, Any]:
    return {} if slack_channels is None else {"channels": dict(slack_channels)}


@pytest.fixture
def slack(slack_channels: dict[str, str] | None) -> Iterator[SlackServer]:
    """A Slack-compatible API on 127.0.0.1."""
    with SlackServer(**_channels(slack_channels)) as server:
        yield server


@pytest.fixture
def holding_slack(slack_channels: dict[str, str] | None) -> Iterator[HoldingSlack]:
    """A Slack that holds its first reply until ``release`` is set: a delivery in flight."""
    server = HoldingSlack(**_channels(slack_channels))
    with server:
        yield server


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """An SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message."""
    with SmtpServer() as server:
        yield server


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A feed server on 127.0.0.1: register routes, point newsmon at ``url(path)``."""
    with FeedServer() as server:
        yield server


@pytest.fixture
def make_app() -> Iterator[Callable[..., App]]:
    """Build an App from a config file (keywords go to ``build_app``); disposed after the test."""
    built: list[App] = []

    def make(config: Path, **options: Any) -> App:
        app = build_app(load_config(str(config)), **options)
        built.append(app)
        return app

    yield make
    for app in built:
        app.engine.dispose()
