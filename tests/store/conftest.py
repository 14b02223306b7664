"""Fixtures of the store tests: a database on each backend in turn, and a fixed clock.

``database`` is a SQLite file in the test's HOISTER_HOME (``[sqlite]``) and then a fresh
PostgreSQL database on the session's server (``[postgresql]``): every store test runs
on both, so the two backends keep one meaning. Tests of the SQLite file itself (its
mode, its PRAGMAs) take ``sqlite_database`` instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hoister.paths import default_paths
from hoister.policies.model import Policy, Rule
from hoister.store import Database, PolicyStore

START = datetime(2026, 11, 30, 9, 5, 3, 123456, tzinfo=UTC)


class TickingClock:
    """A clock that moves one second per reading, so every write has a distinct time."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def db_path(hoister_home: Path) -> Path:
    """Where the app itself would put the database under the test's HOISTER_HOME."""
    return default_paths().database


@pytest.fixture
def sqlite_database(db_path: Path) -> Iterator[Database]:
    with Database.open(db_path) as database:
        yield database


@pytest.fixture
def database(database_url: str, db_path: Path) -> Iterator[Database]:
    location = db_path if database_url.startswith("sqlite") else database_url
    with Database.open(location) as database:
        yield database


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock()


@pytest.fixture
def store(database: Database, clock: TickingClock) -> Iterator[PolicyStore]:
    with PolicyStore(database, clock=clock) as policy_store:
        yield policy_store


def make_policy(n: int = 0, **changes: object) -> Policy:
    """A valid policy whose fields depend on ``n`` so policies are told apart."""
    policy = Policy(
        source_profile="local",
        source_repository=f"dev/app{n}",
        target_repository=f"qa/app{n}",
        tag_template="%n-%Y%m%d",
        rules=(Rule("tag", "ew", ("stable",)),),
        name=f"policy {n}",
    )
    return policy.with_changes(**changes) if changes else policy
