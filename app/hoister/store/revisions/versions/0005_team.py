"""Team mode: policy versions, shared connections and settings, the engines at work.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

- ``policies.version`` rises with every edit; a save names the version it started
  from and is refused when someone saved a newer one (``updated_by`` says who).
- ``profiles`` holds registry connections shared through a team database: where and
  as whom, never a password (each machine keeps that in its keyring or environment).
- ``engines``: every engine (agent, desktop app, CLI) that works on this store, with a
  heartbeat, so an app can tell that team agents are promoting and metrics can be
  labelled by agent. ``history.agent`` names the engine that wrote the row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "policies", sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1"))
    )
    op.add_column(
        "policies",
        sa.Column("updated_by", sa.Text, nullable=False, server_default=sa.text("''")),
    )
    op.add_column(
        "history", sa.Column("agent", sa.Text, nullable=False, server_default=sa.text("''"))
    )
    op.create_table(
        "profiles",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("data", sa.Text, nullable=False),  # JSON: url, username, TLS; no secret
        sa.Column("updated_at", sa.Text, nullable=False),
        sa.Column("updated_by", sa.Text, nullable=False, server_default=sa.text("''")),
    )
    op.create_table(
        "engines",
        sa.Column("id", sa.Text, primary_key=True),  # the claim owner: host:pid:nonce:actor
        sa.Column("kind", sa.Text, nullable=False),  # agent, app, cli
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.Text, nullable=False),
        sa.Column("seen_at", sa.Text, nullable=False),
        sa.Column("stopped_at", sa.Text, nullable=True),
        sa.Column(
            "promoting",
            sa.Integer,
            sa.CheckConstraint("promoting IN (0, 1)"),
            nullable=False,
            server_default=sa.text("1"),
        ),
    )
    op.create_index("engines_seen", "engines", ["seen_at"])
    op.create_index("history_agent", "history", ["agent"])
