"""``SlackNotifier``: one HTTP request per ``send`` (bot token or incoming webhook)."""

from __future__ import annotations

import http.client
import logging
import math
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from monitor.domain.errors import NotifyError
from monitor.domain.model import Alert, Delivery
from monitor.domain.notifier_config import SlackConfig
from notifiers.format import one_line
from notifiers.slack.errors import BLOCK_ERRORS, SlackError, api_error, classify, slack_errors
from notifiers.slack.render import METADATA_EVENT, render_slack

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://slack.com/api/"
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{6,}")


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
        with slack_errors():
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
        with slack_errors():
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
            failure = api_error(err)
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
            failure = api_error(err)
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
