"""Passwords and tokens in the OS keyring, or in memory when there is no keyring.

Entries use the keyring service ``hoister`` and the key ``"<registry host>/<username>"``.
The key names the *login*, not the profile: two profiles that point at the same registry
with the same user (say one per team, or one the GUI made and one a script made) share
one password, so changing it in one place fixes both, and renaming a profile does not
orphan its secret. The flip side is that removing a profile must not blindly delete the
secret while another profile still uses the same login; callers decide that.

A desktop without a working keyring (a bare window manager, a container, SSH) must still
be usable: the first failure switches this store to a dictionary in memory for the rest
of the process and sets :attr:`SecretStore.warning`, which the GUI and CLI show so the
person knows they will be asked again next time. Nothing here ever logs a secret or puts
one in an exception message.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from typing import TypeVar

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null

from hoister.errors import InvalidInput

log = logging.getLogger(__name__)

SERVICE = "hoister"

_T = TypeVar("_T")


def _backend_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "this keyring does not work here", not "this is a bug".

    secretstorage and jeepney are optional (Linux only), hence the guarded imports.
    ``OSError`` covers a D-Bus socket that is gone; ``RuntimeError`` is what keyring
    itself raises for a backend that cannot start.
    """
    errors: list[type[BaseException]] = [keyring.errors.KeyringError, OSError, RuntimeError]
    try:
        from secretstorage.exceptions import SecretStorageException

        errors.append(SecretStorageException)
    except ImportError:  # pragma: no cover - not on every platform
        pass
    try:
        from jeepney.wrappers import DBusErrorResponse

        errors.append(DBusErrorResponse)
    except ImportError:  # pragma: no cover - not on every platform
        pass
    return tuple(errors)


BACKEND_ERRORS = _backend_errors()


def keyring_key(host: str, username: str) -> str:
    """The keyring "username" for a login: one entry per (registry, user)."""
    return f"{host}/{username}"


def _unusable_reason(backend: KeyringBackend) -> str | None:
    """Why ``backend`` cannot keep secrets, or None if it looks usable.

    These backends accept calls but cannot store anything (``fail`` raises on every call,
    ``null`` drops writes, an empty chainer silently does nothing), so they are detected
    up front instead of losing a password without a word.
    """
    if isinstance(backend, fail.Keyring):
        return "no keyring backend is installed or running"
    if isinstance(backend, null.Keyring):
        return "the keyring is disabled (null backend)"
    if isinstance(backend, chainer.ChainerBackend):
        try:
            backends = list(backend.backends)
        except BACKEND_ERRORS as exc:
            return _describe(exc)
        if not backends:
            return "no keyring backend is installed or running"
    return None


def _describe(exc: BaseException, secret: str | None = None) -> str:
    """A short, secret-free reason taken from a backend's exception."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if secret:
        text = text.replace(secret, "<redacted>")
    if len(text) > 160:
        text = text[:157] + "..."
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def _release_failed_backend(exc: BaseException) -> None:
    """Close D-Bus connections a failing backend left open, and free its frames.

    keyring's Secret Service backend (25.x, ``get_preferred_collection``) opens a D-Bus
    connection and raises without closing it when the collection cannot be opened (no
    daemon on the bus, a locked or missing keyring). The socket then lives on in the
    exception's frames until the cycle collector runs, and is reported as an unclosed
    socket at some unrelated later moment. The frames have finished, so nothing else
    can be using a connection that only they still hold.
    """
    try:
        from jeepney.io.blocking import DBusConnection
    except ImportError:  # pragma: no cover - no D-Bus backend on this platform
        return
    pending: list[BaseException | None] = [exc]
    seen: set[int] = set()
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        frames = error.__traceback__
        while frames is not None:
            for value in list(frames.tb_frame.f_locals.values()):
                if isinstance(value, DBusConnection):
                    value.close()
            frames = frames.tb_next
        if error.__traceback__ is not None:
            traceback.clear_frames(error.__traceback__)
        pending += [error.__cause__, error.__context__]


class SecretStore:
    """Get, set and delete registry secrets, surviving a missing or broken keyring."""

    def __init__(self, backend: KeyringBackend | None = None) -> None:
        self._backend = keyring.get_keyring() if backend is None else backend
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()
        #: False once secrets are only kept in memory for this process.
        self.persistent = True
        #: A sentence for the UI/CLI when secrets are not persistent, else None.
        self.warning: str | None = None
        reason = _unusable_reason(self._backend)
        if reason is not None:
            self._fall_back(reason)

    @property
    def backend_name(self) -> str:
        """Which keyring is in use, for an "about"/diagnostics line."""
        if not self.persistent:
            return "memory (this session only)"
        backend = type(self._backend)
        return f"{backend.__module__}.{backend.__qualname__}"

    def _fall_back(self, reason: str) -> None:
        self.persistent = False
        self.warning = (
            f"No system keyring is available ({reason}); the password is kept for this "
            "session only and will be asked again next time."
        )
        log.warning("%s", self.warning)

    def _call(
        self, operation: Callable[[], _T], secret: str | None = None
    ) -> tuple[bool, _T | None]:
        """Run a backend operation; on a backend failure switch to memory.

        Returns ``(True, result)`` when the backend answered, ``(False, None)`` when the
        caller must use memory instead. Called with the lock held.
        """
        if not self.persistent:
            return False, None
        try:
            return True, operation()
        except BACKEND_ERRORS as exc:
            self._fall_back(_describe(exc, secret))
            _release_failed_backend(exc)
            return False, None

    @staticmethod
    def _key(host: str, username: str) -> str:
        if not isinstance(host, str) or not host:
            raise InvalidInput("a registry host is needed to look up a password")
        if not isinstance(username, str) or not username:
            raise InvalidInput("a user name is needed to look up a password")
        return keyring_key(host, username)

    def get(self, host: str, username: str) -> str | None:
        """The saved secret for this login, or None if there is none."""
        key = self._key(host, username)
        with self._lock:
            answered, secret = self._call(lambda: self._backend.get_password(SERVICE, key))
            if answered:
                return secret or None
            return self._memory.get(key)

    def set(self, host: str, username: str, secret: str) -> None:
        """Save (or replace) the secret for this login."""
        key = self._key(host, username)
        if not isinstance(secret, str) or not secret:
            raise InvalidInput("the password or token is empty; nothing to save")
        with self._lock:
            answered, _ = self._call(
                lambda: self._backend.set_password(SERVICE, key, secret), secret
            )
            if not answered:
                self._memory[key] = secret

    def delete(self, host: str, username: str) -> None:
        """Forget the secret for this login; forgetting a missing one is not an error."""
        key = self._key(host, username)
        with self._lock:
            self._memory.pop(key, None)
            if not self.persistent:
                return
            try:
                self._backend.delete_password(SERVICE, key)
            except keyring.errors.PasswordDeleteError:
                # Backends use this for "no such entry", which is what we wanted anyway.
                return
            except BACKEND_ERRORS as exc:
                self._fall_back(_describe(exc))
                _release_failed_backend(exc)
