"""One writer for the ``newsmon.yaml`` that a test runs against.

    path = write_config(tmp_path, feeds=[{"url": server.url("/kyiv.xml")}],
                        notifiers={"slack": slack_notifier(slack)})

The base is quiet and offline-safe: SQLite under the test's folder, the shipped watchlists,
no notifier, no HTTP listener, and fetching allowed to reach the 127.0.0.1 servers
of the kit. Each keyword replaces that top-level section whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.support.paths import DATA, REPO
from tests.support.slack_server import SlackServer
from tests.support.smtp_server import SmtpServer

# A watchlist that matches one word and alerts the console: .format(name=..., word=...)
ONE_WORD = (DATA / "watchlists" / "one_word.yaml.template").read_text(encoding="utf-8")

# Fixture stories are dated Nov 2026: tests about delivery, not age, turn the age limit off.
NO_MAX_AGE = {"max_age": "off"}


def write_config(directory: Path, **sections: Any) -> Path:
    """Write ``directory/newsmon.yaml`` from the base config with ``sections`` over it."""
    config: dict[str, Any] = {
        "database": {"url": f"sqlite:///{directory / 'newsmon.db'}"},
        "watchlists": str(REPO / "watchlists"),
        "fetch": {"allow_private_networks": True},
        "http": {"listen": None},
        **sections,
    }
    path = directory / "newsmon.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def slack_notifier(slack: SlackServer, channel: str = "#news-alerts") -> dict[str, Any]:
    """The ``notifiers.slack`` section for the local Slack server."""
    return {"base_url": slack.base_url, "channel": channel}


def email_notifier(smtp: SmtpServer, **options: Any) -> dict[str, Any]:
    """The ``notifiers.email`` section for the local SMTP server."""
    return {"host": "127.0.0.1", "port": smtp.port, "from": "newsmon@test.example", **options}


def write_one_word_watchlist(directory: Path, name: str, word: str) -> Path:
    """Write ``directory/watchlists/<name>.yaml``, a watchlist matching ``word``."""
    path = directory / "watchlists" / f"{name}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(ONE_WORD.format(name=name, word=word), encoding="utf-8")
    return path
