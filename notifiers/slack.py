"""Slack notifier: a bot token (chat.postMessage) or, without one, an incoming webhook.

The message is built by the pure :func:`render_slack`; :class:`SlackNotifier` makes one
HTTP request per ``send`` and turns every failure into a ``NotifyError``.

Channel: the alert's route channel (``Alert.channel``), else ``SlackConfig.channel``. An
incoming webhook always posts to the channel it was created for and ignores both.

Kinds: ``new_item``, ``figure_change`` and ``digest`` are posted (a digest rolls held
alerts into one message); ``follow_up`` is posted as a reply in ``thread_id``; a
``dashboard`` is not posted at all but edits (chat.update) the message that started a
figure's thread, ``thread_id`` in ``thread_channel``, so that message always shows the
current range of estimates. Follow-ups and dashboards need a bot token: through a webhook
they are skipped (``Delivery()``, logged).
"""

from __future__ import annotations

import http.client
import logging
import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
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
    before_after,
    change_source,
    dashboard_title,
    digest_heading,
    estimate_source,
    estimates,
    format_time,
    kind_label,
    known_source,
    known_value,
    observation_value,
    one_line,
    plural,
    quote_in_language,
    range_summary,
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
# Digests and dashboards list many items: each gets at most ITEM_LIMIT characters, and all
# of them together at most LISTING_LIMIT, because Slack also refuses messages whose blocks
# are too long in total (``msg_blocks_too_long``, a limit it does not publish).
ITEM_LIMIT = 700
LISTING_LIMIT = 12_000
DIGEST_CHANGES_SHOWN = 3

# Slack error codes after which sending (or editing) the same message again cannot
# succeed: chat.postMessage's, then those only chat.update has
# (https://api.slack.com/methods/chat.update#errors) — the message is gone, too old, not
# ours, or cannot take this kind of edit.
PERMANENT_ERRORS = frozenset(
    {
        "as_user_not_supported",
        "block_mismatch",
        "cant_broadcast_message",
        "cant_update_message",
        "edit_window_closed",
        "enterprise_is_restricted",
        "is_inactive",
        "message_not_found",
        "metadata_must_be_sent_from_app",
        "metadata_not_available",
        "msg_blocks_too_long",
        "no_dual_broadcast_content_update",
        "two_factor_setup_required",
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
BLOCK_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long"})
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
    return _header_block(f"{icon} {kind_label(content.kind)} · {', '.join(content.watchlists)}")


def _header_block(text: str) -> dict[str, Any]:
    """A header: one line, cut to 150 characters. plain_text is never parsed for mentions
    or links; only broadcasts need defusing."""
    text = truncate(_BROADCAST.sub("@\u2060", one_line(text)), HEADER_LIMIT)
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
    if quote := quote_in_language(obs):
        lines.append(_inline(quote, 400))
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


def _metadata(alert: Alert) -> dict[str, Any]:
    """Message metadata carrying the alert id: how ``already_sent`` finds a message."""
    return {
        "event_type": METADATA_EVENT,
        "event_payload": {"alert_id": alert.id, "kind": alert.content.kind},
    }


def render_slack(alert: Alert) -> dict[str, Any]:
    """The chat.postMessage payload for an alert (without the channel): text, blocks,
    metadata carrying the alert id. Every article-provided string is escaped; every
    Slack limit is respected by cutting with "…".

    A dashboard alert gives the chat.update payload instead (without channel and ``ts``),
    see :func:`render_dashboard`; a digest the roll-up, see :func:`render_digest`."""
    if alert.kind == "dashboard":
        return render_dashboard(alert)
    if alert.kind == "digest":
        return render_digest(alert)
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
        "metadata": _metadata(alert),
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _listing(
    items: list[str], room: int, more: str = "", *, pack: bool = True
) -> list[dict[str, Any]]:
    """Sections holding ``items`` (escaped mrkdwn, one or more lines each), in order: each
    in its own section, or with ``pack`` as many lines per section as 3,000 characters
    allow. At most ``room`` sections and ``LISTING_LIMIT`` characters in total; items that
    do not fit are counted in a last section ``…and N more{more}``."""
    items = [clip(item, ITEM_LIMIT) for item in items]
    sections: list[list[str]] = []
    used = shown = 0
    for item in items:
        if used + len(item) > LISTING_LIMIT:
            break
        if pack and sections and len("\n".join([*sections[-1], item])) <= SECTION_LIMIT:
            sections[-1].append(item)
        elif len(sections) < room - (1 if shown < len(items) - 1 else 0):
            sections.append([item])  # keeps a block free for "…and N more" while items remain
        else:
            break
        used += len(item) + 1
        shown += 1
    blocks = [_section("\n".join(lines)) for lines in sections]
    if shown < len(items):
        blocks.append(_section(f"…and {len(items) - shown:,} more{more}"))
    return blocks


# --- dashboards: the edited parent of a figure's thread ---------------------------------------


def _updated_token(alert: Alert) -> str | None:
    """When the dashboard was brought up to date: the alert's creation time (the moment
    the change was seen), else the newest article's; as a Slack date token."""
    when = alert.created_at or alert.content.published_at
    if when is None:
        return None
    fallback = escape(format_time(when))
    if when.tzinfo is None:
        return fallback
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _estimate_lines(change: FigureChange, content: AlertContent) -> list[str]:
    lines = []
    for estimate in estimates(change, content):
        line = f"• *{_inline(estimate.value, 200)}* — {_inline(estimate_source(estimate), 400)}"
        linked = _link(estimate.url, "article")
        lines.append(line + (f" · {linked}" if linked != "article" else ""))
    return lines


def render_dashboard(alert: Alert) -> dict[str, Any]:
    """The chat.update payload that turns a figure's thread parent into its dashboard: a
    header, the current range across all estimates, the estimates newest first (value,
    who, outlet, date, article), the spread, and when it was updated. Kept within Slack's
    limits like every other message; the metadata names this (dashboard) alert."""
    content = alert.content
    if not content.changes:  # the core always sends one; render the bare title if not
        return {"text": _inline(content.title, TITLE_LIMIT) or "Figure dashboard",
                "metadata": _metadata(alert)}  # fmt: skip
    change = content.changes[0]
    top = [
        _header_block(dashboard_title(change)),
        _section(f"*{_inline(range_summary(change), 500)}*"),
    ]
    tail = []
    if change.spread:
        tail.append(_section(f":warning: Sources disagree: {_inline(change.spread, 1000)}"))
    updated = _updated_token(alert)
    note = "each change is a reply in this thread"
    tail.append(_context(f"Updated {updated} · {note}" if updated else note.capitalize()))
    listing = _listing(
        _estimate_lines(change, content), BLOCK_LIMIT - len(top) - len(tail), " earlier estimates"
    )
    return {
        "text": _dashboard_text(change, content),
        "blocks": [*top, *listing, *tail],
        "metadata": _metadata(alert),
    }


def _dashboard_text(change: FigureChange, content: AlertContent) -> str:
    lines = [f"{_inline(dashboard_title(change), 200)}: {_inline(range_summary(change), 300)}"]
    lines += [
        f"• {_inline(estimate.value, 200)} — {_inline(estimate_source(estimate), 400)}"
        for estimate in estimates(change, content)
    ]
    return _fit_lines(lines, TEXT_LIMIT)


# --- digests: held alerts rolled into one message ---------------------------------------------


def _digest_item(member: AlertContent) -> str:
    """A member in a few lines: headline as link; outlet, time, matched terms; for a
    figure change the compact before → after per figure."""
    title = _inline(member.title, TITLE_LIMIT) or "(untitled)"
    lines = [f"*{_link(member.url, title)}*"]
    meta = [_inline(member.outlet or "", 200), _date_token(member) or ""]
    if member.matched_terms:
        terms = ", ".join(_inline(term, 100) for term in member.matched_terms)
        meta.append(clip(f"Matched: {terms}", 300))
    if any(meta):
        lines.append(" · ".join(part for part in meta if part))
    for change in member.changes[:DIGEST_CHANGES_SHOWN]:
        source = change.observation.attributed_to
        lines.append(
            f"📈 {_inline(before_after(change), 300)}"
            + (f" _({_inline(source, 100)})_" if source else "")
        )
    hidden = len(member.changes) - DIGEST_CHANGES_SHOWN
    if hidden > 0:
        lines.append(f"…and {plural(hidden, 'more figure change', 'more figure changes')}")
    return _fit_lines(lines, ITEM_LIMIT)


def render_digest(alert: Alert) -> dict[str, Any]:
    """One message rolling up held alerts: a header composed from the members, why they
    were held, then each member compactly (oldest first) — as many as Slack's limits allow,
    then "…and N more". Works through a webhook as well."""
    content = alert.content
    top = [_header_block(f"🗂 {digest_heading(content)}")]
    if content.note:
        top.append(_context(_inline(content.note, 500)))
    if content.digest:
        items = [_digest_item(member) for member in content.digest]
        listing = _listing(items, BLOCK_LIMIT - len(top), pack=False)
    else:
        listing = [_section("Nothing was held.")]
    return {
        "text": _digest_text(content),
        "blocks": [*top, *listing],
        "metadata": _metadata(alert),
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _digest_text(content: AlertContent) -> str:
    lines = [_inline(digest_heading(content), 500)]
    if content.note:
        lines.append(_inline(content.note, 500))
    for member in content.digest:
        outlet = f" ({_inline(member.outlet, 200)})" if member.outlet else ""
        lines.append(f"• {_inline(member.title, TITLE_LIMIT) or '(untitled)'}{outlet}")
    return _fit_lines(lines, TEXT_LIMIT)


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


@contextmanager
def _slack_errors() -> Iterator[None]:
    """slack-sdk's failures as NotifyError: Slack's answers classified (``_api_error``),
    client misuse permanent, a network failure temporary."""
    try:
        yield
    except SlackApiError as err:
        raise _api_error(err) from err
    except SlackClientError as err:
        raise NotifyError(f"Slack: {err}", permanent=True) from err
    except (OSError, http.client.HTTPException) as err:  # refused, reset, DNS, timeout
        raise NotifyError(f"Slack: cannot reach the API: {err}") from err


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
        if alert.kind == "dashboard":
            return self._update_dashboard(alert)
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
        with _slack_errors():
            if self._client is not None:
                response = self._client.chat_postMessage(channel=self.channel_for(alert), **payload)
                ts = str(response["ts"])
                # Slack's own id for the channel: a later chat.update of this message (a
                # figure's dashboard) must name the channel by id, not by "#name".
                channel = response.get("channel")
                return Delivery(
                    remote_id=ts,
                    thread_id=alert.thread_id or ts,
                    remote_channel=str(channel) if channel else None,
                )
            assert self._webhook is not None
            hook = self._webhook.send_dict(payload)
        if hook.status_code != 200:
            retry_after = {k.lower(): v for k, v in hook.headers.items()}.get("retry-after")
            raise classify(
                one_line(hook.body)[:100], status=hook.status_code, retry_after=retry_after
            )
        return Delivery()

    def _update_dashboard(self, alert: Alert) -> Delivery:
        """Edit the message that started the figure's thread (``thread_id`` in
        ``thread_channel``) so it shows the current estimates.

        An incoming webhook cannot edit messages: nothing is sent and the alert stays
        visible in the outbox. Slack refusing our blocks: the edit is made once more with
        the plain text only (``blocks: []`` removes the stale ones), rather than leave the
        dashboard out of date.
        """
        if self._client is None:
            log.info("alert %s: dashboards need a bot token (chat.update); not sent", alert.id)
            return Delivery()
        if not alert.thread_id:
            raise NotifyError(
                f"Slack: dashboard alert {alert.id} names no message to edit", permanent=True
            )
        channel = self._thread_channel(alert)
        # The parent keeps the metadata of the alert that posted it: the channel's history
        # then still shows every alert once (and finds it after a crash); an edit has no
        # message of its own to mark.
        payload = {k: v for k, v in render_slack(alert).items() if k != "metadata"}
        try:
            return self._update(channel, alert.thread_id, payload)
        except SlackError as err:
            if err.code not in BLOCK_ERRORS:
                raise
        log.warning("Slack rejected the blocks of dashboard %s; editing it as text", alert.id)
        return self._update(channel, alert.thread_id, {**payload, "blocks": []})

    def _update(self, channel: str, ts: str, payload: dict[str, Any]) -> Delivery:
        assert self._client is not None
        with _slack_errors():
            response = self._client.chat_update(channel=channel, ts=ts, **payload)
        return Delivery(
            remote_id=str(response.get("ts") or ts),
            thread_id=ts,
            remote_channel=str(response.get("channel") or channel),
        )

    def _thread_channel(self, alert: Alert) -> str:
        """The id of the channel a thread was started in (chat.update takes ids only):
        ``thread_channel`` as Slack reported it; for threads started before newsmon kept
        it, looked up from the route channel's name, else the name as it is (Slack then
        answers ``channel_not_found``, a permanent failure with a clear reason)."""
        if alert.thread_channel:
            return alert.thread_channel
        name = self.channel_for(alert)
        try:
            return self._channel_id(name) or name
        except SlackApiError as err:
            failure = _api_error(err)
            if not failure.permanent:
                raise failure from err
            log.warning("cannot look up the id of Slack channel %s: %s", name, failure)
            return name
        except (OSError, http.client.HTTPException) as err:
            raise NotifyError(f"Slack: cannot reach the API: {err}") from err

    def already_sent(self, alert: Alert) -> str | None:
        """The ``ts`` of a message in the alert's channel that carries this alert's id in
        its metadata, else None. Webhooks cannot read history: always None. Dashboards:
        always None, since editing the parent again is harmless and cheaper than a lookup.

        Reads at most ``history_pages`` pages, back to 10 minutes before the alert was
        created (so ids reused by a fresh database never match old messages). Raises a
        temporary ``NotifyError`` when Slack cannot be asked right now; when it may not be
        asked at all (missing scope, not in channel) logs that and returns None.
        """
        if self._client is None or alert.kind == "dashboard":
            return None  # an edit made twice reads the same: making it again is the check
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
