"""The container and compose files: the essentials checked offline, no Docker engine needed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.config.load import load_config
from monitor.config.settings import parse_listen

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
EXAMPLE = ROOT / "deploy" / "newsmon.example.yaml"
ENV_EXAMPLE = ROOT / "deploy" / "env.example"


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the final Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, args = line.partition(" ")
            out.append((word.upper(), args.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last_from:]


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


# -- Dockerfile -----------------------------------------------------------------------


def test_dockerfile_base_user_and_entrypoint() -> None:
    stage = final_stage()
    assert stage[0] == ("FROM", "python:3.11-slim")
    users = [args for word, args in stage if word == "USER"]
    assert users, "the image must not run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert users[-1].split(":")[0] == "10001"
    assert ("ENTRYPOINT", '["newsmon"]') in stage
    assert json.loads(dict(stage)["CMD"]) == ["run", "--config", "/etc/newsmon/newsmon.yaml"]
    assert "8080" in dict(stage)["EXPOSE"].split()


def test_dockerfile_healthcheck_probes_healthz_on_the_example_port() -> None:
    stage = dict(final_stage())
    check = stage["HEALTHCHECK"]
    assert "CMD" in check and "python" in check and "curl" not in check
    _, port = parse_listen(_example_raw()["http"]["listen"])
    assert f"HTTPConnection('127.0.0.1', {port}," in check
    assert "'/healthz'" in check


def test_dockerfile_read_only_root_friendly() -> None:
    env = " ".join(args for word, args in final_stage() if word == "ENV")
    assert "HOME=/data" in env
    assert "TMPDIR=/tmp" in env
    assert "NEWSMON_DATABASE_URL=sqlite:////data/newsmon.db" in env
    assert ("VOLUME", '["/data"]') in final_stage()


def test_dockerfile_installs_like_the_readme() -> None:
    runs = [args for word, args in dockerfile_instructions() if word == "RUN"]
    assert "python -m venv /opt/venv && /opt/venv/bin/pip install -c constraints.txt ." in runs
    copied = " ".join(args for word, args in dockerfile_instructions() if word == "COPY")
    project = pyproject()
    assert project["project"]["scripts"]["newsmon"] == "monitor.cli.main:main"
    for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]:
        package = pattern.rstrip("*")
        assert f"{package}/" in copied, f"package {package} is not copied into the image"
    assert project["project"]["readme"] in copied  # setuptools needs it to build


def test_readme_install_is_pip_install_dot() -> None:
    readme = ROOT / "README.md"
    if not readme.exists():
        pytest.skip("README.md not written yet")
    assert re.search(r"pip install (-e )?[\"']?\.", readme.read_text())


def test_dockerignore_keeps_secrets_out_of_the_build_context() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in ("deploy/env", ".env", ".git", ".venv"):
        assert entry in ignored


# -- docker-compose.yml ---------------------------------------------------------------


def test_compose_postgres() -> None:
    services = compose()["services"]
    pg = services["postgres"]
    assert pg["image"] == "postgres:16"
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    [volume] = pg["volumes"]
    name, target = volume.split(":")
    assert target == "/var/lib/postgresql/data"
    assert name in compose()["volumes"]


def test_compose_newsmon_service() -> None:
    app = compose()["services"]["newsmon"]
    assert app["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile"}
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert app["env_file"] == ["deploy/env"]
    url = app["environment"]["NEWSMON_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://newsmon:") and url.endswith(
        "@postgres:5432/newsmon"
    )
    assert app["deploy"]["replicas"] == "${NEWSMON_REPLICAS:-1}"
    assert app["read_only"] is True
    assert "/tmp" in app["tmpfs"]
    assert app["restart"] in {"always", "unless-stopped", "on-failure"}
    assert "/healthz" in " ".join(app["healthcheck"]["test"])


def test_compose_mounts_config_and_watchlists_read_only() -> None:
    app = compose()["services"]["newsmon"]
    binds = {m["target"]: m for m in app["volumes"] if isinstance(m, dict)}
    for target, source in (
        ("/etc/newsmon/newsmon.yaml", "./deploy/newsmon.yaml"),
        ("/etc/newsmon/watchlists", "./watchlists"),
    ):
        assert binds[target]["source"] == source
        assert binds[target]["read_only"] is True
    assert "newsmon-data:/data" in app["volumes"]
    assert "newsmon-data" in compose()["volumes"]


def _compose_command() -> list[str] | None:
    for cmd in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(cmd[0]) is None:
            continue
        try:
            probe = subprocess.run([*cmd, "version"], capture_output=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return cmd
    return None


def test_compose_config_is_valid(tmp_path: Path) -> None:
    """``docker compose config -q`` on a copy with deploy/env and deploy/newsmon.yaml in place."""
    cmd = _compose_command()
    if cmd is None:
        pytest.skip("no docker compose client here")
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    (tmp_path / "deploy").mkdir()
    shutil.copy(DOCKERFILE, tmp_path / "deploy" / "Dockerfile")
    shutil.copy(ENV_EXAMPLE, tmp_path / "deploy" / "env")
    shutil.copy(EXAMPLE, tmp_path / "deploy" / "newsmon.yaml")
    shutil.copytree(ROOT / "watchlists", tmp_path / "watchlists")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DOCKER_CONFIG": str(tmp_path / ".docker"),
    }
    result = subprocess.run(
        [*cmd, "-f", "docker-compose.yml", "--env-file", "deploy/env", "config", "-q"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


# -- example config and env -----------------------------------------------------------


def _example_raw() -> dict[str, Any]:
    data = yaml.safe_load(EXAMPLE.read_text())
    assert isinstance(data, dict)
    return data


def test_example_config_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSMON_DATABASE_URL", raising=False)
    config = load_config(str(EXAMPLE))
    assert config.http.listen == "0.0.0.0:8080"
    assert config.log.format == "json"
    assert config.database.url == "sqlite:////data/newsmon.db"
    assert config.watchlists == "watchlists/"  # /etc/newsmon/watchlists in the image
    assert config.notifiers.slack and config.notifiers.email and config.notifiers.console
    assert config.feeds and all(f.url.startswith("https://") for f in config.feeds)


def test_env_example_names_every_secret_the_example_config_uses() -> None:
    names = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.M))
    notifiers = _example_raw()["notifiers"]
    wanted = {
        notifiers["slack"]["token_env"],
        notifiers["slack"]["webhook_url_env"],
        notifiers["email"]["password_env"],
        "POSTGRES_PASSWORD",
    }
    assert wanted <= names
