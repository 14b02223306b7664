"""Secrets from the environment or a mounted file: the server's answer to "no keyring".

The invariants: an operator's variable wins over the keyring and docker login; a variable
that is set but unusable is an error naming the variable and never its content; and the
whole path works end to end against a real htpasswd registry.
"""

from __future__ import annotations

import base64
import io
import json
import sys
from pathlib import Path

import pytest

from hoister.cli import main
from hoister.credentials import Credential, DockerConfig, SecretStore, resolve_credential
from hoister.credentials.envsecrets import env_credential, variable_names, variable_suffix
from hoister.errors import HoisterError
from hoister.profiles import Profile
from tests.support.registry import RegistryServer
from tests.support_keyring import MemoryKeyring

SECRET = "env-s3cret-value"
PROFILE = Profile("prod", "https://r.example.com:5000", username="ci-bot")


def _env(**values: str) -> dict[str, str]:
    return dict(values)


@pytest.mark.parametrize(
    ("name", "suffix"),
    [("prod", "PROD"), ("team-a", "TEAM_A"), ("team-a.eu", "TEAM_A_EU"), ("Stage_2", "STAGE_2")],
)
def test_variable_names_follow_the_profile_name(name: str, suffix: str) -> None:
    assert variable_suffix(name) == suffix
    assert variable_names(name) == (
        f"HOISTER_PASSWORD_{suffix}",
        f"HOISTER_PASSWORD_FILE_{suffix}",
        f"HOISTER_USERNAME_{suffix}",
    )


def test_password_from_the_environment() -> None:
    credential = env_credential(PROFILE, _env(HOISTER_PASSWORD_PROD=SECRET))
    assert credential == Credential("ci-bot", SECRET, source="environment (HOISTER_PASSWORD_PROD)")
    assert SECRET not in repr(credential)


def test_other_profiles_and_empty_values_give_nothing() -> None:
    assert env_credential(PROFILE, {}) is None
    assert env_credential(PROFILE, _env(HOISTER_PASSWORD_STAGE=SECRET)) is None
    # A placeholder line in an EnvironmentFile is not an empty password.
    assert env_credential(PROFILE, _env(HOISTER_PASSWORD_PROD="")) is None


@pytest.mark.parametrize("ending", ["", "\n", "\r\n"])
def test_password_from_a_mounted_file(tmp_path: Path, ending: str) -> None:
    secret_file = tmp_path / "prod-password"
    secret_file.write_bytes(f"{SECRET}{ending}".encode())
    credential = env_credential(PROFILE, _env(HOISTER_PASSWORD_FILE_PROD=str(secret_file)))
    assert credential == Credential("ci-bot", SECRET, source="file (HOISTER_PASSWORD_FILE_PROD)")


def test_only_the_trailing_newline_is_dropped(tmp_path: Path) -> None:
    secret_file = tmp_path / "prod-password"
    secret_file.write_text("  spaced secret \n\n", encoding="utf-8")
    credential = env_credential(PROFILE, _env(HOISTER_PASSWORD_FILE_PROD=str(secret_file)))
    assert credential is not None and credential.secret == "  spaced secret \n"


def _error(environ: dict[str, str], profile: Profile = PROFILE) -> str:
    with pytest.raises(HoisterError) as caught:
        env_credential(profile, environ)
    return str(caught.value)


def test_missing_file_names_the_variable(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    message = _error(_env(HOISTER_PASSWORD_FILE_PROD=str(missing)))
    assert "HOISTER_PASSWORD_FILE_PROD" in message
    assert str(missing) in message
    assert "No such file" in message


def test_unreadable_file_names_the_variable(tmp_path: Path) -> None:
    # A directory cannot be read as a file even by root, unlike a chmod 000 file.
    message = _error(_env(HOISTER_PASSWORD_FILE_PROD=str(tmp_path)))
    assert "cannot read the password file" in message and "HOISTER_PASSWORD_FILE_PROD" in message


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "is empty"),
        (b"\n", "is empty"),
        (b"\xff\xfe" + SECRET.encode(), "not UTF-8"),
        (SECRET.encode() * 5000, "larger than"),
    ],
)
def test_bad_file_contents_are_refused_without_quoting_them(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    secret_file = tmp_path / "prod-password"
    secret_file.write_bytes(content)
    message = _error(_env(HOISTER_PASSWORD_FILE_PROD=str(secret_file)))
    assert problem in message and "HOISTER_PASSWORD_FILE_PROD" in message
    assert SECRET not in message


def test_both_forms_at_once_are_ambiguous(tmp_path: Path) -> None:
    secret_file = tmp_path / "prod-password"
    secret_file.write_text(SECRET, encoding="utf-8")
    message = _error(
        _env(HOISTER_PASSWORD_PROD=SECRET, HOISTER_PASSWORD_FILE_PROD=str(secret_file))
    )
    assert "HOISTER_PASSWORD_PROD" in message and "HOISTER_PASSWORD_FILE_PROD" in message
    assert SECRET not in message


def test_a_profile_without_user_name_needs_one_from_the_environment() -> None:
    anonymous = Profile("prod", "https://r.example.com:5000")
    message = _error(_env(HOISTER_PASSWORD_PROD=SECRET), anonymous)
    assert "HOISTER_USERNAME_PROD" in message and "--username" in message
    assert SECRET not in message
    credential = env_credential(
        anonymous, _env(HOISTER_PASSWORD_PROD=SECRET, HOISTER_USERNAME_PROD="robot")
    )
    assert credential is not None and credential.username == "robot"


def test_the_saved_user_name_wins_over_the_variable() -> None:
    credential = env_credential(
        PROFILE, _env(HOISTER_PASSWORD_PROD=SECRET, HOISTER_USERNAME_PROD="someone-else")
    )
    assert credential is not None and credential.username == "ci-bot"


def test_token_user_name_means_an_identity_token() -> None:
    anonymous = Profile("prod", "https://r.example.com:5000")
    credential = env_credential(
        anonymous, _env(HOISTER_PASSWORD_PROD=SECRET, HOISTER_USERNAME_PROD="<token>")
    )
    assert credential is not None and credential.kind == "identitytoken"


# -- the order in resolve_credential ---------------------------------------------------


def _docker(tmp_path: Path) -> DockerConfig:
    path = tmp_path / "docker-config.json"
    auth = base64.b64encode(b"ci-bot:docker-secret").decode()
    path.write_text(json.dumps({"auths": {"r.example.com:5000": {"auth": auth}}}))
    return DockerConfig(path)


def test_environment_wins_over_keyring_and_docker_login(tmp_path: Path) -> None:
    secrets = SecretStore(MemoryKeyring())
    secrets.set(PROFILE, "keyring-secret")
    environ = _env(HOISTER_PASSWORD_PROD=SECRET)
    credential = resolve_credential(PROFILE, secrets, _docker(tmp_path), environ)
    assert credential is not None and credential.secret == SECRET
    # Without the variable the keyring answers, then docker login.
    assert resolve_credential(PROFILE, secrets, _docker(tmp_path), {}) == Credential(
        "ci-bot", "keyring-secret", source="keyring"
    )
    secrets.delete(PROFILE)
    borrowed = resolve_credential(PROFILE, secrets, _docker(tmp_path), {})
    assert borrowed is not None and borrowed.secret == "docker-secret"


def test_an_unusable_variable_does_not_fall_back(tmp_path: Path) -> None:
    secrets = SecretStore(MemoryKeyring())
    secrets.set(PROFILE, "keyring-secret")
    environ = _env(HOISTER_PASSWORD_FILE_PROD=str(tmp_path / "missing"))
    with pytest.raises(HoisterError, match="HOISTER_PASSWORD_FILE_PROD"):
        resolve_credential(PROFILE, secrets, _docker(tmp_path), environ)


def test_the_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOISTER_PASSWORD_PROD", SECRET)
    credential = resolve_credential(PROFILE, SecretStore(MemoryKeyring()), None)
    assert credential is not None and credential.secret == SECRET


# -- end to end: the command line against a real htpasswd registry -------------------


def test_cli_logs_in_with_a_mounted_secret_file(
    basic_registry: RegistryServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    password = basic_registry.users["alice"]
    url = basic_registry.url
    assert (
        main(["profile", "add", "build", "--url", url, "--username", "alice", "--no-verify"]) == 0
    )
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))

    assert main(["repos", "--profile", "build"]) == 1  # no keyring entry, no variable
    capsys.readouterr()

    secret_file = tmp_path / "build-password"
    secret_file.write_text(password + "\n", encoding="utf-8")
    monkeypatch.setenv("HOISTER_PASSWORD_FILE_BUILD", str(secret_file))
    code = main(["repos", "--profile", "build", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out) == []

    secret_file.write_text("wrong-password\n", encoding="utf-8")
    code = main(["repos", "--profile", "build"])
    _, err = capsys.readouterr()
    assert code == 1
    assert "wrong-password" not in err and password not in err
