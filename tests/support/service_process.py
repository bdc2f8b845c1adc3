"""``newsmon run`` as a real subprocess for tests, with its JSON log lines collected.

    with ServiceProcess(config_path) as service:
        service.wait_for_log(lambda line: line["msg"] == "polled feed")
        httpx.get(service.url + "/readyz")
        assert service.stop() == 0           # SIGTERM, then the exit status

The config must set ``log: {format: json}``. Every stderr line is parsed (a line that is
not JSON is kept as ``{"msg": line, "not_json": True}``) by a reader thread; waiting is on a
condition that each new line notifies, never on sleeps.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from tests.support.paths import REPO

LogLine = dict[str, Any]


class ServiceProcess:
    def __init__(self, config: Path, env: Mapping[str, str] | None = None) -> None:
        self.lines: list[LogLine] = []
        self._changed = threading.Condition()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=config.parent,
            env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            try:
                line = json.loads(raw)
            except ValueError:
                line = {"msg": raw.rstrip("\n"), "not_json": True}
            with self._changed:
                self.lines.append(line if isinstance(line, dict) else {"msg": raw})
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for_log(self, predicate: Callable[[LogLine], bool], timeout: float = 15.0) -> LogLine:
        """The first log line matching ``predicate``, waiting for it up to ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((line for line in self.lines if predicate(line)), None)
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no such log line; the log so far:\n{self.log_text()}")
                self._changed.wait(remaining)

    def log_text(self) -> str:
        with self._changed:
            return "\n".join(json.dumps(line) for line in self.lines[-60:])

    @property
    def url(self) -> str:
        """The base URL of the HTTP endpoints (the service logs it when it listens)."""
        line = self.wait_for_log(lambda entry: entry.get("msg") == "HTTP endpoints listening")
        return str(line["url"])

    def send(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Send ``sig`` and return the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._reader.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    """Poll an observable condition (no event to wait on) until true or ``timeout``."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if time.monotonic() >= deadline:
            return False
        pause.wait(step)
    return True


def rss(items: list[tuple[str, str, str]]) -> bytes:
    """An RSS 2.0 document of (guid, title, description) items."""
    body = "".join(
        f"<item><guid>{guid}</guid><title>{title}</title><link>https://news.example/{guid}</link>"
        f"<description>{text}</description></item>"
        for guid, title, text in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Test</title>'
        f"<link>https://news.example/</link>{body}</channel></rss>"
    ).encode()


def story_text(seed: str, word: str) -> str:
    """A text unlike every other seed's (so no two entries look like one story), with ``word``."""
    tokens = [hashlib.sha256(f"{seed}/{i}".encode()).hexdigest()[:8] for i in range(40)]
    words = ["w" + "".join(chr(97 + int(c, 16) % 26) for c in token) for token in tokens]
    return f"{word} report {seed}: " + " ".join(words) + "."
