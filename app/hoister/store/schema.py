"""The schema of Hoister's store, kept as one Alembic migration history for both backends.

Revisions live in ``revisions/versions`` and are numbered ``0001``, ``0002``, … in one
line, so a revision's number *is* the schema version. A revision is never edited once
released: a change of schema is a new file at the end. SQLite files also carry the
version in ``PRAGMA user_version`` (as they did before Alembic), so a file from before
Alembic is recognised and stamped, and an older Hoister refuses a newer file instead
of writing to it.

:func:`upgrade` runs inside the caller's transaction, which holds SQLite's write lock or
a PostgreSQL advisory lock: two processes starting at once migrate only once, and a
failing revision leaves the schema as it was.

Alembic is imported only when a database is behind: opening an up-to-date store (every
command, every start of the app) reads one row and never loads the migration machinery,
which costs more than the rest of a short command.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import sqlalchemy
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from hoister.store.sql import Connection

#: Marks a SQLite file as Hoister's (``PRAGMA application_id``, "Hois" in ASCII).
APPLICATION_ID: Final = 0x486F6973

REVISIONS_DIR: Final = Path(__file__).with_name("revisions")

#: The tables the schema has, for checks and tests.
TABLES: Final = (
    "policies",
    "history",
    "watch_repositories",
    "watch_tags",
    "queue",
    "facts",
    "policy_baselines",
    "undecided",
    "profiles",
    "engines",
)


def _config(connection: sqlalchemy.Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(REVISIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


def revisions() -> list[str]:
    """Every revision this code knows, oldest first (read from the files' names, which
    carry the revision: ``0005_team.py`` is revision ``0005``)."""
    names = (path.name for path in (REVISIONS_DIR / "versions").glob("*.py"))
    return sorted(match[1] for name in names if (match := re.match(r"(\d{4})_", name)))


#: The schema version this code writes and understands.
LATEST_VERSION: Final = len(revisions())
#: The revision id of that version.
HEAD: Final = f"{LATEST_VERSION:04d}"


def version_of(revision: str | None) -> int:
    """The schema version a revision id stands for (0: none, an empty database)."""
    return 0 if revision is None else int(revision)


class NewerSchema(Exception):
    """The database has a revision this code does not know: a newer Hoister wrote it."""

    def __init__(self, version: int) -> None:
        super().__init__(version)
        self.version = version


def current_version(connection: sqlalchemy.Connection) -> int:
    """The version recorded in the database by Alembic (0 if it has none)."""
    from alembic.runtime.migration import MigrationContext

    revision = MigrationContext.configure(connection).get_current_revision()
    return version_of(revision)


def is_current(connection: Connection) -> bool:
    """True when the database is at :data:`HEAD` (two queries; no Alembic)."""
    if connection.dialect == "sqlite":
        found = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone()
    else:
        found = connection.execute(
            "SELECT 1 FROM pg_catalog.pg_tables WHERE tablename = 'alembic_version'"
            " AND schemaname = ANY (current_schemas(false))"
        ).fetchone()
    if found is None:
        return False
    rows = connection.execute("SELECT version_num FROM alembic_version")
    return [row[0] for row in rows] == revisions()[-1:]


def upgrade(connection: sqlalchemy.Connection, legacy_version: int = 0) -> int:
    """Bring the schema to :data:`LATEST_VERSION` inside the caller's transaction.

    ``legacy_version`` is a SQLite file's ``user_version`` from before Alembic: such a
    file has no revision table yet and is stamped at that version first.
    """
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    from hoister.store.sql import Connection

    if is_current(Connection(connection)):
        return LATEST_VERSION
    context = MigrationContext.configure(connection)
    current = context.get_current_revision()
    if current is not None and current not in revisions():
        raise NewerSchema(int(current) if current.isdigit() else LATEST_VERSION + 1)
    if current is None and legacy_version > 0:
        if legacy_version > LATEST_VERSION:
            raise NewerSchema(legacy_version)
        context.stamp(_script(), f"{legacy_version:04d}")
    command.upgrade(_config(connection), "head")
    return current_version(connection)
