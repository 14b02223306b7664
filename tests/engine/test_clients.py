"""The engine's client pool tells two profiles of one registry apart from two registries."""

from __future__ import annotations

from pathlib import Path

from hoister.engine.clients import ClientPool, connections_for
from hoister.engine.engine import Engine
from hoister.engine.promoter import BLOB_CONCURRENCY
from hoister.profiles import Profile, ProfileStore
from hoister.store import Database


def test_identity_of_sees_through_profile_spellings(tmp_path: Path) -> None:
    profiles = ProfileStore(tmp_path / "profiles.json")
    for name, url in (
        ("prod", "https://localhost:5000"),
        ("prod-alias", "http://127.0.0.1:5000/"),
        ("qa", "localhost:5001"),
        ("hub", "index.docker.io"),
    ):
        profiles.add(Profile(name, url))
    pool = ClientPool(profiles, lambda profile: None)
    assert pool.identity_of("prod") == pool.identity_of("prod-alias") == "localhost:5000"
    assert pool.identity_of("qa") == "localhost:5001"
    assert pool.identity_of("hub") == "docker.io"
    assert (pool.host_of("prod"), pool.host_of("prod-alias")) == (
        "localhost:5000",
        "127.0.0.1:5000",
    )


def test_engine_clients_have_a_kept_alive_connection_for_every_copy_in_flight(
    tmp_path: Path,
) -> None:
    profiles = ProfileStore(tmp_path / "profiles.json")
    profiles.add(Profile(name="reg", url="http://127.0.0.1:1"))
    database = Database.open(tmp_path / "hoister.db")
    engine = Engine(database, profiles, lambda _p: None, parallel=16)
    try:
        pool = engine.clients.get("reg").session._http._transport._pool  # type: ignore[attr-defined]
        assert pool._max_connections == connections_for(16) >= 16 * BLOB_CONCURRENCY
        assert pool._max_keepalive_connections == pool._max_connections
    finally:
        engine.close()
        database.close()
