"""Fixtures of the engine tests.

The registry tests' client factory is reused (closed at teardown, sleeps recorded rather
than slept) so engine tests talk to real registries the same way; ``make_harness`` wires
an engine to real registries with a hand-moved clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine.harness import EngineHarness
from tests.registry.conftest import make_client, sleeps
from tests.support.registry import RegistryServer

__all__ = ["make_client", "make_harness", "sleeps"]


#: The backends a module's engine tests run on, for modules that opt in with
#: ``harness_backend = backends_fixture()``: the fault tests that prove exactly-once on
#: SQLite run on PostgreSQL too.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture
def harness_backend() -> str:
    """The backend of ``make_harness``: SQLite unless a module asks for both."""
    return "sqlite"


def backends_fixture() -> Any:
    """A ``harness_backend`` fixture that runs the module's tests on each backend."""

    @pytest.fixture(params=BACKENDS)
    def harness_backend(request: pytest.FixtureRequest) -> str:
        return str(request.param)

    return harness_backend


@pytest.fixture
def make_harness(
    tmp_path: Path, harness_backend: str, request: pytest.FixtureRequest
) -> Iterator[Callable[..., EngineHarness]]:
    """Engines on real registries; each harness has a store of its own (a SQLite file in
    its home, or a fresh database on the session's PostgreSQL server)."""
    made: list[EngineHarness] = []
    server = request.getfixturevalue("postgres_server") if harness_backend != "sqlite" else None
    databases: list[str] = []

    def make(registries: dict[str, RegistryServer], **options: Any) -> EngineHarness:
        database = options.pop("database", None)  # a store the test shares between engines
        if server is not None and database is None:
            databases.append(server.create_database())
            database = server.url(databases[-1])
        harness = EngineHarness(
            tmp_path / f"engine-{len(made)}", registries, database=database, **options
        )
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()
    if server is not None:
        for name in databases:
            server.drop_database(name)
