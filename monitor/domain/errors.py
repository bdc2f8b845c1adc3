"""The one error tree of newsmon.

Every error a user can cause or an operator must act on is a ``NewsmonError``;
the CLI prints it as one line (with file and line where there is one) and exits 1.
"""

from __future__ import annotations

from dataclasses import dataclass


class NewsmonError(Exception):
    """Base of every error newsmon raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a config or watchlist file, located at FILE:LINE."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class ConfigError(NewsmonError):
    """A config or watchlist file is wrong. Carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class FetchError(NewsmonError):
    """A feed or article could not be fetched or parsed.

    ``status`` is the HTTP status when there was one; ``retry_after`` (seconds) is set
    when the server asked for a delay; ``permanent`` means retrying will not help (410).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        permanent: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.permanent = permanent


class NotifyError(NewsmonError):
    """A notifier could not deliver an alert.

    ``permanent`` errors (bad token, unknown channel) are not retried; others are,
    after ``retry_after`` seconds when the channel said so.
    """

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class StorageError(NewsmonError):
    """The database is unreachable or not in the expected state."""
