"""Notifiers: one module each behind the ``Notifier`` protocol, listed in ``REGISTRY``.

``REGISTRY`` is the one list of notifiers: the name a watchlist route uses, the config model
of its section (``monitor.domain.notifier_config``, where the config loader sees it too)
and how to build it. ``build_notifiers`` turns the ``notifiers:`` section into ready
notifiers. Secrets come from the environment variables the config names; they are never
logged or put in messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from monitor.domain.notifier_config import (
    ConsoleConfig,
    EmailConfig,
    NotifiersConfig,
    SlackConfig,
)
from notifiers.base import Notifier
from notifiers.console import ConsoleNotifier
from notifiers.email import EmailNotifier
from notifiers.slack import SlackNotifier


@dataclass(frozen=True)
class NotifierType:
    """A notifier module's entry: its config model and how to build it from config + env."""

    config: type[BaseModel]
    build: Callable[[Any, Mapping[str, str]], Notifier]


REGISTRY: dict[str, NotifierType] = {
    "slack": NotifierType(SlackConfig, SlackNotifier.from_env),
    "email": NotifierType(EmailConfig, EmailNotifier.from_env),
    "console": NotifierType(ConsoleConfig, lambda config, environ: ConsoleNotifier(config)),
}


def build_notifiers(config: NotifiersConfig, environ: Mapping[str, str]) -> dict[str, Notifier]:
    """The configured notifiers, by name.

    Raises ``NotifyError(permanent=True)`` naming the environment variable when a secret
    a configured notifier needs is missing.
    """
    return {
        name: REGISTRY[name].build(section, environ)
        for name, section in config.configured().items()
    }


__all__ = [
    "REGISTRY",
    "ConsoleConfig",
    "EmailConfig",
    "Notifier",
    "NotifierType",
    "NotifiersConfig",
    "SlackConfig",
    "build_notifiers",
]
