"""Logging: JSON lines and text, extra fields, and secrets that never reach the output."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from monitor.service import logs
from monitor.service.logs import redact, register_secret, register_secret_env, setup_logging

TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
WEBHOOK = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"


@pytest.fixture(autouse=True)
def _clean_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    logs.clear_secrets()
    yield
    logs.clear_secrets()
    for h in root.handlers:
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)
    logging.captureWarnings(False)


def capture(fmt: Any, level: str = "DEBUG") -> io.StringIO:
    out = io.StringIO()
    setup_logging(level, fmt, stream=out)
    return out


def json_lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_json_line_has_fields_and_extras() -> None:
    out = capture("json")
    logging.getLogger("monitor.poll").info(
        "poll failed for %s",
        "Example",
        extra={"feed": "Example", "url": "https://example.org/rss", "item": 7, "alert_id": None},
    )
    [line] = json_lines(out)
    assert line["level"] == "INFO"
    assert line["logger"] == "monitor.poll"
    assert line["msg"] == "poll failed for Example"
    assert line["feed"] == "Example"
    assert line["url"] == "https://example.org/rss"
    assert line["item"] == 7
    assert line["alert_id"] is None
    assert line["ts"].endswith("Z") and line["ts"][10] == "T"


def test_json_error_extra_and_exception() -> None:
    out = capture("json")
    try:
        raise ValueError("bad feed")
    except ValueError as e:
        logging.getLogger("x").exception("oops", extra={"error": e, "watchlist": "kn-23"})
    [line] = json_lines(out)
    assert line["error"] == "ValueError: bad feed"
    assert line["watchlist"] == "kn-23"
    assert "Traceback" in line["exc"] and "ValueError: bad feed" in line["exc"]


def test_text_format() -> None:
    out = capture("text")
    logging.getLogger("monitor.poll").warning(
        "poll failed", extra={"feed": "Example", "error": "HTTP 503 from server"}
    )
    line = out.getvalue().rstrip("\n")
    date, time, rest = line.split(" ", 2)
    assert len(date) == 10 and len(time) == 8
    assert rest == 'WARNING feed=Example error="HTTP 503 from server" poll failed'


def test_level_filters_and_bad_level() -> None:
    out = capture("text", level="WARNING")
    logging.getLogger("a").info("hidden")
    logging.getLogger("a").error("shown")
    assert "hidden" not in out.getvalue() and "shown" in out.getvalue()
    with pytest.raises(ValueError, match="unknown log level"):
        setup_logging("LOUD", "text")


def test_setup_twice_keeps_one_handler() -> None:
    first = capture("text")
    second = capture("json")
    logging.getLogger("a").info("once")
    assert first.getvalue() == ""
    assert len(second.getvalue().splitlines()) == 1


def test_chatty_libraries_quieted_unless_debug() -> None:
    out = capture("json", level="INFO")
    logging.getLogger("httpx").info("HTTP Request: GET https://example.org 200")
    assert out.getvalue() == ""
    out = capture("json", level="DEBUG")
    logging.getLogger("httpx").info("HTTP Request: GET https://example.org 200")
    assert out.getvalue() != ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"token {TOKEN} rejected", "token [redacted] rejected"),
        ("xoxp-1-2-3abc and xoxa-2-x", "[redacted] and [redacted]"),
        (f"posting to {WEBHOOK}.", "posting to [redacted]"),
        (
            "postgresql+psycopg://newsmon:s3cr%40t@db:5432/newsmon",
            "postgresql+psycopg://newsmon:[redacted]@db:5432/newsmon",
        ),
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer [redacted]"),
        ("https://example.org/a:b@c", "https://example.org/a:b@c"),
        ("nothing to hide, 3,000 soldiers", "nothing to hide, 3,000 soldiers"),
    ],
)
def test_redact_patterns(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_registered_secrets_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SMTP_PW", "correct horse battery")
    monkeypatch.setenv("EMPTY_ONE", "")
    register_secret_env("MY_SMTP_PW", "EMPTY_ONE", "UNSET_ONE")
    register_secret("abc")  # too short to redact safely: ignored
    register_secret(None)
    assert redact("pw=correct horse battery!") == "pw=[redacted]!"
    assert redact("abc") == "abc"


def test_default_env_secrets_registered_by_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSMON_SMTP_PASSWORD", 'pa$$w0rd"\\x')
    out = capture("json")
    logging.getLogger("smtp").error('login failed with pa$$w0rd"\\x', extra={"pw": 'pa$$w0rd"\\x'})
    assert "pa$$w0rd" not in out.getvalue()
    [line] = json_lines(out)
    assert line["msg"] == "login failed with [redacted]"
    assert line["pw"] == "[redacted]"


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_secrets_never_appear_even_in_tracebacks(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "custom-bot-token-value")
    out = capture(fmt)
    log = logging.getLogger("monitor.deliver")

    def send(token: str, url: str) -> None:
        raise RuntimeError(f"auth failed for {token} posting to {url}")

    try:
        send("custom-bot-token-value", WEBHOOK)
    except RuntimeError as e:
        log.exception("delivery failed: %s", e, extra={"error": e, "url": WEBHOOK, "token": TOKEN})
    log.info("stack", stack_info=True, extra={"note": TOKEN})
    text = out.getvalue()
    assert "Traceback" in text and "RuntimeError: auth failed for" in text
    for secret in ("custom-bot-token-value", WEBHOOK, "hooks.slack.com/services", TOKEN, "xoxb-"):
        assert secret not in text
    assert "[redacted]" in text
