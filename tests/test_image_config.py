"""The container image's default config runs on its own: console alerts, no secret."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monitor.cli.main import main
from tests.support.paths import REPO


def test_the_image_default_config_validates_and_runs_once_without_any_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    etc = tmp_path / "etc"  # laid out as the Dockerfile lays /etc/newsmon
    shutil.copytree(REPO / "watchlists", etc / "watchlists")
    shutil.copytree(REPO / "deploy" / "sample-feeds", etc / "sample-feeds")
    shutil.copy(REPO / "deploy" / "newsmon.image.yaml", etc / "newsmon.yaml")
    for name in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "NEWSMON_SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEWSMON_DATABASE_URL", f"sqlite:///{tmp_path / 'newsmon.db'}")
    config = str(etc / "newsmon.yaml")

    assert main(["validate", "--config", config]) == 0
    assert main(["run", "--once", "--config", config]) == 0

    captured = capsys.readouterr()
    assert "notifiers: console" in captured.out
    assert "[New story]" in captured.out
    assert "polled 2 feeds (0 failed)" in captured.err


def test_the_dockerfile_bakes_the_image_config_and_what_it_points_to() -> None:
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    assert "COPY deploy/newsmon.image.yaml /etc/newsmon/newsmon.yaml" in dockerfile
    assert "COPY deploy/sample-feeds/ /etc/newsmon/sample-feeds/" in dockerfile
    assert "pip install -c constraints.txt ." in dockerfile
    assert "-c constraints.txt" in (REPO / ".ci" / "run").read_text()
