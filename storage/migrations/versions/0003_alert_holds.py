"""alert holds (quiet hours, cooldown, digests) and the channel id of threads

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hold_reason", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("hold_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("rolled_into", sa.Integer(), nullable=True))
        batch_op.create_index(
            "ix_alerts_channel_created", ["notifier", "channel", "created_at"], unique=False
        )
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remote_channel", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.drop_column("remote_channel")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_channel_created")
        batch_op.drop_column("rolled_into")
        batch_op.drop_column("hold_note")
        batch_op.drop_column("hold_reason")
