"""Starting and stopping the local sandbox registry from the app, off the GUI thread.

The sandbox ships sample images but no policy: building the seed policy in the editor is
the first thing the README walks a newcomer through, and a policy already there would be
duplicated by it. Once the policy exists, the Sandbox menu's *Push a new stable build to
dev/website* plays the developer's part (sample content only, pushed from a worker), and
the window asks the engine to look at once, so the promotion into ``qa/website`` follows
within seconds instead of at the next poll.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget

from hoister.sample import REPOSITORY, load_sample_content, push_stable_build
from hoister.sandbox import INSTALL_HINT, SandboxRegistry
from hoister.ui.context import AppContext
from hoister.ui.shared.workers import Requester

log = logging.getLogger(__name__)

PROFILE = "sandbox"
PUSH_TEXT = f"Push a new stable build to {REPOSITORY}"
PUSH_TIP = (
    f"Do what a developer does: push a new {REPOSITORY}:1.<n>-stable (sample content) "
    "to the sandbox registry; a policy on it promotes the build."
)
NOT_RUNNING_TIP = "Start the sandbox registry first (on the welcome page)."
NOT_INSTALLED_TIP = f"The sandbox needs the registry program: {INSTALL_HINT}"
NEXT_STEP = f"Next: in {REPOSITORY}, Promotions → New promotion policy, then Sandbox → {PUSH_TEXT}."
#: What the window shows beside the sidebar once the sandbox runs: the seed story's steps.
GUIDE = (
    "The sandbox registry is running, with sample images in dev/website.\n\n"
    "1. Open dev/website, then Promotions → New promotion policy:\n"
    "tags ending in 'stable' go to qa/website (the README walks through it).\n\n"
    f"2. Sandbox → {PUSH_TEXT}\n"
    "plays the developer's push.\n\n"
    "3. Watch the build arrive in qa/website, saying where it came from."
)


def start_sandbox(ctx: AppContext, sandbox: SandboxRegistry, load_samples: bool) -> str:
    """Worker: start the registry, save its connection, and load the sample images if asked."""
    sandbox.start()
    profile = sandbox.ensure_profile(ctx.profiles, PROFILE)
    ctx.forget_client(profile.name)
    if not load_samples:
        return f"Sandbox registry running at {sandbox.url}"
    report = load_sample_content(ctx.client(profile.name), None, profile.name)
    return f"Sandbox registry running at {sandbox.url}. {report.message} {NEXT_STEP}"


def push_build(ctx: AppContext) -> str:
    """Worker: the developer's push, into the sandbox connection; the tag pushed."""
    tag, _digest = push_stable_build(ctx.client(PROFILE))
    return tag


class SandboxControl(QObject):
    ready = Signal(str)  # profile name
    status = Signal(str)
    failed = Signal(str)
    pushed = Signal(str)  # the tag pushed to dev/website

    def __init__(self, ctx: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.registry = SandboxRegistry(ctx.paths.data)
        self._requester = Requester(ctx.pool, self)
        self._requester.ready.connect(self._started)
        self._requester.error.connect(self._failed)
        self._pusher = Requester(ctx.pool, self)
        self._pusher.ready.connect(self._pushed)
        self._pusher.error.connect(self._push_failed)
        self.push_action = QAction(PUSH_TEXT, self)
        self.push_action.triggered.connect(self.push_stable_build)
        self._pushing = False
        self._update_action()

    def menu(self, parent: QWidget) -> QMenu:
        """The window's Sandbox menu."""
        menu = QMenu("&Sandbox", parent)
        menu.setToolTipsVisible(True)
        menu.addAction(self.push_action)
        return menu

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
        self._update_action()

    @Slot()
    def push_stable_build(self) -> None:
        if not self.registry.running or self._pushing:
            return
        self._pushing = True
        self._update_action()
        self.status.emit(f"Pushing a new stable build to {REPOSITORY}…")
        self._pusher.submit(push_build, self.ctx)

    def _update_action(self) -> None:
        running = self.registry.running
        self.push_action.setEnabled(running and not self._pushing)
        if running:
            tip = PUSH_TIP
        elif self.registry.available:
            tip = NOT_RUNNING_TIP
        else:
            tip = NOT_INSTALLED_TIP
        self.push_action.setToolTip(tip)
        self.push_action.setStatusTip(tip)

    @Slot(object)
    def _started(self, message: object) -> None:
        self._update_action()
        self.status.emit(str(message))
        self.ready.emit(PROFILE)

    @Slot(object)
    def _failed(self, error: object) -> None:
        self._update_action()
        message = f"The sandbox registry did not start: {error}"
        self.status.emit(message)
        self.failed.emit(message)

    @Slot(object)
    def _pushed(self, tag: object) -> None:
        self._pushing = False
        self._update_action()
        self.status.emit(
            f"Pushed {REPOSITORY}:{tag}. The engine looks at once: a policy on {REPOSITORY} "
            "for tags ending in 'stable' promotes it."
        )
        self.pushed.emit(str(tag))

    @Slot(object)
    def _push_failed(self, error: object) -> None:
        self._pushing = False
        self._update_action()
        self.status.emit(f"The push to {REPOSITORY} failed: {error}")
