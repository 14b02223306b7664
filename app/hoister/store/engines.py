"""The engines working on one store: who they are, whether they promote, when last seen.

Every engine (a headless agent, a desktop app's engine, a one-off CLI run) registers
under its claim owner id (see :func:`hoister.store.queue.new_owner`) and beats while it
runs. On a team database this is how a workstation learns that team agents are already
promoting (so *Promote from this workstation* can default to off), how ``/metrics`` can
be read per agent, and how people see who is at work. An engine that stops cleanly
says so; one that dies simply stops beating and is *gone* once :data:`SEEN_WITHIN`
passes — the queue does not rely on this table (leases decide), people do.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from hoister.store.base import ConnectionOwner
from hoister.store.db import transaction
from hoister.store.times import from_db_time, to_db_time

#: An engine not seen for this long is not counted as at work.
SEEN_WITHIN = timedelta(seconds=90)
#: How often a running engine beats (well inside :data:`SEEN_WITHIN`).
BEAT_EVERY = timedelta(seconds=20)
KINDS = ("agent", "app", "cli")
#: Rows of engines not seen for this long are dropped when another engine starts.
FORGET_AFTER = timedelta(days=7)


@dataclass(frozen=True)
class EngineRow:
    id: str
    kind: str
    host: str
    pid: int
    started_at: datetime
    seen_at: datetime
    stopped_at: datetime | None
    promoting: bool

    @property
    def name(self) -> str:
        """How people and metrics name it: ``agent@build-01:4242``."""
        return f"{self.kind}@{self.host}:{self.pid}"


def engine_name(owner: str, kind: str) -> str:
    """The :attr:`EngineRow.name` of an owner id, without reading the table."""
    host, _, rest = owner.partition(":")
    return f"{kind}@{host}:{rest.partition(':')[0]}"


class EngineRegistry(ConnectionOwner):
    def register(self, engine_id: str, kind: str, *, promoting: bool = True) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown engine kind {kind!r}")
        now = to_db_time(self._clock())
        with transaction(self._conn):
            self._conn.execute(
                "INSERT INTO engines (id, kind, host, pid, started_at, seen_at, promoting)"
                " VALUES (:id, :kind, :host, :pid, :now, :now, :promoting)"
                " ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at,"
                " stopped_at = NULL, promoting = excluded.promoting",
                {
                    "id": engine_id,
                    "kind": kind,
                    "host": socket.gethostname(),
                    "pid": os.getpid(),
                    "now": now,
                    "promoting": int(promoting),
                },
            )

    def beat(self, engine_id: str, *, promoting: bool | None = None) -> None:
        """Say this engine is still at work (and whether it promotes, if that changed)."""
        now = to_db_time(self._clock())
        sql = "UPDATE engines SET seen_at = :now, stopped_at = NULL"
        params: dict[str, object] = {"now": now, "id": engine_id}
        if promoting is not None:
            sql += ", promoting = :promoting"
            params["promoting"] = int(promoting)
        with transaction(self._conn):
            self._conn.execute(sql + " WHERE id = :id", params)

    def stopped(self, engine_id: str) -> None:
        with transaction(self._conn):
            self._conn.execute(
                "UPDATE engines SET stopped_at = :now WHERE id = :id",
                {"now": to_db_time(self._clock()), "id": engine_id},
            )

    def at_work(self, *, within: timedelta = SEEN_WITHIN) -> list[EngineRow]:
        """Engines seen lately and not stopped, oldest first."""
        since = to_db_time(self._clock() - within)
        rows = self._conn.execute(
            "SELECT * FROM engines WHERE stopped_at IS NULL AND seen_at >= :since"
            " ORDER BY started_at, id",
            {"since": since},
        )
        return [_engine(row) for row in rows]

    def promoting_elsewhere(self, engine_id: str | None = None) -> list[EngineRow]:
        """Agents at work that promote, other than ``engine_id``: the team's agents."""
        return [
            row
            for row in self.at_work()
            if row.promoting and row.id != engine_id and row.kind == "agent"
        ]

    def forget_older_than(self, age: timedelta) -> int:
        """Drop rows of engines gone for longer than ``age`` (the table stays small)."""
        cutoff = to_db_time(self._clock() - age)
        with transaction(self._conn):
            return self._conn.execute(
                "DELETE FROM engines WHERE seen_at < :cutoff", {"cutoff": cutoff}
            ).rowcount


def _engine(row: object) -> EngineRow:
    get = row.__getitem__  # type: ignore[attr-defined]
    return EngineRow(
        id=get("id"),
        kind=get("kind"),
        host=get("host"),
        pid=int(get("pid")),
        started_at=from_db_time(get("started_at")),  # type: ignore[arg-type]
        seen_at=from_db_time(get("seen_at")),  # type: ignore[arg-type]
        stopped_at=from_db_time(get("stopped_at")),
        promoting=bool(get("promoting")),
    )
