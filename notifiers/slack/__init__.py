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

from notifiers.slack.client import SlackNotifier
from notifiers.slack.errors import PERMANENT_ERRORS, SlackError, classify
from notifiers.slack.render import (
    METADATA_EVENT,
    escape,
    render_dashboard,
    render_digest,
    render_slack,
    render_text,
)

__all__ = [
    "METADATA_EVENT",
    "PERMANENT_ERRORS",
    "SlackError",
    "SlackNotifier",
    "classify",
    "escape",
    "render_dashboard",
    "render_digest",
    "render_slack",
    "render_text",
]
