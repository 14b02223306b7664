"""Hearing, as it happens, what other machines change in a team database.

Every policy write and history row on PostgreSQL ends with ``pg_notify('hoister',
payload)`` (see :meth:`hoister.store.sql.Connection.notify`); a :class:`ChangeListener`
is the other end. It runs one thread with a psycopg connection of its own (``LISTEN``
holds a connection for as long as it listens, so it cannot borrow one from the store's
pool) and calls ``callback(payload)`` on that thread for each notification:
``"policies"``, ``"history"`` or ``"profiles"``. What to do with it (read the views
again, on the GUI thread) is the caller's business.

A server that restarts or drops the connection is reconnected to, waiting 0.5 s,
then twice as long each time up to 30 s. Notifications sent meanwhile are lost, so
after a reconnection the listener calls the callback once with every payload: whoever
listens reads everything again once, rather than missing what changed while it was
deaf. TCP keepalives notice a server that vanished without closing the connection.

On SQLite there is nothing to listen to (one machine, one file): :meth:`start` does
nothing and the app's own refresh timers cover what another process on this machine
wrote. Nothing here logs a password: the database is named by its ``display``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

import psycopg

from hoister.store.db import Database

log = logging.getLogger(__name__)

CHANNEL = "hoister"
#: What writers say, and what a listener that was deaf for a while says it missed.
PAYLOADS = ("policies", "history", "profiles")
#: How often the listening thread looks up from the socket to see whether it should stop.
POLL_S = 0.2
FIRST_DELAY_S = 0.5
MAX_DELAY_S = 30.0
#: A listener connecting to a server that does not answer gives up after this long.
CONNECT_TIMEOUT_S = 5
APPLICATION_NAME = "hoister-listen"

Callback = Callable[[str], None]


class ChangeListener:
    """``LISTEN hoister`` on a team database, on a thread of its own (see the module)."""

    def __init__(
        self,
        database: Database,
        callback: Callback,
        *,
        channel: str = CHANNEL,
        first_delay: float = FIRST_DELAY_S,
        max_delay: float = MAX_DELAY_S,
    ) -> None:
        self._database = database
        self._callback = callback
        self._channel = channel
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Set while the thread is connected and listening (tests and diagnostics wait on it).
        self.listening = threading.Event()
        #: Set after each connection attempt that failed (cleared by whoever waits on it).
        self.failed = threading.Event()
        #: Connections made and attempts that failed, since start.
        self.connections = 0
        self.failures = 0

    @property
    def active(self) -> bool:
        """True when a thread listens (or tries to): only on a team database."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start listening; on SQLite, or when already started, nothing happens."""
        if not self._database.shared or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=APPLICATION_NAME, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> bool:
        """Ask the thread to end and wait up to ``timeout`` seconds; True once it has.

        The thread looks up every :data:`POLL_S` seconds, so this returns about that fast
        unless it is inside a connection attempt (bounded by :data:`CONNECT_TIMEOUT_S`);
        it is a daemon thread, so an exit never waits on it.
        """
        self._stop.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            return False
        self._thread = None
        return True

    # -- the thread ------------------------------------------------------------------

    def _run(self) -> None:
        delay = self._first_delay
        while not self._stop.is_set():
            try:
                conn = self._connect()
            except psycopg.Error as exc:
                self.failures += 1
                self.failed.set()
                log.info("not listening to %s yet: %s", self._database.display, _line(exc))
            else:
                try:
                    self._listen(conn, caught_up=self.connections > 1)
                    delay = self._first_delay  # it worked for a while: start over
                except psycopg.Error as exc:
                    log.info("stopped hearing %s: %s", self._database.display, _line(exc))
                finally:
                    self.listening.clear()
                    with contextlib.suppress(psycopg.Error):
                        conn.close()
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, self._max_delay)

    def _connect(self) -> psycopg.Connection:
        url = self._database.url
        options: dict[str, object] = {str(k): v for k, v in url.query.items()}
        conn = psycopg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            dbname=url.database,
            connect_timeout=CONNECT_TIMEOUT_S,
            application_name=APPLICATION_NAME,
            keepalives=1,
            keepalives_idle=30,
            keepalives_interval=10,
            keepalives_count=3,
            autocommit=True,
            **options,
        )
        self.connections += 1
        return conn

    def _listen(self, conn: psycopg.Connection, *, caught_up: bool) -> None:
        conn.execute(f"LISTEN {self._channel}")
        self.listening.set()
        if caught_up:  # reconnected: what was said meanwhile is lost, read it all again
            for payload in PAYLOADS:
                self._deliver(payload)
        while not self._stop.is_set():
            for notification in conn.notifies(timeout=POLL_S):
                self._deliver(notification.payload)

    def _deliver(self, payload: str) -> None:
        if self._stop.is_set():
            return  # the owner may be gone already
        try:
            self._callback(payload)
        except Exception:  # a listener's bug must not end the listening
            log.exception("a change listener's callback failed on %r", payload)


def _line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
