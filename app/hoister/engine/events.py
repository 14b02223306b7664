"""What the engine tells its owner (GUI worker, CLI agent): plain callbacks, no Qt.

``hoister.ui`` turns these into signals; the headless agent turns them into log lines.
Every callback is optional and is called on the engine's thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime

from hoister.engine.watcher import Candidate
from hoister.store.history import HistoryRow
from hoister.store.queue import QueueEntry


@dataclass(frozen=True)
class RepositoryChange:
    """What a poll found different in a watched repository since the poll before.

    Views showing the repository apply it instead of reading the whole list again; a
    repository's first poll (its baseline) reports nothing, there is no "before".
    """

    profile: str
    repository: str
    added: tuple[str, ...] = ()
    #: now pointing to another digest; polls read digests only of tags some policy could
    #: promote, so a move of any other tag goes unseen
    moved: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.moved or self.removed)


@dataclass(frozen=True)
class CycleReport:
    started_at: datetime
    finished_at: datetime
    repositories: int = 0
    candidates: int = 0
    enqueued: int = 0
    promoted: int = 0
    skipped: int = 0
    failed: int = 0
    problems: tuple[str, ...] = ()
    queue_length: int = 0


@dataclass
class EngineCallbacks:
    candidate: Callable[[Candidate], None] | None = None
    started: Callable[[QueueEntry], None] | None = None
    progress: Callable[[QueueEntry, int, int | None], None] | None = None  # done, total bytes
    finished: Callable[[QueueEntry, HistoryRow], None] | None = None  # promoted or skipped
    failed: Callable[[QueueEntry, HistoryRow], None] | None = None
    cycle_done: Callable[[CycleReport], None] | None = None
    changed: Callable[[RepositoryChange], None] | None = None  # a poll saw tags come or go
    problem: Callable[[str], None] | None = None  # an outage, reported once
    recovered: Callable[[str], None] | None = None
    extra: dict[str, Callable[..., None]] = field(default_factory=dict)

    def emit(self, name: str, *args: object) -> None:
        callback = getattr(self, name, None)
        if callback is not None:
            callback(*args)


def chain(*callbacks: EngineCallbacks) -> EngineCallbacks:
    """One set of callbacks that calls each given set in order.

    The agent needs both its log lines and its metrics from the same events; the engine
    takes one :class:`EngineCallbacks`, so they are combined here rather than each
    consumer knowing about the other.
    """

    def combine(found: list[Callable[..., None] | None]) -> Callable[..., None] | None:
        present = [callback for callback in found if callback is not None]
        if len(present) <= 1:
            return present[0] if present else None
        return _calls(present)

    combined = EngineCallbacks(
        **{
            f.name: combine([getattr(c, f.name) for c in callbacks])
            for f in fields(EngineCallbacks)
            if f.name != "extra"
        }
    )
    for key in dict.fromkeys(key for c in callbacks for key in c.extra):
        combined.extra[key] = _calls([c.extra[key] for c in callbacks if key in c.extra])
    return combined


def _calls(parts: list[Callable[..., None]]) -> Callable[..., None]:
    def call_all(*args: object) -> None:
        for part in parts:
            part(*args)

    return call_all
