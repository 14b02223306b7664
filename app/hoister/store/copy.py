"""Copying a workstation's store into a team database: once, without duplicates, whole.

What is copied is what a team shares and a person made: the policies (with their
"first look done" marks, so *apply to existing tags* does not fire a second time),
the registry connections (never a password: each machine keeps its own) and the
history. All of it is written in one transaction on the target, which therefore has
all of it or none of it, and everything already there is recognised and left alone,
so running the copy again copies nothing:

- a policy with the same name and route (source profile and repository, effective
  target profile and repository) is the same policy: the target's is kept, and history
  rows are mapped to its id; other policies get new ids on the target;
- a connection with the same name and the same settings is skipped; one with the same
  name and other settings stops the copy (:class:`CopyConflict`): which of the two is
  right is for a person to decide. Remembered repositories do not count as settings:
  they are what someone browsed, and the target's are kept;
- a history row is the same when its route, tags, digest, outcome and finish time are.

What is *not* copied, on purpose: watch state (which tags each repository had when it
was last polled) and the queue. The team's agents poll for themselves, and a
repository they see for the first time is taken as it is (a baseline, nothing
promoted); a workstation's queue entries belong to the engine that claimed them and
are finished or retried there (see :func:`active_entries`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hoister.errors import HoisterError
from hoister.policies.model import Policy
from hoister.profiles import Profile
from hoister.store.db import Database, transaction
from hoister.store.policies import LOCK as POLICIES_LOCK
from hoister.store.policies import PolicyCheck
from hoister.store.policy_rows import INSERT_SQL, policy_from_row, policy_to_row
from hoister.store.profiles import LOCK as PROFILES_LOCK
from hoister.store.profiles import profile_data
from hoister.store.schema import LATEST_VERSION
from hoister.store.sql import Connection
from hoister.store.times import now_utc, to_db_time

#: What makes two history rows one event.
HISTORY_KEY = (
    "source_profile",
    "source_repository",
    "source_tag",
    "source_digest",
    "target_profile",
    "target_repository",
    "target_tag",
    "outcome",
    "finished_at",
)
#: Profile settings compared to tell "the same connection" from a conflict.
_IGNORED_IN_COMPARISON = ("repositories",)


class CopyConflict(HoisterError):
    """The target has a connection of the same name with other settings; nothing was
    written."""


@dataclass
class CopyReport:
    target: str
    dry_run: bool = False
    policies: int = 0
    policies_there: int = 0
    connections: int = 0
    connections_there: int = 0
    history: int = 0
    history_there: int = 0
    policy_ids: dict[int, int] = field(default_factory=dict)  # source id -> target id

    def summary(self) -> str:
        verb = "would copy" if self.dry_run else "copied"
        text = (
            f"{verb} {_count(self.policies, 'policy', 'policies')} "
            f"({self.policies_there} already there), "
            f"{_count(self.connections, 'connection', 'connections')} "
            f"({self.connections_there} already there), "
            f"{_count(self.history, 'history row', 'history rows')} "
            f"({self.history_there} already there) to {self.target}"
        )
        return text + ("; nothing was written (--dry-run)" if self.dry_run else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "dryRun": self.dry_run,
            "policies": {"copied": self.policies, "alreadyThere": self.policies_there},
            "connections": {"copied": self.connections, "alreadyThere": self.connections_there},
            "history": {"copied": self.history, "alreadyThere": self.history_there},
        }


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def active_entries(source: Database) -> int:
    """Queue entries of the source still pending or running (not copied: see above)."""
    with source.connection() as conn:
        return int(
            conn.execute(
                "SELECT count(*) FROM queue WHERE state IN ('pending', 'running')"
            ).scalar()
            or 0
        )


def _policy_key(policy: Policy) -> tuple[str, str, str, str, str]:
    return (
        policy.name,
        policy.source_profile,
        policy.source_repository,
        policy.effective_target_profile,
        policy.target_repository,
    )


def _settings(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in _IGNORED_IN_COMPARISON}


def copy_store(
    source: Database,
    profiles: Iterable[Profile],
    target: Database,
    *,
    author: str,
    check: PolicyCheck | None = None,
    dry_run: bool = False,
) -> CopyReport:
    """Copy ``source``'s policies and history, and ``profiles``, into ``target``.

    ``target`` must be migrated (``Database.open``) unless ``dry_run`` looks at an
    empty one. ``check`` sees each policy to be copied next to the target's and those
    copied before it (a copy must not close a promotion loop on the team's store).
    """
    with source.connection() as conn:
        policies = [policy_from_row(r) for r in conn.execute("SELECT * FROM policies ORDER BY id")]
        baselines = {
            int(r["policy_id"]): r["applied_at"]
            for r in conn.execute("SELECT policy_id, applied_at FROM policy_baselines")
        }
        history = [r.as_dict() for r in conn.execute("SELECT * FROM history ORDER BY id")]
    report = CopyReport(target=target.display, dry_run=dry_run)
    mine = sorted(profiles, key=lambda p: p.name)
    if dry_run and target.schema_version() < LATEST_VERSION:
        _not_migrated(target)  # an empty database: everything would be new
        return _plan(_Target({}, [], set()), mine, policies, history, report, check)[0]
    # Both locks, in the one order every writer uses: policies, then profiles.
    with target.connection() as conn, transaction(conn, lock=(POLICIES_LOCK, PROFILES_LOCK)):
        _, new_profiles, new_policies, new_history = _plan(
            _read_target(conn), mine, policies, history, report, check
        )
        if dry_run:
            return report
        _write_profiles(conn, new_profiles, author)
        for policy in new_policies:
            new_id = conn.execute(INSERT_SQL + " RETURNING id", policy_to_row(policy)).scalar()
            assert policy.id is not None
            report.policy_ids[policy.id] = int(new_id)
            if policy.id in baselines:
                conn.execute(
                    "INSERT INTO policy_baselines (policy_id, applied_at) VALUES (?, ?)",
                    (new_id, baselines[policy.id]),
                )
        _write_history(conn, new_history, report.policy_ids)
        for channel, written in (
            ("profiles", new_profiles),
            ("policies", new_policies),
            ("history", new_history),
        ):
            if written:
                conn.notify("hoister", channel)
    return report


@dataclass
class _Target:
    """What the target holds, read under its locks."""

    profiles: dict[str, dict[str, Any]]
    policies: list[Policy]
    history: set[tuple[Any, ...]]


def _read_target(conn: Connection) -> _Target:
    columns = ", ".join(HISTORY_KEY)
    return _Target(
        profiles={
            r["name"]: json.loads(r["data"])
            for r in conn.execute("SELECT name, data FROM profiles")
        },
        policies=[policy_from_row(r) for r in conn.execute("SELECT * FROM policies ORDER BY id")],
        history={tuple(r) for r in conn.execute(f"SELECT {columns} FROM history")},
    )


def _not_migrated(target: Database) -> None:
    version = target.schema_version()
    if version:
        raise HoisterError(
            f"the database at {target.display} has an older schema ({version}); a dry run "
            "does not upgrade it, so it cannot tell what is there. Copy without --dry-run "
            "(it upgrades it first), or open it once with this Hoister"
        )


def _plan(
    there: _Target,
    mine: Sequence[Profile],
    policies: Sequence[Policy],
    history: Sequence[dict[str, Any]],
    report: CopyReport,
    check: PolicyCheck | None,
) -> tuple[CopyReport, list[Profile], list[Policy], list[dict[str, Any]]]:
    """What is new to the target; the report counts it (and what is already there)."""
    new_profiles = _connections(there.profiles, mine, report)
    new_policies = _policies(there.policies, policies, report, check)
    new_history = _history(there.history, history, report)
    return report, new_profiles, new_policies, new_history


def _connections(
    theirs: dict[str, dict[str, Any]], mine: Sequence[Profile], report: CopyReport
) -> list[Profile]:
    new: list[Profile] = []
    conflicts: list[str] = []
    for profile in mine:
        there = theirs.get(profile.name)
        if there is None:
            new.append(profile)
        elif _settings(there) == _settings(profile.to_json()):
            report.connections_there += 1
        else:
            conflicts.append(profile.name)
    if conflicts:
        names = ", ".join(repr(n) for n in conflicts)
        which = "a connection" if len(conflicts) == 1 else "connections"
        raise CopyConflict(
            f"the team database already has {which}"
            f" named {names} with other settings; nothing was copied. Make them the same "
            "(`hoister --database URL profile add NAME --replace …` there, or here), or "
            "rename yours here (`hoister profile remove` and `add` under a new name, then "
            "update the policies that use it), and copy again"
        )
    report.connections = len(new)
    return new


def _policies(
    stored: list[Policy], policies: Sequence[Policy], report: CopyReport, check: PolicyCheck | None
) -> list[Policy]:
    by_key = {_policy_key(p): p for p in stored}
    new: list[Policy] = []
    for policy in policies:
        assert policy.id is not None
        same = by_key.get(_policy_key(policy))
        if same is not None and same.id is not None:
            report.policy_ids[policy.id] = same.id
            report.policies_there += 1
            continue
        if check is not None:
            check(policy, [*stored, *new])
        new.append(policy)
    report.policies = len(new)
    return new


def _history_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[column] for column in HISTORY_KEY)


def _history(
    there: set[tuple[Any, ...]], rows: Sequence[dict[str, Any]], report: CopyReport
) -> list[dict[str, Any]]:
    there = set(there)
    new: list[dict[str, Any]] = []
    for row in rows:
        key = _history_key(row)
        if key in there:
            report.history_there += 1
            continue
        there.add(key)  # a source with one event twice copies it once
        new.append(row)
    report.history = len(new)
    return new


def _write_profiles(conn: Connection, profiles: Sequence[Profile], author: str) -> None:
    now = to_db_time(now_utc())
    conn.executemany(
        "INSERT INTO profiles (name, data, updated_at, updated_by) VALUES (?, ?, ?, ?)",
        [(p.name, profile_data(p), now, author) for p in profiles],
    )


def _write_history(
    conn: Connection, rows: Sequence[dict[str, Any]], policy_ids: dict[int, int]
) -> None:
    if not rows:
        return
    columns = [c for c in rows[0] if c != "id"]
    values = []
    for row in rows:
        copied = dict(row)
        policy_id = copied.get("policy_id")
        # A row of a policy since deleted keeps its name; its id means nothing there.
        copied["policy_id"] = policy_ids.get(policy_id) if policy_id is not None else None
        copied["entry_id"] = None  # the queue is not copied: that entry is not there
        values.append([copied[c] for c in columns])
    conn.executemany(
        f"INSERT INTO history ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        values,
    )
