"""Images a policy could not decide yet (a rule's facts unknown, e.g. no scan report).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

Looked at again each poll cycle, so a report that arrives after the image still counts.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "undecided",
        sa.Column(
            "policy_id",
            sa.Integer,
            sa.ForeignKey("policies.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("profile", sa.Text, nullable=False),
        sa.Column("repository", sa.Text, nullable=False),
        sa.Column("tag", sa.Text, nullable=False),
        sa.Column("digest", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("first_seen", sa.Text, nullable=False),
        sa.Column("last_checked", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("policy_id", "digest", "tag"),
    )
