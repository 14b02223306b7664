"""The one database of Hoister: a SQLite file by default, or a team's PostgreSQL server.

Policies, history, watch state, the durable queue and the facts cache live in one
database so that a promotion records its queue row, history row and policy timestamp
in one transaction. Every module goes through :class:`Database`, the only place that
knows connection settings and the schema. On SQLite it is a private file of one
machine; with ``postgresql://…`` (see :mod:`hoister.store.location`) it is shared by
every workstation and agent of a team, and the queue's claims keep them from doing one
promotion twice (see :mod:`hoister.store.queue`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from hoister.errors import HoisterError
from hoister.store import schema
from hoister.store.schema import APPLICATION_ID, LATEST_VERSION, NewerSchema
from hoister.store.sql import Connection, SqliteConnection, lock_key

if TYPE_CHECKING:
    import sqlalchemy

#: How long a writer waits for another one before SQLite gives up (milliseconds). The GUI
#: thread, the engine thread and a headless agent may all write; they take turns.
BUSY_TIMEOUT_MS = 5000
#: Seconds to wait for a team database server to answer a new connection.
CONNECT_TIMEOUT_S = 10
#: Connections a process keeps open to a server database, and how many more it may open
#: at busy moments (engine, lease renewals, listener and the app's readers). Promotions in
#: flight at once each hold three (their worker's queue and policy stores and the lease
#: renewal): 2 × ``parallel`` of them at the default 4 take 24 beside the engine's own.
POOL_SIZE = 4
POOL_OVERFLOW = 64


@contextlib.contextmanager
def transaction(conn: Connection, lock: str | Sequence[str] | None = None) -> Iterator[Connection]:
    """Run the block as one write transaction: all of it is stored, or none of it.

    See :meth:`hoister.store.sql.Connection.transaction` for what each backend does.
    """
    with conn.transaction(lock) as inside:
        yield inside


def is_file_path(location: str | Path) -> bool:
    """True when ``location`` is a SQLite file's path rather than a URL (no SQLAlchemy
    is needed to tell, or to open it: see :mod:`hoister.store.sql`)."""
    return "://" not in str(location)


def database_url(location: str | Path) -> sqlalchemy.URL:
    """The SQLAlchemy URL for a file path, ``sqlite:///…`` or ``postgresql://…``."""
    import sqlalchemy

    text = str(location)
    if "://" not in text:
        return sqlalchemy.URL.create("sqlite", database=str(Path(text)))
    try:
        url = sqlalchemy.make_url(text)
    except sqlalchemy.exc.ArgumentError:
        raise HoisterError(f"'{_hide(text)}' is not a database URL") from None
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and url.database:
        return url.set(drivername="sqlite")
    raise HoisterError(
        f"'{_hide(text)}' is not a database Hoister can use: give postgresql://user@host/db "
        "or a SQLite file path"
    )


def _hide(text: str) -> str:
    """A URL as it may be shown: the password replaced, never printed."""
    import sqlalchemy

    try:
        return sqlalchemy.make_url(text).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return text.split("@")[-1]


class Database:
    """The database: hands out configured connections and owns the schema.

    One instance is shared by every thread; each thread calls :meth:`connect` for a
    connection of its own and closes it on that thread.
    """

    def __init__(self, location: str | Path) -> None:
        self.path: Path | None
        if is_file_path(location):
            self.path, self.dialect = Path(str(location)), "sqlite"
        else:
            url = database_url(location)
            self.__dict__["url"] = url
            self.dialect = url.get_backend_name()
            self.path = Path(url.database or "") if self.dialect == "sqlite" else None
        self._engine: sqlalchemy.Engine | None = None
        self._engine_lock = threading.Lock()

    @cached_property
    def url(self) -> sqlalchemy.URL:
        """The SQLAlchemy URL (made on first use: a SQLite file needs none to be opened)."""
        assert self.path is not None  # a server's URL is set by __init__
        return database_url(self.path)

    @classmethod
    def open(cls, location: str | Path) -> Database:
        """The database at ``location``, created or brought up to the current schema."""
        database = cls(location)
        database.migrate()
        return database

    @property
    def shared(self) -> bool:
        """True for a team database on a server, used by several machines at once."""
        return self.dialect == "postgresql"

    @property
    def display(self) -> str:
        """Where the store is, for people: a file path, or the URL without its password."""
        if self.path is not None:
            return str(self.path)
        return self.url.set(drivername="postgresql").render_as_string(hide_password=True)

    # -- connections -------------------------------------------------------------------

    def connect(self) -> Connection:
        """A new connection set up the way every part of Hoister expects (autocommit;
        transactions through :func:`transaction`)."""
        if self.path is not None:
            self._create_private_file()
            try:
                return SqliteConnection(_sqlite_connect(self.path))
            except sqlite3.Error as exc:
                raise self._open_error(exc) from exc
        import sqlalchemy

        try:
            return Connection(self._get_engine().connect())
        except sqlalchemy.exc.DBAPIError as exc:
            raise self._open_error(exc) from exc

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        """A connection closed at the end of the block."""
        conn = self.connect()
        try:
            yield conn
        finally:
            conn.close()

    def transaction(
        self, conn: Connection, lock: str | Sequence[str] | None = None
    ) -> contextlib.AbstractContextManager[Connection]:
        """Same as the module-level :func:`transaction`, for callers holding the database."""
        return transaction(conn, lock)

    def close(self) -> None:
        """Close the connections kept for reuse (a server database's pool)."""
        with self._engine_lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _get_engine(self) -> sqlalchemy.Engine:
        # Locked: threads connecting at once (promotion workers, lease renewals, the GUI's
        # readers) must share one engine, or a second pool would be made and leak.
        with self._engine_lock:
            if self._engine is None:
                self._engine = self._make_engine(autocommit=True)
            return self._engine

    def _make_engine(self, *, autocommit: bool) -> sqlalchemy.Engine:
        """An engine for this database.

        - SQLite: a new sqlite3 connection per store (cheap; they must not cross
          threads). ``journal_mode=WAL``: readers (the GUI listing history) never block
          the writer (the engine promoting). ``synchronous=NORMAL``: a killed process
          loses nothing; a power cut may lose the last commits but never leaves half a
          transaction, and a promotion lost that way is seen again by the next poll
          (promoting is idempotent: same digest). ``foreign_keys=ON`` for the cascades.
        - PostgreSQL: a small pool of connections, checked before reuse, so a server
          restart costs one failed connection rather than every store's next query.
        """
        import sqlalchemy
        from sqlalchemy import event
        from sqlalchemy.pool import NullPool

        isolation = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
        if self.dialect == "sqlite":
            engine = sqlalchemy.create_engine(
                self.url, poolclass=NullPool, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}
            )
            event.listen(engine, "connect", _sqlite_settings)
            if not autocommit:
                event.listen(engine, "begin", _sqlite_begin)
            return engine.execution_options(**isolation) if isolation else engine
        options: dict[str, Any] = {
            "pool_size": POOL_SIZE,
            "max_overflow": POOL_OVERFLOW,
            "pool_pre_ping": True,
            "connect_args": {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "hoister"},
        }
        if not autocommit:
            options = {"poolclass": NullPool, "connect_args": options["connect_args"]}
        return sqlalchemy.create_engine(self.url, **options, **isolation)

    # -- schema ------------------------------------------------------------------------

    def migrate(self) -> int:
        """Bring the schema up to date; return the version the database is now at.

        A SQLite file is inspected read-only first, so a database from a newer Hoister
        or a file that is not Hoister's is refused before anything (not even the journal
        mode) is written to it. All pending revisions then run in one transaction under
        the write lock (SQLite) or an advisory lock (PostgreSQL), re-reading the version
        under that lock, so two processes starting at once migrate only once.
        """
        legacy = self._inspect() if self.path is not None else 0
        if self.path is not None:
            self._create_private_file()
        if self._up_to_date():
            return LATEST_VERSION
        import sqlalchemy

        engine = self._make_engine(autocommit=False)
        try:
            with engine.connect() as conn, conn.begin():
                if self.shared:
                    conn.execute(
                        sqlalchemy.text("SELECT pg_advisory_xact_lock(:key)"),
                        {"key": lock_key("hoister schema")},
                    )
                else:
                    legacy = int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)
                try:
                    version = schema.upgrade(conn, legacy)
                except NewerSchema as newer:
                    raise self._newer(newer.version) from None
                if not self.shared:
                    conn.exec_driver_sql(f"PRAGMA user_version = {version}")
                    conn.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
                return version
        except sqlalchemy.exc.OperationalError as exc:
            if _is_connect_failure(exc):
                raise self._open_error(exc) from exc
            raise
        finally:
            engine.dispose()

    def _up_to_date(self) -> bool:
        """The usual case, answered by one read and no lock: nothing to migrate.

        The first contact: whatever fails here (a name that does not resolve, a refused
        or timed-out connection, a wrong password, a file that is not a database) is
        "cannot open" (:meth:`connect` says so).
        """
        with self.connection() as conn:
            try:
                return schema.is_current(conn)
            except sqlite3.Error as exc:
                raise self._open_error(exc) from exc

    def schema_version(self) -> int:
        """The version recorded in the database (0 for a new or empty one)."""
        with self.connection() as conn:
            if self.path is not None:
                return int(conn.execute("PRAGMA user_version").scalar() or 0)
            exists = conn.execute("SELECT to_regclass('alembic_version')").scalar()
            if exists is None:
                return 0
            return schema.version_of(
                conn.execute("SELECT version_num FROM alembic_version").scalar()
            )

    def _inspect(self) -> int:
        """Refuse, without writing, a SQLite file this version must not migrate; return
        its ``user_version``."""
        assert self.path is not None
        if not self.path.exists() or self.path.stat().st_size == 0:
            return 0
        uri = self.path.resolve().as_uri() + "?mode=ro"
        try:
            probe = sqlite3.connect(uri, uri=True, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._open_error(exc) from exc
        try:
            version = int(probe.execute("PRAGMA user_version").fetchone()[0])
            app_id = probe.execute("PRAGMA application_id").fetchone()[0]
            objects = probe.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.Error as exc:
            raise self._open_error(exc) from exc
        finally:
            probe.close()
        if version > LATEST_VERSION:
            raise self._newer(version)
        if (version == 0 and objects) or app_id not in (0, APPLICATION_ID):
            raise HoisterError(
                f"{self.path} is a SQLite database of another program, not Hoister's; "
                "it was left untouched. Move it aside or point HOISTER_HOME elsewhere."
            )
        return version

    def _newer(self, version: int) -> HoisterError:
        where = "HOISTER_HOME" if self.path is not None else "HOISTER_DATABASE_URL"
        return HoisterError(
            f"the database at {self.display} was written by a newer Hoister "
            f"(schema {version}); this version knows up to {LATEST_VERSION}. "
            f"Upgrade Hoister, or point {where} elsewhere."
        )

    # -- files and errors ------------------------------------------------------------------

    def _create_private_file(self) -> None:
        """Create the folder (0700) and an empty file (0600) before SQLite does.

        SQLite would create the file with the umask's mode, readable by others; it gives
        its -wal and -shm siblings the mode of the main file, so this covers them too.
        An existing file keeps its mode: the user may have had reasons.
        """
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        except OSError as exc:
            raise HoisterError(f"cannot create the database at {self.path}: {exc}") from exc
        os.close(fd)
        os.chmod(self.path, 0o600)  # the umask may have taken bits off, never adds them

    def _open_error(self, exc: BaseException) -> HoisterError:
        original = getattr(exc, "orig", None) or exc
        if getattr(original, "sqlite_errorcode", None) == sqlite3.SQLITE_NOTADB:
            return HoisterError(
                f"{self.path} is not a SQLite database (or is damaged); it was left "
                "untouched. Move it aside and Hoister will start a new one."
            )
        if self.path is not None:
            return HoisterError(f"cannot open the database at {self.path}: {original}")
        return HoisterError(
            f"cannot reach the team database at {self.display}: {_first_line(original)}"
        )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _sqlite_connect(path: Path) -> sqlite3.Connection:
    """A new connection to the file, set up as every store expects (see
    :meth:`Database._make_engine` for why each setting)."""
    raw = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    try:
        _sqlite_settings(raw, None)
    except BaseException:
        raw.close()
        raise
    return raw


def _is_connect_failure(exc: sqlalchemy.exc.OperationalError) -> bool:
    text = str(exc.orig).lower()
    words = ("connection", "resolve", "timeout", "refused", "authentication")
    return exc.connection_invalidated or any(word in text for word in words)


def _sqlite_settings(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection settings SQLite does not keep in the file."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _sqlite_begin(connection: sqlalchemy.Connection) -> None:
    """Migrations take the write lock up front, like every write transaction."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")
