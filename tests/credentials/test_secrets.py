"""SecretStore: the keyring when it works, a session-only dict (and a warning) when not."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import SecretService, chainer, fail, null

from hoister.credentials import SecretStore
from hoister.credentials.secrets import SERVICE
from hoister.errors import InvalidInput
from hoister.profiles import Profile
from tests.support_keyring import MemoryKeyring

SECRET = "s3cr3t-Hunter2-value"
ALICE = Profile("prod", "https://r.example.com", username="alice")
ALICE_KEY = "profile:prod/r.example.com/alice"
WARNING_START = "No system keyring is available ("
WARNING_END = (
    "); the password is kept for this session only: the app asks for it again at its next "
    "start, and the command line and the agent read it from HOISTER_PASSWORD_<PROFILE>."
)


class BrokenKeyring(KeyringBackend):
    """Raises a chosen error on every call, the way a keyring breaks at run time."""

    priority = -1  # type: ignore[assignment]

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error
        self.calls = 0

    def get_password(self, service: str, username: str) -> str | None:
        self.calls += 1
        raise self.error

    def set_password(self, service: str, username: str, password: str) -> None:
        self.calls += 1
        raise self.error

    def delete_password(self, service: str, username: str) -> None:
        self.calls += 1
        raise self.error


def _assert_session_only(store: SecretStore) -> None:
    assert store.persistent is False
    assert store.warning is not None
    assert store.warning.startswith(WARNING_START)
    assert store.warning.endswith(WARNING_END)
    assert SECRET not in store.warning


def test_round_trip_in_backend_under_the_profile_key() -> None:
    backend = MemoryKeyring()
    store = SecretStore(backend)
    profile = Profile("lab", "https://registry.example.com:5000", username="alice")
    assert store.persistent and store.warning is None
    assert store.get(profile) is None
    store.set(profile, SECRET)
    assert backend.entries == {(SERVICE, "profile:lab/registry.example.com:5000/alice"): SECRET}
    assert store.get(profile) == SECRET
    assert store.get(Profile("lab", profile.url, username="bob")) is None
    assert store.get(Profile("lab", "https://other.example.com", username="alice")) is None
    assert store.get(Profile("other", profile.url, username="alice")) is None
    store.set(profile, "changed")
    assert store.get(profile) == "changed"
    store.delete(profile)
    assert store.get(profile) is None
    assert backend.entries == {}


def test_the_keyring_keeps_it_across_stores() -> None:
    backend = MemoryKeyring()
    SecretStore(backend).set(ALICE, SECRET)
    assert SecretStore(backend).get(ALICE) == SECRET


def test_delete_missing_is_not_an_error() -> None:
    store = SecretStore(MemoryKeyring())  # raises PasswordDeleteError when absent
    store.delete(Profile("x", "https://r.example.com", username="nobody"))
    assert store.persistent


def test_default_backend_comes_from_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = MemoryKeyring()
    monkeypatch.setattr(keyring, "get_keyring", lambda: backend)
    SecretStore().set(ALICE, SECRET)
    assert backend.entries[(SERVICE, ALICE_KEY)] == SECRET


@pytest.mark.parametrize(
    ("profile", "secret"),
    [(Profile("anon", "https://r.example.com"), SECRET), (ALICE, "")],
    ids=["no-user", "empty-secret"],
)
def test_blank_inputs_are_refused(profile: Profile, secret: str) -> None:
    store = SecretStore(MemoryKeyring())
    with pytest.raises(InvalidInput):
        store.set(profile, secret)


def test_fail_backend_falls_back_to_memory(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = SecretStore(fail.Keyring())
    _assert_session_only(store)
    assert "no keyring backend is installed or running" in (store.warning or "")
    assert store.get(ALICE) is None
    store.set(ALICE, SECRET)
    assert store.get(ALICE) == SECRET
    store.delete(ALICE)
    store.delete(ALICE)
    assert store.get(ALICE) is None
    assert store.backend_name == "memory (this session only)"
    assert any(WARNING_START in record.getMessage() for record in caplog.records)
    assert all(SECRET not in record.getMessage() for record in caplog.records)


def test_memory_is_per_store_not_on_disk(tmp_path: Path) -> None:
    first = SecretStore(fail.Keyring())
    first.set(ALICE, SECRET)
    assert SecretStore(fail.Keyring()).get(ALICE) is None


def test_null_backend_is_treated_as_no_keyring() -> None:
    store = SecretStore(null.Keyring())
    _assert_session_only(store)
    assert "disabled" in (store.warning or "")
    store.set(ALICE, SECRET)
    assert store.get(ALICE) == SECRET


def test_chainer_without_backends_is_treated_as_no_keyring(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    store = SecretStore(chainer.ChainerBackend())
    _assert_session_only(store)


def test_chainer_with_a_backend_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    inner = MemoryKeyring()
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [inner])
    store = SecretStore(chainer.ChainerBackend())
    store.set(ALICE, SECRET)
    assert store.persistent
    assert inner.entries == {(SERVICE, ALICE_KEY): SECRET}


def _secretstorage_error() -> BaseException:
    from secretstorage.exceptions import LockedException

    return LockedException("Item is locked!")


def _jeepney_error() -> BaseException:
    from jeepney.low_level import Endianness, Header, HeaderFields, Message, MessageType
    from jeepney.wrappers import DBusErrorResponse

    fields = {HeaderFields.error_name: "org.freedesktop.DBus.Error.ServiceUnknown"}
    header = Header(Endianness.little, MessageType.error, 0, 1, 0, 1, fields)
    return DBusErrorResponse(Message(header, ("The name is not activatable",)))


@pytest.mark.parametrize(
    "make_error",
    [
        lambda: keyring.errors.KeyringLocked("Failed to unlock the collection!"),
        lambda: keyring.errors.InitError("Failed to create the collection"),
        lambda: keyring.errors.NoKeyringError("No recommended backend"),
        lambda: FileNotFoundError(2, "No such file or directory"),
        lambda: RuntimeError("The Secret Service daemon is neither running nor activatable"),
        _secretstorage_error,
        _jeepney_error,
    ],
    ids=["locked", "init", "nokeyring", "socket", "runtime", "secretstorage", "jeepney"],
)
@pytest.mark.parametrize("first", ["get", "set", "delete"])
def test_failure_on_use_switches_to_memory(
    make_error: Callable[[], BaseException], first: str
) -> None:
    backend = BrokenKeyring(make_error())
    store = SecretStore(backend)
    assert store.persistent
    if first == "get":
        assert store.get(ALICE) is None
    elif first == "set":
        store.set(ALICE, SECRET)
    else:
        store.delete(ALICE)
    _assert_session_only(store)
    assert type(backend.error).__name__ in (store.warning or "")
    calls = backend.calls
    store.set(ALICE, SECRET)
    assert store.get(ALICE) == SECRET
    assert backend.calls == calls, "a broken keyring is not retried in the same session"


def test_secret_in_a_backend_error_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = SecretStore(BrokenKeyring(keyring.errors.PasswordSetError(f"cannot store {SECRET}")))
    store.set(ALICE, SECRET)
    _assert_session_only(store)
    assert "<redacted>" in (store.warning or "")
    assert all(SECRET not in record.getMessage() for record in caplog.records)
    assert store.get(ALICE) == SECRET


def test_unexpected_errors_are_not_swallowed() -> None:
    """A bug (say a TypeError) must surface, not masquerade as 'no keyring'."""
    store = SecretStore(BrokenKeyring(TypeError("bug")))
    with pytest.raises(TypeError):
        store.get(ALICE)
    assert store.persistent


@pytest.mark.parametrize("address", [None, "unix:path=/nonexistent/hoister-test-bus"])
def test_secret_service_without_a_bus_falls_back(
    monkeypatch: pytest.MonkeyPatch, address: str | None
) -> None:
    if address is None:
        monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    else:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    store = SecretStore(SecretService.Keyring())
    store.set(ALICE, SECRET)
    _assert_session_only(store)
    assert store.get(ALICE) == SECRET


# -- a password belongs to its profile ---------------------------------------------------

TEAM_A = Profile("team-a", "https://r.example.com", username="alice")
TEAM_B = Profile("team-b", "r.example.com/v2/", username="alice")
LEGACY_KEY = (SERVICE, "r.example.com/alice")


def test_a_second_profile_for_the_same_login_keeps_its_own_secret() -> None:
    backend = MemoryKeyring()
    store = SecretStore(backend)
    store.set(TEAM_A, SECRET)
    assert store.get(TEAM_B) is None
    store.set(TEAM_B, "mistyped")
    assert (store.get(TEAM_A), store.get(TEAM_B)) == (SECRET, "mistyped")
    store.delete(TEAM_B, remaining=[TEAM_A])
    assert store.get(TEAM_A) == SECRET
    assert backend.entries == {(SERVICE, "profile:team-a/r.example.com/alice"): SECRET}


def test_a_secret_is_bound_to_the_login_it_was_typed_for() -> None:
    store = SecretStore(MemoryKeyring())
    store.set(TEAM_A, SECRET)
    moved = Profile("team-a", "https://elsewhere.example.com", username="alice")
    assert store.get(moved) is None, "never sent to another registry"
    assert store.get(Profile("team-a", TEAM_A.url, username="bob")) is None


def test_an_entry_of_an_earlier_version_is_migrated_on_first_use() -> None:
    backend = MemoryKeyring()
    backend.entries[LEGACY_KEY] = SECRET
    store = SecretStore(backend)
    assert store.get(TEAM_A) == SECRET
    assert backend.entries[(SERVICE, "profile:team-a/r.example.com/alice")] == SECRET
    # team-b may still rely on the shared entry: it stays until the last user goes.
    assert backend.entries[LEGACY_KEY] == SECRET
    store.delete(TEAM_A, remaining=[TEAM_B])
    assert backend.entries == {LEGACY_KEY: SECRET}
    assert store.get(TEAM_B) == SECRET
    store.delete(TEAM_B, remaining=[])
    assert backend.entries == {}


def test_the_profiles_own_secret_wins_over_the_shared_entry() -> None:
    backend = MemoryKeyring()
    backend.entries[LEGACY_KEY] = "stale"
    store = SecretStore(backend)
    store.set(TEAM_A, SECRET)
    assert store.get(TEAM_A) == SECRET


def test_migration_without_a_working_keyring_keeps_the_copy_in_memory() -> None:
    class ReadOnly(MemoryKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            raise keyring.errors.PasswordSetError("read-only collection")

    backend = ReadOnly()
    backend.entries[LEGACY_KEY] = SECRET
    store = SecretStore(backend)
    assert store.get(TEAM_A) == SECRET
    _assert_session_only(store)
    assert store.get(TEAM_A) == SECRET


def test_no_keyring_warns_when_a_password_is_kept_in_memory_not_before(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A process that never stores a password (one reading HOISTER_PASSWORD_<PROFILE>)
    has nothing to be warned about; the first password kept in memory warns, once."""
    caplog.set_level(logging.DEBUG)
    store = SecretStore(fail.Keyring())
    assert store.get(ALICE) is None
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    store.set(ALICE, SECRET)
    store.set(Profile("dev", "https://r.example.com", username="bob"), SECRET)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [store.warning]
    assert all(SECRET not in record.getMessage() for record in caplog.records)
