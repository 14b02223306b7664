"""SharedProfileStore: the team's registry connections in the database, as the file keeps them."""

from __future__ import annotations

import json

import psycopg
import pytest

from hoister.errors import HoisterError, InvalidInput
from hoister.profiles import Profile, ProfileStore
from hoister.registry.identity import profile_identities
from hoister.store import Database
from hoister.store.profiles import SharedProfileStore, profile_data
from tests.store.conftest import TickingClock


def _prod(**changes: object) -> Profile:
    fields: dict[str, object] = {
        "name": "prod",
        "url": "https://registry.example.com",
        "username": "robot",
        "repositories": ["team/app"],
    }
    return Profile(**{**fields, **changes})  # type: ignore[arg-type]


def test_the_same_calls_as_the_file_store(database: Database) -> None:
    store = SharedProfileStore(database, author="ann@ws1", clock=TickingClock())
    assert isinstance(store, ProfileStore)  # every caller typed for the file store takes it
    assert store.list() == []
    store.add(_prod())
    store.add(Profile(name="dev", url="localhost:5000"))
    assert [p.name for p in store.list()] == ["dev", "prod"]
    assert store.get("prod") == _prod()
    with pytest.raises(InvalidInput, match="'prod' already exists"):
        store.add(_prod(username="other"))
    store.add(_prod(username="other"), replace=True)
    assert store.get("prod").username == "other"
    store.update(_prod(repositories=["team/app", "team/web"]))
    assert store.get("prod").repositories == ["team/app", "team/web"]
    assert store.identities() == profile_identities(store.list())
    assert store.remove("dev").name == "dev"
    assert [p.name for p in store.list()] == ["prod"]
    with pytest.raises(HoisterError, match="no profile named 'dev'"):
        store.get("dev")
    with pytest.raises(HoisterError, match="no profile named 'dev'"):
        store.remove("dev")
    with pytest.raises(HoisterError, match="no profile named 'nope'"):
        store.update(Profile(name="nope", url="localhost:5000"))


def test_identities_see_one_registry_through_two_names(database: Database) -> None:
    store = SharedProfileStore(database)
    store.add(Profile(name="a", url="registry.example.com"))
    store.add(Profile(name="b", url="https://registry.example.com:443/v2/"))
    identities = store.identities()
    assert identities["a"] == identities["b"]


def test_two_stores_on_one_database_see_each_other(database: Database) -> None:
    ws1 = SharedProfileStore(database, author="ann@ws1")
    ws2 = SharedProfileStore(database, author="bob@ws2")
    ws1.add(_prod())
    assert ws2.get("prod") == _prod()
    ws2.update(_prod(insecure=True))
    assert ws1.get("prod").insecure is True
    who = ws1.who_changed("prod")
    assert who is not None and who[0] == "bob@ws2"


def test_a_row_holds_no_secret_and_says_who_saved_it(database: Database) -> None:
    store = SharedProfileStore(database, author="ann@ws1")
    store.add(_prod())
    with database.connection() as conn:
        row = conn.execute("SELECT * FROM profiles WHERE name = 'prod'").fetchone()
    assert row is not None
    data = json.loads(row["data"])
    assert data == _prod().to_json()
    assert not {"password", "secret", "token"} & set(data)
    assert row["updated_by"] == "ann@ws1" and row["updated_at"]


def test_a_field_not_cleared_for_sharing_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    profile = _prod()
    monkeypatch.setattr(Profile, "to_json", lambda self: {"name": self.name, "password": "hunter2"})
    with pytest.raises(ValueError, match="not cleared for sharing"):
        profile_data(profile)


def test_a_damaged_row_is_reported_not_guessed(database: Database) -> None:
    with database.connection() as conn:
        conn.execute(
            "INSERT INTO profiles (name, data, updated_at, updated_by) VALUES (?, ?, ?, ?)",
            ("bad", '{"name": "bad"}', "2026-12-02T00:00:00.000000+00:00", "x"),
        )
    with pytest.raises(HoisterError, match="damaged connection 'bad'"):
        SharedProfileStore(database).list()


def test_writes_tell_listeners(postgres_url: str) -> None:
    with Database.open(postgres_url) as database:
        store = SharedProfileStore(database)
        with psycopg.connect(postgres_url, autocommit=True) as listener:
            listener.execute("LISTEN hoister")
            store.add(_prod())
            store.update(_prod(insecure=True))
            store.remove("prod")
            heard = [n.payload for n in listener.notifies(timeout=5, stop_after=3)]
    assert heard == ["profiles", "profiles", "profiles"]


def test_a_cached_store_answers_from_memory_until_refreshed(database: Database) -> None:
    """The app's store: reads never reach the server (the GUI thread paints from them);
    another machine's change shows after :meth:`refresh`, its own writes at once."""
    app = SharedProfileStore(database, cached=True)
    other = SharedProfileStore(database)
    app.add(Profile(name="local", url="http://localhost:5000"))
    assert [p.name for p in app.list()] == ["local"]  # its own write, at once
    other.add(Profile(name="qa", url="https://qa.example.com"))
    database.close()
    broken = Database("postgresql://nobody@127.0.0.1:1/none")
    app.database = broken  # any read that went to a server now would fail
    assert [p.name for p in app.list()] == ["local"]
    assert app.get("local").url == "http://localhost:5000"
    app.database = database
    app.refresh()
    assert [p.name for p in app.list()] == ["local", "qa"]
