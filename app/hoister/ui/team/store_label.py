"""The status bar's word on where policies and history are kept: here, or the team's.

A person who just saved a policy needs to know whether the team sees it. The label says
"This computer" (the SQLite file, its path in the tooltip) or "Team: host/db" (the
server; the tooltip has the URL without its password). After the *Team database*
setting changed, the tooltip also says what the next start will use.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QLabel, QWidget

from hoister.store import Database
from hoister.store.db import database_url


def store_name(location: str) -> str:
    """``This computer`` or ``Team: host/db`` for a path or URL (no password in it)."""
    url = database_url(location)
    if url.get_backend_name() != "postgresql":
        return "This computer"
    return f"Team: {url.host}/{url.database}"


class StoreLabel(QLabel):
    """A permanent status bar widget naming the store this window works on; a click
    opens the *Team database* setting (``clicked``)."""

    clicked = Signal()

    def __init__(self, database: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.database = database
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setText(store_name(database.display))
        self._next: str | None = None
        self._describe()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mouseReleaseEvent(event)

    def set_next(self, location: str | None) -> None:
        """The *Team database* setting changed: say what the next start will use."""
        self._next = location
        self._describe()

    def _describe(self) -> None:
        if self.database.shared:
            lines = [
                self.database.display,
                "A team database: policies and history are shared with everyone using it.",
            ]
        else:
            lines = [
                self.database.display,
                "Policies and history are kept on this computer only.",
            ]
        if self._next is not None:
            then = store_name(self._next) if self._next else "This computer"
            if then != self.text():
                lines.append(f"At the next start: {then}.")
        self.setToolTip("\n".join(lines))
