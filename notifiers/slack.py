"""Slack notifier: a bot token (chat.postMessage) or, without one, an incoming webhook.

The message is built by the pure :func:`render_slack`; :class:`SlackNotifier` makes one
HTTP request per ``send`` and turns every failure into a ``NotifyError``.

Channel: the alert's route channel (``Alert.channel``), else ``SlackConfig.channel``. An
incoming webhook always posts to the channel it was created for and ignores both.
"""

from __future__ import annotations

import http.client
import logging
import math
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from monitor.errors import NotifyError
from monitor.model import Alert, AlertContent, Delivery, FigureChange
from notifiers.format import (
    ELLIPSIS,
    change_source,
    format_time,
    kind_label,
    known_source,
    known_value,
    observation_value,
    one_line,
    safe_url,
    truncate,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://slack.com/api/"
METADATA_EVENT = "newsmon_alert"

# Slack's limits (https://api.slack.com/reference/block-kit/blocks).
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
CONTEXT_TEXT_LIMIT = 3000
BLOCK_LIMIT = 50
CONTEXT_ELEMENT_LIMIT = 10
TEXT_LIMIT = 40_000
# Our own budgets, well inside the limits, so a message stays readable.
TITLE_LIMIT = 300
SUMMARY_LIMIT = 600
LIST_LIMIT = 1000
URL_LIMIT = 2000
PREVIOUS_SHOWN = 5

# Slack error codes after which sending the same message again cannot succeed.
PERMANENT_ERRORS = frozenset(
    {
        "access_denied",
        "account_inactive",
        "action_prohibited",
        "channel_is_archived",
        "channel_not_found",
        "ekm_access_denied",
        "invalid_arguments",
        "invalid_auth",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "invalid_payload",
        "invalid_token",
        "is_archived",
        "metadata_too_large",
        "missing_scope",
        "msg_too_long",
        "no_active_hooks",
        "no_permission",
        "no_service",
        "no_text",
        "not_allowed_token_type",
        "not_authed",
        "not_in_channel",
        "org_login_required",
        "posting_to_general_channel_denied",
        "restricted_action",
        "team_access_not_granted",
        "token_expired",
        "token_revoked",
        "too_many_attachments",
        "user_not_found",
    }
)
# Rejections of our blocks: nothing was posted, so one plain-text post is safe to try.
BLOCK_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format"})
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{6,}")
_BROADCAST = re.compile(r"@(?=(channel|here|everyone)\b)", re.IGNORECASE)
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


class SlackConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    token_env: str = "SLACK_BOT_TOKEN"  # noqa: S105 (a variable name, not a secret)
    webhook_url_env: str = "SLACK_WEBHOOK_URL"
    base_url: str | None = None
    channel: str = "#news-alerts"
    timeout: float = 15.0
    history_pages: int = 5  # pages of 200 messages already_sent reads back at most


# --- rendering ------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Untrusted text made inert in mrkdwn.

    ``&``, ``<`` and ``>`` become entities, so ``<!channel>``, ``<@U123>`` and
    ``<http://x|y>`` show as typed; a bare ``@channel``/``@here``/``@everyone`` gets a
    word joiner after the ``@`` so it cannot notify anyone either.
    """
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@\u2060", escaped)


def clip(mrkdwn: str, limit: int) -> str:
    """Escaped text cut to ``limit`` characters with "…", never through an entity."""
    if len(mrkdwn) <= limit:
        return mrkdwn
    return _PARTIAL_ENTITY.sub("", mrkdwn[: limit - 1]) + ELLIPSIS


def _inline(text: str, limit: int) -> str:
    """One line of untrusted text, escaped and clipped."""
    return clip(escape(one_line(text)), limit)


def _fit_lines(lines: list[str], limit: int) -> str:
    """Join lines, dropping whole lines from the end (marked "…") so the text fits."""
    text = "\n".join(lines)
    while len(text) > limit and len(lines) > 1:
        lines = lines[:-1]
        text = "\n".join([*lines, ELLIPSIS])
    return clip(text, limit)


def _link(url: str | None, label: str) -> str:
    """``<url|label>`` for a safe URL (label already escaped), else the bare label."""
    url = safe_url(url)
    if not url or len(url) > URL_LIMIT:
        return label
    quoted = url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E")
    return f"<{quoted.replace('|', '%7C')}|{label}>"


def _date_token(content: AlertContent) -> str | None:
    """Publication time as a Slack date token, shown in the reader's time zone."""
    published = content.published_at
    if published is None:
        return None
    if published.tzinfo is None:
        return escape(format_time(published))
    fallback = escape(format_time(published))
    return f"<!date^{int(published.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _header(content: AlertContent) -> dict[str, Any]:
    icon = {"figure_change": "📈", "follow_up": "🔁"}.get(content.kind, "📰")
    # plain_text is never parsed for mentions or links; only broadcasts need defusing.
    names = _BROADCAST.sub("@\u2060", one_line(", ".join(content.watchlists)))
    text = truncate(f"{icon} {kind_label(content.kind)} · {names}", HEADER_LIMIT)
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(*texts: str) -> dict[str, Any]:
    elements = [
        {"type": "mrkdwn", "text": clip(t, CONTEXT_TEXT_LIMIT)}
        for t in texts[:CONTEXT_ELEMENT_LIMIT]
    ]
    return {"type": "context", "elements": elements}


def _headline_block(content: AlertContent) -> dict[str, Any]:
    title = _inline(content.title, TITLE_LIMIT) or "(untitled)"
    lines = [f"*{_link(content.url, title)}*"]
    if content.summary:
        lines.append(_inline(content.summary, SUMMARY_LIMIT))
    return _section(_fit_lines(lines, SECTION_LIMIT))


def _meta_block(content: AlertContent) -> dict[str, Any] | None:
    source = [part for part in (_inline(content.outlet or "", 200), _date_token(content)) if part]
    texts = [" · ".join(source)] if source else []
    if content.matched_terms:
        terms = ", ".join(_inline(term, 100) for term in content.matched_terms)
        texts.append(clip(f"Matched: {terms}", LIST_LIMIT))
    return _context(*texts) if texts else None


def _change_block(change: FigureChange, content: AlertContent) -> dict[str, Any]:
    obs = change.observation
    unit = obs.unit
    before = known_value(change.previous[0], unit) if change.previous else "first value"
    lines = [
        f"*{_inline(obs.figure, 100)}*: {escape(before)} → *{_inline(observation_value(obs), 200)}*"
    ]
    source = change_source(change, content)
    if source:
        lines.append(f"_{_inline(source, 300)}_")
    if change.previous:
        lines.append("Before (latest first):")
        for known in change.previous[:PREVIOUS_SHOWN]:
            lines.append(
                f"• {escape(known_value(known, unit))} — {_inline(known_source(known), 300)}"
            )
        hidden = len(change.previous) - PREVIOUS_SHOWN
        if hidden > 0:
            lines.append(f"• …and {hidden} earlier value{'s' if hidden > 1 else ''}")
    if change.spread:
        lines.append(f":warning: Sources disagree: {_inline(change.spread, 500)}")
    return _section(_fit_lines(lines, SECTION_LIMIT))


def _change_blocks(content: AlertContent, room: int) -> list[dict[str, Any]]:
    """One section per changed figure; when they do not fit, a last "…and N more" line."""
    changes = content.changes
    if len(changes) <= room:
        return [_change_block(change, content) for change in changes]
    shown = changes[: room - 1]
    rest = ", ".join(_inline(c.observation.figure, 100) for c in changes[room - 1 :])
    more = f"…and {len(changes) - len(shown)} more figure changes: {rest}"
    return [*(_change_block(c, content) for c in shown), _section(clip(more, SECTION_LIMIT))]


def render_text(alert: Alert) -> str:
    """The plain ``text`` fallback (notifications, screen readers, old clients)."""
    content = alert.content
    title = _inline(content.title, TITLE_LIMIT)
    names = _inline(", ".join(content.watchlists), 500)
    lines = [f"{kind_label(content.kind)} · {names}: {title}"]
    url = safe_url(content.url)
    if url and len(url) <= URL_LIMIT:
        lines.append(escape(url))
    for change in content.changes:
        obs = change.observation
        before = known_value(change.previous[0], obs.unit) if change.previous else "first value"
        lines.append(
            f"{_inline(obs.figure, 100)}: {escape(before)} → {_inline(observation_value(obs), 200)}"
        )
    return _fit_lines(lines, TEXT_LIMIT)


def render_slack(alert: Alert) -> dict[str, Any]:
    """The chat.postMessage payload for an alert (without the channel): text, blocks,
    metadata carrying the alert id. Every article-provided string is escaped; every
    Slack limit is respected by cutting with "…"."""
    content = alert.content
    top = [_header(content), _headline_block(content)]
    meta = _meta_block(content)
    if meta:
        top.append(meta)
    tail = []
    if content.also_reported_by:
        outlets = ", ".join(_inline(outlet, 200) for outlet in content.also_reported_by)
        tail.append(_context(clip(f"Also reported by: {outlets}", LIST_LIMIT)))
    room = BLOCK_LIMIT - len(top) - len(tail)
    blocks = [*top, *_change_blocks(content, room), *tail]
    return {
        "text": render_text(alert),
        "blocks": blocks,
        "metadata": {
            "event_type": METADATA_EVENT,
            "event_payload": {"alert_id": alert.id, "kind": content.kind},
        },
        "unfurl_links": False,
        "unfurl_media": False,
    }


# --- delivery -------------------------------------------------------------------------------


class SlackError(NotifyError):
    """A ``NotifyError`` from Slack; ``code`` is Slack's error code (``channel_not_found``)."""

    def __init__(
        self, code: str, *, status: int, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        detail = code or f"HTTP {status}"
        if status >= 500:
            detail += f" (HTTP {status})"
        super().__init__(f"Slack: {detail}", permanent=permanent, retry_after=retry_after)
        self.code = code
        self.status = status


def classify(error: str, *, status: int = 200, retry_after: str | None = None) -> SlackError:
    """A Slack failure as a ``NotifyError``: 429 waits ``Retry-After``; 5xx and unknown
    codes are temporary; codes in ``PERMANENT_ERRORS`` and other 4xx are permanent."""
    if status == 429 or error in {"ratelimited", "rate_limited"}:
        return SlackError(error, status=status, retry_after=_seconds(retry_after))
    if status >= 500:
        return SlackError(error, status=status)
    permanent = error in PERMANENT_ERRORS or 400 <= status < 500
    return SlackError(error, status=status, permanent=permanent)


def _seconds(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and math.isfinite(seconds) and seconds >= 0 else None


def _api_error(err: SlackApiError) -> SlackError:
    response = err.response
    data = response.data if isinstance(response.data, dict) else {}
    headers = {k.lower(): v for k, v in (response.headers or {}).items()}
    retry_after = headers.get("retry-after")
    if isinstance(retry_after, list):
        retry_after = retry_after[0] if retry_after else None
    error = str(data.get("error") or "")
    return classify(error, status=response.status_code, retry_after=retry_after)


class SlackNotifier:
    """Posts alerts to Slack. Give it a bot token, or else an incoming-webhook URL."""

    name = "slack"
    min_interval = 1.0  # seconds between posts to one channel (Slack allows about 1/s)

    def __init__(
        self, config: SlackConfig, *, token: str | None = None, webhook_url: str | None = None
    ) -> None:
        if not token and not webhook_url:
            raise NotifyError(
                f"Slack: set ${config.token_env} (bot token) or ${config.webhook_url_env} "
                "(incoming webhook URL)",
                permanent=True,
            )
        self._config = config
        timeout = max(1, math.ceil(config.timeout))
        base_url = config.base_url or DEFAULT_BASE_URL
        self._client = (
            WebClient(
                token=token,
                base_url=base_url if base_url.endswith("/") else base_url + "/",
                timeout=timeout,
                retry_handlers=[],
            )
            if token
            else None
        )
        self._webhook = (
            WebhookClient(webhook_url, timeout=timeout, retry_handlers=[])
            if webhook_url and not token
            else None
        )
        self._channel_ids: dict[str, str] = {}

    @classmethod
    def from_env(cls, config: SlackConfig, environ: Mapping[str, str]) -> SlackNotifier:
        return cls(
            config,
            token=environ.get(config.token_env) or None,
            webhook_url=environ.get(config.webhook_url_env) or None,
        )

    def channel_for(self, alert: Alert) -> str:
        return alert.channel or self._config.channel

    def send(self, alert: Alert) -> Delivery:
        if self._client is None and alert.kind == "follow_up":
            # An incoming webhook cannot reply in a thread; a follow-up posted on its own
            # would be the noise threads exist to avoid. It stays visible in the outbox.
            log.info("alert %s: follow-ups need a bot token (threads); not posted", alert.id)
            return Delivery()
        payload = render_slack(alert)
        if alert.thread_id and self._client is not None:
            payload["thread_ts"] = alert.thread_id
        try:
            return self._post(alert, payload)
        except SlackError as err:
            if err.code not in BLOCK_ERRORS:
                raise
        # Slack refused our blocks (a limit we do not know of): nothing was posted, so
        # deliver the same alert once more as plain text rather than lose it.
        log.warning("Slack rejected the blocks of alert %s; sending it as text", alert.id)
        return self._post(alert, {k: v for k, v in payload.items() if k != "blocks"})

    def _post(self, alert: Alert, payload: dict[str, Any]) -> Delivery:
        try:
            if self._client is not None:
                response = self._client.chat_postMessage(channel=self.channel_for(alert), **payload)
                ts = str(response["ts"])
                return Delivery(remote_id=ts, thread_id=alert.thread_id or ts)
            assert self._webhook is not None
            hook = self._webhook.send_dict(payload)
        except SlackApiError as err:
            raise _api_error(err) from err
        except SlackClientError as err:
            raise NotifyError(f"Slack: {err}", permanent=True) from err
        except (OSError, http.client.HTTPException) as err:  # refused, reset, DNS, timeout
            raise NotifyError(f"Slack: cannot reach the API: {err}") from err
        if hook.status_code != 200:
            retry_after = {k.lower(): v for k, v in hook.headers.items()}.get("retry-after")
            raise classify(
                one_line(hook.body)[:100], status=hook.status_code, retry_after=retry_after
            )
        return Delivery()

    def already_sent(self, alert: Alert) -> str | None:
        """The ``ts`` of a message in the alert's channel that carries this alert's id in
        its metadata, else None. Webhooks cannot read history: always None.

        Reads at most ``history_pages`` pages, back to 10 minutes before the alert was
        created (so ids reused by a fresh database never match old messages). Raises a
        temporary ``NotifyError`` when Slack cannot be asked right now; when it may not be
        asked at all (missing scope, not in channel) logs that and returns None.
        """
        if self._client is None:
            return None
        try:
            channel = self._channel_id(self.channel_for(alert))
            return self._find_in_history(channel, alert) if channel else None
        except SlackApiError as err:
            failure = _api_error(err)
        except (OSError, http.client.HTTPException) as err:
            raise NotifyError(f"Slack: cannot reach the API: {err}") from err
        if not failure.permanent:
            raise failure
        log.warning("cannot check Slack history for alert %s: %s", alert.id, failure)
        return None

    def _find_in_history(self, channel: str, alert: Alert) -> str | None:
        assert self._client is not None
        oldest = "0"
        if alert.created_at is not None:
            oldest = f"{(alert.created_at - timedelta(minutes=10)).timestamp():.6f}"
        cursor = None
        for _ in range(self._config.history_pages):
            page = self._history_page(channel, alert, oldest, cursor)
            for message in page.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == METADATA_EVENT and str(
                    payload.get("alert_id")
                ) == str(alert.id):
                    return str(message["ts"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return None

    def _history_page(self, channel: str, alert: Alert, oldest: str, cursor: str | None) -> Any:
        """One page of the channel's history, or of the thread a reply was posted in
        (replies are not in the channel's history)."""
        assert self._client is not None
        if alert.thread_id:
            return self._client.conversations_replies(
                channel=channel, ts=alert.thread_id, oldest=oldest, limit=200,
                include_all_metadata=True, cursor=cursor,
            )  # fmt: skip
        return self._client.conversations_history(
            channel=channel, oldest=oldest, limit=200, include_all_metadata=True, cursor=cursor
        )

    def _channel_id(self, channel: str) -> str | None:
        """A channel ID for ``#name``, ``name`` or an ID (history needs IDs)."""
        if _CHANNEL_ID.fullmatch(channel):
            return channel
        name = channel.removeprefix("#")
        if name not in self._channel_ids:
            assert self._client is not None
            cursor = None
            for _ in range(self._config.history_pages):
                page = self._client.conversations_list(
                    types="public_channel,private_channel", limit=1000, cursor=cursor
                )
                for found in page.get("channels") or []:
                    self._channel_ids[str(found["name"])] = str(found["id"])
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor or name in self._channel_ids:
                    break
        return self._channel_ids.get(name)
