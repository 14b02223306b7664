"""What every window and view of the app shares: stores, credentials, clients, the pool.

Passed to widgets through their constructors (no globals), so tests can build a window
around a temporary home, a test keyring and a client factory that slows or breaks the
network on purpose.

The store is chosen as for every command (:func:`hoister.store.location.open_store`);
on a team database the registry connections come from it too
(:class:`~hoister.store.profiles.SharedProfileStore`), else from ``profiles.json``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QThreadPool

from hoister.credentials import Credential, DockerConfig, SecretStore, resolve_credential
from hoister.credentials.secrets import profile_key
from hoister.engine.clients import default_factory
from hoister.facts.details import DetailsCache
from hoister.paths import Paths
from hoister.profiles import Profile, ProfileStore
from hoister.registry import RegistryClient
from hoister.settings import Settings
from hoister.store import Database
from hoister.store.location import StoreLocation, open_store
from hoister.store.profiles import SharedProfileStore

ClientFactory = Callable[[Profile, Credential | None], RegistryClient]

#: Requests in flight per app: enough to fill a table quickly, few enough to be polite.
POOL_SIZE = 6


@dataclass
class AppContext:
    paths: Paths
    profiles: ProfileStore
    settings: Settings
    secrets: SecretStore
    docker: DockerConfig
    database: Database
    #: Where the store is and who chose it (the status bar shows it).
    store_location: StoreLocation | None = None
    client_factory: ClientFactory = default_factory
    details: DetailsCache = field(default_factory=DetailsCache)
    pool: QThreadPool = field(default_factory=QThreadPool)
    #: Passwords typed this session where no keyring works (never written anywhere).
    #: Keyed like the keyring (:func:`hoister.credentials.secrets.profile_key`).
    session_secrets: dict[str, str] = field(default_factory=dict)
    #: Called with a profile's name when its client is dropped (new settings or a new
    #: password): the engine keeps clients of its own and must drop its one too.
    client_listeners: list[Callable[[str], None]] = field(default_factory=list)
    _clients: dict[str, tuple[Profile, RegistryClient]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.pool.setMaxThreadCount(POOL_SIZE)

    @classmethod
    def create(
        cls,
        paths: Paths,
        client_factory: ClientFactory = default_factory,
        *,
        database_flag: str | None = None,
    ) -> AppContext:
        """The app's context; ``database_flag`` is ``--database`` from the command line.

        Opening a team database talks to its server once, before the window exists;
        a failure raises :class:`~hoister.errors.HoisterError` (the caller says it in
        words, no window opens).
        """
        paths.ensure()
        settings = Settings(paths.settings_file)
        secrets = SecretStore()
        database, location = open_store(
            paths, flag=database_flag, settings=settings, secrets=secrets
        )
        profiles: ProfileStore = (
            # Cached: the sidebar and dialogs read connections on the GUI thread.
            SharedProfileStore(database, cached=True)
            if database.shared
            else ProfileStore(paths.profiles_file)
        )
        return cls(
            paths=paths,
            profiles=profiles,
            settings=settings,
            secrets=secrets,
            docker=DockerConfig(),
            database=database,
            store_location=location,
            client_factory=client_factory,
        )

    def credential(self, profile: Profile) -> Credential | None:
        """Keyring or docker login; may talk to D-Bus or run a helper: call off the GUI thread."""
        typed = self.session_secrets.get(profile_key(profile)) if profile.username else None
        if profile.username and typed:
            return Credential(profile.username, typed, source="session")
        return resolve_credential(profile, self.secrets, self.docker)

    def client(self, profile_name: str) -> RegistryClient:
        """The shared client of a profile (thread-safe; call from workers)."""
        profile = self.profiles.get(profile_name)
        with self._lock:
            cached = self._clients.get(profile_name)
            if cached is not None and cached[0] == profile:
                return cached[1]
        client = self.client_factory(profile, self.credential(profile))
        with self._lock:
            cached = self._clients.get(profile_name)
            if cached is not None and cached[0] == profile:
                # Another worker built one meanwhile: use it, drop ours (never in use yet).
                spare, client = client, cached[1]
            else:
                spare = cached[1] if cached is not None else None
                self._clients[profile_name] = (profile, client)
        if spare is not None and spare is not client:
            spare.close()
        return client

    def forget_client(self, profile_name: str) -> None:
        """After a profile or its password changed: the next request builds a new client."""
        with self._lock:
            cached = self._clients.pop(profile_name, None)
        if cached is not None:
            cached[1].close()
        for listener in list(self.client_listeners):
            listener(profile_name)

    def close(self) -> None:
        """Wait for running tasks, then close every client and the database's pooled
        connections (called at exit, after the engine has stopped)."""
        self.pool.clear()
        self.pool.waitForDone()
        with self._lock:
            clients = [c for _, c in self._clients.values()]
            self._clients.clear()
        for client in clients:
            client.close()
        self.database.close()
