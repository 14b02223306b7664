"""MSR identity of a policy: its id in MSR's form, and its last promotion time as MSR wrote it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

- ``policies.msr_id``: the id (a UUID string) an imported policy had in MSR or in the
  store it was exported from. An import finds the policy to update by it, so importing
  the same file twice does not add every policy twice. Several rows may share one
  (a team store that two workstations copied into); an import that meets that refuses
  and names them, so the index is not unique.
- ``policies.last_promoted_exact``: ``lastPromotedAt`` exactly as the file wrote it (Go
  writes nanoseconds; the ``last_promoted_at`` column holds microseconds), exported
  unchanged while it still names the time in ``last_promoted_at``.

Both are NULL for the rows already there, which is what they mean for a policy made here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("policies", sa.Column("msr_id", sa.Text, nullable=True))
    op.add_column("policies", sa.Column("last_promoted_exact", sa.Text, nullable=True))
    op.create_index("policies_msr_id", "policies", ["msr_id"])
