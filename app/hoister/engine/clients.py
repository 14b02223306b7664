"""One registry client per profile for the engine, created on first use.

Keeping clients for the engine's lifetime reuses connections and cached tokens across
poll cycles; a profile whose saved settings changed gets a fresh client, and so does one
whose password changed (:meth:`ClientPool.forget`, called from any thread: the app's
password prompt runs on the GUI thread while the pool lives on the engine's).

The pool is shared by the engine's thread and its promotion workers (a client is safe to
share: httpx pools its connections, the token cache is locked), so :meth:`ClientPool.get`
is locked, and a client replaced while a worker may still be using it is closed only
when the pool is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from hoister.credentials import Credential
from hoister.engine.promoter import BLOB_CONCURRENCY
from hoister.errors import HoisterError
from hoister.profiles import Profile, ProfileStore
from hoister.registry import RegistryClient
from hoister.registry.identity import registry_identity
from hoister.registry.session import DEFAULT_MAX_CONNECTIONS

CredentialResolver = Callable[[Profile], Credential | None]
ClientFactory = Callable[[Profile, Credential | None], RegistryClient]


def connections_for(parallel: int) -> int:
    """Connections a registry's client needs so that ``parallel`` promotions, each
    copying :data:`BLOB_CONCURRENCY` blobs at once, never wait for one (plus a few for
    manifests, referrers and polls)."""
    return max(DEFAULT_MAX_CONNECTIONS, parallel * BLOB_CONCURRENCY + 8)


def default_factory(
    profile: Profile,
    credential: Credential | None,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    http2: bool = False,
) -> RegistryClient:
    return RegistryClient(
        profile.url,
        credential,
        verify=not profile.insecure,
        ca_file=profile.ca_file,
        max_connections=max_connections,
        http2=http2,
    )


class ClientPool:
    def __init__(
        self,
        profiles: ProfileStore,
        credentials: CredentialResolver,
        factory: ClientFactory = default_factory,
    ) -> None:
        self._profiles = profiles
        self._credentials = credentials
        self._factory = factory
        self._clients: dict[str, tuple[Profile, RegistryClient]] = {}
        self._stale: set[str] = set()  # profiles whose credential changed since
        self._stale_lock = threading.Lock()
        self._lock = threading.Lock()  # the clients: the engine and its workers
        self._retired: list[RegistryClient] = []  # replaced; maybe still in a worker's hands

    def profile(self, name: str) -> Profile:
        try:
            return self._profiles.get(name)
        except HoisterError as exc:
            raise HoisterError(f"registry profile '{name}' is not configured: {exc}") from None

    def known(self) -> set[str]:
        """The names of the registry connections this engine can use now."""
        return {profile.name for profile in self._profiles.list()}

    def forget(self, name: str) -> None:
        """The profile's credential changed: its next request builds a new client (with
        the new password) instead of going on with the old one. Thread-safe."""
        with self._stale_lock:
            self._stale.add(name)

    def get(self, name: str) -> RegistryClient:
        profile = self.profile(name)
        with self._stale_lock:
            stale = name in self._stale
            self._stale.discard(name)
        with self._lock:
            cached = self._clients.get(name)
            if cached is not None and cached[0] == profile and not stale:
                return cached[1]
            if cached is not None:
                self._retired.append(cached[1])
            client = self._factory(profile, self._credentials(profile))
            self._clients[name] = (profile, client)
            return client

    def host_of(self, name: str) -> str:
        """``host[:port]`` as the profile spells it: what keys credentials."""
        return self.profile(name).host

    def identity_of(self, name: str) -> str:
        """The profile's registry identity: equal for two profiles of one registry, so
        the engine can tell the same storage (provenance, chains) behind two names."""
        return registry_identity(self.profile(name).url)

    def close(self) -> None:
        with self._lock:
            for client in [*(client for _, client in self._clients.values()), *self._retired]:
                client.close()
            self._clients.clear()
            self._retired.clear()
