"""The app's context on a team database: the team's connections, and where the store is."""

from __future__ import annotations

import psycopg
import pytest
from pytestqt.qtbot import QtBot

from hoister.paths import default_paths
from hoister.profiles import Profile, ProfileStore
from hoister.store import Database
from hoister.store.location import ENV_URL
from hoister.store.profiles import SharedProfileStore
from hoister.ui.main_window import MainWindow
from tests.ui.conftest import ContextFactory


def test_on_its_own_the_app_keeps_connections_in_its_file(make_context: ContextFactory) -> None:
    ctx = make_context()
    assert type(ctx.profiles) is ProfileStore
    assert ctx.store_location is not None
    assert ctx.store_location.origin == "default"
    assert ctx.database.display == str(default_paths().database)


def test_on_a_team_database_the_window_lists_the_teams_connections(
    qtbot: QtBot,
    make_context: ContextFactory,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with Database.open(postgres_url) as team:  # saved by someone else, elsewhere
        SharedProfileStore(team, author="ann@ws1").add(Profile(name="prod", url="localhost:5000"))
    monkeypatch.setenv(ENV_URL, postgres_url)
    ctx = make_context()
    assert isinstance(ctx.profiles, SharedProfileStore)
    assert ctx.store_location is not None and ctx.store_location.origin == ENV_URL
    assert ctx.store_location.shared and ctx.database.shared
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.sidebar.model.connection_item("prod") is not None)
    assert not default_paths().profiles_file.exists()  # nothing of it in this machine's file
    window.close()
    ctx.close()  # drains the pool, then closes the server connections it kept
    assert _open_connections(postgres_url) == 0


def _open_connections(url: str) -> int:
    """Hoister's connections to the database still open on the server."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = 'hoister'"
        ).fetchone()
    return int(row[0]) if row else -1
