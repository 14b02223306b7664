"""What every store shares: one connection of its own, closed by its owner."""

from __future__ import annotations

import getpass
import socket
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Self

from hoister.store.db import Database
from hoister.store.times import now_utc


class ConnectionOwner:
    """A store with one connection of its own: use it on the thread that created it."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = now_utc) -> None:
        self._db = db
        self._clock = clock
        self._conn = db.connect()

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def default_author() -> str:
    """Who is saving, as other team members will read it: ``user@host``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
