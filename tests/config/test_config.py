"""Bad configuration: every problem at once as FILE:LINE: message; ``run`` refuses to start.

Each fixture under tests/data/config/ is a broken config file; ``EXPECTED`` lists, per file,
every ``LINE: message`` (message by prefix) that ``newsmon validate`` must print — no more,
no fewer — with exit status 1 and no traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config.load import load_config
from monitor.config.settings import Config, parse_duration
from monitor.domain.errors import ConfigError
from tests.support.paths import REPO

DATA = REPO / "tests" / "data" / "config"

EXPECTED: dict[str, list[str]] = {
    "bad-durations.yaml": [
        "2: fetch.timeout: a duration must be positive",
        "3: fetch.min_interval: expected a duration such as 30s, 15m, 1h or 2d, got '5 minutes'",
        "4: tick: expected a duration",
    ],
    "bad-max-age.yaml": [
        "3: feeds.0.max_age: expected a duration such as 12h, 2d or 1w, or off; got 'a fortnight'",
        "5: alerts.max_age: expected a duration such as 12h, 2d or 1w, or off; got True",
    ],
    "bad-syntax.yaml": ["4: invalid YAML: "],
    "duplicate-feeds.yaml": ["4: feed https://a.example/rss is listed twice"],
    "duplicate-key.yaml": ["3: duplicate key 'fetch'"],
    "duplicates-and-types.yaml": [
        "3: feed https://a.example/rss is listed twice",
        "4: feeds.1.interval: expected a duration",
        "5: fetch.per_host: Input should be greater than 0",
    ],
    "interval-bounds.yaml": ["1: fetch: min_interval must not be longer than max_interval"],
    "many-problems.yaml": [
        "2: database.uri: unknown key",
        "5: feeds.0.interval: expected a duration such as 30s, 15m, 1h or 2d, got 'often'",
        "6: feeds.1.url: feed url must start with http://, https:// or file://",
        "9: fetch.max_bytes: Input should be a valid integer",
        "10: fetch.concurency: unknown key",
        "12: notifiers.slack.token: unknown key",
    ],
    "not-a-mapping.yaml": ["1: the config file must be a mapping of keys"],
    "wrong-types.yaml": [
        "1: feeds: Input should be a valid list",
        "2: http.listen: expected HOST:PORT",
        "4: log.level: Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'",
        "5: notifiers.slack.channel: Input should be a valid string",
    ],
}


def test_every_fixture_has_expectations() -> None:
    assert sorted(p.name for p in DATA.glob("*.yaml")) == sorted(EXPECTED)


def _assert_problems(lines: list[str], name: str) -> None:
    path = str(DATA / name)
    expected = EXPECTED[name]
    assert len(lines) == len(expected), "\n".join(lines)
    for line, want in zip(lines, expected, strict=True):
        assert line.startswith(f"{path}:{want}"), (line, want)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_load_config_reports_every_problem_at_its_line(name: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(str(DATA / name))
    _assert_problems([str(p) for p in info.value.problems], name)


def _newsmon(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**env, "PYTHONPATH": str(REPO)},
    )


@pytest.mark.parametrize("command", [["validate"], ["run"], ["run", "--once"]])
@pytest.mark.parametrize("name", ["many-problems.yaml", "bad-syntax.yaml"])
def test_commands_refuse_a_broken_config(command: list[str], name: str, tmp_path: Path) -> None:
    result = _newsmon(*command, "--config", str(DATA / name), cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    _assert_problems(result.stderr.splitlines(), name)
    assert not list(tmp_path.iterdir()), "nothing was created: no database, no files"


def test_commands_refuse_a_broken_watchlist(tmp_path: Path) -> None:
    watchlists = tmp_path / "watchlists"
    watchlists.mkdir()
    (watchlists / "bad.yaml").write_text(
        "name: bad\nterms:\n  a: []\nmatch:\n  all_of: [missing]\nbogus: 1\n", encoding="utf-8"
    )
    config = tmp_path / "newsmon.yaml"
    config.write_text(
        f"database: {{url: 'sqlite:///{tmp_path / 'x.db'}'}}\nwatchlists: watchlists/\n"
        "http: {listen: null}\n",
        encoding="utf-8",
    )
    for command in (["validate"], ["run", "--once"], ["run"]):
        result = _newsmon(*command, "--config", str(config), cwd=tmp_path)
        assert result.returncode == 1, result
        assert "Traceback" not in result.stderr
        lines = result.stderr.splitlines()
        assert lines and all(line.startswith(f"{watchlists / 'bad.yaml'}:") for line in lines)
        assert len(lines) >= 2, "every problem, not only the first"


def test_missing_config_file_is_one_line(tmp_path: Path) -> None:
    result = _newsmon("run", "--once", "--config", str(tmp_path / "nope.yaml"), cwd=tmp_path)
    assert (result.returncode, result.stderr.strip()) == (
        1,
        f"{tmp_path / 'nope.yaml'}: config file not found",
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("30s", 30),
        ("15m", 900),
        ("2h", 7200),
        ("1d", 86400),
        ("1w", 604800),
        (" 90 ", 90),
        (45, 45),
        (1.5, 1.5),
        ("2.5m", 150),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "15 minutes", "-1s", "0", 0, True, None, [1], "1y"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_defaults_are_valid_and_polite() -> None:
    config = Config()
    assert config.fetch.allow_private_networks is False
    assert config.fetch.min_interval <= config.fetch.max_interval
    assert config.fetch.idle_interval == 3600 and config.fetch.flag_after == 86400
