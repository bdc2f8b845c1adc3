"""One hostile feed beside a healthy one, through ``newsmon run --once`` against local
servers (issue 15): the hostile feed can neither stop, kill nor poison newsmon, nothing
from it reaches a mail header, and the healthy feed is stored every time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.feedserver import FeedServer
from tests.smtp_server import SmtpServer
from tests.test_faults import GOOD, Setup, cli, items_of, server

__all__ = ["server"]

MATCHING = "North Korean troops deployed to Russia's Kursk region, Ukraine says"


def recent(hours: int = 1) -> str:
    return format_datetime(datetime.now(UTC) - timedelta(hours=hours), usegmt=True)


def item(title: str, *, guid: str, link: str, description: str = "A report.") -> str:
    return (
        f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>"
        f"<description>{description}</description><pubDate>{recent()}</pubDate></item>"
    )


def feed_of(*items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>h</title>'
        "<link>https://hostile.example/</link>" + "".join(items) + "</channel></rss>"
    ).encode()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as mail:
        yield mail


def run_once(setup: Setup, **config: Any) -> tuple[int, str, str]:
    path = Path(setup.write())
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(config)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return cli("run", "--once", "--config", str(path))


def hostile_beside_good(server: FeedServer, tmp_path: Path, body: bytes) -> Setup:
    server.add("/good", GOOD)
    server.add("/hostile", body)
    setup = Setup(tmp_path, server)
    setup.feed("good", "/good")
    setup.feed("hostile", "/hostile")
    return setup


# --- mail headers and rendered text -------------------------------------------------------


def test_encoded_word_crlf_in_a_title_adds_no_header_or_part(
    server: FeedServer, tmp_path: Path, smtp: SmtpServer
) -> None:
    evil = (
        "=?utf-8?q?=0D=0AReply-To:_attacker@evil.example=0D=0AContent-Type:_text/html?= "
        + MATCHING
        + " =?utf-8?q?=01=0A=0D?= \u202egnp.exe"
    )
    body = feed_of(item(evil, guid="evil-1", link="https://hostile.example/a/1"))
    setup = hostile_beside_good(server, tmp_path, body)
    email = {"host": "127.0.0.1", "port": smtp.port, "from": "newsmon@test.example"}
    notifiers = {"email": {**email, "to": ["t@test.example"]}, "console": {}}
    code, out, err = run_once(setup, notifiers=notifiers)
    assert code == 0, err
    assert "North Korean troops" in out and "\u202e" not in out, "console: no bidi override"
    assert items_of(setup.write())["good"] == 2
    assert smtp.messages, "the matching story was mailed"
    for received in smtp.messages:
        message = received.message
        assert message["Reply-To"] is None
        subject = str(message["Subject"])
        assert not any(c in subject for c in "\r\n\x01\u202e"), subject
        assert "North Korean troops" in subject
        assert [part.get_content_type() for part in message.walk()] == [
            "multipart/alternative",
            "text/plain",
            "text/html",
        ]
        assert received.rcpt_tos == ["t@test.example"]
