"""Registry connections shared through a team database (the ``profiles`` table).

On a team database everyone should see the same connections: a policy names its
source and target by profile name, so an agent on a server and a workstation must
agree on what ``prod`` is. :class:`SharedProfileStore` keeps them in the database with
the same interface as the file-backed :class:`~hoister.profiles.ProfileStore`, which
stays the store of a machine on its own SQLite file.

A row holds :meth:`Profile.to_json` — where the registry is, as whom, TLS options,
remembered repositories — and never a password: that stays in each machine's keyring,
under the same key (:func:`hoister.credentials.secrets.profile_key`), so each member of
the team logs in as the shared user with a password of their own keeping.

Every call opens a connection of its own and closes it: the store is shared by the
GUI thread, the engine thread and workers, as the file store is, and a connection must
not cross threads.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hoister.errors import HoisterError, InvalidInput
from hoister.profiles import Profile, ProfileStore
from hoister.store.base import default_author
from hoister.store.db import Database, transaction
from hoister.store.sql import Connection
from hoister.store.times import now_utc, to_db_time

#: The advisory lock of profile writes (an add checks the name is free, then writes).
LOCK = "profiles"
#: Listeners hear ``profiles`` on this channel when a connection changes.
CHANNEL = "hoister"

#: Keys of :meth:`Profile.to_json` that may be stored; a new key that could hold a
#: secret must be added here on purpose (see :func:`profile_data`).
STORED_KEYS = frozenset(
    {"name", "url", "username", "insecure", "ca_file", "repositories", "scanner"}
)


def profile_data(profile: Profile) -> str:
    """The row's JSON: :meth:`Profile.to_json`, checked to carry nothing unexpected."""
    data = profile.to_json()
    unknown = set(data) - STORED_KEYS
    if unknown:  # a programming error: a new field must be judged before it is shared
        raise ValueError(f"profile fields not cleared for sharing: {sorted(unknown)}")
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def no_such(name: str) -> HoisterError:
    return HoisterError(f"no profile named {name!r}; `hoister profile list` shows the saved ones")


class SharedProfileStore(ProfileStore):
    """The team's connections, read fresh on every call like the file store.

    A subclass only so that every caller typed for :class:`ProfileStore` (the engine,
    the app) takes it; nothing of the file is used.

    ``cached=True`` (the desktop app): reads are answered from what was last read, so a
    sidebar painting or a dialog opening never waits on the database server; the cache
    is filled at start and by :meth:`refresh`, which the app calls off the GUI thread
    when the team database says connections changed, and after each of its own writes.
    """

    def __init__(
        self,
        database: Database,
        *,
        author: str | None = None,
        clock: Callable[[], datetime] = now_utc,
        cached: bool = False,
    ) -> None:
        # No super().__init__(): there is no file.
        self.database = database
        self.author = author or default_author()
        self._clock = clock
        self._cached = cached
        self._snapshot: dict[str, Profile] | None = None
        self._snapshot_lock = threading.Lock()
        if cached:
            self.refresh()

    def refresh(self) -> None:
        """Read the team's connections again (a database round trip: not on the GUI
        thread). Without the cache, nothing to do."""
        if not self._cached:
            return
        fresh = self._read()
        with self._snapshot_lock:
            self._snapshot = fresh

    @property
    def location(self) -> str:
        return self.database.display

    def _load(self) -> dict[str, Profile]:
        if self._cached:
            with self._snapshot_lock:
                if self._snapshot is not None:
                    return dict(self._snapshot)
        return self._read()

    def _read(self) -> dict[str, Profile]:
        with self.database.connection() as conn:
            rows = conn.execute("SELECT name, data FROM profiles ORDER BY name").fetchall()
        profiles: dict[str, Profile] = {}
        for row in rows:
            try:
                profiles[row["name"]] = Profile.from_json(json.loads(row["data"]))
            except (ValueError, InvalidInput) as exc:
                raise HoisterError(
                    f"the team database at {self.location} holds a damaged connection "
                    f"{row['name']!r} ({exc}); save it again from the app or "
                    "`hoister profile add --replace`"
                ) from None
        return profiles

    def _save(self, profiles: dict[str, Profile]) -> None:  # pragma: no cover - not used
        raise NotImplementedError("the shared store writes one row at a time")

    def add(self, profile: Profile, replace: bool = False) -> None:
        with self.database.connection() as conn, transaction(conn, lock=LOCK):
            exists = self._exists(conn, profile.name)
            if exists and not replace:
                raise InvalidInput(
                    f"a profile named {profile.name!r} already exists; choose another name "
                    "or remove it first"
                )
            self._write(conn, profile)
        self.refresh()

    def update(self, profile: Profile) -> None:
        with self.database.connection() as conn, transaction(conn, lock=LOCK):
            if not self._exists(conn, profile.name):
                raise no_such(profile.name)
            self._write(conn, profile)
        self.refresh()

    def remove(self, name: str) -> Profile:
        with self.database.connection() as conn, transaction(conn, lock=LOCK):
            row = conn.execute("SELECT data FROM profiles WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise no_such(name)
            conn.execute("DELETE FROM profiles WHERE name = ?", (name,))
            conn.notify(CHANNEL, "profiles")
        self.refresh()
        return Profile.from_json(json.loads(row["data"]))

    def who_changed(self, name: str) -> tuple[str, str] | None:
        """(updated_by, updated_at) of a connection, for people asking who set it so."""
        with self.database.connection() as conn:
            row = conn.execute(
                "SELECT updated_by, updated_at FROM profiles WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else (row["updated_by"], row["updated_at"])

    @staticmethod
    def _exists(conn: Connection, name: str) -> bool:
        return conn.execute("SELECT 1 FROM profiles WHERE name = ?", (name,)).fetchone() is not None

    def _write(self, conn: Connection, profile: Profile) -> None:
        params: dict[str, Any] = {
            "name": profile.name,
            "data": profile_data(profile),
            "at": to_db_time(self._clock()),
            "by": self.author,
        }
        conn.execute(
            "INSERT INTO profiles (name, data, updated_at, updated_by)"
            " VALUES (:name, :data, :at, :by)"
            " ON CONFLICT (name) DO UPDATE SET data = excluded.data,"
            " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            params,
        )
        conn.notify(CHANNEL, "profiles")
