"""One registry client per profile for the engine's thread, created on first use.

Keeping clients for the engine's lifetime reuses connections and cached tokens across
poll cycles; a profile whose saved settings changed gets a fresh client.
"""

from __future__ import annotations

from collections.abc import Callable

from hoister.credentials import Credential
from hoister.errors import HoisterError
from hoister.profiles import Profile, ProfileStore
from hoister.registry import RegistryClient
from hoister.registry.identity import registry_identity

CredentialResolver = Callable[[Profile], Credential | None]
ClientFactory = Callable[[Profile, Credential | None], RegistryClient]


def default_factory(profile: Profile, credential: Credential | None) -> RegistryClient:
    return RegistryClient(
        profile.url, credential, verify=not profile.insecure, ca_file=profile.ca_file
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

    def profile(self, name: str) -> Profile:
        try:
            return self._profiles.get(name)
        except HoisterError as exc:
            raise HoisterError(f"registry profile '{name}' is not configured: {exc}") from None

    def get(self, name: str) -> RegistryClient:
        profile = self.profile(name)
        cached = self._clients.get(name)
        if cached is not None and cached[0] == profile:
            return cached[1]
        if cached is not None:
            cached[1].close()
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
        for _, client in self._clients.values():
            client.close()
        self._clients.clear()
