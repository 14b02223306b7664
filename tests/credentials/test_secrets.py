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
from tests.support_keyring import MemoryKeyring

SECRET = "s3cr3t-Hunter2-value"
WARNING_START = "No system keyring is available ("
WARNING_END = "); the password is kept for this session only and will be asked again next time."


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


def test_round_trip_in_backend_under_login_key() -> None:
    backend = MemoryKeyring()
    store = SecretStore(backend)
    assert store.persistent and store.warning is None
    assert store.get("registry.example.com:5000", "alice") is None
    store.set("registry.example.com:5000", "alice", SECRET)
    assert backend.entries == {(SERVICE, "registry.example.com:5000/alice"): SECRET}
    assert store.get("registry.example.com:5000", "alice") == SECRET
    assert store.get("registry.example.com:5000", "bob") is None
    assert store.get("other.example.com", "alice") is None
    store.set("registry.example.com:5000", "alice", "changed")
    assert store.get("registry.example.com:5000", "alice") == "changed"
    store.delete("registry.example.com:5000", "alice")
    assert store.get("registry.example.com:5000", "alice") is None
    assert backend.entries == {}


def test_same_login_is_shared_across_stores_and_profiles() -> None:
    backend = MemoryKeyring()
    SecretStore(backend).set("r.example.com", "alice", SECRET)
    assert SecretStore(backend).get("r.example.com", "alice") == SECRET


def test_delete_missing_is_not_an_error() -> None:
    store = SecretStore(MemoryKeyring())  # raises PasswordDeleteError when absent
    store.delete("r.example.com", "nobody")
    assert store.persistent


def test_default_backend_comes_from_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = MemoryKeyring()
    monkeypatch.setattr(keyring, "get_keyring", lambda: backend)
    SecretStore().set("r.example.com", "alice", SECRET)
    assert backend.entries[(SERVICE, "r.example.com/alice")] == SECRET


@pytest.mark.parametrize(
    ("host", "username", "secret"),
    [("", "alice", SECRET), ("r.example.com", "", SECRET), ("r.example.com", "alice", "")],
)
def test_blank_inputs_are_refused(host: str, username: str, secret: str) -> None:
    store = SecretStore(MemoryKeyring())
    with pytest.raises(InvalidInput):
        store.set(host, username, secret)


def test_fail_backend_falls_back_to_memory(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = SecretStore(fail.Keyring())
    _assert_session_only(store)
    assert "no keyring backend is installed or running" in (store.warning or "")
    assert store.get("r.example.com", "alice") is None
    store.set("r.example.com", "alice", SECRET)
    assert store.get("r.example.com", "alice") == SECRET
    store.delete("r.example.com", "alice")
    store.delete("r.example.com", "alice")
    assert store.get("r.example.com", "alice") is None
    assert store.backend_name == "memory (this session only)"
    assert any(WARNING_START in record.getMessage() for record in caplog.records)
    assert all(SECRET not in record.getMessage() for record in caplog.records)


def test_memory_is_per_store_not_on_disk(tmp_path: Path) -> None:
    first = SecretStore(fail.Keyring())
    first.set("r.example.com", "alice", SECRET)
    assert SecretStore(fail.Keyring()).get("r.example.com", "alice") is None


def test_null_backend_is_treated_as_no_keyring() -> None:
    store = SecretStore(null.Keyring())
    _assert_session_only(store)
    assert "disabled" in (store.warning or "")
    store.set("r.example.com", "alice", SECRET)
    assert store.get("r.example.com", "alice") == SECRET


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
    store.set("r.example.com", "alice", SECRET)
    assert store.persistent
    assert inner.entries == {(SERVICE, "r.example.com/alice"): SECRET}


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
        assert store.get("r.example.com", "alice") is None
    elif first == "set":
        store.set("r.example.com", "alice", SECRET)
    else:
        store.delete("r.example.com", "alice")
    _assert_session_only(store)
    assert type(backend.error).__name__ in (store.warning or "")
    calls = backend.calls
    store.set("r.example.com", "alice", SECRET)
    assert store.get("r.example.com", "alice") == SECRET
    assert backend.calls == calls, "a broken keyring is not retried in the same session"


def test_secret_in_a_backend_error_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = SecretStore(BrokenKeyring(keyring.errors.PasswordSetError(f"cannot store {SECRET}")))
    store.set("r.example.com", "alice", SECRET)
    _assert_session_only(store)
    assert "<redacted>" in (store.warning or "")
    assert all(SECRET not in record.getMessage() for record in caplog.records)
    assert store.get("r.example.com", "alice") == SECRET


def test_unexpected_errors_are_not_swallowed() -> None:
    """A bug (say a TypeError) must surface, not masquerade as 'no keyring'."""
    store = SecretStore(BrokenKeyring(TypeError("bug")))
    with pytest.raises(TypeError):
        store.get("r.example.com", "alice")
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
    store.set("r.example.com", "alice", SECRET)
    _assert_session_only(store)
    assert store.get("r.example.com", "alice") == SECRET
