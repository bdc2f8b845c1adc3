"""Progress for long commands: one line on a terminal's stderr, nothing when piped."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from monitor.config.settings import FetchConfig
from monitor.sources.fetch import FEED_ACCEPT, Fetcher, FetchResult


class Progress:
    """``with Progress(total, "replaying") as p: ... p.step()`` — redraws at most 10 times a
    second and clears its line at the end; silent when ``stream`` is not a terminal."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self.total = total
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.done = 0
        self._drawn = 0.0

    def step(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if self.enabled and (now - self._drawn >= 0.1 or self.done >= self.total):
            self._drawn = now
            self.stream.write(f"\r{self.label} {self.done}/{self.total}\x1b[K")
            self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled and self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


class CountingFetcher(Fetcher):
    """A Fetcher that steps ``progress`` after each feed fetch (articles not counted), so
    ``run --once`` shows how many of its feeds are done without the pipeline knowing."""

    def __init__(self, config: FetchConfig, progress: Progress) -> None:
        super().__init__(config)
        self.progress = progress

    async def fetch(self, url: str, **kwargs: Any) -> FetchResult:
        try:
            return await super().fetch(url, **kwargs)
        finally:
            if kwargs.get("accept", FEED_ACCEPT) == FEED_ACCEPT:
                self.progress.step()
