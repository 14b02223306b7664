"""Asking the store whether it answers, quickly, for health checks and metrics.

The stores' own connections wait up to :data:`~hoister.store.db.CONNECT_TIMEOUT_S` for a
team server, which is right for work that must happen but wrong for ``/healthz``: a
supervisor's probe gives up after a few seconds and must get an answer, not a hang. So
a :class:`StoreProbe` connects through an engine of its own, without a pool (nothing is
kept open between scrapes), with a short connect and statement timeout. It is
thread-safe: every call opens and closes its own connection, on the calling thread.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hoister.errors import HoisterError
from hoister.store.db import Database
from hoister.store.history import promoted_by_agent
from hoister.store.sql import Connection
from hoister.store.times import now_utc

if TYPE_CHECKING:
    import sqlalchemy

#: Seconds a probe waits for the store (libpq's connect timeout cannot be under 2).
PROBE_TIMEOUT = 2.0
#: How far back the team's promotion counts reach.
TEAM_WINDOW = timedelta(hours=1)


class StoreUnreachable(Exception):
    """The store did not answer; ``str()`` is one line a person can act on."""


class StoreProbe:
    def __init__(
        self,
        db: Database,
        *,
        timeout: float = PROBE_TIMEOUT,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        self.db = db
        self.timeout = timeout
        self.clock = clock
        self._engine: sqlalchemy.Engine | None = None

    def problem(self) -> str | None:
        """None when the store answers ``SELECT 1``, else why not (one line)."""
        try:
            with self._connection() as conn:
                conn.execute("SELECT 1").scalar()
        except StoreUnreachable as exc:
            return str(exc)
        return None

    def promotions_by_agent(self) -> dict[str, int]:
        """Promotions of the last :data:`TEAM_WINDOW`, by the engine that made them."""
        with self._connection() as conn:
            return promoted_by_agent(conn, self.clock() - TEAM_WINDOW)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _driver_errors(self) -> type[BaseException]:
        """What the store's driver raises: sqlite3's for a file, SQLAlchemy's for a
        server (see :mod:`hoister.store.sql`)."""
        if not self.db.shared:
            return sqlite3.Error
        import sqlalchemy

        return sqlalchemy.exc.SQLAlchemyError

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        errors = self._driver_errors()
        try:
            conn = self._connect()
        except HoisterError as exc:  # a local file that cannot be opened: says so already
            raise StoreUnreachable(str(exc)) from exc
        except (errors, OSError) as exc:
            raise StoreUnreachable(self._describe(exc)) from exc
        try:
            yield conn
        except errors as exc:
            raise StoreUnreachable(self._describe(exc)) from exc
        finally:
            # a connection that broke midway has nothing left to close
            with suppress(errors):
                conn.close()

    def _connect(self) -> Connection:
        if not self.db.shared:
            return self.db.connect()  # a local file: opening it is the whole question
        import sqlalchemy
        from sqlalchemy.pool import NullPool

        if self._engine is None:
            milliseconds = int(self.timeout * 1000)
            self._engine = sqlalchemy.create_engine(
                self.db.url,
                poolclass=NullPool,
                isolation_level="AUTOCOMMIT",
                connect_args={
                    "connect_timeout": max(2, math.ceil(self.timeout)),
                    "options": f"-c statement_timeout={milliseconds}",
                    "application_name": "hoister-probe",
                },
            )
        return Connection(self._engine.connect())

    def _describe(self, exc: BaseException) -> str:
        original = getattr(exc, "orig", None) or exc
        lines = str(original).strip().splitlines() or [type(original).__name__]
        return f"the database at {self.db.display} does not answer: {lines[0]}"
