"""The plain-Python half of a manual promotion: where to by default, and what happened.

The copy runs through the same engine as policy promotions (queued, recorded in the
history, provenance attached), in a worker that builds its own engine: the engine's
SQLite connections must belong to the thread that uses them. The worker answers with a
:class:`ManualResult` that says exactly what the engine did, because "Promoted" after a
skip (the target tag existed and Skip was chosen, or it already held this image) told
people a copy had happened when nothing had.
"""

from __future__ import annotations

from dataclasses import dataclass

from hoister.engine.engine import Engine
from hoister.engine.events import EngineCallbacks
from hoister.engine.routes import default_actor, manual_options
from hoister.errors import HoisterError
from hoister.policies import OverwriteMode
from hoister.policies.model import Route
from hoister.store import PolicyStore
from hoister.store.history import HistoryRow
from hoister.store.queue import QueueEntry
from hoister.ui.context import AppContext

#: Settings key of the target the last manual promotion went to: {"profile", "repository"}.
LAST_TARGET = "manual_promotion_target"


@dataclass(frozen=True)
class ManualPromotion:
    source_profile: str
    source_repository: str
    source_tag: str
    source_digest: str
    target_profile: str
    target_repository: str
    target_tag: str
    overwrite: OverwriteMode


@dataclass(frozen=True)
class ManualResult:
    """``promoted``, or ``skipped`` (nothing was written) with the engine's reason."""

    outcome: str
    reference: str  # host/repository:tag of the target
    reason: str = ""


class CopyProgress:
    """Bytes copied so far, written by the worker and read by the dialog's timer."""

    def __init__(self) -> None:
        self.done = 0
        self.total: int | None = None


def list_repositories(ctx: AppContext, profile: str) -> list[str]:
    """Worker: the first page of the catalog, offered as targets (typing always works)."""
    return ctx.client(profile).catalog_page().items


def default_target(
    ctx: AppContext, profile: str, repository: str, last: object
) -> tuple[str, str] | None:
    """Worker: where a tag of this repository usually goes, as (profile, repository).

    The target of a policy whose source is this repository (enabled ones first), else
    ``last`` (the setting :data:`LAST_TARGET`, read on the GUI thread), else None: the
    person must choose, since the repository itself is never a sensible default (the
    default template would copy the tag onto itself).
    """
    with PolicyStore(ctx.database) as store:
        policies = store.list(source=Route(profile, repository))
    policies.sort(key=lambda p: not p.enabled)
    if policies:
        return policies[0].effective_target_profile, policies[0].target_repository
    if not isinstance(last, dict) or not last.get("profile") or not last.get("repository"):
        return None
    target = str(last["profile"]), str(last["repository"])
    return None if target == (profile, repository) else target


def promote(ctx: AppContext, request: ManualPromotion, progress: CopyProgress) -> ManualResult:
    """Worker: queue, claim and execute one promotion; says what it did.

    Chained promotions it triggers stay in the durable queue for the app's engine.
    Raises :class:`HoisterError` with the reason when it failed or must wait.
    """
    rows: list[HistoryRow] = []

    def moved(_entry: QueueEntry, done: int, total: int | None) -> None:
        progress.done, progress.total = done, total

    def recorded(_entry: QueueEntry, row: HistoryRow) -> None:
        rows.append(row)

    callbacks = EngineCallbacks(progress=moved, finished=recorded, failed=recorded)
    engine = Engine(
        ctx.database,
        ctx.profiles,
        ctx.credential,
        actor=default_actor(agent=False),
        callbacks=callbacks,
        client_factory=ctx.client_factory,
    )
    try:
        entry = engine.queue.enqueue(
            QueueEntry(
                None,
                None,
                request.source_profile,
                request.source_repository,
                request.source_tag,
                request.source_digest,
                request.target_profile,
                request.target_repository,
                request.target_tag,
                manual_options=manual_options(request.overwrite),
            )
        )
        claimed = engine.runner.claim(entry.id) if entry and entry.id is not None else None
        if claimed is None:
            raise HoisterError("this promotion is already queued; the engine will run it")
        outcome = engine.runner.execute(claimed)
        host = engine.clients.host_of(request.target_profile)
        reason = rows[-1].reason if rows else engine.queue.get(claimed.id).last_error or ""
    finally:
        engine.close()
    reference = f"{host}/{request.target_repository}:{request.target_tag}"
    if outcome == "retry":
        raise HoisterError(f"not copied yet ({reason}); the engine will try again later")
    if outcome not in ("promoted", "skipped"):
        raise HoisterError(reason or "the promotion failed; see the History tab")
    return ManualResult(outcome, reference, reason)
