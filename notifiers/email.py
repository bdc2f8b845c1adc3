"""Email notifier: SMTP (plain, STARTTLS or implicit TLS), multipart text + HTML."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EmailConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    host: str = "localhost"
    port: int = Field(25, gt=0, lt=65536)
    starttls: bool = False
    tls: bool = False
    username: str | None = None
    password_env: str = "NEWSMON_SMTP_PASSWORD"
    from_: str = Field("newsmon@localhost", alias="from")
    to: list[str] = Field(default_factory=lambda: ["team@example.org"])
    timeout: float = 30.0
