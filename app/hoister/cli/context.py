"""What a command needs, built on first use: stores, credentials, registry clients.

Commands receive one :class:`Context` instead of reaching for globals, so tests can
point it at a temporary ``HOISTER_HOME`` and a test keyring.

The store is chosen once, the same way for every command and the agent
(:func:`hoister.store.location.open_store`: ``--database``, then
``HOISTER_DATABASE_URL``, then the app's *Team database* setting, then this machine's
own file). On a team database the registry connections are the team's too
(:class:`~hoister.store.profiles.SharedProfileStore`); on a machine's own file they stay
in its ``profiles.json``.
"""

from __future__ import annotations

from functools import cached_property

from hoister.credentials import Credential, DockerConfig, SecretStore, resolve_credential
from hoister.errors import HoisterError, InvalidInput
from hoister.paths import Paths
from hoister.profiles import Profile, ProfileStore
from hoister.registry import RegistryClient
from hoister.settings import Settings
from hoister.store import Database, PolicyStore
from hoister.store.db import database_url, is_file_path
from hoister.store.location import StoreLocation, choose, open_store
from hoister.store.profiles import SharedProfileStore


def choose_store(paths: Paths, flag: str | None) -> StoreLocation:
    """Where the store is, without opening it; a location that is not a usable URL is
    invalid input (exit 2), told apart from a server that cannot be reached (exit 1)."""
    where = choose(paths, flag=flag, settings=Settings(paths.settings_file))
    try:
        if not is_file_path(where.location):
            database_url(where.location)
    except HoisterError as exc:
        raise InvalidInput(f"{exc} (given by {where.origin})") from None
    return where


class Context:
    def __init__(self, paths: Paths, *, database_flag: str | None = None) -> None:
        self.paths = paths
        self.database_flag = database_flag
        self._clients: list[RegistryClient] = []

    @cached_property
    def _chosen(self) -> StoreLocation:
        return choose_store(self.paths.ensure(), self.database_flag)

    @cached_property
    def _store(self) -> tuple[Database, StoreLocation]:
        _ = self._chosen  # a bad URL is bad usage, said before anything is opened
        settings = Settings(self.paths.settings_file)
        return open_store(
            self.paths, flag=self.database_flag, settings=settings, secrets=self.secrets
        )

    @property
    def database(self) -> Database:
        return self._store[0]

    @property
    def location(self) -> StoreLocation:
        """Where the store is and who chose it (``hoister store info``)."""
        return self._store[1]

    @cached_property
    def profiles(self) -> ProfileStore:
        # Decided from the location alone: `profile list` on a machine of its own does
        # not need to open (or create) its database.
        if self._chosen.shared:
            return SharedProfileStore(self.database)
        return ProfileStore(self.paths.profiles_file)

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
        if "_store" in self.__dict__:
            self.database.close()
