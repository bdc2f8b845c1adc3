"""story_bands without rowid on SQLite

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21

On SQLite a table whose primary key is not a single INTEGER column keeps its rows in one
B-tree (by rowid) and the key in another. ``story_bands`` is nothing but its key (band,
story_id), and a cold cycle inserts 24 rows per new story at random keys: as a
``WITHOUT ROWID`` table it is one B-tree, so each insert and each commit touches half the
pages. PostgreSQL is unchanged (a heap and its primary key index, as before).
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _rebuild(" WITHOUT ROWID")


def downgrade() -> None:
    _rebuild("")


def _rebuild(options: str) -> None:
    """Copy story_bands into a table created with ``options`` (SQLite only)."""
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE TABLE story_bands_copy (band BIGINT NOT NULL, story_id INTEGER NOT NULL,"
        f" CONSTRAINT pk_story_bands PRIMARY KEY (band, story_id)){options}"
    )
    op.execute("INSERT INTO story_bands_copy (band, story_id) SELECT band, story_id FROM story_bands")
    op.execute("DROP TABLE story_bands")
    op.execute("ALTER TABLE story_bands_copy RENAME TO story_bands")
