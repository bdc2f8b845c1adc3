"""Logging: JSON lines or readable text on stderr, with secrets redacted.

``setup_logging(level, fmt)`` installs one stderr handler on the root logger. Every
``extra=`` field of a log call (feed, url, item, alert_id, watchlist, error, …) is
written out: as JSON keys, or as ``key=value`` before the message in text::

    2026-11-21 10:00:00 INFO feed=Example url=https://example.org/rss poll failed
    {"ts": "2026-11-21T10:00:00.000Z", "level": "INFO", "logger": "monitor.poll",
     "msg": "poll failed", "feed": "Example", "url": "https://example.org/rss"}

Timestamps are UTC. Whatever is logged, including exception messages and tracebacks,
goes through ``redact``: the values of the secret environment variables
(``SLACK_BOT_TOKEN``, ``SLACK_WEBHOOK_URL``, ``NEWSMON_SMTP_PASSWORD`` and any registered
with ``register_secret_env``), every value passed to ``register_secret``, Slack tokens
(``xoxb-…``), Slack webhook URLs, passwords inside URLs (``scheme://user:…@``, and a
long token as the user: ``scheme://TOKEN@``), credentials in URL queries (``?token=``,
``&api_key=``, ``&sig=``, ``…_secret=`` and the like) and ``Bearer`` tokens all become
``[redacted]``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

REDACTED = "[redacted]"
DEFAULT_SECRET_ENV = ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "NEWSMON_SMTP_PASSWORD")
MIN_SECRET_LENGTH = 4
"""Shorter registered values are ignored: redacting "abc" everywhere would garble the logs."""

_SECRET_PARAMS = (
    "token", "access_token", "auth_token", "api_token", "apikey", "api_key", "key", "secret",
    "client_secret", "password", "passwd", "pass", "pwd", "auth", "sig", "signature", "hash",
    "session", "sessionid", "sid", "code", "credentials", "private_token", "x-amz-signature",
    "x-amz-credential", "x-goog-signature",
)  # fmt: skip
_SECRET_QUERY = (
    r"([?&;](?:[A-Za-z0-9_.-]*[_-])?(?:"
    + "|".join(re.escape(p) for p in _SECRET_PARAMS)
    + r")=)[^&#;\s\"'<>]+"
)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"https?://hooks\.slack(?:-gov)?\.com/[^\s\"'<>]+"), REDACTED),
    (re.compile(r"\bxox[a-z]-[0-9A-Za-z-]+"), REDACTED),
    (re.compile(r"\bxapp-[0-9A-Za-z-]+"), REDACTED),
    (re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@\"'<>]+:)[^\s/@\"'<>]+@"), rf"\1{REDACTED}@"),
    # a token alone as the user part (https://TOKEN@host/), as GitHub and others take it
    (re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^\s/:@\"'<>\[]{16,}@"), rf"\1{REDACTED}@"),
    # credentials in a URL's query: ?token=..., &api_key=..., &sig=...
    (re.compile(_SECRET_QUERY, re.I), rf"\1{REDACTED}"),
    (re.compile(r"(\bBearer\s+)[A-Za-z0-9._~+/-]+=*", re.I), rf"\1{REDACTED}"),
)

_HANDLER_NAME = "newsmon"
_QUIET_LOGGERS = (
    "httpx",
    "httpcore",
    "apscheduler",
    "urllib3",
    "trafilatura",
    "slack_sdk",
    "alembic",
)

# Extra fields are what a LogRecord carries beyond its standard attributes.
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class _Secrets:
    """The registered secret values, as one regex rebuilt on each registration."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._regex: re.Pattern[str] | None = None

    def add(self, value: str | None) -> None:
        if value is None or len(value.strip()) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            if value in self._values:
                return
            self._values.add(value)
            ordered = sorted(self._values, key=len, reverse=True)  # longest first wins
            self._regex = re.compile("|".join(re.escape(v) for v in ordered))

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._regex = None

    def redact(self, text: str) -> str:
        regex = self._regex
        return regex.sub(REDACTED, text) if regex is not None else text


_secrets = _Secrets()


def register_secret(value: str | None) -> None:
    """Never log ``value`` (None, empty and values under 4 characters are ignored)."""
    _secrets.add(value)


def register_secret_env(*names: str) -> None:
    """Never log the current values of the environment variables ``names`` (unset: ignored)."""
    for name in names:
        register_secret(os.environ.get(name))


def clear_secrets() -> None:
    """Forget every registered secret (for tests)."""
    _secrets.clear()


def redact(text: str) -> str:
    """``text`` with registered secrets, Slack tokens/webhooks and URL passwords redacted."""
    text = _secrets.redact(text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def setup_logging(
    level: str = "INFO", fmt: Literal["text", "json"] = "text", *, stream: TextIO | None = None
) -> None:
    """Log at ``level`` and above to stderr (or ``stream``) as ``fmt``. Calling again replaces it.

    Also registers the default secret environment variables and quiets chatty libraries
    (httpx logs every request at INFO) unless ``level`` is DEBUG.
    """
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}; use DEBUG, INFO, WARNING or ERROR")
    register_secret_env(*DEFAULT_SECRET_ENV)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(
            logging.NOTSET if numeric <= logging.DEBUG else logging.WARNING
        )
    logging.captureWarnings(True)


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra=`` fields of a record, in the order they were given."""
    return {
        k: v
        for k, v in record.__dict__.items()
        if k not in _STANDARD_ATTRS and not k.startswith("_")
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, every extra field, exc/stack."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": _utc(record.created).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in extra_fields(record).items():
            doc.setdefault(key, _jsonable(value))
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            doc["exc"] = record.exc_text
        if record.stack_info:
            doc["stack"] = self.formatStack(record.stack_info)
        return json.dumps(_redact_strings(doc), ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``2026-11-21 10:00:00 INFO key=value … message`` plus any traceback, redacted."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [f"{_utc(record.created):%Y-%m-%d %H:%M:%S}", record.levelname]
        parts += [f"{k}={_text_value(v)}" for k, v in extra_fields(record).items()]
        parts.append(record.getMessage())
        text = " ".join(parts)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        elif record.exc_text:
            text += "\n" + record.exc_text
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        return redact(text)


def _utc(created: float) -> datetime:
    return datetime.fromtimestamp(created, UTC)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    return str(value)


def _redact_strings(value: Any) -> Any:
    """Redact every string inside a JSON-able value (before escaping could hide a secret)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redact_strings(v) for v in value]
    if isinstance(value, dict):
        return {k: _redact_strings(v) for k, v in value.items()}
    return value


def _text_value(value: Any) -> str:
    text = _jsonable(value)
    text = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False)
    if not text or any(c.isspace() or c in '="' for c in text):
        return json.dumps(text, ensure_ascii=False)
    return text
