"""A local Slack-compatible API server for tests (stdlib only, threaded, 127.0.0.1).

Usage::

    from tests.support.slack_server import SlackServer

    with SlackServer() as slack:                  # or use the ``slack`` fixture
        config = SlackConfig(base_url=slack.base_url, channel="#news-alerts")
        environ = {"SLACK_BOT_TOKEN": slack.token}  # or {"SLACK_WEBHOOK_URL": slack.webhook_url}
        ...
        slack.messages                            # every message posted, oldest first
                                                  # (as edited since: chat.update changes it)
        slack.updates                             # every chat.update that succeeded
        slack.alert_ids_posted()                  # newsmon alert ids as posted (pre-edit)
        slack.calls                               # every request: Call(method, params, status)
        slack.fail_next("ratelimited", retry_after=7)   # next call answers 429
        slack.fail_next("internal_error", times=2)      # next two calls answer 500
        slack.fail_next("channel_not_found")            # next call: ok=false, permanent

Implements ``chat.postMessage`` (``thread_ts`` makes a reply), ``chat.update`` (ids only,
recorded in ``updates``; ``message_not_found`` for an unknown ``ts``),
``conversations.history`` (messages newest first, thread replies left out; ``metadata``
only with ``include_all_metadata``; ``oldest``/``cursor``/``limit``), ``conversations.replies``,
``conversations.list``, ``auth.test`` and an incoming webhook at ``webhook_url``. Blocks are
checked against Slack's limits and rejected with ``invalid_blocks`` like Slack does.
``find_mentions`` lists what Slack would turn into a notification in a posted text.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

HEADER_LIMIT = 150
TEXT_OBJECT_LIMIT = 3000
BLOCK_LIMIT = 50
CONTEXT_ELEMENT_LIMIT = 10
SECTION_FIELDS_LIMIT = 10
MESSAGE_TEXT_LIMIT = 40_000
BLOCK_TYPES = {"header", "section", "context", "divider", "actions", "image", "rich_text"}
WEBHOOK_PATH = "/services/T0000TEST/B0000TEST/webhooksecret"
# Where a failure is reported: (HTTP status for the Web API, HTTP status + body for webhooks).
_WEBHOOK_ERRORS = {
    "invalid_auth": (403, "invalid_token"),
    "channel_not_found": (404, "channel_not_found"),
    "not_in_channel": (403, "action_prohibited"),
    "invalid_blocks": (400, "invalid_blocks"),
}
_MENTION = re.compile(
    r"<!(?:channel|here|everyone)(?:\|[^>]*)?>|<!subteam\^[^>]+>|<@[UW][A-Z0-9]+(?:\|[^>]*)?>"
    r"|(?<![\w\u2060])@(?:channel|here|everyone)\b",
    re.IGNORECASE,
)


def find_mentions(text: str) -> list[str]:
    """The broadcasts and user/group mentions Slack would notify for in ``text``."""
    return _MENTION.findall(text)


def validate_blocks(blocks: Any) -> list[str]:
    """Slack's limits a ``blocks`` value breaks (empty when it is acceptable)."""
    if not isinstance(blocks, list):
        return ["blocks must be an array"]
    errors = []
    if len(blocks) > BLOCK_LIMIT:
        errors.append(f"no more than {BLOCK_LIMIT} items allowed [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        errors += [f"{e} [json-pointer:/blocks/{i}]" for e in _block_errors(block)]
    return errors


def _text_errors(
    obj: Any, limit: int, kinds: tuple[str, ...] = ("plain_text", "mrkdwn")
) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in kinds:
        return [f"text must be one of {kinds}"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return ["must be more than 0 characters"]
    if len(text) > limit:
        return [f"must be less than {limit + 1} characters"]
    return []


def _block_errors(block: Any) -> list[str]:
    if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
        return ["unknown block type"]
    kind = block["type"]
    if kind == "header":
        return _text_errors(block.get("text"), HEADER_LIMIT, ("plain_text",))
    if kind == "section":
        errors = _text_errors(block["text"], TEXT_OBJECT_LIMIT) if "text" in block else []
        fields = block.get("fields", [])
        if "text" not in block and not fields:
            errors.append("section needs text or fields")
        if len(fields) > SECTION_FIELDS_LIMIT:
            errors.append(f"no more than {SECTION_FIELDS_LIMIT} fields allowed")
        for f in fields:
            errors += _text_errors(f, 2000)
        return errors
    if kind == "context":
        elements = block.get("elements") or []
        if not elements or len(elements) > CONTEXT_ELEMENT_LIMIT:
            return [f"context needs 1 to {CONTEXT_ELEMENT_LIMIT} elements"]
        return [e for el in elements for e in _text_errors(el, TEXT_OBJECT_LIMIT)]
    return []


@dataclass
class Call:
    """One request the server received. ``method`` is the API method or ``"webhook"``."""

    method: str
    params: dict[str, Any]
    status: int = 200
    error: str | None = None


@dataclass
class Update:
    """One successful chat.update: which message, and what it was given (``None``: left
    out, so kept)."""

    channel: str
    ts: str
    text: str | None
    blocks: list[dict[str, Any]] | None
    metadata: dict[str, Any] | None


def _alert_id(metadata: dict[str, Any]) -> int:
    return int(metadata["event_payload"]["alert_id"])


def _valid_metadata(metadata: Any) -> bool:
    return (
        isinstance(metadata, dict)
        and isinstance(metadata.get("event_type"), str)
        and isinstance(metadata.get("event_payload"), dict)
    )


@dataclass
class _Failure:
    error: str
    status: int
    retry_after: int | None
    method: str | None


# The channels that the shipped watchlists (watchlists/*.yaml) route their alerts to.
SHIPPED_CHANNELS = {
    "C0DEPLOY01": "nk-deployment",
    "C0CASUAL01": "nk-casualties",
    "C0MISSIL01": "nk-missiles",
    "C0NEWS0001": "news-alerts",
}


@dataclass
class SlackServer:
    """The fake Slack. ``channels`` maps channel id → name; the bot is a member of all."""

    token: str = "xoxb-test-token"
    channels: dict[str, str] = field(
        default_factory=lambda: {"C0NEWS0001": "news-alerts", "C0OTHER001": "other"}
    )
    webhook_channel: str = "C0NEWS0001"
    calls: list[Call] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    as_posted: list[dict[str, Any]] = field(default_factory=list)  # messages before any edit
    _failures: list[_Failure] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _last_ts: float = 0.0
    _httpd: ThreadingHTTPServer | None = None

    # --- control ---

    def start(self) -> Self:
        handler = type("Handler", (_Handler,), {"slack": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def base_url(self) -> str:
        """For ``SlackConfig.base_url``."""
        return f"{self.origin}/api/"

    @property
    def webhook_url(self) -> str:
        return f"{self.origin}{WEBHOOK_PATH}"

    def fail_next(
        self,
        error: str = "ratelimited",
        *,
        times: int = 1,
        retry_after: int | None = None,
        status: int | None = None,
        method: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls (of ``method``, default any) with ``error``.

        ``ratelimited`` → HTTP 429 with ``Retry-After`` (default 1); ``internal_error`` or
        ``fatal_error`` → HTTP 500; anything else → HTTP 200 ``{"ok": false, "error": ...}``
        (webhooks: the status and body a real webhook uses). ``status`` overrides.
        """
        if status is None:
            status = {"ratelimited": 429, "internal_error": 500, "fatal_error": 500}.get(error, 200)
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._failures += [_Failure(error, status, retry_after, method)] * times

    def alert_ids_posted(self) -> list[int]:
        """The newsmon alert id of every message posted (API or webhook), once per post, in
        order — as posted: a later chat.update that replaces a message's metadata (a
        figure's dashboard) does not hide the alert that posted it."""
        return [_alert_id(m["metadata"]) for m in self.as_posted if m.get("metadata")]

    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        """Posted messages in a channel (id or name), oldest first."""
        cid = self.channel_id(channel)
        return [m for m in self.messages if m["channel"] == cid]

    def channel_id(self, channel: str) -> str | None:
        if channel in self.channels:
            return channel
        name = channel.removeprefix("#")
        return next((cid for cid, n in self.channels.items() if n == name), None)

    # --- behaviour ---

    def _take_failure(self, method: str) -> _Failure | None:
        with self._lock:
            for i, failure in enumerate(self._failures):
                if failure.method in (None, method):
                    return self._failures.pop(i)
        return None

    def _next_ts(self) -> str:
        with self._lock:
            return self._next_ts_locked()

    def _next_ts_locked(self) -> str:
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    def handle_api(self, method: str, params: dict[str, Any], auth: str | None) -> dict[str, Any]:
        token = params.get("token") or (auth or "").removeprefix("Bearer ").strip()
        if not token:
            return {"ok": False, "error": "not_authed"}
        if token != self.token:
            return {"ok": False, "error": "invalid_auth"}
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        result: dict[str, Any] = handler(params)
        return result

    def _post(self, channel: str | None, params: dict[str, Any]) -> dict[str, Any]:
        text, blocks = params.get("text"), params.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if not text and not blocks:
            return {"ok": False, "error": "no_text"}
        if text and len(text) > MESSAGE_TEXT_LIMIT:
            return {"ok": False, "error": "msg_too_long"}
        if blocks is not None and (errors := validate_blocks(blocks)):
            return {"ok": False, "error": "invalid_blocks", "errors": errors}
        metadata = params.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        if metadata is not None and not _valid_metadata(metadata):
            return {"ok": False, "error": "invalid_metadata_format"}
        message = {
            "type": "message",
            "channel": channel,
            "ts": self._next_ts(),
            "text": text or "",
            "blocks": blocks,
            "metadata": metadata,
            "bot_id": "B0NEWSMON1",
            "thread_ts": params.get("thread_ts") or None,
        }
        with self._lock:
            self.messages.append(message)
            self.as_posted.append(dict(message))
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def _api_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "user_id": "U0NEWSMON1", "bot_id": "B0NEWSMON1", "team": "test"}

    def _api_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel_id(str(params.get("channel") or ""))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return self._post(channel, params)

    def _api_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        """Like Slack: the channel by id only; ``blocks`` left out keeps the message's
        blocks, ``[]`` removes them; ``metadata`` replaces the message's; the same limits
        as a post. Each successful edit is also recorded in ``updates``."""
        channel = str(params.get("channel") or "")
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        with self._lock:
            found = [
                m for m in self.messages if m["channel"] == channel and m["ts"] == params.get("ts")
            ]
        if not found:
            return {"ok": False, "error": "message_not_found"}
        text, blocks = params.get("text"), params.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if not text and not blocks:
            return {"ok": False, "error": "no_text"}
        if text and len(text) > MESSAGE_TEXT_LIMIT:
            return {"ok": False, "error": "msg_too_long"}
        if blocks and (errors := validate_blocks(blocks)):
            return {"ok": False, "error": "invalid_blocks", "errors": errors}
        metadata = params.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        if metadata is not None and not _valid_metadata(metadata):
            return {"ok": False, "error": "invalid_metadata_format"}
        message = found[0]
        with self._lock:
            message["text"] = text if text is not None else message["text"]
            if blocks is not None:
                message["blocks"] = blocks or None
            if metadata is not None:
                message["metadata"] = metadata
            message["edited"] = {"user": "U0NEWSMON1", "ts": self._next_ts_locked()}
            self.updates.append(Update(channel, message["ts"], text, blocks, metadata))
        return {"ok": True, "channel": channel, "ts": message["ts"], "text": message["text"]}

    def _api_conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel") or "")
        if channel not in self.channels:  # like Slack: IDs only, names are not found
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(params.get("oldest") or 0)
        limit = int(params.get("limit") or 100)
        start = int(str(params.get("cursor") or "0").removeprefix("off:") or 0)
        with_metadata = str(params.get("include_all_metadata", "")).lower() in {"1", "true"}
        with self._lock:
            found = [
                m
                for m in reversed(self.messages)
                if m["channel"] == channel and m.get("thread_ts") in (None, m["ts"])
            ]  # like Slack: thread replies are not in the channel's history
        found = [m for m in found if float(m["ts"]) > oldest]
        page = found[start : start + limit]
        shown = [
            {k: v for k, v in m.items() if v is not None and (with_metadata or k != "metadata")}
            for m in page
        ]
        more = start + limit < len(found)
        return {
            "ok": True,
            "messages": shown,
            "has_more": more,
            "response_metadata": {"next_cursor": f"off:{start + limit}" if more else ""},
        }

    def _api_conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        """A thread: its parent, then its replies, oldest first."""
        channel, parent = str(params.get("channel") or ""), str(params.get("ts") or "")
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        with_metadata = str(params.get("include_all_metadata", "")).lower() in {"1", "true"}
        with self._lock:
            found = [
                m
                for m in self.messages
                if m["channel"] == channel and parent in (m["ts"], m.get("thread_ts"))
            ]
        if not found:
            return {"ok": False, "error": "thread_not_found"}
        shown = [
            {k: v for k, v in m.items() if v is not None and (with_metadata or k != "metadata")}
            for m in found
        ]
        return {"ok": True, "messages": shown, "response_metadata": {"next_cursor": ""}}

    def replies_to(self, ts: str) -> list[dict[str, Any]]:
        """Messages posted as replies in the thread of ``ts``, oldest first."""
        return [m for m in self.messages if m.get("thread_ts") == ts and m["ts"] != ts]

    def _api_conversations_list(self, params: dict[str, Any]) -> dict[str, Any]:
        channels = [
            {"id": cid, "name": name, "is_channel": True, "is_member": True}
            for cid, name in self.channels.items()
        ]
        return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}


class _Handler(BaseHTTPRequestHandler):
    slack: SlackServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        params = self._params(url.query)
        if url.path == WEBHOOK_PATH:
            self._webhook(params)
            return
        method = url.path.removeprefix("/api/")
        if not url.path.startswith("/api/") or not method:
            self._reply(404, b"not found", "text/plain")
            return
        failure = self.slack._take_failure(method)
        if failure is not None:
            body = {"ok": False, "error": failure.error}
            self._record(method, params, failure.status, failure.error)
            self._reply(failure.status, json.dumps(body).encode(), retry_after=failure.retry_after)
            return
        result = self.slack.handle_api(method, params, self.headers.get("Authorization"))
        self._record(method, params, 200, result.get("error"))
        self._reply(200, json.dumps(result).encode())

    def _webhook(self, params: dict[str, Any]) -> None:
        failure = self.slack._take_failure("webhook")
        if failure is not None:
            status, body = _WEBHOOK_ERRORS.get(failure.error, (failure.status, failure.error))
            if failure.status != 200:
                status = failure.status
            self._record("webhook", params, status, body)
            self._reply(status, body.encode(), "text/plain", retry_after=failure.retry_after)
            return
        result = self.slack._post(self.slack.webhook_channel, params)
        if not result["ok"]:
            status = 400
            self._record("webhook", params, status, result["error"])
            self._reply(status, str(result["error"]).encode(), "text/plain")
            return
        self._record("webhook", params, 200, None)
        self._reply(200, b"ok", "text/plain")

    def _params(self, query: str) -> dict[str, Any]:
        params: dict[str, Any] = dict(parse_qsl(query))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if raw and "json" in (self.headers.get("Content-Type") or ""):
            params.update(json.loads(raw))
        elif raw:
            params.update(parse_qsl(raw.decode()))
        return params

    def _record(self, method: str, params: dict[str, Any], status: int, error: str | None) -> None:
        with self.slack._lock:
            self.slack.calls.append(Call(method, params, status, error))

    def _reply(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json; charset=utf-8",
        retry_after: int | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        self.end_headers()
        self.wfile.write(body)


class HoldingSlack(SlackServer):
    """Posts the first message, then holds the reply until ``release`` is set: a delivery
    caught in flight, for stop and crash tests."""

    posted: threading.Event
    release: threading.Event

    def start(self) -> Self:
        self.posted, self.release = threading.Event(), threading.Event()
        super().start()
        return self

    def stop(self) -> None:
        self.release.set()  # a held reply would keep the server from shutting down
        super().stop()

    def _api_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        result = super()._api_chat_postMessage(params)
        if not self.posted.is_set():
            self.posted.set()
            self.release.wait(timeout=60)
        return result
