"""The durable promotion queue: written before any copy starts, claimed before it runs.

``UNIQUE(policy_id, source_digest, source_tag)`` makes "promote once" a property of the
data: enqueuing the same match twice is a no-op, whichever engine finds it.

Work has an owner. An engine *claims* an entry: the row records the owner, a lease
(a time until which the claim holds) and a claim number that every claim raises. The
owner renews the lease while it works. Another engine may take an entry over only once
its lease has expired (or, on the same host, once its owner process is gone), and every
write an owner makes to an entry it claimed — the target tag, a retry, the finish —
names the claim number it got, so an owner whose claim was taken over cannot change or
finish the entry any more (fencing). The design uses no process-local lock: the same
statements work for every process on one SQLite file, and carry over to a shared server
database where ``SELECT … FOR UPDATE SKIP LOCKED`` replaces SQLite's write lock.

The target tag is rendered when a promotion first runs and stored, so a retry after a
crash writes the same tag rather than a second one with a later timestamp. Storing it
also *reserves* it: while an entry holds a tag, no other entry may take that tag in
the same target repository for another digest.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hoister.errors import HoisterError
from hoister.store.base import ConnectionOwner
from hoister.store.db import transaction
from hoister.store.history import HistoryRow, insert_row
from hoister.store.times import from_db_time, to_db_time

#: How long a claim holds without renewal. The owner renews it every third of this, so
#: a live owner keeps its claim through two missed renewals.
DEFAULT_LEASE = timedelta(seconds=60)

#: Entry states that still have work to do; the others are final.
ACTIVE_STATES = ("pending", "running")


class LostClaim(HoisterError):
    """The entry was taken over by another engine after this one's lease expired."""


def new_owner(actor: str) -> str:
    """A claim owner: unique per engine instance, and naming the host and process so that
    an engine starting on the same host can tell a dead owner from a live one."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}:{actor}"


def _owner_is_dead_here(owner: str | None) -> bool:
    """True only when ``owner`` was a process on this host that no longer exists.

    Anything uncertain (another host, a foreign format, a pid reused by another process)
    reads as alive: the lease then decides, which is always safe, merely slower.
    """
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # another engine in this very process: it is alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # exists, owned by someone else
    return False


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
    owner: str | None = None
    lease_until: datetime | None = None
    claim: int = 0
    manual_options: str | None = None  # JSON; see hoister.engine.runner.manual_route


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
        owner=row["owner"],
        lease_until=from_db_time(row["lease_until"]),
        claim=row["claim"],
        manual_options=row["manual_options"],
    )


_FENCE = " WHERE id = ? AND claim = ? AND state = 'running'"
#: No due entry of the same target repository comes before this one (see claim_next).
_NONE_EARLIER_TO_THE_TARGET = (
    " AND NOT EXISTS (SELECT 1 FROM queue AS earlier"
    " WHERE earlier.target_profile = queue.target_profile"
    " AND earlier.target_repository = queue.target_repository"
    " AND ((earlier.state = 'pending' AND earlier.next_attempt_at <= :now)"
    " OR (earlier.state = 'running' AND (earlier.lease_until IS NULL"
    " OR earlier.lease_until <= :now)))"
    " AND (earlier.next_attempt_at < queue.next_attempt_at"
    " OR (earlier.next_attempt_at = queue.next_attempt_at AND earlier.id < queue.id)))"
)


class QueueStore(ConnectionOwner):
    def enqueue(self, entry: QueueEntry) -> QueueEntry | None:
        """Add a promotion; None when this (policy, digest, tag) was queued before."""
        now = to_db_time(self._clock())
        with transaction(self._conn):
            row_id = self._conn.execute(
                "INSERT INTO queue (policy_id, source_profile, source_repository,"
                " source_tag, source_digest, target_profile, target_repository, target_tag,"
                " state, attempts, next_attempt_at, hop, created_at, updated_at,"
                " manual_options) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING RETURNING id",
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
                    entry.manual_options,
                ),
            ).scalar()
        if row_id is None:
            return None
        return self.get(int(row_id))

    def get(self, entry_id: int) -> QueueEntry:
        row = self._conn.execute("SELECT * FROM queue WHERE id = ?", (entry_id,)).fetchone()
        if row is None:
            raise KeyError(entry_id)
        return _entry(row)

    # -- claims ------------------------------------------------------------------------

    def claim_next(
        self,
        owner: str,
        now: datetime,
        lease: timedelta = DEFAULT_LEASE,
        profiles: Collection[str] | None = None,
        *,
        keep_target_order: bool = False,
    ) -> QueueEntry | None:
        """Claim the oldest due entry: pending and due, or running under a claim that
        has lapsed (lease expired, or its owner process on this host is gone).

        ``profiles``: the registry connections this engine has. An entry whose source or
        target is another one is left to engines that have it, rather than claimed and
        failed here (on a team, a workstation may know fewer registries than the agents).

        ``keep_target_order``: pass over an entry while an earlier due entry of the same
        target repository waits (left out by ``profiles``). An engine that leaves out a
        registry at its bound of promotions in flight must not let a later promotion to
        the same target (from another source registry) write a tag before an earlier one.
        """
        stamp = to_db_time(now)
        only, params = _profiles_clause(profiles)
        in_order = _NONE_EARLIER_TO_THE_TARGET if keep_target_order else ""
        with transaction(self._conn):
            row = self._conn.execute(
                "SELECT * FROM queue WHERE ((state = 'pending' AND next_attempt_at <= :now)"
                " OR (state = 'running' AND (lease_until IS NULL OR lease_until <= :now)))"
                + only
                + in_order
                + " ORDER BY next_attempt_at, id LIMIT 1"
                + self._skip_locked,
                {"now": stamp, **params},
            ).fetchone()
            if row is None:
                row = self._dead_owners_entry(only, params)
            if row is not None:
                return self._take(row, owner, now, lease)
        return None

    @property
    def shared(self) -> bool:
        """True on a team's server database, where other machines claim entries too."""
        return self._conn.shared

    @property
    def _skip_locked(self) -> str:
        """On a server database, rows another engine is claiming right now are passed
        over rather than waited for: several engines claim different entries at once.
        SQLite has one writer at a time, so there is nothing to skip."""
        return " FOR UPDATE SKIP LOCKED" if self._conn.shared else ""

    def _dead_owners_entry(self, only: str = "", params: dict[str, str] | None = None) -> Any:
        """A running entry whose owner was a process on this host that is gone: taken
        over at once instead of after its lease (a crashed agent restarted by systemd)."""
        prefix = socket.gethostname() + ":"
        rows = self._conn.execute(
            "SELECT id, owner FROM queue WHERE state = 'running'"
            " AND substr(owner, 1, :length) = :prefix" + only + " ORDER BY next_attempt_at, id",
            {"length": len(prefix), "prefix": prefix, **(params or {})},
        ).fetchall()
        for candidate in rows:
            if not _owner_is_dead_here(candidate["owner"]):
                continue
            row = self._conn.execute(
                "SELECT * FROM queue WHERE id = :id AND state = 'running' AND owner = :owner"
                + self._skip_locked,
                {"id": candidate["id"], "owner": candidate["owner"]},
            ).fetchone()
            if row is not None:
                return row
        return None

    def claim(
        self, entry_id: int, owner: str, lease: timedelta = DEFAULT_LEASE
    ) -> QueueEntry | None:
        """Claim one pending entry at once (a manual promotion runs in the foreground)."""
        with transaction(self._conn):
            row = self._conn.execute(
                "SELECT * FROM queue WHERE id = ? AND state = 'pending'" + self._skip_locked,
                (entry_id,),
            ).fetchone()
            if row is None:
                return None
            return self._take(row, owner, self._clock(), lease)

    @staticmethod
    def _lapsed(row: Any, stamp: str | None) -> bool:
        lease_until = row["lease_until"]
        return lease_until is None or lease_until <= stamp or _owner_is_dead_here(row["owner"])

    def _take(self, row: Any, owner: str, now: datetime, lease: timedelta) -> QueueEntry:
        """Inside a transaction: make ``owner`` the holder of ``row`` with a fresh claim."""
        self._conn.execute(
            "UPDATE queue SET state = 'running', owner = ?, lease_until = ?,"
            " claim = claim + 1, attempts = attempts + 1, updated_at = ? WHERE id = ?",
            (owner, to_db_time(now + lease), to_db_time(now), row["id"]),
        )
        return _entry(
            self._conn.execute("SELECT * FROM queue WHERE id = ?", (row["id"],)).fetchone()
        )

    def renew(self, entry: QueueEntry, lease: timedelta = DEFAULT_LEASE) -> bool:
        """Extend the lease of a claim still held; False when it was taken over."""
        now = self._clock()
        with transaction(self._conn):
            cursor = self._conn.execute(
                "UPDATE queue SET lease_until = ?, updated_at = ?" + _FENCE,
                (to_db_time(now + lease), to_db_time(now), entry.id, entry.claim),
            )
        return cursor.rowcount == 1

    def check(self, entry: QueueEntry) -> None:
        """Raise :class:`LostClaim` unless ``entry``'s claim is still the current one."""
        row = self._conn.execute(
            "SELECT claim, state FROM queue WHERE id = ?", (entry.id,)
        ).fetchone()
        if row is None or row["claim"] != entry.claim or row["state"] != "running":
            raise LostClaim(self._lost(entry))

    @staticmethod
    def _lost(entry: QueueEntry) -> str:
        return (
            f"promotion {entry.id} of {entry.source_repository}:{entry.source_tag} was taken "
            "over by another engine after this one's claim lapsed; left to it"
        )

    def _fenced(self, entry: QueueEntry, sql: str, args: tuple[Any, ...]) -> None:
        """Run an update of a claimed entry; :class:`LostClaim` if the claim moved on."""
        cursor = self._conn.execute(sql + _FENCE, (*args, entry.id, entry.claim))
        if cursor.rowcount != 1:
            raise LostClaim(self._lost(entry))

    # -- the claimed entry's progress ------------------------------------------------------

    def reserve_target_tag(self, entry: QueueEntry, tag: str) -> QueueEntry | None:
        """Store the rendered tag, unless another active entry holds it for another digest.

        Returns the entry with its tag, or the entry holding the tag (then nothing was
        stored). Check and write are one transaction, so two engines rendering the same
        tag at the same moment cannot both take it.
        """
        now = to_db_time(self._clock())
        lock = f"target tag {entry.target_profile}/{entry.target_repository}"
        with transaction(self._conn, lock=lock):
            holder = self._conn.execute(
                "SELECT * FROM queue WHERE target_profile = ? AND target_repository = ?"
                " AND target_tag = ? AND id != ? AND source_digest != ?"
                " AND state IN ('pending', 'running') LIMIT 1",
                (entry.target_profile, entry.target_repository, tag, entry.id, entry.source_digest),
            ).fetchone()
            if holder is not None:
                return _entry(holder)
            self._fenced(entry, "UPDATE queue SET target_tag = ?, updated_at = ?", (tag, now))
        return None

    def finish(
        self,
        entry: QueueEntry,
        state: str,
        error: str | None = None,
        history: HistoryRow | None = None,
    ) -> HistoryRow | None:
        """Mark ``done``, ``skipped`` or ``failed`` for good, with its history row, in one
        transaction: a crash leaves both or neither. :class:`LostClaim` if fenced out."""
        with transaction(self._conn):
            self._fenced(
                entry,
                "UPDATE queue SET state = ?, last_error = ?, owner = NULL, lease_until = NULL,"
                " updated_at = ?",
                (state, error, to_db_time(self._clock())),
            )
            return insert_row(self._conn, history) if history is not None else None

    def retry_later(
        self, entry: QueueEntry, error: str, when: datetime, *, rerender: bool = False
    ) -> None:
        """Give the entry back, to run again at ``when``; ``rerender`` forgets its tag."""
        sql = (
            "UPDATE queue SET state = 'pending', last_error = ?, next_attempt_at = ?,"
            " owner = NULL, lease_until = NULL, updated_at = ?"
        )
        if rerender:
            sql += ", target_tag = NULL"
        with transaction(self._conn):
            self._fenced(entry, sql, (error, to_db_time(when), to_db_time(self._clock())))

    def retry(self, entry_id: int) -> QueueEntry | None:
        """Put a failed or skipped entry back in the queue (someone fixed the cause)."""
        now = to_db_time(self._clock())
        with transaction(self._conn):
            cursor = self._conn.execute(
                "UPDATE queue SET state = 'pending', next_attempt_at = ?, updated_at = ?,"
                " last_error = NULL, target_tag = CASE WHEN policy_id IS NULL THEN target_tag"
                " ELSE NULL END WHERE id = ? AND state IN ('failed', 'skipped')",
                (now, now, entry_id),
            )
        return self.get(entry_id) if cursor.rowcount else None

    # -- looking --------------------------------------------------------------------------

    def pending_count(self) -> int:
        row = self._conn.execute(
            "SELECT COUNT(*) FROM queue WHERE state IN ('pending', 'running')"
        ).fetchone()
        return int(row[0])

    def next_due(self) -> datetime | None:
        """When the next entry becomes claimable: the soonest pending retry, or the soonest
        lease of another owner to lapse (so a dead engine's work is taken over promptly)."""
        row = self._conn.execute(
            "SELECT MIN(CASE WHEN state = 'pending' THEN next_attempt_at ELSE lease_until END)"
            " FROM queue WHERE state IN ('pending', 'running')"
        ).fetchone()
        return from_db_time(row[0]) if row and row[0] else None

    def lapsed(self, now: datetime) -> int:
        """Entries whose owner stopped renewing: taken over by the next claim."""
        rows = self._conn.execute(
            "SELECT owner, lease_until FROM queue WHERE state = 'running'"
        ).fetchall()
        stamp = to_db_time(now)
        return sum(1 for row in rows if self._lapsed(row, stamp))

    def for_policy(self, policy_id: int) -> list[QueueEntry]:
        """Every entry ``policy_id`` queued, in any state: the matches it will not queue again
        (the UNIQUE key refuses them), which a dry run must not offer as new promotions."""
        rows = self._conn.execute(
            "SELECT * FROM queue WHERE policy_id = ? ORDER BY id", (policy_id,)
        )
        return [_entry(row) for row in rows]

    def entries(self, state: str | None = None) -> list[QueueEntry]:
        if state is None:
            rows = self._conn.execute("SELECT * FROM queue ORDER BY id")
        else:
            rows = self._conn.execute("SELECT * FROM queue WHERE state = ? ORDER BY id", (state,))
        return [_entry(row) for row in rows]


def _profiles_clause(profiles: Collection[str] | None) -> tuple[str, dict[str, str]]:
    """SQL limiting entries to these source and target profiles (none: no limit)."""
    if profiles is None:
        return "", {}
    names = sorted(profiles)
    if not names:
        return " AND 1 = 0", {}
    params = {f"pf{n}": name for n, name in enumerate(names)}
    marks = ", ".join(f":{key}" for key in params)
    return f" AND source_profile IN ({marks}) AND target_profile IN ({marks})", params


def lease_seconds(lease: timedelta) -> float:
    """How often an owner renews: a third of the lease, at least once a second."""
    return max(1.0, lease.total_seconds() / 3)
