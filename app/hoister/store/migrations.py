"""The schema of Hoister's database, as an ordered list of migrations.

Migration *n* (1-based) brings a database from ``PRAGMA user_version`` *n-1* to *n*.
Each is a sequence of single SQL statements run one by one inside one transaction by
:meth:`hoister.store.db.Database.migrate` (never ``executescript``, which commits on its
own and would break the all-or-nothing guarantee). A migration is never edited once
released: a change of schema is a new entry at the end.

Choices that hold across tables:

- Times are ISO 8601 UTC text of one fixed shape (see :mod:`hoister.store.times`), so
  they sort as strings.
- Booleans are 0/1 integers with a CHECK, enums are their string values. Enum columns of
  policies carry no CHECK on purpose: SQLite cannot alter a CHECK without rebuilding the
  table, and the Python enums already refuse unknown values when a row is read.
- ``outcome`` and ``state`` do carry a CHECK: other modules write them with raw SQL and a
  typo there would silently hide rows from every query.
- AUTOINCREMENT on ids so a deleted policy's id is never handed to a new one (ids show
  up in logs, exports and the CLI).
"""

from __future__ import annotations

from typing import Final

#: Marks the file as Hoister's (``PRAGMA application_id``, "Hois" in ASCII).
APPLICATION_ID: Final = 0x486F6973

Migration = tuple[str, ...]

_V1_POLICIES: Final[Migration] = (
    """
    CREATE TABLE policies (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL DEFAULT '',
        source_profile TEXT NOT NULL,
        source_repository TEXT NOT NULL,
        target_profile TEXT NULL,          -- NULL: the source's registry
        target_repository TEXT NOT NULL,
        tag_template TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
        rules TEXT NOT NULL DEFAULT '[]',  -- JSON list of {field, operator, values}
        overwrite TEXT NOT NULL DEFAULT 'skip',
        time_zone TEXT NOT NULL DEFAULT 'utc',
        apply_existing INTEGER NOT NULL DEFAULT 0 CHECK (apply_existing IN (0, 1)),
        copy_referrers INTEGER NOT NULL DEFAULT 1 CHECK (copy_referrers IN (0, 1)),
        record_provenance INTEGER NOT NULL DEFAULT 1 CHECK (record_provenance IN (0, 1)),
        webhook_url TEXT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        last_promoted_at TEXT NULL
    )
    """,
    "CREATE INDEX policies_source ON policies (source_profile, source_repository)",
    "CREATE INDEX policies_target ON policies (target_profile, target_repository)",
)

_V1_HISTORY: Final[Migration] = (
    """
    CREATE TABLE history (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        policy_id INTEGER NULL REFERENCES policies (id) ON DELETE SET NULL,
        policy_name TEXT NOT NULL DEFAULT '',  -- kept for display once the policy is gone
        source_profile TEXT NOT NULL,
        source_repository TEXT NOT NULL,
        source_tag TEXT NULL,
        source_digest TEXT NULL,               -- NULL when it failed before resolving
        target_profile TEXT NOT NULL,          -- the effective one, never NULL
        target_repository TEXT NOT NULL,
        target_tag TEXT NULL,                  -- NULL when the template did not render
        outcome TEXT NOT NULL
            CHECK (outcome IN ('matched', 'promoted', 'skipped', 'failed')),
        reason TEXT NOT NULL DEFAULT '',
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        duration_ms INTEGER NOT NULL DEFAULT 0,
        bytes_moved INTEGER NOT NULL DEFAULT 0,
        blobs_mounted INTEGER NOT NULL DEFAULT 0,
        blobs_uploaded INTEGER NOT NULL DEFAULT 0,
        hop INTEGER NOT NULL DEFAULT 0,        -- 0: direct, 1: first link of a chain, ...
        actor TEXT NOT NULL DEFAULT ''         -- who or what started it: engine, cli, a user
    )
    """,
    "CREATE INDEX history_finished ON history (finished_at)",
    "CREATE INDEX history_source ON history (source_repository)",
    "CREATE INDEX history_target ON history (target_repository)",
    # Without it, deleting a policy scans the whole history to apply ON DELETE SET NULL.
    "CREATE INDEX history_policy ON history (policy_id)",
)

_V1_WATCH: Final[Migration] = (
    """
    CREATE TABLE watch_repositories (
        profile TEXT NOT NULL,
        repository TEXT NOT NULL,
        baseline_at TEXT NULL,     -- NULL until the existing tags have been recorded
        last_polled_at TEXT NULL,
        PRIMARY KEY (profile, repository)
    )
    """,
    # A tag row belongs to a watched repository: forgetting the repository forgets its tags.
    """
    CREATE TABLE watch_tags (
        profile TEXT NOT NULL,
        repository TEXT NOT NULL,
        tag TEXT NOT NULL,
        digest TEXT NOT NULL,
        seen_at TEXT NOT NULL,
        PRIMARY KEY (profile, repository, tag),
        FOREIGN KEY (profile, repository)
            REFERENCES watch_repositories (profile, repository) ON DELETE CASCADE
    )
    """,
)

_V1_QUEUE: Final[Migration] = (
    # policy_id is NULL for a manual promotion; NULLs are distinct in a UNIQUE constraint,
    # so manual promotions are never deduplicated while policy ones promote only once.
    """
    CREATE TABLE queue (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        policy_id INTEGER NULL REFERENCES policies (id) ON DELETE CASCADE,
        source_profile TEXT NOT NULL,
        source_repository TEXT NOT NULL,
        source_tag TEXT NOT NULL,
        source_digest TEXT NOT NULL,
        target_profile TEXT NOT NULL,
        target_repository TEXT NOT NULL,
        target_tag TEXT NULL,      -- rendered at the moment of promotion, NULL until then
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'running', 'done', 'failed', 'skipped')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT NULL,
        hop INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (policy_id, source_digest, source_tag)
    )
    """,
    "CREATE INDEX queue_due ON queue (state, next_attempt_at)",
)

_V1_FACTS: Final[Migration] = (
    """
    CREATE TABLE facts (
        digest TEXT NOT NULL,
        kind TEXT NOT NULL,        -- config, platforms, labels, sbom, vulnerabilities, ...
        value TEXT NOT NULL,       -- JSON
        source TEXT NOT NULL DEFAULT '',
        fetched_at TEXT NOT NULL,
        PRIMARY KEY (digest, kind)
    )
    """,
)

#: Every table the project uses, created at once so later work only fills them.
MIGRATION_1: Final[Migration] = (
    *_V1_POLICIES,
    *_V1_HISTORY,
    *_V1_WATCH,
    *_V1_QUEUE,
    *_V1_FACTS,
    f"PRAGMA application_id = {APPLICATION_ID}",
)

#: Which enabled policies have had their first look at the tags already in the source
#: repository (promoting them when saved with "apply to existing tags").
MIGRATION_2: Final[Migration] = (
    """
    CREATE TABLE policy_baselines (
        policy_id INTEGER PRIMARY KEY REFERENCES policies (id) ON DELETE CASCADE,
        applied_at TEXT NOT NULL
    )
    """,
)

#: Images a policy could not decide yet (a rule's facts unknown, e.g. no scan report):
#: looked at again each poll cycle, so a report that arrives after the image still counts.
MIGRATION_3: Final[Migration] = (
    """
    CREATE TABLE undecided (
        policy_id INTEGER NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
        profile TEXT NOT NULL,
        repository TEXT NOT NULL,
        tag TEXT NOT NULL,
        digest TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        first_seen TEXT NOT NULL,
        last_checked TEXT NOT NULL,
        PRIMARY KEY (policy_id, digest, tag)
    )
    """,
)

#: Queue entries are *claimed*: an owner (one engine: agent, app, CLI), a lease it renews
#: while it works, and a claim number raised by every claim. Finishing an entry checks the
#: claim number, so an owner whose lease expired and was taken over cannot finish it again
#: (fencing). Manual promotions keep their options. A history row names the entry it is
#: about, so a caller can find the row of its own promotion rather than "the latest one".
MIGRATION_4: Final[Migration] = (
    "ALTER TABLE queue ADD COLUMN owner TEXT NULL",
    "ALTER TABLE queue ADD COLUMN lease_until TEXT NULL",
    "ALTER TABLE queue ADD COLUMN claim INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE history ADD COLUMN entry_id INTEGER NULL",
    # A manual promotion's options (overwrite, referrers, provenance) as JSON, so a
    # retry by an agent does what the person asked, not the defaults.
    "ALTER TABLE queue ADD COLUMN manual_options TEXT NULL",
    "CREATE INDEX queue_lease ON queue (state, lease_until)",
    "CREATE INDEX queue_target ON queue (target_profile, target_repository, target_tag)",
    "CREATE INDEX history_entry ON history (entry_id)",
)

MIGRATIONS: Final[tuple[Migration, ...]] = (MIGRATION_1, MIGRATION_2, MIGRATION_3, MIGRATION_4)

#: The schema version this code writes and understands.
LATEST_VERSION: Final = len(MIGRATIONS)

#: The tables migration 1 creates, for checks and tests.
TABLES: Final = (
    "policies",
    "history",
    "watch_repositories",
    "watch_tags",
    "queue",
    "facts",
    "policy_baselines",
    "undecided",
)
