"""SecretStore against a real Secret Service (gnome-keyring on a private D-Bus bus)."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend
from keyring.backends import SecretService

from hoister.credentials import SecretStore, resolve_credential
from hoister.paths import default_paths
from hoister.profiles import Profile, ProfileStore
from tests.support_keyring import real_keyring, secret_service, session_bus  # noqa: F401

pytestmark = pytest.mark.real_keyring

SECRET = "real-keyring-S3cret-7f3a9"


def _files_containing(root: Path, needle: bytes) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and needle in path.read_bytes()]


def test_round_trip(real_keyring: KeyringBackend) -> None:  # noqa: F811 - fixture
    store = SecretStore(real_keyring)
    assert store.persistent and store.warning is None
    assert store.get("registry.example.com:5000", "alice") is None
    store.set("registry.example.com:5000", "alice", SECRET)
    assert store.get("registry.example.com:5000", "alice") == SECRET
    # A new backend object (a new D-Bus connection) sees it: it is in the daemon.
    assert SecretStore(SecretService.Keyring()).get("registry.example.com:5000", "alice") == SECRET
    assert real_keyring.get_password("hoister", "registry.example.com:5000/alice") == SECRET
    store.set("registry.example.com:5000", "alice", "replaced")
    assert store.get("registry.example.com:5000", "alice") == "replaced"
    store.delete("registry.example.com:5000", "alice")
    assert store.get("registry.example.com:5000", "alice") is None
    store.delete("registry.example.com:5000", "alice")  # absent: no error
    assert store.persistent


def test_secret_never_reaches_hoister_files(
    real_keyring: KeyringBackend,  # noqa: F811 - fixture
    secret_service: dict[str, str],  # noqa: F811 - fixture
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOISTER_HOME", str(home))
    paths = default_paths().ensure()
    profiles = ProfileStore(paths.profiles_file)
    profile = Profile("prod", "https://registry.example.com:5000", username="alice")
    profiles.add(profile)
    secrets = SecretStore(real_keyring)
    secrets.set(profile.host, profile.username or "", SECRET)

    saved = profiles.get("prod")
    credential = resolve_credential(saved, SecretStore(SecretService.Keyring()), None)
    assert credential is not None and credential.secret == SECRET
    assert credential.source == "keyring"

    assert paths.profiles_file.is_file()
    assert _files_containing(home, SECRET.encode()) == []
    # The daemon keeps it encrypted at rest under its fresh data folder.
    keyrings = Path(secret_service["XDG_DATA_HOME"]) / "keyrings"
    assert any(keyrings.iterdir())
    assert _files_containing(keyrings, SECRET.encode()) == []


def test_bus_without_secret_service_falls_back(
    session_bus: str,  # noqa: F811 - fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", session_bus)
    store = SecretStore(SecretService.Keyring())
    store.set("registry.example.com", "alice", SECRET)
    assert store.persistent is False
    assert store.warning is not None and SECRET not in store.warning
    assert store.get("registry.example.com", "alice") == SECRET
    # keyring leaks its D-Bus connection on this path; SecretStore closes it. A leak
    # would surface here as an unclosed-socket warning, which the suite turns into an error.
    gc.collect()
