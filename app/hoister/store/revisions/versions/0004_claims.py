"""Queue entries are claimed: an owner, a lease it renews, and a fencing claim number.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

Finishing an entry checks the claim number, so an owner whose lease expired and was
taken over cannot finish it again. Manual promotions keep their options (so a retry by
an agent does what the person asked). A history row names the entry it is about, so a
caller finds the row of its own promotion rather than "the latest one".
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("queue", sa.Column("owner", sa.Text, nullable=True))
    op.add_column("queue", sa.Column("lease_until", sa.Text, nullable=True))
    op.add_column(
        "queue", sa.Column("claim", sa.Integer, nullable=False, server_default=sa.text("0"))
    )
    op.add_column("history", sa.Column("entry_id", sa.Integer, nullable=True))
    op.add_column("queue", sa.Column("manual_options", sa.Text, nullable=True))  # JSON
    op.create_index("queue_lease", "queue", ["state", "lease_until"])
    op.create_index("queue_target", "queue", ["target_profile", "target_repository", "target_tag"])
    op.create_index("history_entry", "history", ["entry_id"])
