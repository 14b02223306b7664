"""What the watcher has seen: repositories, their tags and digests, policy baselines.

A tag row with an empty digest means "seen, but not resolved": the watcher only asks a
registry for the digests of tags some policy could promote, and remembers the others
so that a policy edited later does not mistake old tags for new pushes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from hoister.store.base import ConnectionOwner
from hoister.store.db import transaction
from hoister.store.times import from_db_time, to_db_time

UNRESOLVED = ""


@dataclass(frozen=True)
class SeenTag:
    """A tag as the watcher last recorded it: its digest ('' unresolved) and when.

    ``seen_at`` is when the engine saw the tag take that digest — a push time, within a
    poll interval, unless ``at_baseline``: then the tag was already there when the
    repository was first looked at, and only "pushed at or before" is known.
    """

    digest: str
    seen_at: datetime
    at_baseline: bool


class WatchStore(ConnectionOwner):
    def is_baselined(self, profile: str, repository: str) -> bool:
        row = self._conn.execute(
            "SELECT baseline_at FROM watch_repositories WHERE profile = ? AND repository = ?",
            (profile, repository),
        ).fetchone()
        return row is not None and row["baseline_at"] is not None

    def tags(self, profile: str, repository: str) -> dict[str, str]:
        """tag -> digest ('' when unresolved) as last seen."""
        rows = self._conn.execute(
            "SELECT tag, digest FROM watch_tags WHERE profile = ? AND repository = ?",
            (profile, repository),
        )
        return {row["tag"]: row["digest"] for row in rows}

    def seen(self, profile: str, repository: str) -> dict[str, SeenTag]:
        """tag -> what the watcher recorded of it; empty for a repository never watched."""
        rows = self._conn.execute(
            "SELECT t.tag, t.digest, t.seen_at, r.baseline_at FROM watch_tags t"
            " LEFT JOIN watch_repositories r"
            " ON r.profile = t.profile AND r.repository = t.repository"
            " WHERE t.profile = ? AND t.repository = ?",
            (profile, repository),
        )
        return {
            row["tag"]: SeenTag(
                row["digest"],
                from_db_time(row["seen_at"]),  # type: ignore[arg-type]
                row["baseline_at"] is not None and row["seen_at"] == row["baseline_at"],
            )
            for row in rows
        }

    def record(
        self,
        profile: str,
        repository: str,
        seen: Mapping[str, str],
        gone: set[str] | frozenset[str] = frozenset(),
        *,
        baseline: bool = False,
        when: datetime | None = None,
    ) -> None:
        """Store what one poll saw, in one transaction: new/changed tags, deleted tags."""
        stamp = to_db_time(when or self._clock())
        with transaction(self._conn):
            self._conn.execute(
                "INSERT INTO watch_repositories (profile, repository, baseline_at, last_polled_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (profile, repository) DO UPDATE SET"
                " last_polled_at = excluded.last_polled_at,"
                " baseline_at = COALESCE(watch_repositories.baseline_at, excluded.baseline_at)",
                (profile, repository, stamp if baseline else None, stamp),
            )
            self._conn.executemany(
                "INSERT INTO watch_tags (profile, repository, tag, digest, seen_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (profile, repository, tag) DO UPDATE SET"
                " digest = excluded.digest, seen_at = excluded.seen_at",
                # In tag order: two engines recording one repository at once on a server
                # database then lock its rows in the same order and cannot deadlock.
                [(profile, repository, tag, seen[tag], stamp) for tag in sorted(seen)],
            )
            self._conn.executemany(
                "DELETE FROM watch_tags WHERE profile = ? AND repository = ? AND tag = ?",
                [(profile, repository, tag) for tag in sorted(gone)],
            )

    def policies_without_baseline(self, policy_ids: list[int]) -> list[int]:
        if not policy_ids:
            return []
        marks = ",".join("?" * len(policy_ids))
        done = {
            row[0]
            for row in self._conn.execute(
                f"SELECT policy_id FROM policy_baselines WHERE policy_id IN ({marks})", policy_ids
            )
        }
        return [pid for pid in policy_ids if pid not in done]

    def mark_policy_baseline(self, policy_id: int, when: datetime | None = None) -> None:
        with transaction(self._conn):
            self._conn.execute(
                "INSERT INTO policy_baselines (policy_id, applied_at) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                (policy_id, to_db_time(when or self._clock())),
            )
