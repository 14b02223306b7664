"""Which enabled policies have had their first look at the tags already there.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

A policy saved with "apply to existing tags" promotes them once, on that first look.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_baselines",
        sa.Column(
            "policy_id",
            sa.Integer,
            sa.ForeignKey("policies.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("applied_at", sa.Text, nullable=False),
    )
