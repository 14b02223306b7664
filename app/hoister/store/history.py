"""The promotion history: every match, promotion, skip and failure, with its reason."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hoister.store.base import ConnectionOwner
from hoister.store.db import transaction
from hoister.store.sql import Connection
from hoister.store.times import from_db_time, to_db_time

if TYPE_CHECKING:
    from hoister.store.queue import QueueEntry

OUTCOMES = ("matched", "promoted", "skipped", "failed")


@dataclass(frozen=True)
class HistoryRow:
    policy_id: int | None
    policy_name: str
    source_profile: str
    source_repository: str
    source_tag: str | None
    source_digest: str | None
    target_profile: str
    target_repository: str
    target_tag: str | None
    outcome: str
    reason: str
    started_at: datetime
    finished_at: datetime
    duration_ms: int = 0
    bytes_moved: int = 0
    blobs_mounted: int = 0
    blobs_uploaded: int = 0
    hop: int = 0
    actor: str = ""  # who promotes, as provenance says it: user@host, hoister-agent@host
    agent: str = ""  # which engine wrote the row: agent@host:pid (see store.engines)
    entry_id: int | None = None  # the queue entry this row is about, if any
    id: int | None = None

    @classmethod
    def for_entry(
        cls,
        entry: QueueEntry,
        *,
        policy_name: str,
        outcome: str,
        reason: str,
        started: datetime,
        finished: datetime,
        actor: str,
        agent: str = "",
        bytes_moved: int = 0,
        blobs_mounted: int = 0,
        blobs_uploaded: int = 0,
    ) -> HistoryRow:
        """The row for a queued promotion: its route from the entry, the rest as given."""
        return cls(
            policy_id=entry.policy_id,
            policy_name=policy_name,
            source_profile=entry.source_profile,
            source_repository=entry.source_repository,
            source_tag=entry.source_tag,
            source_digest=entry.source_digest,
            target_profile=entry.target_profile,
            target_repository=entry.target_repository,
            target_tag=entry.target_tag,
            outcome=outcome,
            reason=reason,
            started_at=started,
            finished_at=finished,
            duration_ms=int((finished - started).total_seconds() * 1000),
            bytes_moved=bytes_moved,
            blobs_mounted=blobs_mounted,
            blobs_uploaded=blobs_uploaded,
            hop=entry.hop,
            actor=actor,
            agent=agent,
            entry_id=entry.id,
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = to_db_time(self.started_at)
        data["finished_at"] = to_db_time(self.finished_at)
        return data


_COLUMNS = [f for f in HistoryRow.__dataclass_fields__ if f != "id"]


def insert_row(conn: Connection, row: HistoryRow) -> HistoryRow:
    """Insert ``row`` inside the caller's transaction (the queue finishes an entry and
    writes its row at once); returns the row with its id."""
    if row.outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {row.outcome!r}")
    values = [
        to_db_time(getattr(row, c)) if c.endswith("_at") else getattr(row, c) for c in _COLUMNS
    ]
    new_id = conn.execute(
        f"INSERT INTO history ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
        " RETURNING id",
        values,
    ).scalar()
    conn.notify("hoister", "history")
    return HistoryRow(**{**asdict(row), "id": new_id})


def promoted_by_agent(conn: Connection, since: datetime) -> dict[str, int]:
    """Promotions finished since ``since``, counted by the engine that made them (one
    indexed range over ``finished_at``; cheap enough to run at every metrics scrape)."""
    rows = conn.execute(
        "SELECT agent, COUNT(*) AS n FROM history WHERE outcome = 'promoted'"
        " AND finished_at >= ? GROUP BY agent ORDER BY agent",
        (to_db_time(since),),
    )
    return {str(row["agent"]): int(row["n"]) for row in rows}


class HistoryStore(ConnectionOwner):
    def add(self, row: HistoryRow) -> HistoryRow:
        with transaction(self._conn):
            return insert_row(self._conn, row)

    def promoted_by_agent(self, since: datetime) -> dict[str, int]:
        return promoted_by_agent(self._conn, since)

    def for_entry(self, entry_id: int) -> list[HistoryRow]:
        """Every row about one queue entry, oldest first (a match, then its outcome)."""
        return [
            self._read(r)
            for r in self._conn.execute(
                "SELECT * FROM history WHERE entry_id = ? ORDER BY id", (entry_id,)
            )
        ]

    @staticmethod
    def _read(r: Any) -> HistoryRow:
        return HistoryRow(
            **{c: from_db_time(r[c]) if c.endswith("_at") else r[c] for c in [*_COLUMNS, "id"]}
        )

    def recent(
        self,
        limit: int = 100,
        *,
        repository: str | None = None,
        profile: str | None = None,
        since_id: int = 0,
    ) -> list[HistoryRow]:
        """Newest first; ``repository`` matches either end of the promotion."""
        sql = "SELECT * FROM history WHERE id > ?"
        args: list[Any] = [since_id]
        if repository is not None:
            sql += " AND (source_repository = ? OR target_repository = ?)"
            args += [repository, repository]
        if profile is not None:
            sql += " AND (source_profile = ? OR target_profile = ?)"
            args += [profile, profile]
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return [self._read(r) for r in self._conn.execute(sql, args)]
