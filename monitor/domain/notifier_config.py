"""The notifiers' config models (the ``notifiers:`` section), one per notifier.

They live in the domain so that both the config loader and the notifier registry
(``notifiers.REGISTRY``, which builds a notifier from its model) can see them without
importing each other. ``NotifiersConfig``'s fields are the notifier names; a test checks
that the registry has exactly these.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SlackConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    token_env: str = "SLACK_BOT_TOKEN"  # noqa: S105 (a variable name, not a secret)
    webhook_url_env: str = "SLACK_WEBHOOK_URL"
    base_url: str | None = None
    channel: str = "#news-alerts"
    timeout: float = 15.0
    history_pages: int = 5  # pages of 200 messages already_sent reads back at most


class EmailConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    host: str = "localhost"
    port: int = Field(25, gt=0, lt=65536)
    starttls: bool = False
    tls: bool = False
    username: str | None = None
    password_env: str = "NEWSMON_SMTP_PASSWORD"  # noqa: S105 (a variable name, not a secret)
    from_: str = Field("newsmon@localhost", alias="from")
    to: list[str] = Field(default_factory=lambda: ["team@example.org"])
    timeout: float = 30.0
    ca_file: str | None = None  # extra CA bundle to trust (a private relay's certificate)

    @model_validator(mode="after")
    def _one_tls_mode(self) -> Self:
        if self.tls and self.starttls:
            raise ValueError("set either tls (implicit TLS, port 465) or starttls, not both")
        return self


class ConsoleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    stream: Literal["stdout", "stderr"] = "stdout"


class NotifiersConfig(BaseModel):
    """One optional section per notifier; ``None`` (absent) means not configured."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slack: SlackConfig | None = None
    email: EmailConfig | None = None
    console: ConsoleConfig | None = None

    def configured(self) -> dict[str, BaseModel]:
        """The configured sections, by notifier name."""
        sections = {name: getattr(self, name) for name in type(self).model_fields}
        return {name: section for name, section in sections.items() if section is not None}


NOTIFIER_NAMES: tuple[str, ...] = tuple(NotifiersConfig.model_fields)
