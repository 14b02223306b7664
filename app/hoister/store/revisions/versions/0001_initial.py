"""The first schema: policies, history, watch state, the queue and the facts cache.

Revision ID: 0001
Revises:
Create Date: 2026-11-30

Times are ISO 8601 UTC text of one fixed shape (see :mod:`hoister.store.times`) on
both backends, so they sort as strings and read the same in any database browser.
Booleans are 0/1 integers with a CHECK. Policy enums carry no CHECK on purpose (SQLite
cannot alter one without rebuilding the table; the Python enums refuse unknown values),
but ``outcome`` and ``state`` do: other modules write them in SQL, and a typo there
would hide rows from every query. Ids never come back after a delete (AUTOINCREMENT on
SQLite, a sequence on PostgreSQL): they appear in logs, exports and the CLI.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _flag(name: str, default: int) -> sa.Column[int]:
    return sa.Column(
        name,
        sa.Integer,
        sa.CheckConstraint(f"{name} IN (0, 1)"),
        nullable=False,
        server_default=sa.text(str(default)),
    )


def _text(name: str, default: str | None = None, *, nullable: bool = False) -> sa.Column[str]:
    server_default = None if default is None else sa.text(f"'{default}'")
    return sa.Column(name, sa.Text, nullable=nullable, server_default=server_default)


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _text("name", ""),
        _text("description", ""),
        _text("source_profile"),
        _text("source_repository"),
        _text("target_profile", nullable=True),  # NULL: the source's registry
        _text("target_repository"),
        _text("tag_template"),
        _flag("enabled", 1),
        _text("rules", "[]"),  # JSON list of {field, operator, values}
        _text("overwrite", "skip"),
        _text("time_zone", "utc"),
        _flag("apply_existing", 0),
        _flag("copy_referrers", 1),
        _flag("record_provenance", 1),
        _text("webhook_url", nullable=True),
        _text("created_at"),
        _text("updated_at"),
        _text("last_promoted_at", nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("policies_source", "policies", ["source_profile", "source_repository"])
    op.create_index("policies_target", "policies", ["target_profile", "target_repository"])

    op.create_table(
        "history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "policy_id",
            sa.Integer,
            sa.ForeignKey("policies.id", ondelete="SET NULL"),
            nullable=True,
        ),
        _text("policy_name", ""),  # kept for display once the policy is gone
        _text("source_profile"),
        _text("source_repository"),
        _text("source_tag", nullable=True),
        _text("source_digest", nullable=True),  # NULL when it failed before resolving
        _text("target_profile"),  # the effective one, never NULL
        _text("target_repository"),
        _text("target_tag", nullable=True),  # NULL when the template did not render
        sa.Column(
            "outcome",
            sa.Text,
            sa.CheckConstraint("outcome IN ('matched', 'promoted', 'skipped', 'failed')"),
            nullable=False,
        ),
        _text("reason", ""),
        _text("started_at"),
        _text("finished_at"),
        sa.Column("duration_ms", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("bytes_moved", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("blobs_mounted", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("blobs_uploaded", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("hop", sa.Integer, nullable=False, server_default=sa.text("0")),
        _text("actor", ""),  # who or what started it: engine, cli, a user
        sqlite_autoincrement=True,
    )
    op.create_index("history_finished", "history", ["finished_at"])
    op.create_index("history_source", "history", ["source_repository"])
    op.create_index("history_target", "history", ["target_repository"])
    # Without it, deleting a policy scans the whole history to apply ON DELETE SET NULL.
    op.create_index("history_policy", "history", ["policy_id"])

    op.create_table(
        "watch_repositories",
        _text("profile"),
        _text("repository"),
        _text("baseline_at", nullable=True),  # NULL until the existing tags are recorded
        _text("last_polled_at", nullable=True),
        sa.PrimaryKeyConstraint("profile", "repository"),
    )
    # A tag row belongs to a watched repository: forgetting the repository forgets its tags.
    op.create_table(
        "watch_tags",
        _text("profile"),
        _text("repository"),
        _text("tag"),
        _text("digest"),
        _text("seen_at"),
        sa.PrimaryKeyConstraint("profile", "repository", "tag"),
        sa.ForeignKeyConstraint(
            ["profile", "repository"],
            ["watch_repositories.profile", "watch_repositories.repository"],
            ondelete="CASCADE",
        ),
    )

    # policy_id is NULL for a manual promotion; NULLs are distinct in a UNIQUE constraint,
    # so manual promotions are never deduplicated while policy ones promote only once.
    op.create_table(
        "queue",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "policy_id",
            sa.Integer,
            sa.ForeignKey("policies.id", ondelete="CASCADE"),
            nullable=True,
        ),
        _text("source_profile"),
        _text("source_repository"),
        _text("source_tag"),
        _text("source_digest"),
        _text("target_profile"),
        _text("target_repository"),
        _text("target_tag", nullable=True),  # rendered when it first runs, NULL until then
        sa.Column(
            "state",
            sa.Text,
            sa.CheckConstraint("state IN ('pending', 'running', 'done', 'failed', 'skipped')"),
            nullable=False,
            server_default=sa.text("'pending'"),
        ),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        _text("next_attempt_at"),
        _text("last_error", nullable=True),
        sa.Column("hop", sa.Integer, nullable=False, server_default=sa.text("0")),
        _text("created_at"),
        _text("updated_at"),
        sa.UniqueConstraint("policy_id", "source_digest", "source_tag"),
        sqlite_autoincrement=True,
    )
    op.create_index("queue_due", "queue", ["state", "next_attempt_at"])

    op.create_table(
        "facts",
        _text("digest"),
        _text("kind"),  # config, platforms, labels, sbom, vulnerabilities, ...
        _text("value"),  # JSON
        _text("source", ""),
        _text("fetched_at"),
        sa.PrimaryKeyConstraint("digest", "kind"),
    )
