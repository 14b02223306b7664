"""resolve_credential: an explicit keyring login first, then docker login, else anonymous."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from keyring.backends import fail

from hoister.credentials import Credential, DockerConfig, SecretStore, resolve_credential
from hoister.profiles import Profile
from tests.support_keyring import MemoryKeyring

SECRET = "keyring-secret"
DOCKER_SECRET = "docker-secret"


def _docker(tmp_path: Path, username: str = "alice") -> DockerConfig:
    path = tmp_path / "docker" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    auth = base64.b64encode(f"{username}:{DOCKER_SECRET}".encode()).decode()
    path.write_text(json.dumps({"auths": {"https://r.example.com:5000": {"auth": auth}}}))
    return DockerConfig(path)


@pytest.fixture
def secrets() -> SecretStore:
    return SecretStore(MemoryKeyring())


def test_keyring_secret_wins(tmp_path: Path, secrets: SecretStore) -> None:
    profile = Profile("p", "https://r.example.com:5000", username="alice")
    secrets.set(profile, SECRET)
    assert resolve_credential(profile, secrets, _docker(tmp_path)) == Credential(
        "alice", SECRET, source="keyring"
    )


def test_username_without_secret_borrows_matching_docker_login(
    tmp_path: Path, secrets: SecretStore
) -> None:
    profile = Profile("p", "r.example.com:5000", username="alice")
    credential = resolve_credential(profile, secrets, _docker(tmp_path))
    assert credential == Credential("alice", DOCKER_SECRET, source="docker config.json")


def test_username_without_secret_ignores_other_users_docker_login(
    tmp_path: Path, secrets: SecretStore
) -> None:
    profile = Profile("p", "r.example.com:5000", username="alice")
    assert resolve_credential(profile, secrets, _docker(tmp_path, username="mallory")) is None
    assert resolve_credential(profile, secrets, None) is None


def test_no_username_uses_docker_login(tmp_path: Path, secrets: SecretStore) -> None:
    profile = Profile("p", "https://r.example.com:5000")
    credential = resolve_credential(profile, secrets, _docker(tmp_path))
    assert credential is not None and credential.username == "alice"


def test_anonymous_when_nothing_is_known(tmp_path: Path, secrets: SecretStore) -> None:
    other = Profile("o", "https://other.example.com")
    assert resolve_credential(other, secrets, _docker(tmp_path)) is None
    assert resolve_credential(other, secrets, None) is None
    assert resolve_credential(other, secrets, DockerConfig(tmp_path / "none.json")) is None


def test_session_only_secret_says_so(tmp_path: Path) -> None:
    secrets = SecretStore(fail.Keyring())
    profile = Profile("p", "https://r.example.com:5000", username="alice")
    secrets.set(profile, SECRET)
    credential = resolve_credential(profile, secrets, None)
    assert credential == Credential("alice", SECRET, source="session")


def test_profiles_with_the_same_login_keep_their_own_secrets(secrets: SecretStore) -> None:
    first = Profile("team-a", "https://r.example.com:5000", username="alice")
    second = Profile("team-b", "r.example.com:5000/v2/", username="alice")
    secrets.set(first, SECRET)
    assert resolve_credential(second, secrets, None) is None
    secrets.set(second, "mistyped")
    credential = resolve_credential(first, secrets, None)
    assert credential is not None and credential.secret == SECRET
