"""The one SQLite database of Hoister: how it is opened, kept private and migrated.

Policies, history, watch state, the durable queue and the facts cache live in one file so
that a promotion can record its queue row, history row and policy timestamp in one
transaction. Every module that needs the database goes through :class:`Database`, which
is the only place that knows connection settings and the schema version.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from hoister.errors import HoisterError
from hoister.store.migrations import APPLICATION_ID, LATEST_VERSION, MIGRATIONS

#: How long a writer waits for another one before SQLite gives up (milliseconds). The GUI
#: thread, the engine thread and a headless agent may all write; they take turns.
BUSY_TIMEOUT_MS = 5000


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block as one write transaction: all of it is stored, or none of it.

    ``BEGIN IMMEDIATE`` takes the write lock up front, so a read-then-write block (load
    all policies, check for a cycle, insert) cannot be overtaken by another writer between
    its read and its write, and lock waits happen at BEGIN where ``busy_timeout`` applies
    rather than as an unretryable upgrade failure in the middle.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


class Database:
    """The database file: hands out configured connections and owns the schema.

    A :class:`Database` holds no connection between calls, so one instance can be shared
    by every thread; each thread calls :meth:`connect` for a connection of its own
    (sqlite3 connections must not cross threads).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def open(cls, path: Path) -> Database:
        """The database at ``path``, created or brought up to the current schema."""
        database = cls(path)
        database.migrate()
        return database

    # -- connections -------------------------------------------------------------------

    def connect(self) -> sqlite3.Connection:
        """A new connection set up the way every part of Hoister expects.

        - ``journal_mode=WAL``: readers (the GUI listing history) never block the writer
          (the engine promoting) and vice versa.
        - ``synchronous=NORMAL``: in WAL mode a commit is appended to the WAL and fsynced
          only at checkpoints. A killed process loses nothing (the OS has the pages); a
          power cut may lose the last commits but never corrupts the file or leaves half a
          transaction. A promotion lost that way is seen again by the next poll (promoting
          is idempotent: same digest), so the trade is worth the fsync per commit saved.
        - ``foreign_keys=ON``: SQLite leaves it off per connection by default; the
          cascades of the schema depend on it.
        - ``isolation_level=None``: no implicit BEGIN from the sqlite3 module; every write
          transaction is explicit through :func:`transaction`.
        """
        self._create_private_file()
        try:
            conn = sqlite3.connect(self.path, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._open_error(exc) from exc
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            conn.close()
            raise self._open_error(exc) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    @contextlib.contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A connection closed at the end of the block (sqlite3's own ``with`` does not)."""
        conn = self.connect()
        try:
            yield conn
        finally:
            conn.close()

    def transaction(
        self, conn: sqlite3.Connection
    ) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """Same as the module-level :func:`transaction`, for callers holding the database."""
        return transaction(conn)

    def close(self) -> None:
        """Nothing to release: connections belong to the callers that asked for them.

        Present so a database can be used in ``with`` like the stores built on it.
        """

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- schema ------------------------------------------------------------------------

    def migrate(self) -> int:
        """Bring the schema up to date; return the version the database is now at.

        The file is inspected read-only first, so a database from a newer Hoister or a
        file that is not Hoister's is refused before anything (not even the journal mode)
        is written to it. Each migration then runs in its own transaction, re-reading the
        version under the write lock so two processes starting at once migrate only once.
        """
        self._inspect()
        with self.connection() as conn:
            for version, statements in enumerate(MIGRATIONS, start=1):
                with transaction(conn):
                    current = self._user_version(conn)
                    self._refuse_newer(current)
                    if current >= version:
                        continue
                    for statement in statements:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {version}")
            return self._user_version(conn)

    def schema_version(self) -> int:
        """The version recorded in the file (0 for a new or empty one)."""
        with self.connection() as conn:
            return self._user_version(conn)

    def _inspect(self) -> None:
        """Refuse, without writing, a file this version must not migrate."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        uri = self.path.resolve().as_uri() + "?mode=ro"
        try:
            probe = sqlite3.connect(uri, uri=True, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._open_error(exc) from exc
        try:
            version = self._user_version(probe)
            app_id = probe.execute("PRAGMA application_id").fetchone()[0]
            objects = probe.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.Error as exc:
            raise self._open_error(exc) from exc
        finally:
            probe.close()
        self._refuse_newer(version)
        if (version == 0 and objects) or app_id not in (0, APPLICATION_ID):
            raise HoisterError(
                f"{self.path} is a SQLite database of another program, not Hoister's; "
                "it was left untouched. Move it aside or point HOISTER_HOME elsewhere."
            )

    def _refuse_newer(self, version: int) -> None:
        if version > LATEST_VERSION:
            raise HoisterError(
                f"the database at {self.path} was written by a newer Hoister "
                f"(schema {version}); this version knows up to {LATEST_VERSION}. "
                "Upgrade Hoister, or point HOISTER_HOME elsewhere."
            )

    @staticmethod
    def _user_version(conn: sqlite3.Connection) -> int:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])

    # -- files -------------------------------------------------------------------------

    def _create_private_file(self) -> None:
        """Create the folder (0700) and an empty file (0600) before SQLite does.

        SQLite would create the file with the umask's mode, readable by others; it gives
        its -wal and -shm siblings the mode of the main file, so this covers them too.
        An existing file keeps its mode: the user may have had reasons.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        except OSError as exc:
            raise HoisterError(f"cannot create the database at {self.path}: {exc}") from exc
        os.close(fd)
        os.chmod(self.path, 0o600)  # the umask may have taken bits off, never adds them

    def _open_error(self, exc: sqlite3.Error) -> HoisterError:
        if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_NOTADB:
            return HoisterError(
                f"{self.path} is not a SQLite database (or is damaged); it was left "
                "untouched. Move it aside and Hoister will start a new one."
            )
        return HoisterError(f"cannot open the database at {self.path}: {exc}")
