"""Facts worth keeping per digest, and the images whose verdict still waits for facts.

Only facts that cannot change for a digest are cached — the packages read from its layers
— and only when they were read successfully: an unknown is never stored, so a passing
registry error cannot become a permanent wrong answer. Scan reports and SBOMs attached
later are looked up afresh each time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hoister.store.base import ConnectionOwner
from hoister.store.db import transaction
from hoister.store.times import from_db_time, to_db_time


class FactsCache(ConnectionOwner):
    def get(self, digest: str, kind: str) -> tuple[Any, str] | None:
        row = self._conn.execute(
            "SELECT value, source FROM facts WHERE digest = ? AND kind = ?", (digest, kind)
        ).fetchone()
        if row is None:
            return None
        return json.loads(row["value"]), row["source"]

    def put(self, digest: str, kind: str, value: Any, source: str) -> None:
        with transaction(self._conn):
            self._conn.execute(
                "INSERT INTO facts (digest, kind, value, source, fetched_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (digest, kind) DO UPDATE SET"
                " value = excluded.value, source = excluded.source,"
                " fetched_at = excluded.fetched_at",
                (digest, kind, json.dumps(value), source, to_db_time(self._clock())),
            )


@dataclass(frozen=True)
class Undecided:
    policy_id: int
    profile: str
    repository: str
    tag: str
    digest: str
    reason: str
    first_seen: datetime


class UndecidedStore(ConnectionOwner):
    #: How long an undecided image keeps being looked at (a report later than this is late).
    PATIENCE = timedelta(days=7)

    def remember(self, item: Undecided) -> None:
        now = to_db_time(self._clock())
        with transaction(self._conn):
            self._conn.execute(
                "INSERT INTO undecided (policy_id, profile, repository, tag, digest, reason,"
                " first_seen, last_checked) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (policy_id, digest, tag) DO UPDATE SET"
                " reason = excluded.reason, last_checked = excluded.last_checked",
                (
                    item.policy_id,
                    item.profile,
                    item.repository,
                    item.tag,
                    item.digest,
                    item.reason,
                    to_db_time(item.first_seen),
                    now,
                ),
            )

    def forget(self, policy_id: int, digest: str, tag: str) -> None:
        with transaction(self._conn):
            self._conn.execute(
                "DELETE FROM undecided WHERE policy_id = ? AND digest = ? AND tag = ?",
                (policy_id, digest, tag),
            )

    def waiting(self) -> list[Undecided]:
        """What waits for facts, oldest first, for people to see; writes nothing (entries
        past :attr:`PATIENCE` are left out here and dropped by :meth:`due`)."""
        cutoff = to_db_time(self._clock() - self.PATIENCE)
        rows = self._conn.execute(
            "SELECT * FROM undecided WHERE first_seen >= ? ORDER BY first_seen, policy_id",
            (cutoff,),
        )
        return [_undecided(r) for r in rows]

    def due(self) -> list[Undecided]:
        """Everything still worth a look; entries past :attr:`PATIENCE` are dropped."""
        cutoff = to_db_time(self._clock() - self.PATIENCE)
        with transaction(self._conn):
            self._conn.execute("DELETE FROM undecided WHERE first_seen < ?", (cutoff,))
        rows = self._conn.execute("SELECT * FROM undecided ORDER BY first_seen")
        return [_undecided(r) for r in rows]


def _undecided(r: Any) -> Undecided:
    return Undecided(
        r["policy_id"],
        r["profile"],
        r["repository"],
        r["tag"],
        r["digest"],
        r["reason"],
        from_db_time(r["first_seen"]),  # type: ignore[arg-type]
    )
