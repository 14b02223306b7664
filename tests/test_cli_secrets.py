"""``hoister profile``: each profile's password is its own, in the keyring and at login.

The htpasswd registry is real; the keyring is the in-memory one from conftest (the real
Secret Service version of the main case is in tests/credentials/test_real_keyring.py).
"""

from __future__ import annotations

import pytest

from hoister.paths import default_paths
from hoister.profiles import Profile, ProfileStore
from tests.conftest import MemoryKeyring
from tests.support.registry import RegistryServer

NOTE = "note: profile {} uses the same registry and user; its password is kept separately"


def _add(cli, server: RegistryServer, name: str, password: str, *extra: str):  # type: ignore[no-untyped-def]
    return cli(
        "profile", "add", name, "--url", server.url, "--username", "alice",
        "--password-stdin", *extra, stdin=password,
    )  # fmt: skip


def _key(name: str, server: RegistryServer) -> tuple[str, str]:
    return ("hoister", f"profile:{name}/{server.host}/alice")


def test_a_mistyped_second_profile_leaves_the_first_one_working(  # type: ignore[no-untyped-def]
    cli, basic_registry: RegistryServer, memory_keyring: MemoryKeyring
) -> None:
    password = basic_registry.users["alice"]
    code, _, err = _add(cli, basic_registry, "prod", password)
    assert code == 0, err
    assert "note:" not in err

    code, out, err = _add(cli, basic_registry, "typo", "wrong-password", "--no-verify")
    assert code == 0, err
    assert out == f"saved profile typo ({basic_registry.url})\n"
    assert NOTE.format("prod") in err
    assert memory_keyring.entries == {
        _key("prod", basic_registry): password,
        _key("typo", basic_registry): "wrong-password",
    }
    assert cli("repos", "--profile", "prod")[0] == 0
    code, _, err = cli("repos", "--profile", "typo")
    assert code == 1 and "refused user alice" in err

    assert cli("profile", "remove", "typo")[0] == 0
    assert memory_keyring.entries == {_key("prod", basic_registry): password}
    assert cli("repos", "--profile", "prod")[0] == 0


def test_a_wrong_password_refused_at_add_changes_nothing(  # type: ignore[no-untyped-def]
    cli, basic_registry: RegistryServer, memory_keyring: MemoryKeyring
) -> None:
    password = basic_registry.users["alice"]
    assert _add(cli, basic_registry, "prod", password)[0] == 0
    code, _, err = _add(cli, basic_registry, "prod", "wrong", "--replace")
    assert code == 1 and "refused user alice" in err
    assert memory_keyring.entries == {_key("prod", basic_registry): password}
    assert cli("repos", "--profile", "prod")[0] == 0


def test_an_entry_of_an_earlier_version_keeps_working_and_moves(  # type: ignore[no-untyped-def]
    cli, basic_registry: RegistryServer, memory_keyring: MemoryKeyring
) -> None:
    password = basic_registry.users["alice"]
    profiles = ProfileStore(default_paths().ensure().profiles_file)
    for name in ("team-a", "team-b"):  # saved by an earlier Hoister, one shared entry
        profiles.add(Profile(name, basic_registry.url, username="alice"))
    shared = ("hoister", f"{basic_registry.host}/alice")
    memory_keyring.entries[shared] = password

    assert cli("repos", "--profile", "team-a")[0] == 0
    assert memory_keyring.entries == {shared: password, _key("team-a", basic_registry): password}
    assert cli("profile", "remove", "team-a")[0] == 0
    assert memory_keyring.entries == {shared: password}, "team-b still relies on it"
    assert cli("repos", "--profile", "team-b")[0] == 0
    assert cli("profile", "remove", "team-b")[0] == 0
    assert memory_keyring.entries == {}


def test_replacing_a_profiles_login_forgets_its_old_password(  # type: ignore[no-untyped-def]
    cli, basic_registry: RegistryServer, registry: RegistryServer, memory_keyring: MemoryKeyring
) -> None:
    assert _add(cli, basic_registry, "prod", basic_registry.users["alice"])[0] == 0
    code, _, err = cli("profile", "add", "prod", "--url", registry.url, "--replace")
    assert code == 0, err
    assert memory_keyring.entries == {}


@pytest.mark.parametrize("replace", [False, True])
def test_the_environment_still_gives_a_profile_its_password(  # type: ignore[no-untyped-def]
    cli,
    basic_registry: RegistryServer,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    replace: bool,
) -> None:
    code, _, err = cli(
        "profile", "add", "ci", "--url", basic_registry.url, "--username", "alice", "--no-verify"
    )
    assert code == 0, err
    if replace:  # a wrong keyring entry does not matter: the operator's variable wins
        memory_keyring.entries[_key("ci", basic_registry)] = "wrong"
    monkeypatch.setenv("HOISTER_PASSWORD_CI", basic_registry.users["alice"])
    assert cli("repos", "--profile", "ci")[0] == 0
