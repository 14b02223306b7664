"""The policy editor's work off the GUI thread: each function runs in a worker, on a
store (and connection) of its own."""

from __future__ import annotations

import contextlib

from hoister.errors import HoisterError
from hoister.policies import Policy, policy_check
from hoister.profiles import ProfileStore
from hoister.store import Database, PolicyStore
from hoister.ui.context import AppContext


def load_others(database: Database, exclude_id: int | None) -> list[Policy]:
    """Worker: every other policy, for the cycle check (the store's connection is ours)."""
    with PolicyStore(database) as store:
        return [p for p in store.list() if exclude_id is None or p.id != exclude_id]


def connect_clients(ctx: AppContext, *profiles: str) -> None:
    """Worker: build each profile's shared client once, before the checks fan out.

    The sample tag, the catalog and the permission check all start together; each would
    otherwise build the same profile's client (and ask the keyring) at the same moment,
    and the context closes the client that loses that race while it is still in use.
    """
    for profile in dict.fromkeys(profiles):
        with contextlib.suppress(HoisterError):  # each check reports its own failure
            ctx.client(profile)


def store_policy(database: Database, profiles: ProfileStore, policy: Policy) -> Policy:
    """Worker: add or update; the cycle check runs inside the store's write transaction,
    with registries known by identity as the profiles say just before the write."""
    check = policy_check(profiles.identities())
    with PolicyStore(database) as store:
        if policy.id is None:
            return store.add(policy, check=check)
        return store.update(policy, check=check)
