"""Notifiers: one module each behind the ``Notifier`` protocol, listed in ``REGISTRY``.

``build_notifiers`` turns the ``notifiers:`` config section into ready notifiers keyed by
the name a watchlist route uses (``slack``, ``email``, ``console``). Secrets come from the
environment variables the config names; they are never logged or put in messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from notifiers.base import Notifier
from notifiers.console import ConsoleConfig, ConsoleNotifier
from notifiers.email import EmailConfig, EmailNotifier
from notifiers.slack import SlackConfig, SlackNotifier


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


def build_notifiers(
    *,
    slack: SlackConfig | None,
    email: EmailConfig | None,
    console: ConsoleConfig | None,
    environ: Mapping[str, str],
) -> dict[str, Notifier]:
    """The configured notifiers (a ``None`` config means not configured), by name.

    Raises ``NotifyError(permanent=True)`` naming the environment variable when a secret
    a configured notifier needs is missing.
    """
    configs: dict[str, BaseModel | None] = {"slack": slack, "email": email, "console": console}
    return {
        name: REGISTRY[name].build(config, environ)
        for name, config in configs.items()
        if config is not None
    }


__all__ = [
    "REGISTRY",
    "ConsoleConfig",
    "EmailConfig",
    "Notifier",
    "NotifierType",
    "SlackConfig",
    "build_notifiers",
]
