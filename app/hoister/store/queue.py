"""The durable promotion queue: written before any copy starts, resumed after a crash.

``UNIQUE(policy_id, source_digest, source_tag)`` makes "promote once" a property of
the data: enqueuing the same match twice is a no-op. The target tag is rendered when a
promotion first starts and stored, so a retry after a crash writes the same tag rather
than a second one with a later timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hoister.store.base import ConnectionOwner
from hoister.store.db import transaction
from hoister.store.times import from_db_time, to_db_time


@dataclass(frozen=True)
class QueueEntry:
    id: int | None
    policy_id: int | None
    source_profile: str
    source_repository: str
    source_tag: str
    source_digest: str
    target_profile: str
    target_repository: str
    target_tag: str | None = None
    state: str = "pending"
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    hop: int = 0
    created_at: datetime | None = None


def _entry(row: Any) -> QueueEntry:
    return QueueEntry(
        id=row["id"],
        policy_id=row["policy_id"],
        source_profile=row["source_profile"],
        source_repository=row["source_repository"],
        source_tag=row["source_tag"],
        source_digest=row["source_digest"],
        target_profile=row["target_profile"],
        target_repository=row["target_repository"],
        target_tag=row["target_tag"],
        state=row["state"],
        attempts=row["attempts"],
        next_attempt_at=from_db_time(row["next_attempt_at"]),
        last_error=row["last_error"],
        hop=row["hop"],
        created_at=from_db_time(row["created_at"]),
    )


class QueueStore(ConnectionOwner):
    def enqueue(self, entry: QueueEntry) -> QueueEntry | None:
        """Add a promotion; None when this (policy, digest, tag) was queued before."""
        now = to_db_time(self._clock())
        with transaction(self._conn):
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO queue (policy_id, source_profile, source_repository,"
                " source_tag, source_digest, target_profile, target_repository, target_tag,"
                " state, attempts, next_attempt_at, hop, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)",
                (
                    entry.policy_id,
                    entry.source_profile,
                    entry.source_repository,
                    entry.source_tag,
                    entry.source_digest,
                    entry.target_profile,
                    entry.target_repository,
                    entry.target_tag,
                    to_db_time(entry.next_attempt_at) or now,
                    entry.hop,
                    now,
                    now,
                ),
            )
            if cursor.rowcount == 0:
                return None
            row_id = cursor.lastrowid
        return self.get(int(row_id or 0))

    def get(self, entry_id: int) -> QueueEntry:
        row = self._conn.execute("SELECT * FROM queue WHERE id = ?", (entry_id,)).fetchone()
        if row is None:
            raise KeyError(entry_id)
        return _entry(row)

    def claim_next(self, now: datetime) -> QueueEntry | None:
        """Take the oldest due pending entry and mark it running (atomically)."""
        with transaction(self._conn):
            row = self._conn.execute(
                "SELECT * FROM queue WHERE state = 'pending' AND next_attempt_at <= ?"
                " ORDER BY next_attempt_at, id LIMIT 1",
                (to_db_time(now),),
            ).fetchone()
            if row is None:
                return None
            self._conn.execute(
                "UPDATE queue SET state = 'running', attempts = attempts + 1, updated_at = ?"
                " WHERE id = ?",
                (to_db_time(now), row["id"]),
            )
        return self.get(row["id"])

    def claim(self, entry_id: int) -> QueueEntry | None:
        """Mark one pending entry running (a manual promotion runs at once)."""
        with transaction(self._conn):
            cursor = self._conn.execute(
                "UPDATE queue SET state = 'running', attempts = attempts + 1, updated_at = ?"
                " WHERE id = ? AND state = 'pending'",
                (to_db_time(self._clock()), entry_id),
            )
        return self.get(entry_id) if cursor.rowcount else None

    def set_target_tag(self, entry_id: int, tag: str) -> None:
        with transaction(self._conn):
            self._conn.execute(
                "UPDATE queue SET target_tag = ?, updated_at = ? WHERE id = ?",
                (tag, to_db_time(self._clock()), entry_id),
            )

    def finish(self, entry_id: int, state: str, error: str | None = None) -> None:
        """Mark ``done``, ``skipped`` or ``failed`` (for good)."""
        with transaction(self._conn):
            self._conn.execute(
                "UPDATE queue SET state = ?, last_error = ?, updated_at = ? WHERE id = ?",
                (state, error, to_db_time(self._clock()), entry_id),
            )

    def retry_later(self, entry_id: int, error: str, when: datetime) -> None:
        with transaction(self._conn):
            self._conn.execute(
                "UPDATE queue SET state = 'pending', last_error = ?, next_attempt_at = ?,"
                " updated_at = ? WHERE id = ?",
                (error, to_db_time(when), to_db_time(self._clock()), entry_id),
            )

    def resume_interrupted(self) -> int:
        """Entries left 'running' by a process that died go back to 'pending'."""
        with transaction(self._conn):
            cursor = self._conn.execute(
                "UPDATE queue SET state = 'pending', updated_at = ? WHERE state = 'running'",
                (to_db_time(self._clock()),),
            )
        return cursor.rowcount

    def pending_count(self) -> int:
        row = self._conn.execute(
            "SELECT COUNT(*) FROM queue WHERE state IN ('pending', 'running')"
        ).fetchone()
        return int(row[0])

    def entries(self, state: str | None = None) -> list[QueueEntry]:
        if state is None:
            rows = self._conn.execute("SELECT * FROM queue ORDER BY id")
        else:
            rows = self._conn.execute("SELECT * FROM queue WHERE state = ? ORDER BY id", (state,))
        return [_entry(row) for row in rows]
