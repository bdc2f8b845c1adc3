"""The one small interface every notifier implements."""

from __future__ import annotations

from typing import Protocol

from monitor.domain.model import Alert, Delivery


class Notifier(Protocol):
    """Delivers one alert.

    ``send`` makes one attempt and raises ``monitor.domain.errors.NotifyError`` when it fails:
    ``permanent=True`` when retrying cannot help (bad token, unknown channel, rejected
    recipient), else a temporary error with ``retry_after`` seconds when the channel
    asked for a delay. Notifiers never retry or sleep themselves: the outbox worker owns
    retries and pacing.

    ``already_sent`` answers, for an alert whose previous attempt may have been cut short
    (a crash between send and mark), whether it already arrived: the remote id of the
    message when the notifier can tell, else ``None`` (send again). Only Slack with a bot
    token can tell (message metadata); email resends keep the same ``Message-ID``.

    Kinds: every notifier renders ``new_item``, ``figure_change`` and ``digest`` (one
    message for many held alerts, ``AlertContent.digest``). ``follow_up`` and
    ``dashboard`` are Slack-thread kinds: a dashboard edits the message that started a
    figure's thread (``Alert.thread_id``/``thread_channel``) and returns its id; where a
    notifier cannot edit or thread (webhook, email) it returns ``Delivery()`` without
    sending, and console just prints. ``Delivery.remote_channel`` carries the channel's
    own id when the channel reports one (Slack), for later edits of that message.

    Each notifier class also sets ``min_interval``: the seconds the worker should keep
    between two sends to one channel (Slack 1.0, others 0).
    """

    name: str
    min_interval: float

    def send(self, alert: Alert) -> Delivery: ...

    def already_sent(self, alert: Alert) -> str | None: ...
