"""The one small interface every notifier implements."""

from __future__ import annotations

from typing import Protocol

from monitor.model import Alert, Delivery


class Notifier(Protocol):
    """Delivers one alert. Raises ``monitor.errors.NotifyError`` when it cannot.

    ``send`` must be safe to call again for the same alert after a crash: notifiers that
    can check whether an alert already arrived (Slack message metadata) do so.
    """

    name: str

    def send(self, alert: Alert) -> Delivery: ...
