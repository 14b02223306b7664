"""Passwords and tokens in the OS keyring, or in memory when there is no keyring.

A password belongs to its profile. Entries use the keyring service ``hoister`` and the
key ``"profile:<name>/<registry host>/<username>"`` (:func:`profile_key`): the profile's
name makes the secret its own, so saving a second profile for the same registry and user
(with a mistyped password, say) can never replace the password of a first one that
works, and removing a profile removes only its own secret. The host and user name in the
key bind the secret to the login it was typed for: a profile edited to point at another
registry or user does not send the old password there, it asks for one.

Two profiles with the same registry and user therefore keep two passwords; ``profile
add`` says so when it saves the second, and changing the password means saving it in
each (a copy, never a link that one mistake could break for both).

Earlier versions keyed entries by the login alone, ``"<registry host>/<username>"``
(:func:`login_key`), shared by every profile with that login. :meth:`SecretStore.get`
still reads such an entry when a profile has none of its own and copies it to the
profile's key (the migration, on first use); the shared entry stays as long as another
profile with the same login may still rely on it, and :meth:`SecretStore.delete` drops it
with the last such profile. Hoister has no rename of profiles; one would have to move the
entry (set it under the new key, delete the old).

A desktop without a working keyring (a bare window manager, a container, SSH) must still
be usable: the first failure switches this store to a dictionary in memory for the rest
of the process and sets :attr:`SecretStore.warning`. The warning is logged when a secret
is actually kept in memory (:meth:`SecretStore.set`), not when the store is made: a
process that only reads secrets from ``HOISTER_PASSWORD_<PROFILE>`` never needed a
keyring, and telling it otherwise is noise. The app keeps its promise of asking again:
a profile with a user name whose password is nowhere to be found asks for it on connect
(``ui/connections/password_dialog.py``). Nothing here ever logs a secret or puts one in
an exception message.
"""

from __future__ import annotations

import functools
import logging
import threading
import traceback
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from hoister.errors import InvalidInput
from hoister.profiles import Profile

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

log = logging.getLogger(__name__)

SERVICE = "hoister"

_T = TypeVar("_T")


@functools.cache
def backend_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "this keyring does not work here", not "this is a bug".

    secretstorage and jeepney are optional (Linux only), hence the guarded imports.
    ``OSError`` covers a D-Bus socket that is gone; ``RuntimeError`` is what keyring
    itself raises for a backend that cannot start. Imported on first use, like keyring
    itself (see :class:`SecretStore`).
    """
    import keyring.errors

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


def profile_key(profile: Profile) -> str:
    """The keyring "username" of a profile's own secret (see the module docstring)."""
    return f"profile:{profile.name}/{profile.host}/{profile.username}"


def login_key(host: str, username: str) -> str:
    """The key earlier versions used, shared by every profile with this login."""
    return f"{host}/{username}"


def same_login(one: Profile, other: Profile) -> bool:
    """True when both profiles log in to the same registry as the same user."""
    return bool(one.username) and (one.host, one.username) == (other.host, other.username)


def _unusable_reason(backend: KeyringBackend) -> str | None:
    """Why ``backend`` cannot keep secrets, or None if it looks usable.

    These backends accept calls but cannot store anything (``fail`` raises on every call,
    ``null`` drops writes, an empty chainer silently does nothing), so they are detected
    up front instead of losing a password without a word.
    """
    from keyring.backends import chainer, fail, null

    if isinstance(backend, fail.Keyring):
        return "no keyring backend is installed or running"
    if isinstance(backend, null.Keyring):
        return "the keyring is disabled (null backend)"
    if isinstance(backend, chainer.ChainerBackend):
        try:
            backends = list(backend.backends)
        except backend_errors() as exc:
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
    """Get, set and delete registry secrets, surviving a missing or broken keyring.

    Without a given ``backend`` the system keyring is looked up on first use, not when
    the store is made: keyring and its D-Bus and crypto libraries cost an agent whose
    profiles need no password (or read it from the environment) a tenth of a second
    and a sixth of its memory at every start, for nothing.
    """

    def __init__(self, backend: KeyringBackend | None = None) -> None:
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()
        self._opening = threading.Lock()
        self._backend_or_none: KeyringBackend | None = None
        self._persistent = True
        self._warning: str | None = None
        self._warned = False
        if backend is not None:
            self._open(backend)

    def _open(self, backend: KeyringBackend) -> None:
        self._backend_or_none = backend
        reason = _unusable_reason(backend)
        if reason is not None:
            self._fall_back(reason)

    @property
    def _backend(self) -> KeyringBackend:
        """The keyring, found on first use (see the class docstring)."""
        with self._opening:
            if self._backend_or_none is None:
                import keyring

                self._open(keyring.get_keyring())
            assert self._backend_or_none is not None
            return self._backend_or_none

    @property
    def persistent(self) -> bool:
        """False once secrets are only kept in memory for this process."""
        _ = self._backend
        return self._persistent

    @property
    def warning(self) -> str | None:
        """A sentence for the UI/CLI when secrets are not persistent, else None."""
        _ = self._backend
        return self._warning

    @property
    def backend_name(self) -> str:
        """Which keyring is in use, for an "about"/diagnostics line."""
        if not self.persistent:
            return "memory (this session only)"
        backend = type(self._backend)
        return f"{backend.__module__}.{backend.__qualname__}"

    def _fall_back(self, reason: str) -> None:
        self._persistent = False
        self._warning = (
            f"No system keyring is available ({reason}); the password is kept for this "
            "session only: the app asks for it again at its next start, and the command "
            "line and the agent read it from HOISTER_PASSWORD_<PROFILE>."
        )
        # Only a note: nothing was lost yet (see set() and the module docstring).
        log.info("%s", self._warning)

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
        except backend_errors() as exc:
            self._fall_back(_describe(exc, secret))
            _release_failed_backend(exc)
            return False, None

    @staticmethod
    def _keys(profile: Profile) -> tuple[str, str]:
        """(the profile's own key, the shared key of earlier versions)."""
        if not isinstance(profile.username, str) or not profile.username:
            raise InvalidInput(
                f"profile '{profile.name}' has no user name, so it has no password to keep"
            )
        return profile_key(profile), login_key(profile.host, profile.username)

    def get(self, profile: Profile) -> str | None:
        """The profile's saved secret, or None if it has none.

        A profile saved by an earlier version has its secret under the shared login key;
        it is copied to the profile's own key here, and the shared entry is left for any
        other profile that still relies on it.
        """
        own, shared = self._keys(profile)
        with self._lock:
            answered, secret = self._call(lambda: self._backend.get_password(SERVICE, own))
            if not answered:
                return self._memory.get(own)
            if secret:
                return secret
            answered, legacy = self._call(lambda: self._backend.get_password(SERVICE, shared))
            if not answered or not legacy:
                return None
            copied, _ = self._call(lambda: self._backend.set_password(SERVICE, own, legacy), legacy)
            if not copied:
                self._memory[own] = legacy
            log.info("password of profile %s moved to its own keyring entry", profile.name)
            return legacy

    def set(self, profile: Profile, secret: str) -> None:
        """Save (or replace) the profile's own secret; no other profile's changes."""
        own, _ = self._keys(profile)
        if not isinstance(secret, str) or not secret:
            raise InvalidInput("the password or token is empty; nothing to save")
        with self._lock:
            answered, _ = self._call(
                lambda: self._backend.set_password(SERVICE, own, secret), secret
            )
            if not answered:
                self._memory[own] = secret
                if not self._warned:
                    self._warned = True
                    log.warning("%s", self._warning)

    def get_entry(self, key: str) -> str | None:
        """A secret that belongs to no profile (a team database's password), by its key."""
        with self._lock:
            answered, secret = self._call(lambda: self._backend.get_password(SERVICE, key))
            return secret if answered else self._memory.get(key)

    def set_entry(self, key: str, secret: str) -> None:
        """Save a secret under ``key``; in memory for this session if no keyring works."""
        if not isinstance(secret, str) or not secret:
            raise InvalidInput("the password is empty; nothing to save")
        with self._lock:
            answered, _ = self._call(
                lambda: self._backend.set_password(SERVICE, key, secret), secret
            )
            if not answered:
                self._memory[key] = secret

    def delete_entry(self, key: str) -> None:
        with self._lock:
            self._memory.pop(key, None)
            if self.persistent:
                self._delete_entry(key)

    def delete(self, profile: Profile, remaining: Iterable[Profile] = ()) -> None:
        """Forget the profile's own secret; forgetting a missing one is not an error.

        ``remaining`` are the profiles that stay: the shared entry of earlier versions is
        deleted too unless one of them has the same login and may still rely on it.
        """
        own, shared = self._keys(profile)
        keys = [own]
        if not any(same_login(profile, p) and p.name != profile.name for p in remaining):
            keys.append(shared)
        with self._lock:
            for key in keys:
                self._memory.pop(key, None)
                if self.persistent:
                    self._delete_entry(key)

    def _delete_entry(self, key: str) -> None:
        """Delete one backend entry; called with the lock held."""
        try:
            self._backend.delete_password(SERVICE, key)
        except _password_delete_error():
            # Backends use this for "no such entry", which is what we wanted anyway.
            return
        except backend_errors() as exc:
            self._fall_back(_describe(exc))
            _release_failed_backend(exc)


def _password_delete_error() -> type[BaseException]:
    import keyring.errors

    return keyring.errors.PasswordDeleteError
