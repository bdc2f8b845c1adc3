"""Slack notifier (bot token via chat.postMessage, or an incoming webhook)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SlackConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    token_env: str = "SLACK_BOT_TOKEN"
    webhook_url_env: str = "SLACK_WEBHOOK_URL"
    base_url: str | None = None
    channel: str = "#news-alerts"
    timeout: float = 15.0
