"""An app context on a given database (a SQLite file or a team's PostgreSQL), for the
GUI tests of team mode. Import the fixture with
``from tests.ui.team.support import context_on  # noqa: F401``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from hoister.store import Database
from hoister.ui.context import AppContext
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory

ContextOn = Callable[..., AppContext]


@pytest.fixture
def context_on(make_context: ContextFactory) -> Iterator[ContextOn]:
    """``context_on(url, **profiles)``: an AppContext whose store is the database at
    ``url``, as the app opens it at start; its pool is drained, then the database closed."""
    made: list[AppContext] = []

    def make(url: str, **profiles: RegistryServer) -> AppContext:
        ctx = make_context(**profiles)
        ctx.database = Database.open(url)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()
        ctx.database.close()
