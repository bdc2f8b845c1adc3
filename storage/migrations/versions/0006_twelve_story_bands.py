"""story bands: 12 keys per story instead of 24

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21

A story is now looked up by the keys of the first 12 bands of its sketch
(``monitor.identity.sketch.BANDS``), not all 24: half the rows to insert, look up and commit per
new story, for 0.02-0.06 % fewer copies found (docs/performance.md, "Band keys").
Sketches are unchanged, and so is the key of each band: ``story_bands`` is rebuilt from
``stories.sketch`` with the very function new stories get their keys from, so it holds
exactly the rows the code would write (a story without a sketch has none).

Set-based where SQL can be: the keys (blake2b, computed in Python) go to an unindexed
scratch table a page of stories at a time, and reach ``story_bands`` in one ordered
INSERT ... SELECT, which appends to its B-tree instead of writing pages at random.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from monitor.identity.sketch import sketch_bands, unpack_sketch

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PAGE = 5000  # stories per round trip


def upgrade() -> None:
    _rebuild(sketch_bands)


def downgrade() -> None:
    _rebuild(_bands_0005)


def _rebuild(keys_of: Callable[[Sequence[int]], list[int]]) -> None:
    """Replace every row of story_bands by ``keys_of`` each stored sketch."""
    conn = op.get_bind()
    postgresql = conn.dialect.name == "postgresql"
    op.execute(
        "CREATE TABLE story_bands_rebuild (band BIGINT NOT NULL, story_id INTEGER NOT NULL)"
    )
    for page in _sketches(conn):
        rows = [(band, story_id) for story_id, sketch in page for band in keys_of(sketch)]
        if not rows:
            continue
        if postgresql:  # one statement per page: executemany took 5x as long
            conn.execute(
                sa.text(
                    "INSERT INTO story_bands_rebuild (band, story_id) SELECT * FROM"
                    " unnest(CAST(:bands AS BIGINT[]), CAST(:stories AS INTEGER[]))"
                ),
                {"bands": [band for band, _ in rows], "stories": [story for _, story in rows]},
            )
        else:
            conn.execute(
                sa.text("INSERT INTO story_bands_rebuild (band, story_id) VALUES (:b, :s)"),
                [{"b": band, "s": story_id} for band, story_id in rows],
            )
    # TRUNCATE frees the table at once; SQLite's DELETE without WHERE does the same.
    op.execute("TRUNCATE story_bands" if postgresql else "DELETE FROM story_bands")
    op.execute(
        "INSERT INTO story_bands (band, story_id)"
        " SELECT band, story_id FROM story_bands_rebuild ORDER BY band, story_id"
    )
    op.execute("DROP TABLE story_bands_rebuild")


def _sketches(conn: Any) -> Iterator[list[tuple[int, tuple[int, ...]]]]:
    """(story id, sketch) of every story with a sketch, a page at a time."""
    after = 0
    while True:
        page = conn.execute(
            sa.text(
                "SELECT id, sketch FROM stories WHERE id > :after AND sketch IS NOT NULL"
                " ORDER BY id LIMIT :page"
            ),
            {"after": after, "page": PAGE},
        ).all()
        if not page:
            return
        yield [(int(story_id), unpack_sketch(data)) for story_id, data in page]
        after = int(page[-1][0])


_BAND_0005 = struct.Struct("<H2q")


def _bands_0005(sketch: Sequence[int]) -> list[int]:
    """The keys of revisions 0004-0005 (all 48 positions, 24 bands of 2), frozen here."""
    return [
        int.from_bytes(
            hashlib.blake2b(
                _BAND_0005.pack(band, *sketch[2 * band : 2 * band + 2]), digest_size=8
            ).digest(),
            "big",
        )
        & ((1 << 63) - 1)
        for band in range(len(sketch) // 2)
    ]
