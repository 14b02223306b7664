"""Starting and stopping the local sandbox registry from the app, off the GUI thread."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal, Slot

from hoister.sample import load_sample_content
from hoister.sandbox import SandboxRegistry
from hoister.store import PolicyStore
from hoister.ui.context import AppContext
from hoister.ui.shared.workers import Requester

log = logging.getLogger(__name__)

PROFILE = "sandbox"


def start_sandbox(ctx: AppContext, sandbox: SandboxRegistry, load_samples: bool) -> str:
    """Worker: start the registry, save its connection, and load the samples if asked."""
    sandbox.start()
    profile = sandbox.ensure_profile(ctx.profiles, PROFILE)
    ctx.forget_client(profile.name)
    if not load_samples:
        return f"Sandbox registry running at {sandbox.url}"
    store = PolicyStore(ctx.database)
    try:
        report = load_sample_content(
            ctx.client(profile.name), store, profile.name, identities=ctx.profiles.identities()
        )
    finally:
        store.close()
    return f"Sandbox registry running at {sandbox.url}. {report.message}"


class SandboxControl(QObject):
    ready = Signal(str)  # profile name
    status = Signal(str)
    failed = Signal(str)

    def __init__(self, ctx: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.registry = SandboxRegistry(ctx.paths.data)
        self._requester = Requester(ctx.pool, self)
        self._requester.ready.connect(self._started)
        self._requester.error.connect(self._failed)

    def start(self, load_samples: bool) -> None:
        self.status.emit("Starting the sandbox registry…")
        self._requester.submit(start_sandbox, self.ctx, self.registry, load_samples)

    def resume_if_configured(self) -> None:
        """A sandbox used before comes back with the app (its connection points at it)."""
        names = {p.name for p in self.ctx.profiles.list()}
        if PROFILE in names and self.registry.available and self.registry.configured:
            self.start(load_samples=False)

    def stop(self) -> None:
        if self.registry.running:
            self.registry.stop()

    @Slot(object)
    def _started(self, message: object) -> None:
        self.status.emit(str(message))
        self.ready.emit(PROFILE)

    @Slot(object)
    def _failed(self, error: object) -> None:
        message = f"The sandbox registry did not start: {error}"
        self.status.emit(message)
        self.failed.emit(message)
