"""Two ``newsmon run`` replicas on one PostgreSQL and a slow mail relay (1 s per message):
each email arrives once. A lease taken for a whole batch ran out while its later alerts
waited their turn, and the other replica sent them again (4 of 6 twice in the review);
each alert now has a lease of its own, taken right before it is sent."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, func, select

from monitor.config.load import load_config
from monitor.runtime.app import build_app
from storage.models import AlertRow
from tests.alerting.test_delivery import enqueue
from tests.support.paths import REPO
from tests.support.service_process import ServiceProcess, wait_until
from tests.support.smtp_server import SmtpServer

ALERTS = 8
SEND_SECONDS = 1.0  # what the relay takes per message
LEASE = 4.0  # a batch of 8 outlasts it by half; one send is a quarter of it


@pytest.fixture
def relay() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        assert server._controller is not None
        handler: Any = server._controller.handler
        accept = handler.handle_DATA

        async def slowly(*args: Any) -> str:
            await asyncio.sleep(SEND_SECONDS)  # the relay's own pace, not a test waiting
            result: str = await accept(*args)
            return result

        handler.handle_DATA = slowly
        yield server


@pytest.mark.slow
def test_two_replicas_and_a_slow_relay_send_each_email_once(
    tmp_path: Path, pg_url: str, relay: SmtpServer
) -> None:
    config = {
        "database": {"url": pg_url},
        "watchlists": str(REPO / "watchlists"),
        "notifiers": {"email": {"host": "127.0.0.1", "port": relay.port,
                                "from": "newsmon@test.example"}},
        "http": {"listen": None},
        "log": {"level": "INFO", "format": "json"},
        "delivery": {"interval": "0.2s"},
        "leases": {"alert": LEASE},
    }  # fmt: skip
    path = tmp_path / "newsmon.yaml"
    path.write_text(yaml.safe_dump(config))
    app = build_app(load_config(str(path)), environ={})
    ids = enqueue(app, ALERTS, "email", "desk@test.example")
    app.engine.dispose()
    engine = create_engine(pg_url)

    def all_sent() -> bool:
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).where(AlertRow.state != "sent")) == 0

    replicas = [ServiceProcess(path) for _ in range(2)]
    try:
        assert wait_until(all_sent, timeout=60), replicas[0].log_text()
        codes = [replica.stop() for replica in replicas]  # SIGTERM: each finishes its send
    finally:
        for replica in replicas:
            replica.__exit__(None, None, None)
        engine.dispose()
    assert codes == [0, 0]
    arrived = Counter(str(m.message["Message-ID"]) for m in relay.messages)
    assert arrived == Counter(f"<newsmon-alert-{i}@test.example>" for i in ids)
    senders = {line["alert_id"]: r.pid for r in replicas for line in r.lines
               if line["msg"] == "alert sent"}  # fmt: skip
    assert sorted(senders) == ids
    assert not any(line.get("level") == "ERROR" for r in replicas for line in r.lines)
