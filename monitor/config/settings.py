"""The service configuration: one YAML file validated by pydantic.

Resolution: ``--config PATH``, else ``$NEWSMON_CONFIG``, else ``./newsmon.yaml``, else the
built-in defaults. ``$NEWSMON_DATABASE_URL`` overrides ``database.url``. Secrets are never
read from the file: the file names the environment variables that hold them.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from monitor.domain.notifier_config import NotifiersConfig

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def parse_duration(value: object) -> float:
    """``"15m"`` → 900.0 seconds. Accepts ms, s, m, h, d, w or a bare number of seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 15m, 1h or 2d")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
    else:
        raise ValueError(f"expected a duration such as 30s, 15m, 1h or 2d, got {value!r}")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


def parse_max_age(value: object) -> float:
    """A duration, or ``off`` (also null): no entry is too old to alert (``math.inf``)."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "off"):
        return math.inf
    try:
        return parse_duration(value)
    except ValueError:
        raise ValueError(
            f"expected a duration such as 12h, 2d or 1w, or off; got {value!r}"
        ) from None


# How old an entry may be, when newsmon first sees it, and still raise alerts.
MaxAge = Annotated[float, BeforeValidator(parse_max_age)]
DEFAULT_MAX_AGE = 2 * 86400.0


def parse_wait(value: object) -> float:
    """A duration that may also be 0 (no waiting at all)."""
    return 0.0 if value in (0, "0", "0s") and not isinstance(value, bool) else parse_duration(value)


Wait = Annotated[float, BeforeValidator(parse_wait)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DatabaseConfig(_Strict):
    url: str = "sqlite:///newsmon.db"


class FeedConfig(_Strict):
    url: str
    name: str | None = None
    interval: Duration = 900.0
    fetch_article: Literal["auto", "always", "never"] = "auto"
    max_age: MaxAge | None = Field(None, description="overrides alerts.max_age for this feed")

    @field_validator("url")
    @classmethod
    def _url_scheme(cls, url: str) -> str:
        if not re.match(r"^(https?|file)://", url, re.I):
            raise ValueError("feed url must start with http://, https:// or file://")
        return url

    @property
    def label(self) -> str:
        return self.name or self.url


class FetchConfig(_Strict):
    timeout: Duration = 20.0
    max_bytes: int = Field(10_000_000, gt=0)
    concurrency: int = Field(50, gt=0, le=1000)
    per_host: int = Field(4, gt=0, le=100)
    allow_private_networks: bool = False
    article_min_chars: int = Field(
        600, ge=0, description="fetch_article=auto fetches the page when the entry is shorter"
    )
    min_interval: Duration = 60.0
    max_interval: Duration = 86400.0
    idle_interval: Duration | None = Field(
        3600.0, description="longest interval a quiet feed is stretched to; null: never"
    )
    flag_after: Duration = Field(
        86400.0, description="a feed failing without success this long is flagged"
    )
    max_redirects: int = Field(5, ge=0, le=20)

    @model_validator(mode="after")
    def _interval_bounds(self) -> Self:
        if self.min_interval > self.max_interval:
            raise ValueError("min_interval must not be longer than max_interval")
        return self


class HttpConfig(_Strict):
    listen: str | None = "127.0.0.1:8080"  # null disables the HTTP endpoints
    # The dashboard's token when ``listen`` is not loopback (NEWSMON_HTTP_TOKEN overrides).
    token: str | None = None

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if value is not None:
            parse_listen(value)  # raises ValueError with what was expected
        return value


class LogConfig(_Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class DeliveryConfig(_Strict):
    interval: Duration = 10.0
    backoff_max: Duration = 3600.0
    once_wait: Wait = Field(
        60.0, description="run --once: how long in all to wait out rate limits and retries; 0: not"
    )


class LeaseConfig(_Strict):
    """How long a replica holds the work it took; another takes it over when it dies."""

    feed: Duration | None = Field(None, description="null: max(5m, 10 x fetch.timeout)")
    alert: Duration = 120.0


class AlertsConfig(_Strict):
    """Old news is history, not an alert: an entry published longer than ``max_age``
    before newsmon first sees it (or undated, on a feed's first poll) is stored with its
    figures but raises no alert."""

    max_age: MaxAge = DEFAULT_MAX_AGE


class RetentionConfig(_Strict):
    items: Duration = 90 * 86400.0
    alerts: Duration = 30 * 86400.0


class Config(_Strict):
    database: DatabaseConfig = DatabaseConfig()
    watchlists: str = "watchlists/"
    feeds: list[FeedConfig] = Field(default_factory=list)
    feeds_file: str | None = Field(
        "feeds.yaml", description="more feeds, managed by `newsmon feeds add`; null: none"
    )
    fetch: FetchConfig = FetchConfig()  # type: ignore[call-arg]
    notifiers: NotifiersConfig = NotifiersConfig()
    http: HttpConfig = HttpConfig()
    log: LogConfig = LogConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    alerts: AlertsConfig = AlertsConfig()
    retention: RetentionConfig = RetentionConfig()
    leases: LeaseConfig = LeaseConfig()
    tick: Duration = 5.0

    # Set by load_config, not by the file: where relative paths are resolved from.
    base_dir: Path = Field(default=Path("."), exclude=True)

    @property
    def watchlists_dir(self) -> Path:
        path = Path(self.watchlists)
        return path if path.is_absolute() else self.base_dir / path

    @property
    def feeds_path(self) -> Path | None:
        """The feeds file, relative to the config file's folder."""
        if self.feeds_file is None:
            return None
        path = Path(self.feeds_file)
        return path if path.is_absolute() else self.base_dir / path


_LISTEN = re.compile(r"^(?:\[(?P<v6>[^\]\s]+)\]|(?P<host>[^\s:\[\]]*)):(?P<port>\d{1,5})$")


def parse_listen(listen: str) -> tuple[str, int]:
    """``"127.0.0.1:8080"`` → ``("127.0.0.1", 8080)``; ``"[::1]:0"`` → ``("::1", 0)``.

    An empty host (``":8080"``) listens on every IPv4 interface. Raises ValueError.
    """
    m = _LISTEN.match(listen.strip())
    port = int(m.group("port")) if m else -1
    if not m or port > 65535:
        raise ValueError(f"expected HOST:PORT such as 127.0.0.1:8080 or [::1]:8080, got {listen!r}")
    host = m.group("v6") if m.group("v6") is not None else m.group("host")
    return host or "0.0.0.0", port  # noqa: S104 - ":PORT" asks for every interface
