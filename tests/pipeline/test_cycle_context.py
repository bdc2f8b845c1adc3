"""A cycle reads the watchlists once: a live reload mid-cycle takes effect at the next one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from monitor.pipeline.cycle import PollBatch
from monitor.runtime.app import App, compile_watchlists
from tests.support.config import write_config
from tests.support.paths import REPO


def test_a_reload_during_a_cycle_changes_neither_its_matching_nor_its_routing(
    tmp_path: Path, make_app: Callable[..., App]
) -> None:
    app = make_app(
        write_config(
            tmp_path,
            database={"url": f"sqlite:///{tmp_path / 'cycle.db'}"},
            watchlists=str(REPO / "watchlists"),
            notifiers={"console": {}},
        )
    )
    batch = asyncio.run(PollBatch.start(app))
    version = app.compiled
    app.compiled = compile_watchlists([])  # what a live reload does, mid-cycle

    assert batch.compiled is version
    assert set(app.routing(batch.compiled).watchlists) == set(version.by_name) != set()
    assert set(app.routing().watchlists) == set()  # the next cycle sees the new version
