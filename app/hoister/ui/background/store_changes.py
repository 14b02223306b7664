"""What other machines change in a team database reaches this window's views, live.

A :class:`~hoister.store.listen.ChangeListener` hears ``policies``, ``history`` and
``profiles`` on its own thread; its callback only emits :attr:`StoreChanges.heard`,
which Qt queues to the GUI thread. There the payloads of a burst (an agent finishing
forty promotions writes forty history rows) are gathered for :data:`COALESCE_MS` and
turned into one round of the views' own refreshes, each of which reads in a worker:

| heard | refreshed |
|---|---|
| ``history`` | the Activity dock, the open page's History and Promotions ("last result") |
| ``policies`` | the open page's Promotions tab |
| ``profiles`` | the sidebar's connections |

On SQLite the listener does nothing and the views' timers cover the one machine.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from hoister.errors import HoisterError
from hoister.store import Database
from hoister.store.listen import ChangeListener
from hoister.store.profiles import SharedProfileStore

if TYPE_CHECKING:
    from hoister.ui.main_window import MainWindow

log = logging.getLogger(__name__)

#: How long payloads are gathered before the views read again (one read per burst).
COALESCE_MS = 250


class StoreChanges(QObject):
    """Turns a listener's payloads into the window's refreshes (see the module)."""

    heard = Signal(str)  # emitted on the listener's thread, delivered queued
    applied = Signal(object)  # frozenset[str]: what one round refreshed (tests wait on it)

    def __init__(self, window: MainWindow, database: Database) -> None:
        super().__init__(window)
        self.window = window
        self._pending: set[str] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(COALESCE_MS)
        self._timer.timeout.connect(self._apply)
        self.heard.connect(self._heard)
        self.listener = ChangeListener(database, self._on_listener_thread)

    def _on_listener_thread(self, payload: str) -> None:
        """Read changed connections again here, off the GUI thread, before the sidebar
        (which reads them from the cache) is told."""
        profiles = self.window.ctx.profiles
        if payload == "profiles" and isinstance(profiles, SharedProfileStore):
            try:
                profiles.refresh()
            except HoisterError as exc:
                log.warning("the team's connections could not be read again: %s", exc)
        self.heard.emit(payload)

    def start(self) -> None:
        self.listener.start()

    def stop(self) -> None:
        """Ask the listener to stop, without waiting: it may be inside a connection
        attempt to a server that does not answer, and the window must close now. It
        looks up a few times a second, delivers nothing once asked, and is a daemon."""
        self.listener.stop(timeout=0)
        self._timer.stop()

    @Slot(str)
    def _heard(self, payload: str) -> None:
        self._pending.add(payload)
        if not self._timer.isActive():
            self._timer.start()

    @Slot()
    def _apply(self) -> None:
        payloads, self._pending = frozenset(self._pending), set()
        window = self.window
        page = window.page
        if "history" in payloads:
            window.activity_view.refresh()
            if page is not None:
                page.history.refresh()
        if page is not None and payloads & {"history", "policies"}:
            page.promotions.refresh()
        if "profiles" in payloads:
            window.sidebar.reload_profiles()
        self.applied.emit(payloads)
