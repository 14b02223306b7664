"""The engine's client pool tells two profiles of one registry apart from two registries."""

from __future__ import annotations

from pathlib import Path

from hoister.engine.clients import ClientPool
from hoister.profiles import Profile, ProfileStore


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
