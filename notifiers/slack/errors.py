"""Slack's failures as ``NotifyError``: which error codes are permanent, what waits."""

from __future__ import annotations

import http.client
import math
from collections.abc import Iterator
from contextlib import contextmanager

from slack_sdk.errors import SlackApiError, SlackClientError

from monitor.domain.errors import NotifyError

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
def slack_errors() -> Iterator[None]:
    """slack-sdk's failures as NotifyError: Slack's answers classified (``api_error``),
    client misuse permanent, a network failure temporary."""
    try:
        yield
    except SlackApiError as err:
        raise api_error(err) from err
    except SlackClientError as err:
        raise NotifyError(f"Slack: {err}", permanent=True) from err
    except (OSError, http.client.HTTPException) as err:  # refused, reset, DNS, timeout
        raise NotifyError(f"Slack: cannot reach the API: {err}") from err


def api_error(err: SlackApiError) -> SlackError:
    response = err.response
    data = response.data if isinstance(response.data, dict) else {}
    headers = {k.lower(): v for k, v in (response.headers or {}).items()}
    retry_after = headers.get("retry-after")
    if isinstance(retry_after, list):
        retry_after = retry_after[0] if retry_after else None
    error = str(data.get("error") or "")
    return classify(error, status=response.status_code, retry_after=retry_after)
