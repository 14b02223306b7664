"""The work that waits, in one list: for facts, for a retry, for an engine, or for a person.

``hoister queue`` and the app's Queue view show the same rows, read here from the store:
images a policy could not decide yet (the ``undecided`` table: no scan report yet, a
registry that could not be read), queue entries that failed an attempt and wait for the
next one (*retrying*), entries pending, running, and failed for good. Each row carries
its reason, so nobody has to guess why an image has not moved. Reading only; retrying a
failed entry is :func:`retry`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from hoister.store import Database, PolicyStore
from hoister.store.facts import UndecidedStore
from hoister.store.queue import QueueEntry, QueueStore

#: Statuses in the order people read them: what waits on something first.
STATUSES = ("waiting", "retrying", "pending", "running", "failed", "done", "skipped")
DEFAULT_STATUSES = ("waiting", "retrying", "pending", "running", "failed")


@dataclass(frozen=True)
class WaitingRow:
    """One row of the list; ``entry`` is None for an image waiting for facts."""

    status: str  # one of STATUSES
    policy_id: int | None
    policy_name: str
    source: str  # repository:tag
    digest: str
    target: str  # repository[:tag], or "" when the policy is gone
    reason: str
    #: waiting: since when; retrying/pending: next attempt; running: lease end.
    when: datetime | None
    attempts: int = 0
    holder: str = ""  # running: the engine holding it
    entry: QueueEntry | None = None

    @property
    def entry_id(self) -> int | None:
        return self.entry.id if self.entry is not None else None


def status_of(entry: QueueEntry) -> str:
    """``retrying`` is a pending entry that failed an attempt and waits for the next."""
    if entry.state == "pending" and entry.attempts > 0 and entry.last_error:
        return "retrying"
    return entry.state


def load(database: Database, statuses: Collection[str] = DEFAULT_STATUSES) -> list[WaitingRow]:
    """Every row whose status is in ``statuses``: waiting first, then the queue by id.

    Opens its own connections: the CLI calls it directly, the app from a worker."""
    wanted = set(statuses)
    with PolicyStore(database) as policies:
        by_id = {p.id: p for p in policies.list()}
    rows: list[WaitingRow] = []
    if "waiting" in wanted:
        with UndecidedStore(database) as undecided:
            for item in undecided.waiting():
                policy = by_id.get(item.policy_id)
                rows.append(
                    WaitingRow(
                        "waiting",
                        item.policy_id,
                        (policy.name or "") if policy else "",
                        f"{item.repository}:{item.tag}",
                        item.digest,
                        policy.target_repository if policy else "",
                        item.reason,
                        item.first_seen,
                    )
                )
    with QueueStore(database) as queue:
        entries = queue.entries()
    for entry in entries:
        status = status_of(entry)
        if status not in wanted:
            continue
        policy = by_id.get(entry.policy_id) if entry.policy_id is not None else None
        target = entry.target_repository + (f":{entry.target_tag}" if entry.target_tag else "")
        running = entry.state == "running"
        rows.append(
            WaitingRow(
                status,
                entry.policy_id,
                (policy.name or "") if policy else ("manual" if entry.policy_id is None else ""),
                f"{entry.source_repository}:{entry.source_tag}",
                entry.source_digest,
                target,
                entry.last_error or "",
                entry.lease_until if running else entry.next_attempt_at,
                entry.attempts,
                (entry.owner or "").split(":")[-1] if running else "",
                entry,
            )
        )
    return rows


@dataclass(frozen=True)
class RetryResult:
    requeued: list[QueueEntry]
    problems: list[str]  # one sentence per id that could not be retried


def retry(database: Database, ids: Collection[int] | None) -> RetryResult:
    """Queue failed entries again: those in ``ids``, or every failed one (``None``).

    An id that does not exist or is not failed/skipped is a problem, said per id; the
    others are retried all the same."""
    requeued, problems = [], []
    with QueueStore(database) as queue:
        targets = ids if ids is not None else [e.id for e in queue.entries("failed")]
        for entry_id in targets:
            assert entry_id is not None
            try:
                current = queue.get(entry_id)
            except KeyError:
                problems.append(f"there is no queue entry {entry_id}")
                continue
            again = queue.retry(entry_id)
            if again is None:
                problems.append(
                    f"entry {entry_id} is {status_of(current)}; only failed or skipped "
                    "promotions can be retried"
                )
                continue
            requeued.append(current)
    return RetryResult(requeued, problems)
