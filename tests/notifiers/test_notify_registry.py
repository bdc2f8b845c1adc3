"""The notifier registry, build_notifiers, the console notifier and the layering rule."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest

import notifiers
from monitor.domain.errors import NotifyError
from monitor.domain.model import Delivery
from monitor.domain.notifier_config import (
    NOTIFIER_NAMES,
    ConsoleConfig,
    EmailConfig,
    NotifiersConfig,
    SlackConfig,
)
from notifiers import REGISTRY, build_notifiers
from notifiers.console import ConsoleNotifier
from tests.notifiers.test_notify_render import load_alert

PACKAGE = Path(notifiers.__file__).parent


def test_registry_lists_every_notifier_with_its_config() -> None:
    assert set(REGISTRY) == {"slack", "email", "console"}
    assert tuple(REGISTRY) == NOTIFIER_NAMES  # the config sections are the registry's
    assert REGISTRY["slack"].config is SlackConfig
    assert REGISTRY["email"].config is EmailConfig
    assert REGISTRY["console"].config is ConsoleConfig


def test_build_notifiers_builds_only_configured_ones() -> None:
    built = build_notifiers(NotifiersConfig(console=ConsoleConfig()), environ={})
    assert list(built) == ["console"]
    assert built["console"].name == "console"
    assert build_notifiers(NotifiersConfig(), environ={}) == {}


def test_each_config_section_is_validated_by_its_notifiers_model() -> None:
    sections = NotifiersConfig.model_fields
    for name, entry in REGISTRY.items():
        assert sections[name].annotation == entry.config | None


def test_missing_secret_error_never_contains_other_secrets() -> None:
    env = {"NEWSMON_SMTP_PASSWORD": "hunter2-secret"}
    with pytest.raises(NotifyError) as caught:
        build_notifiers(NotifiersConfig(slack=SlackConfig(), email=EmailConfig()), environ=env)
    assert "SLACK_BOT_TOKEN" in str(caught.value) and "hunter2" not in str(caught.value)
    assert caught.value.permanent


def test_every_notifier_answers_already_sent_and_paces() -> None:
    built = build_notifiers(
        NotifiersConfig(slack=SlackConfig(), email=EmailConfig(), console=ConsoleConfig()),
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


def _module(path: Path) -> str:
    """``notifiers.slack`` for notifiers/slack.py and for every module of notifiers/slack/."""
    top = path.relative_to(PACKAGE).parts[0]
    return "notifiers." + top.removesuffix(".py")


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_notifiers_import_only_domain_types_and_no_other_notifier(path: Path) -> None:
    imports = _imports(path)
    from_monitor = {name for name in imports if name.split(".")[0] == "monitor"}
    assert all(name.startswith("monitor.domain.") for name in from_monitor), from_monitor
    assert not {name for name in imports if name.split(".")[0] == "storage"}
    if path != PACKAGE / "__init__.py":
        own = _module(path)
        siblings = {
            n
            for n in imports
            if n.startswith("notifiers.") and n != own and not n.startswith(own + ".")
        } - {"notifiers.base", "notifiers.format"}
        assert not siblings, f"{path.name} imports another notifier: {siblings}"
