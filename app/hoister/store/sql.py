"""One connection to the store, the same to its callers on SQLite and on PostgreSQL.

The stores write plain SQL that both backends understand (``INSERT … ON CONFLICT``,
``RETURNING``, ISO text for times), passed through SQLAlchemy's :func:`~sqlalchemy.text`
so that one placeholder style (``:name``, or ``?`` in order) works on both drivers.
What differs between the two is kept here:

- **Transactions are explicit.** The connection runs in autocommit, so a read never
  holds a lock, and :meth:`Connection.transaction` issues the ``BEGIN`` itself: on
  SQLite ``BEGIN IMMEDIATE`` (the database's one write lock, taken before the first
  read so a read-then-write block cannot be overtaken), on PostgreSQL a plain ``BEGIN``
  under READ COMMITTED, where row locks (``FOR UPDATE SKIP LOCKED``) and, for a
  check-then-write over many rows, a named advisory lock serialize what must be.
- **Drivers.** A SQLite file is reached through Python's own :mod:`sqlite3`, which reads
  ``:name`` and ``?`` placeholders itself; a PostgreSQL server through SQLAlchemy and
  psycopg. Importing SQLAlchemy costs a process a tenth of a second and some 17 MiB
  before its first statement, and each statement through it about 50 µs more than the
  driver alone: on one laptop (every ``hoister`` command, every agent start, a promotion's
  few dozen statements) that was paid for nothing. Errors are the driver's own: on SQLite
  :class:`sqlite3.Error` and its kinds (``OperationalError`` for "database is locked",
  ``IntegrityError`` for a unique key), on PostgreSQL SQLAlchemy's ``DBAPIError`` kinds.
- **Named locks.** ``transaction(lock="policies")`` takes an advisory transaction lock
  on PostgreSQL, so two workstations saving policies at once are checked one after the
  other (a loop made of two harmless edits is still refused). SQLite needs none: its
  write lock already covers the whole file.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlalchemy

Params = Mapping[str, Any] | Sequence[Any] | None

_QMARK = re.compile(r"\?")


@lru_cache(maxsize=512)
def _statement(sql: str) -> tuple[sqlalchemy.TextClause, int]:
    """The compiled text for ``sql`` and how many ``?`` placeholders it had (renamed)."""
    import sqlalchemy

    count = 0

    def rename(_match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f":p{count - 1}"

    return sqlalchemy.text(_QMARK.sub(rename, sql)), count


def _bind(sql: str, params: Params) -> tuple[sqlalchemy.TextClause, dict[str, Any]]:
    clause, count = _statement(sql)
    if params is None:
        return clause, {}
    if isinstance(params, Mapping):
        return clause, dict(params)
    values = list(params)
    if len(values) != count:
        raise ValueError(f"{count} placeholders but {len(values)} values: {sql[:60]}")
    return clause, {f"p{i}": value for i, value in enumerate(values)}


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for an advisory lock: the same on every machine."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class Record:
    """One row, read by column name (``row["id"]``) or by position (``row[0]``)."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: Mapping[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: str | int) -> Any:
        if isinstance(key, int):
            return self._values[key]
        return self._values[self._index[key]]

    def keys(self) -> list[str]:
        return list(self._index)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def as_dict(self) -> dict[str, Any]:
        return {name: self._values[at] for name, at in self._index.items()}


class Result:
    """What a statement returned: rows as :class:`Record`, and the rows it changed.

    ``cursor`` is either driver's: a :class:`sqlite3.Cursor` or SQLAlchemy's
    ``CursorResult``; both have ``fetchone``, ``fetchall`` and ``rowcount``.
    """

    def __init__(self, cursor: Any, names: Sequence[str]) -> None:
        self._cursor = cursor
        self._index = {name: at for at, name in enumerate(names)}

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    def fetchone(self) -> Record | None:
        row = self._cursor.fetchone()
        return None if row is None else Record(row, self._index)

    def fetchall(self) -> list[Record]:
        return [Record(row, self._index) for row in self._cursor.fetchall()]

    def scalar(self) -> Any:
        row = self._cursor.fetchone()
        return None if row is None else row[0]

    def __iter__(self) -> Iterator[Record]:
        for row in self._cursor:
            yield Record(row, self._index)


class Connection:
    """A store's own connection: use it on the thread that opened it, then close it.

    This base runs on SQLAlchemy (a PostgreSQL server); :class:`SqliteConnection` on
    :mod:`sqlite3` directly. Both take the same SQL and give the same :class:`Result`.
    """

    dialect: str = "postgresql"

    def __init__(self, connection: sqlalchemy.Connection) -> None:
        self._connection = connection
        self.dialect = connection.dialect.name
        self.in_transaction = False

    @property
    def shared(self) -> bool:
        """True on a server database several machines use at once."""
        return self.dialect == "postgresql"

    def execute(self, sql: str, params: Params = None) -> Result:
        clause, bound = _bind(sql, params)
        result = self._connection.execute(clause, bound)
        return Result(result, list(result.keys()) if result.returns_rows else [])

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if not rows:
            return
        clause = _statement(sql)[0]
        self._connection.execute(clause, [_bind(sql, row)[1] for row in rows])

    def driver_sql(self, sql: str) -> None:
        """A statement the driver runs as written (BEGIN, COMMIT, PRAGMA)."""
        self._connection.exec_driver_sql(sql)

    def notify(self, channel: str, payload: str) -> None:
        """Tell every listening app that something changed (PostgreSQL; on commit only).

        On SQLite there is no one to tell: every process polls the same file.
        """
        if self.shared:
            self.execute(
                "SELECT pg_notify(:channel, :payload)", {"channel": channel, "payload": payload}
            )

    @contextlib.contextmanager
    def transaction(self, lock: str | Sequence[str] | None = None) -> Iterator[Connection]:
        """All of the block is stored, or none of it (see the module's docstring).

        ``lock``: one named lock, or several taken in the order given (every writer that
        takes more than one must name them in the same order).
        """
        if self.in_transaction:
            raise RuntimeError("transactions do not nest")
        self.driver_sql("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
        self.in_transaction = True
        try:
            names = () if lock is None else (lock,) if isinstance(lock, str) else lock
            if self.shared:
                for name in names:
                    self.execute("SELECT pg_advisory_xact_lock(:key)", {"key": lock_key(name)})
            yield self
        except BaseException:
            self._end("ROLLBACK")
            raise
        try:
            self._end("COMMIT")
        except BaseException:
            if self.in_transaction:
                self._end("ROLLBACK")
            raise

    def _driver_errors(self) -> type[BaseException] | tuple[type[BaseException], ...]:
        import sqlalchemy

        return sqlalchemy.exc.DBAPIError

    def _end(self, statement: str) -> None:
        try:
            self.driver_sql(statement)
            self.in_transaction = False
        except self._driver_errors():
            if statement == "ROLLBACK":
                self.in_transaction = False  # the connection is gone: nothing is kept
                return
            raise

    def close(self) -> None:
        if self.in_transaction:
            with contextlib.suppress(self._driver_errors()):
                self.driver_sql("ROLLBACK")
            self.in_transaction = False
        self._close()

    def _close(self) -> None:
        self._connection.close()


class SqliteConnection(Connection):
    """A connection to a SQLite file through :mod:`sqlite3` (see the module docstring).

    The driver is in autocommit (``isolation_level=None``): transactions are only the
    ones :meth:`Connection.transaction` begins.
    """

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._raw = raw
        self.dialect = "sqlite"
        self.in_transaction = False

    def execute(self, sql: str, params: Params = None) -> Result:
        cursor = self._raw.execute(sql, _sqlite_params(params))
        names = [column[0] for column in cursor.description or ()]
        return Result(cursor, names)

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if rows:
            self._raw.executemany(sql, [_sqlite_params(row) for row in rows])

    def driver_sql(self, sql: str) -> None:
        self._raw.execute(sql)

    def _driver_errors(self) -> type[BaseException]:
        return sqlite3.Error

    def _close(self) -> None:
        self._raw.close()


def _sqlite_params(params: Params) -> Mapping[str, Any] | Sequence[Any]:
    if params is None:
        return ()
    if isinstance(params, Mapping):
        return params
    return tuple(params)
