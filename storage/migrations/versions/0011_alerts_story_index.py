"""alerts.story_id indexed: the dashboard's stories page and backtest look up a story's
alerts (50 → 2 ms per page with a year of history, bench/dashboard.py)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_alerts_story", "alerts", ["story_id"])


def downgrade() -> None:
    op.drop_index("ix_alerts_story", table_name="alerts")
