"""story bands: LSH band keys replace the per-hash sketch rows; items by feed and time

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21

Looking a story up by any of its 48 bottom-k hashes read every story sharing a hash, and
boilerplate hashes are shared by thousands: the lookup grew with the database. Stories now
keep a one-permutation MinHash sketch in ``stories.sketch`` and are indexed by its LSH band
keys in ``story_bands`` (``monitor.identity.sketch``). Existing stories get both from the text of
their first stored item, as a new story would; a story whose items were all pruned keeps
no sketch (no later copy can join it, as after any retention).

An index on items (feed_id, first_seen_at) answers "when did this feed last give a new
item", asked after every poll, without reading every recent item of every feed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from monitor.identity.sketch import pack_sketch, sketch_bands, text_sketch

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

PAGE = 1000  # stories per backfill round trip


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index("ix_items_feed_seen", ["feed_id", "first_seen_at"], unique=False)
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sketch", sa.LargeBinary(), nullable=True))
    op.create_table(
        "story_bands",
        sa.Column("band", sa.BigInteger(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("band", "story_id", name=op.f("pk_story_bands")),
    )
    conn = op.get_bind()
    for page in _first_texts(conn):
        sketches = [(story_id, text_sketch(text)) for story_id, text in page]
        sketches = [(story_id, sketch) for story_id, sketch in sketches if sketch]
        if not sketches:
            continue
        conn.execute(
            sa.text("UPDATE stories SET sketch = :sketch WHERE id = :id"),
            [{"id": story_id, "sketch": pack_sketch(sketch)} for story_id, sketch in sketches],
        )
        conn.execute(
            sa.text("INSERT INTO story_bands (band, story_id) VALUES (:band, :story_id)"),
            [
                {"band": band, "story_id": story_id}
                for story_id, sketch in sketches
                for band in sketch_bands(sketch)
            ],
        )
    with op.batch_alter_table("story_sketch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_story_sketch_h"))
    op.drop_table("story_sketch")


def downgrade() -> None:
    op.create_table(
        "story_sketch",
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("h", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_story_sketch_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("story_id", "h", name=op.f("pk_story_sketch")),
    )
    with op.batch_alter_table("story_sketch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_story_sketch_h"), ["h"], unique=False)
    conn = op.get_bind()
    for page in _first_texts(conn):
        rows = [
            {"story_id": story_id, "h": h}
            for story_id, text in page
            for h in _bottom_k_0001(text)
        ]
        if rows:
            conn.execute(
                sa.text("INSERT INTO story_sketch (story_id, h) VALUES (:story_id, :h)"), rows
            )
    op.drop_table("story_bands")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_feed_seen")
    # Not in batch mode: SQLite (3.35+) drops a column in place, where a batch would copy
    # ``stories`` and fail to drop the original that items still reference.
    op.drop_column("stories", "sketch")


def _first_texts(conn: Any) -> Iterator[Sequence[tuple[int, str]]]:
    """(story id, text of its first item) for every story with an item, a page at a time."""
    after = 0
    while True:
        page = conn.execute(
            sa.text(
                "SELECT story_id, text FROM items WHERE id IN ("
                " SELECT min(id) FROM items WHERE story_id > :after"
                " GROUP BY story_id ORDER BY story_id LIMIT :page"
                ") ORDER BY story_id"
            ),
            {"after": after, "page": PAGE},
        ).all()
        if not page:
            return
        yield [(int(story_id), text or "") for story_id, text in page]
        after = int(page[-1][0])


def _bottom_k_0001(text: str) -> tuple[int, ...]:
    """The sketch of revisions 0001-0002 (48 smallest shingle hashes), frozen here."""
    words = re.findall(r"\w+", text.casefold())
    if len(words) < 30:
        return ()
    hashes = {
        int.from_bytes(
            hashlib.blake2b(" ".join(words[i : i + 4]).encode(), digest_size=8).digest(), "big"
        )
        >> 1
        for i in range(len(words) - 4 + 1)
    }
    return tuple(sorted(hashes)[:48])
