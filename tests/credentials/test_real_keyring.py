"""SecretStore against a real Secret Service (gnome-keyring on a private D-Bus bus)."""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import SecretService

from hoister.credentials import SecretStore, resolve_credential
from hoister.paths import default_paths
from hoister.profiles import Profile, ProfileStore
from tests.support.registry import RegistryServer
from tests.support_keyring import real_keyring, secret_service, session_bus  # noqa: F401

pytestmark = pytest.mark.real_keyring

SECRET = "real-keyring-S3cret-7f3a9"


def _files_containing(root: Path, needle: bytes) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and needle in path.read_bytes()]


def test_round_trip(real_keyring: KeyringBackend) -> None:  # noqa: F811 - fixture
    store = SecretStore(real_keyring)
    profile = Profile("lab", "https://registry.example.com:5000", username="alice")
    assert store.persistent and store.warning is None
    assert store.get(profile) is None
    store.set(profile, SECRET)
    assert store.get(profile) == SECRET
    # A new backend object (a new D-Bus connection) sees it: it is in the daemon.
    assert SecretStore(SecretService.Keyring()).get(profile) == SECRET
    key = "profile:lab/registry.example.com:5000/alice"
    assert real_keyring.get_password("hoister", key) == SECRET
    store.set(profile, "replaced")
    assert store.get(profile) == "replaced"
    store.delete(profile)
    assert store.get(profile) is None
    store.delete(profile)  # absent: no error
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
    secrets.set(profile, SECRET)

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
    profile = Profile("prod", "https://registry.example.com", username="alice")
    store.set(profile, SECRET)
    assert store.persistent is False
    assert store.warning is not None and SECRET not in store.warning
    assert store.get(profile) == SECRET
    # keyring leaks its D-Bus connection on this path; SecretStore closes it. A leak
    # would surface here as an unclosed-socket warning, which the suite turns into an error.
    gc.collect()


def test_a_mistyped_second_profile_leaves_the_first_able_to_log_in(
    real_keyring: KeyringBackend,  # noqa: F811 - fixture
    basic_registry: RegistryServer,
    cli: Callable[..., tuple[int, str, str]],
) -> None:
    keyring.set_keyring(real_keyring)  # conftest's autouse fixture puts the previous one back
    password = basic_registry.users["alice"]

    def add(name: str, secret: str, *extra: str) -> tuple[int, str, str]:
        return cli(
            "profile", "add", name, "--url", basic_registry.url, "--username", "alice",
            "--password-stdin", *extra, stdin=secret,
        )  # fmt: skip

    assert add("prod", password)[0] == 0
    code, _, err = add("typo", "wrong-" + password, "--no-verify")
    assert code == 0, err
    assert "note: profile prod uses the same registry and user" in err
    # Both secrets are in the daemon, each under its own profile.
    fresh = SecretService.Keyring()
    assert fresh.get_password("hoister", f"profile:prod/{basic_registry.host}/alice") == password
    typo_key = f"profile:typo/{basic_registry.host}/alice"
    assert fresh.get_password("hoister", typo_key) == "wrong-" + password

    code, out, err = cli("repos", "--profile", "prod", "--json")
    assert (code, out.strip()) == (0, "[]"), err
    assert cli("repos", "--profile", "typo")[0] == 1

    assert cli("profile", "remove", "typo")[0] == 0
    assert SecretService.Keyring().get_password("hoister", typo_key) is None
    code, _, err = cli("repos", "--profile", "prod")
    assert code == 0, err
