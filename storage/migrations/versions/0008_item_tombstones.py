"""item tombstones: retention keeps a pruned item's identity while a feed carries it

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

``items.pruned_at``: retention dropped the item's text; the row stays as a tombstone (its
GUID, URL and content keys keep the entry from being new again). ``items.seen_at``: when a
parsed poll last carried a tombstone. ``feeds.parsed_at``: when a poll last read the feed's
entries; a tombstone its feed no longer carried then is dropped.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pruned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parsed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("parsed_at")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("seen_at")
        batch_op.drop_column("pruned_at")
