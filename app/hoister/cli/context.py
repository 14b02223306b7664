"""What a command needs, built on first use: stores, credentials, registry clients.

Commands receive one :class:`Context` instead of reaching for globals, so tests can
point it at a temporary ``HOISTER_HOME`` and a test keyring.
"""

from __future__ import annotations

from functools import cached_property

from hoister.credentials import Credential, DockerConfig, SecretStore, resolve_credential
from hoister.errors import InvalidInput
from hoister.paths import Paths
from hoister.profiles import Profile, ProfileStore
from hoister.registry import RegistryClient
from hoister.store import Database, PolicyStore


class Context:
    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self._clients: list[RegistryClient] = []

    @cached_property
    def profiles(self) -> ProfileStore:
        return ProfileStore(self.paths.profiles_file)

    @cached_property
    def database(self) -> Database:
        return Database.open(self.paths.ensure().database)

    @cached_property
    def policies(self) -> PolicyStore:
        return PolicyStore(self.database)

    def require_profile(self, name: str) -> Profile:
        """A profile named on the command line; a missing one is invalid input (exit 2)."""
        if name not in {p.name for p in self.profiles.list()}:
            raise InvalidInput(
                f"no profile named '{name}'; `hoister profile list` shows the saved ones"
            )
        return self.profiles.get(name)

    @cached_property
    def secrets(self) -> SecretStore:
        return SecretStore()

    @cached_property
    def docker_config(self) -> DockerConfig:
        return DockerConfig()

    def credential_for(self, profile: Profile) -> Credential | None:
        return resolve_credential(profile, self.secrets, self.docker_config)

    def client_for(self, profile: Profile) -> RegistryClient:
        """A registry client with the profile's TLS options and resolved credential."""
        credential = self.credential_for(profile)
        client = RegistryClient(
            profile.url, credential, verify=not profile.insecure, ca_file=profile.ca_file
        )
        self._clients.append(client)
        return client

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()
        if "policies" in self.__dict__:
            self.policies.close()
        if "database" in self.__dict__:
            self.database.close()
