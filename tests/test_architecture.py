"""Structural rules of the codebase (ARCHITECTURE.md, "Layers"), checked rather than hoped for.

Every module belongs to one layer; it may import modules of its own layer and of the layers
below, never above. Imports inside ``if TYPE_CHECKING:`` are annotations only and do not
count; imports inside functions (lazy imports) do.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import REPO

PACKAGES = ("monitor", "storage", "notifiers")

# From the bottom up. A module's layer is that of the longest prefix listed here.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("monitor.domain", "monitor"),  # ``monitor`` itself: the version and user agent
    ("storage", "notifiers", "monitor.identity.sketch"),
    ("monitor.config",),
    (
        "monitor.sources.schedule",
        "monitor.sources.discover",
        "monitor.sources.opml",
        "monitor.parse",
        "monitor.identity",
        "monitor.analysis",
        "monitor.alerting.changes",
        "monitor.alerting.plan",
        "monitor.alerting.noise",
        "monitor.alerting.baseline",
        "monitor.shipped",
    ),
    ("monitor.runtime",),
    ("monitor.sources", "monitor.alerting", "monitor.pipeline"),
    ("monitor.web",),
    ("monitor.service",),
    ("monitor.cli", "monitor.__main__"),
)

# The pure stages: what they may not import, directly or lazily.
PURE = LAYERS[3] + ("monitor.domain",)
IO_LIBRARIES = (
    "httpx",
    "httpcore",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "slack_sdk",
    "smtplib",
    "socket",
    "aiosmtpd",
    "apscheduler",
    "prometheus_client",
    "urllib.request",
    "subprocess",
    "storage",
    "notifiers",
)


def modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # history: each revision is frozen with the code of its day
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, path


def imported(path: Path) -> set[str]:
    """Every absolute module a file imports, ``from a import b`` as both ``a`` and ``a.b``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    annotations_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for stmt in block.body
        for node in ast.walk(stmt)
    }
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in annotations_only:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_of(name: str) -> int | None:
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if within(name, prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    return best[1] if best else None


KNOWN = dict(modules())


def own_imports(path: Path) -> set[str]:
    """The project's modules a file imports (``from pkg import module`` counts as the module)."""
    found = set()
    for name in imported(path):
        if name in KNOWN:
            found.add(name)
        elif name.rpartition(".")[0] in KNOWN:
            found.add(name.rpartition(".")[0])
    return found


def test_every_module_has_a_layer() -> None:
    assert [name for name in KNOWN if layer_of(name) is None] == []


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    upward = {}
    for name, path in KNOWN.items():
        mine = layer_of(name)
        assert mine is not None
        above = sorted(m for m in own_imports(path) if (layer_of(m) or 0) > mine)
        if above:
            upward[name] = above
    assert upward == {}


def test_pure_stages_import_no_io_library() -> None:
    offenders = {}
    for name, path in KNOWN.items():
        if not any(within(name, prefix) for prefix in PURE):
            continue
        bad = sorted(n for n in imported(path) if any(within(n, lib) for lib in IO_LIBRARIES))
        if bad:
            offenders[name] = bad
    assert offenders == {}


def test_storage_and_notifiers_import_only_domain_types_from_monitor() -> None:
    offenders = {}
    for name, path in KNOWN.items():
        if not (within(name, "storage") or within(name, "notifiers")):
            continue
        bad = sorted(
            n
            for n in own_imports(path)
            if within(n, "monitor")
            and not within(n, "monitor.domain")
            and not (within(name, "storage") and n == "monitor.identity.sketch")
        )
        if bad:
            offenders[name] = bad
    assert offenders == {}


def test_storage_and_notifiers_never_import_each_other() -> None:
    for name, path in KNOWN.items():
        for mine, other in (("storage", "notifiers"), ("notifiers", "storage")):
            if within(name, mine):
                assert not any(within(n, other) for n in imported(path)), name


def test_there_is_no_import_cycle() -> None:
    graph = {name: own_imports(path) - {name} for name, path in KNOWN.items()}
    # a package's __init__ importing its own modules is how packages export; not a cycle
    for name in graph:
        graph[name] = {m for m in graph[name] if not within(m, name)}
    cycles = []
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert cycles == []


@pytest.mark.parametrize(
    "path",
    [p for _, p in modules() if p.parts[-2:] != ("versions",)],
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_no_source_file_is_much_over_600_lines(path: Path) -> None:
    """About 600 lines at most: past that a file holds more than one concern."""
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 620
