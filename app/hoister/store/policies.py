"""Promotion policies kept in the database.

Validation that looks at one policy alone is the caller's business before it calls the
store. Validation that depends on the *other* policies (a new route must not close a
loop) is passed in as ``check`` and run inside the write transaction: the policies it
sees cannot change before the write, and if it raises nothing is written.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from datetime import datetime

from hoister.policies.errors import PolicyConflict, PolicyNotFound
from hoister.policies.model import Policy, Route, later_promotion
from hoister.store.base import ConnectionOwner, default_author
from hoister.store.db import Database, transaction
from hoister.store.policy_rows import INSERT_SQL, UPDATE_SQL, policy_from_row, policy_to_row
from hoister.store.times import now_utc, to_db_time

#: The advisory lock of every policy write on a server database: a write checks the new
#: policy against all the others (loops), so two writers must not interleave.
LOCK = "policies"
#: What listeners hear when policies change (see :meth:`Connection.notify`).
CHANNEL = "hoister"

#: ``check(candidate, others)``: raise (e.g. :class:`~hoister.policies.errors.CycleError`)
#: to refuse ``candidate`` given the ``others`` it would be stored next to.
PolicyCheck = Callable[[Policy, list[Policy]], None]

#: ``changes(stored) -> (creates, updates, removes)``, decided inside the transaction.
PolicyChanges = Callable[
    [list[Policy]], tuple[Iterable[Policy], Iterable[Policy], Iterable[Policy]]
]


class PolicyStore(ConnectionOwner):
    """Add, change, list and remove policies.

    A store holds one connection, which belongs to the thread that made it: create one
    store per thread (the GUI thread and the engine thread each have theirs, on the same
    :class:`Database`) and :meth:`close` it on that thread.

    Every save raises the policy's ``version`` and records ``author`` as ``updated_by``.
    An update names the version it was edited from (the ``version`` of the policy read
    from the store); if the stored version is newer, someone else saved in between and
    the update is refused with :class:`PolicyConflict` instead of undoing their change.
    """

    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime] = now_utc,
        *,
        author: str | None = None,
    ) -> None:
        super().__init__(db, clock)
        self.author = author or default_author()

    # -- writing -----------------------------------------------------------------------

    def add(self, policy: Policy, *, check: PolicyCheck | None = None) -> Policy:
        """Store a new policy; the result carries its id and creation time.

        Any ``id``, ``created_at``, ``updated_at`` or ``msr_id`` on ``policy`` is ignored:
        the store assigns the first three, and a policy added here (a new one, or a copy
        made in the editor) is not the MSR policy it may have been copied from.
        ``last_promoted_at`` is kept. Imports that keep MSR's id go through :meth:`apply`.
        """
        return self.add_many([policy], check=check)[0]

    def add_many(
        self, policies: Iterable[Policy], *, check: PolicyCheck | None = None
    ) -> list[Policy]:
        """Store several policies in one transaction: all of them, or none if one fails.

        ``check`` sees, for each policy, the ones already stored plus those added earlier
        in the same batch, so a batch cannot build a loop out of individually harmless
        policies.
        """
        batch = list(policies)
        with transaction(self._conn, lock=LOCK):
            stored = self._load_all() if check is not None else []
            added: list[Policy] = []
            now = self._clock()
            for policy in batch:
                if check is not None:
                    check(policy, list(stored))
                new = self._insert(policy.with_changes(msr_id=None), now)
                added.append(new)
                if check is not None:
                    stored.append(new)
            self._conn.notify(CHANNEL, "policies")
        return added

    def _insert(self, policy: Policy, now: datetime) -> Policy:
        """Inside a transaction: store a new policy at version 1; one ``now`` per batch."""
        row = policy_to_row(
            policy.with_changes(created_at=now, updated_at=now, version=1, updated_by=self.author)
        )
        row["id"] = self._conn.execute(INSERT_SQL + " RETURNING id", row).scalar()
        return policy_from_row(row)

    def update(self, policy: Policy, *, check: PolicyCheck | None = None) -> Policy:
        """Replace the editable fields of the stored policy with the same id.

        ``created_at`` and ``msr_id`` are kept from the database. ``last_promoted_at`` is
        the later of the stored one and ``policy``'s: an editor's copy may be older than a
        promotion the engine made since, and a re-import from MSR may know of a later one
        (its exact text comes with it). ``check`` sees every other policy (not the old
        version of this one).
        """
        return self.update_many([policy], check=check)[0]

    def update_many(
        self, policies: Iterable[Policy], *, check: PolicyCheck | None = None
    ) -> list[Policy]:
        """Update several policies in one transaction: all of them, or none."""
        batch = list(policies)
        with transaction(self._conn, lock=LOCK):
            updated = self._update_locked(batch, check)
            self._conn.notify(CHANNEL, "policies")
            return updated

    def apply(
        self, changes: PolicyChanges, *, check: PolicyCheck | None = None
    ) -> tuple[builtins.list[Policy], builtins.list[Policy], builtins.list[Policy]]:
        """Create, update and remove in one transaction: all of it, or none.

        ``changes(stored)`` is given every policy, read inside the write transaction, and
        returns (creates, updates, removes); deciding on that read means no other writer
        can change the store between the decision and the write. ``check`` sees each
        created or updated policy next to the others as they will be once everything is
        written, so a swap of two routes is not refused for the loop it passes through
        half-way. Returns (created, updated, removed) as stored. Created policies keep
        their ``msr_id`` (an import's match key); callers that have none pass None.
        """
        with transaction(self._conn, lock=LOCK):
            current = self._load_all()
            creates, updates, removes = (list(batch) for batch in changes(list(current)))
            gone = {p.id for p in removes} | {p.id for p in updates}
            final = [p for p in current if p.id not in gone] + updates + creates
            if check is not None:
                for candidate in [*updates, *creates]:
                    check(candidate, [p for p in final if p is not candidate])
            removed = [self._fetch(p.id) for p in removes if p.id is not None]
            for policy in removed:
                self._conn.execute("DELETE FROM policies WHERE id = ?", (policy.id,))
            updated = self._update_locked(updates, None)
            now = self._clock()
            created = [self._insert(policy, now) for policy in creates]
            if created or updated or removed:
                self._conn.notify(CHANNEL, "policies")
        return created, updated, removed

    def set_enabled(
        self, policy_id: int, enabled: bool, *, check: PolicyCheck | None = None
    ) -> Policy:
        """Enable or disable; ``check`` matters when enabling brings a route back."""
        with transaction(self._conn, lock=LOCK):
            current = self._fetch(policy_id)
            updated = self._update_locked([current.with_changes(enabled=enabled)], check)[0]
            self._conn.notify(CHANNEL, "policies")
            return updated

    def remove(self, policy_id: int) -> Policy:
        """Delete a policy and return it as it was.

        Its history rows stay (``policy_id`` becomes NULL, ``policy_name`` remains) and
        its queued promotions go with it (ON DELETE CASCADE).
        """
        with transaction(self._conn, lock=LOCK):
            policy = self._fetch(policy_id)
            self._conn.execute("DELETE FROM policies WHERE id = ?", (policy_id,))
            self._conn.notify(CHANNEL, "policies")
        return policy

    def mark_promoted(self, policy_id: int, when: datetime) -> None:
        """Record a promotion time; never moves it back.

        Promotions of one policy may finish out of order; the column shows the latest.
        Stored times have one fixed shape, so comparing the text compares the times.
        ``updated_at`` is left alone: it tracks edits by a person, not engine activity.
        """
        stamp = to_db_time(when)
        with transaction(self._conn):
            self._fetch(policy_id)
            # MSR's exact text named the time replaced here: it goes with it.
            self._conn.execute(
                "UPDATE policies SET last_promoted_at = :stamp, last_promoted_exact = NULL"
                " WHERE id = :id AND (last_promoted_at IS NULL OR last_promoted_at < :stamp)",
                {"stamp": stamp, "id": policy_id},
            )

    # -- reading -----------------------------------------------------------------------

    def get(self, policy_id: int) -> Policy:
        return self._fetch(policy_id)

    def list(
        self, *, source: Route | None = None, target: Route | None = None
    ) -> builtins.list[Policy]:
        """Policies ordered by id, optionally only those with this source and/or target.

        ``target`` matches the *effective* target (a NULL target profile means the
        source's), as :func:`hoister.policies.model.target_route` does, so the Promotions
        tab of a repository finds same-registry policies too.
        """
        clauses: builtins.list[str] = []
        params: dict[str, str] = {}
        if source is not None:
            clauses.append("source_profile = :sp AND source_repository = :sr")
            params |= {"sp": source.profile, "sr": source.repository}
        if target is not None:
            clauses.append(
                "target_repository = :tr AND (target_profile = :tp"
                " OR (target_profile IS NULL AND source_profile = :tp))"
            )
            params |= {"tp": target.profile, "tr": target.repository}
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._conn.execute(f"SELECT * FROM policies{where} ORDER BY id", params)
        return [policy_from_row(row) for row in rows]

    # -- inside a transaction ----------------------------------------------------------

    def _fetch(self, policy_id: int) -> Policy:
        row = self._conn.execute("SELECT * FROM policies WHERE id = ?", (policy_id,)).fetchone()
        if row is None:
            raise PolicyNotFound(f"no policy with id {policy_id}; `hoister policy list` shows them")
        return policy_from_row(row)

    def _load_all(self) -> builtins.list[Policy]:
        return [policy_from_row(row) for row in self._conn.execute("SELECT * FROM policies")]

    def _update_locked(
        self, batch: builtins.list[Policy], check: PolicyCheck | None
    ) -> builtins.list[Policy]:
        """Write ``batch`` inside the caller's transaction, checking each in turn."""
        current = {policy.id: policy for policy in self._load_all()}
        now = self._clock()
        updated: builtins.list[Policy] = []
        for policy in batch:
            if policy.id is None:
                raise ValueError(f"{policy.label} has no id: add it before updating it")
            old = current.get(policy.id)
            if old is None:
                raise PolicyNotFound(
                    f"no policy with id {policy.id}; `hoister policy list` shows them"
                )
            if policy.version and policy.version != old.version:
                raise _conflict(policy, old)
            if check is not None:
                check(policy, [other for other in current.values() if other.id != policy.id])
            last, exact = later_promotion(old, policy)
            row = policy_to_row(
                policy.with_changes(
                    created_at=old.created_at,
                    updated_at=now,
                    last_promoted_at=last,
                    last_promoted_exact=exact,
                    msr_id=old.msr_id,
                    version=old.version + 1,
                    updated_by=self.author,
                )
            )
            self._conn.execute(UPDATE_SQL, row)
            new = policy_from_row(row)
            current[policy.id] = new
            updated.append(new)
        return updated


def _conflict(mine: Policy, stored: Policy) -> PolicyConflict:
    when = stored.updated_at.strftime("%Y-%m-%d %H:%M UTC") if stored.updated_at else "?"
    who = stored.updated_by or "someone"
    return PolicyConflict(
        f"{stored.label} was changed by {who} at {when} (version {stored.version}) after "
        f"this copy was opened (version {mine.version}); nothing was saved. Reload the "
        "policy to see their change, then make yours again.",
        version=stored.version,
        updated_by=who,
    )
