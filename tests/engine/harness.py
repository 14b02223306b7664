"""An engine wired to real registries, with a clock the test moves by hand."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hoister.credentials import Credential
from hoister.engine.engine import Engine
from hoister.engine.events import CycleReport, EngineCallbacks, RepositoryChange
from hoister.engine.tags import is_internal_tag
from hoister.policies import Policy, Rule, check_policy
from hoister.profiles import Profile, ProfileStore
from hoister.registry import NotFound, RegistryClient
from hoister.store import Database, PolicyStore
from hoister.store.history import HistoryRow, HistoryStore
from tests.support.registry import RegistryServer


class Clock:
    """Moves only when told to, so templates with %S and backoff are deterministic."""

    def __init__(self, start: datetime = datetime(2026, 11, 30, 9, 0, 0, tzinfo=UTC)) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, seconds: float = 1.0) -> datetime:
        with self._lock:
            self.now += timedelta(seconds=seconds)
            return self.now


@dataclass
class Recorder:
    """Collects engine callbacks; ``done`` is set on every finished/failed promotion."""

    finished: list[HistoryRow] = field(default_factory=list)
    failed: list[HistoryRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    cycles: list[CycleReport] = field(default_factory=list)
    changes: list[RepositoryChange] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def callbacks(self) -> EngineCallbacks:
        def finished(_entry: Any, row: HistoryRow) -> None:
            self.finished.append(row)
            self.done.set()

        def failed(_entry: Any, row: HistoryRow) -> None:
            self.failed.append(row)
            self.done.set()

        return EngineCallbacks(
            finished=finished,
            failed=failed,
            problem=self.problems.append,
            recovered=self.recovered.append,
            cycle_done=self.cycles.append,
            changed=self.changes.append,
        )


def quick_retries(profile: Profile, credential: Credential | None) -> RegistryClient:
    """The agent's clients, but retries do not wait: tests assert on outcomes, not time."""
    return RegistryClient(profile.url, credential, sleep=lambda _seconds: None)


class EngineHarness:
    def __init__(
        self,
        home: Path,
        registries: dict[str, RegistryServer],
        database: str | Path | None = None,
        **engine_options: Any,
    ) -> None:
        self.home = home
        self.clock = Clock()
        self.database = Database.open(database or home / "hoister.db")
        self.profiles = ProfileStore(home / "profiles.json")
        for name, server in registries.items():
            self.profiles.add(Profile(name=name, url=server.url))
        self.registries = registries
        self.recorder = Recorder()
        self.policy_store = PolicyStore(self.database, self.clock)
        engine_options.setdefault("clock", self.clock)
        engine_options.setdefault("actor", "test@hoister")
        engine_options.setdefault("client_factory", quick_retries)
        self.engine = Engine(
            self.database,
            self.profiles,
            lambda profile: None,
            callbacks=self.recorder.callbacks(),
            **engine_options,
        )
        self._clients: list[RegistryClient] = []

    def policy(
        self,
        source: str,
        target: str,
        template: str = "%Y%m%d-%H%M%S",
        *rules: Rule,
        **options: Any,
    ) -> Policy:
        profile = options.pop("profile", next(iter(self.registries)))
        policy = Policy(
            source_profile=profile,
            source_repository=source,
            target_repository=target,
            tag_template=template,
            rules=rules,
            **options,
        )
        return self.policy_store.add(policy, check=check_policy)

    def client(self, name: str | None = None) -> RegistryClient:
        server = self.registries[name or next(iter(self.registries))]
        client = RegistryClient(server.url)
        self._clients.append(client)
        return client

    def tags(self, repository: str, name: str | None = None) -> list[str]:
        """Image tags of a repository (referrer indexes and cosign tags left out)."""
        try:
            return sorted(t for t in self.client(name).tags(repository) if not is_internal_tag(t))
        except NotFound:
            return []

    def history(self) -> list[HistoryRow]:
        with HistoryStore(self.database) as store:
            return list(reversed(store.recent(1000)))  # type: ignore[attr-defined]

    def close(self) -> None:
        self.engine.close()
        self.policy_store.close()
        for client in self._clients:
            client.close()
        self.database.close()
