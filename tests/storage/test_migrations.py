"""Schema migrations on SQLite and PostgreSQL: from empty, from every earlier revision with
data in it, from the command line, and from several replicas starting at once."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import OperationalError

from monitor.cli.main import main
from monitor.identity.sketch import BANDS, pack_sketch, text_sketch
from storage.db import _script_config, current_revision, head_revision, make_engine, upgrade
from storage.models import AlertRow, Base, Feed, FigureObservation, Item
from tests.support.paths import REPO

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC).replace(tzinfo=None)

# Rows as revision 0001 knew them; later revisions must keep them.
SEED_0001 = [
    "INSERT INTO feeds (id, url, interval_seconds, active, consecutive_failures, gone,"
    " next_poll_at, polls) VALUES (1, 'https://a.example/rss', 900, true, 0, false, :now, 3)",
    "INSERT INTO stories (id, title, first_seen_at) VALUES (1, 'A story', :now)",
    "INSERT INTO items (id, feed_id, story_id, url_key, content_hash, text_hash, url, title,"
    " summary, text, first_seen_at, matched) VALUES (1, 1, 1, 'u1', 'c1', 't1',"
    " 'https://a.example/1', 'A story', '', 'text', :now, '[\"alpha\"]')",
    "INSERT INTO figure_series (id, figure, unit) VALUES (1, 'nk_killed', 'people')",
    "INSERT INTO observations (id, series_id, item_id, watchlist, value, low, high, qualifier,"
    " quote, increment, first_seen_at, changed) VALUES (1, 1, 1, 'alpha', 3000, 3000, 3000,"
    " 'exact', '3,000 killed', false, :now, true)",
    "INSERT INTO alerts (id, dedup_key, kind, notifier, watchlists, story_id, item_id, content,"
    " state, attempts, created_at, next_attempt_at) VALUES (1, 'k1', 'new_item', 'console',"
    " '[\"alpha\"]', 1, 1, '{}', 'pending', 0, :now, :now)",
]


# Tables a later revision replaced (their rows moved elsewhere; tested on their own):
# story_sketch became stories.sketch + story_bands in 0004.
RETIRED = {"story_sketch"}


def revisions() -> list[str]:
    """Every revision from the first to head, in order."""
    script = ScriptDirectory.from_config(_script_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions("base", "heads")))]


def schema_differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))


def test_an_empty_database_upgrades_to_head_matching_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision() == revisions()[-1]
    assert schema_differences(engine) == []
    upgrade(engine)  # again: nothing to do
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_a_database_of_the_first_version_upgrades_step_by_step_keeping_its_data(
    db_url: str,
) -> None:
    engine = make_engine(db_url)
    first, *later = revisions()
    upgrade(engine, first)
    with engine.begin() as conn:
        for statement in SEED_0001:
            conn.execute(text(statement), {"now": NOW})
    counts = {t: n for t, n in table_counts(engine).items() if t not in RETIRED}
    for revision in later:  # every step from the first revision to head
        upgrade(engine, revision)
        assert current_revision(engine) == revision
        assert {t: n for t, n in table_counts(engine).items() if t in counts} == counts
    with engine.connect() as conn:  # the current models read the old rows
        assert conn.scalar(select(Feed.url)) == "https://a.example/rss"
        assert conn.scalar(select(Item.matched)) == ["alpha"]
        assert conn.scalar(select(FigureObservation.low)) == 3000
        assert conn.scalar(select(AlertRow.state)) == "pending"
    assert schema_differences(engine) == []
    engine.dispose()


def table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        names = [n for n in inspect(conn).get_table_names() if n != "alembic_version"]
        return {n: int(conn.scalar(text(f'SELECT count(*) FROM "{n}"')) or 0) for n in names}


def test_db_upgrade_command_migrates_and_reports(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEWSMON_DATABASE_URL", db_url)
    monkeypatch.chdir(tmp_path)
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "upgrade"]) == 0
    engine = make_engine(db_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()
    assert "is at the latest schema" in capsys.readouterr().out


def test_replicas_starting_together_migrate_once_without_racing(
    db_url: str, tmp_path: Path
) -> None:
    command = [sys.executable, "-m", "monitor", "db", "upgrade"]
    env = {"NEWSMON_DATABASE_URL": db_url, "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    procs = [
        subprocess.Popen(
            command,
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 4, [err for _, err in results]
    engine = make_engine(db_url)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM alembic_version")) == 1
    engine.dispose()


def test_story_bands_keep_their_rows_in_one_btree_on_sqlite(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0004")
    rows = [{"band": band, "story_id": story} for band in (7, 2**62) for story in (1, 2)]
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO story_bands (band, story_id) VALUES (:band, :story_id)"), rows
        )
    upgrade(engine, "0005")  # 0006 rebuilds the rows from stories.sketch (none here)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT band, story_id FROM story_bands ORDER BY 1, 2")).all()
        assert [tuple(r) for r in stored] == [(r["band"], r["story_id"]) for r in rows]
        if engine.dialect.name == "sqlite":  # WITHOUT ROWID: no rowid column to read
            with pytest.raises(OperationalError):
                conn.execute(text("SELECT rowid FROM story_bands"))
    upgrade(engine)  # the later revisions change other tables: compare at head
    assert schema_differences(engine) == []
    engine.dispose()


def migration(revision: str) -> ModuleType:
    """The module of one revision, as alembic loads it (for the functions it froze)."""
    script = ScriptDirectory.from_config(_script_config()).get_revision(revision)
    assert script is not None
    return script.module


def test_story_bands_are_rebuilt_from_every_stored_sketch_page_after_page(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0005")
    sketch = text_sketch(" ".join(f"word{n}" for n in range(60)))
    stories = migration("0006").PAGE + 1  # more than one page of stories
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO stories (id, title, first_seen_at, sketch) VALUES (:id, '', :now, :s)"
            ),
            [{"id": n, "now": NOW, "s": pack_sketch(sketch)} for n in range(1, stories + 1)],
        )
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT story_id, count(*) FROM story_bands GROUP BY story_id"))
        assert {s: n for s, n in rows} == dict.fromkeys(range(1, stories + 1), BANDS)
        assert "story_bands_rebuild" not in inspect(conn).get_table_names()
    assert schema_differences(engine) == []
    engine.dispose()
