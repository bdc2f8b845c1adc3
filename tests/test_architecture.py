"""Structural rules of the codebase, checked rather than hoped for."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.paths import REPO

ALLOWED_FROM_MONITOR = {"monitor.domain.model", "monitor.domain.errors"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", ["storage", "notifiers"])
def test_storage_and_notifiers_import_only_domain_types_from_monitor(package: str) -> None:
    offenders = {}
    for path in sorted((REPO / package).rglob("*.py")):
        bad = {
            name
            for name in imported_modules(path)
            if (name == "monitor" or name.startswith("monitor."))
            and name not in ALLOWED_FROM_MONITOR
        }
        if bad:
            offenders[str(path.relative_to(REPO))] = sorted(bad)
    assert offenders == {}


def test_storage_never_imports_notifiers_and_notifiers_never_import_storage() -> None:
    for package, forbidden in (("storage", "notifiers"), ("notifiers", "storage")):
        for path in (REPO / package).rglob("*.py"):
            assert not any(
                n == forbidden or n.startswith(forbidden + ".") for n in imported_modules(path)
            ), path
