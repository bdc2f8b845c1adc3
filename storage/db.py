"""Engine creation and schema migrations (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.domain.errors import StorageError

MIGRATIONS = Path(__file__).parent / "migrations"
READONLY = "newsmon_readonly"  # execution option of read_sessions()
# pg_advisory_lock key serialising migrations of one database ("newsmon" in ASCII).
MIGRATION_LOCK = 0x6E6577736D6F6E


def make_engine(url: str) -> Engine:
    """An engine tuned per backend: SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        if url.startswith("sqlite"):
            # The driver must not open transactions itself: _sqlite_begin does, IMMEDIATE.
            engine = create_engine(url, connect_args={"timeout": 30, "isolation_level": None})
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise StorageError(f"cannot use database URL {redact_url(url)}: {exc}") from None
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # A cold cycle writes thousands of rows at random keys (band keys, hashes): a page
    # cache of up to 32 MB (default 2 MB) and checkpoints every ~40 MB of WAL (default 4 MB)
    # cut a stored entry's CPU by ~15 % (docs/performance.md, perf-store). Both are limits,
    # not allocations: an idle connection holds nothing.
    cursor.execute("PRAGMA cache_size=-32000")
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    """Take SQLite's write lock when a transaction starts, not at its first write.

    A deferred transaction that reads, then writes after another connection committed,
    fails at once with SQLITE_BUSY_SNAPSHOT instead of waiting; with several writers (the
    service's threads, a CLI command, a second process) every transaction here reads
    before it writes. IMMEDIATE makes them queue on the busy timeout instead. Sessions
    from :func:`read_sessions` never write, so they begin deferred and do not queue.
    """
    readonly = conn.get_execution_options().get(READONLY, False)
    conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def redact_url(url: str) -> str:
    """The URL with any password replaced, for messages and logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is echoed without its userinfo
        return url.split("@")[-1]


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def read_sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reading only (on SQLite they do not take the write lock)."""
    return sessionmaker(engine.execution_options(**{READONLY: True}), expire_on_commit=False)


def alembic_config(engine: Engine) -> AlembicConfig:
    config = _script_config()
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision``; an empty database and an older one both upgrade.

    Replicas starting together all call this: a lock (a PostgreSQL advisory lock, a file
    lock beside a SQLite database) lets one migrate while the others wait, then find the
    schema current and do nothing."""
    try:
        with _migration_lock(engine):
            command.upgrade(alembic_config(engine), revision)
    except SQLAlchemyError as exc:
        raise StorageError(
            f"database migration failed on {redact_url(str(engine.url))}: {exc}"
        ) from None


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
                conn.commit()
        return
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield  # one process owns such a database
        return
    with open(f"{database}.migrate-lock", "a+b") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)  # released when the file is closed
        yield


@cache
def head_revision() -> str | None:
    """The newest migration this version of newsmon knows."""
    return ScriptDirectory.from_config(_script_config()).get_current_head()


def _script_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def schema_status(engine: Engine) -> tuple[bool, str]:
    """Whether the database is reachable and migrated to this version's head (readiness)."""
    try:
        current = current_revision(engine)
    except SQLAlchemyError as exc:
        return False, f"unreachable: {str(exc).splitlines()[0]}"
    head = head_revision()
    if current != head:
        return False, f"schema at revision {current or 'none'}, expected {head}"
    return True, f"reachable, schema at revision {head}"
