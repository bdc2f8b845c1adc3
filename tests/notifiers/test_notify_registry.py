"""The notifier registry, build_notifiers, the console notifier and the layering rule."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest

import notifiers
from monitor.domain.errors import NotifyError
from monitor.domain.model import Delivery
from notifiers import REGISTRY, build_notifiers
from notifiers.console import ConsoleConfig, ConsoleNotifier
from notifiers.email import EmailConfig
from notifiers.slack import SlackConfig
from tests.notifiers.test_notify_render import load_alert

PACKAGE = Path(notifiers.__file__).parent
ALLOWED_FROM_MONITOR = {"monitor.domain.model", "monitor.domain.errors"}


def test_registry_lists_every_notifier_with_its_config() -> None:
    assert set(REGISTRY) == {"slack", "email", "console"}
    assert REGISTRY["slack"].config is SlackConfig
    assert REGISTRY["email"].config is EmailConfig
    assert REGISTRY["console"].config is ConsoleConfig


def test_build_notifiers_builds_only_configured_ones() -> None:
    built = build_notifiers(slack=None, email=None, console=ConsoleConfig(), environ={})
    assert list(built) == ["console"]
    assert built["console"].name == "console"
    assert build_notifiers(slack=None, email=None, console=None, environ={}) == {}


def test_missing_secret_error_never_contains_other_secrets() -> None:
    env = {"NEWSMON_SMTP_PASSWORD": "hunter2-secret"}
    with pytest.raises(NotifyError) as caught:
        build_notifiers(slack=SlackConfig(), email=EmailConfig(), console=None, environ=env)
    assert "SLACK_BOT_TOKEN" in str(caught.value) and "hunter2" not in str(caught.value)
    assert caught.value.permanent


def test_every_notifier_answers_already_sent_and_paces() -> None:
    built = build_notifiers(
        slack=SlackConfig(),
        email=EmailConfig(),
        console=ConsoleConfig(),
        environ={"SLACK_WEBHOOK_URL": "http://127.0.0.1:9/hook"},
    )
    for notifier in built.values():
        assert notifier.already_sent(load_alert("new_item")) is None
        assert getattr(notifier, "min_interval", None) is not None


def test_console_prints_one_block_per_alert() -> None:
    out = io.StringIO()
    ConsoleNotifier(ConsoleConfig(), stream=out).send(load_alert("hostile"))
    text = out.getvalue()
    assert text.startswith("[New story] kn-23: <!channel> & <@U123> KN-23")
    assert "\r" not in text and text.count("\n") == 5  # CR/LF in the title flattened


def test_console_prints_dashboards_and_digests() -> None:
    out = io.StringIO()
    console = ConsoleNotifier(ConsoleConfig(), stream=out)
    assert console.send(load_alert("dashboard")) == Delivery()
    console.send(load_alert("digest"))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[Figure dashboard] casualty-figures: nk_casualties 100–4,000")
    assert lines[2] == (
        "[Digest] nk-deployment, kn-23: 7 new stories — 7 new stories over the limit of 5 per hour"
    )
    assert len(lines) == 2 + 1 + 7 and all(line.startswith("  - ") for line in lines[3:])


def test_console_writes_to_the_current_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleNotifier(ConsoleConfig()).send(load_alert("figure_change"))
    assert "nk_casualties: at least 3,000 people" in capsys.readouterr().out


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_notifiers_import_only_domain_types_and_no_other_notifier(path: Path) -> None:
    imports = _imports(path)
    from_monitor = {name for name in imports if name.split(".")[0] == "monitor"}
    assert from_monitor <= ALLOWED_FROM_MONITOR, f"{path.name} imports {from_monitor}"
    assert not {name for name in imports if name.split(".")[0] == "storage"}
    if path.name != "__init__.py":
        siblings = {n for n in imports if n.startswith("notifiers.")} - {
            "notifiers.base",
            "notifiers.format",
        }
        assert not siblings, f"{path.name} imports another notifier: {siblings}"
