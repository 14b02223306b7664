"""pytest fixtures that hand tests a real PostgreSQL database (registered with
``pytest_plugins`` in the top-level conftest, like the registry's).

One server per test session, started only when a test asks for it (initdb and startup
take about a second); every test gets its own empty database on it, dropped afterwards,
so tests cannot see each other's rows. A missing PostgreSQL fails those tests rather
than skipping them: CI installs it, and a silent skip would hide the team store.

Tests that use PostgreSQL carry the ``postgres`` marker (added here, not by hand), so
``pytest -m "not postgres"`` runs the rest on a machine without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer

POSTGRES_FIXTURES = frozenset({"postgres_server", "postgres_url"})
#: The ids of ``database_url``'s parameters: ``test_x[sqlite]``, ``test_x[postgresql]``.
BACKENDS = ("sqlite", "postgresql")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the server, so ``-m "not postgres"`` can leave it out."""
    for item in items:
        if POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server (superuser ``hoister``, SCRAM password, loopback)."""
    try:
        server = PostgresServer().start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """``postgresql://hoister:PW@127.0.0.1:PORT/t_<hex>``: a fresh, empty database."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture(params=[BACKENDS[0], pytest.param(BACKENDS[1], marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store's URL on each backend in turn: a SQLite file, then a PostgreSQL database.

    The server is requested only for the PostgreSQL case, so ``[sqlite]`` runs (and
    ``-m "not postgres"`` works) without it. SQLite's absolute form has four slashes.
    """
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hoister.db'}"
    return str(request.getfixturevalue("postgres_url"))
