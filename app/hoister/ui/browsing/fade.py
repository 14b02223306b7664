"""A highlight that fades: rows the engine just changed stand out for a few seconds.

A person watching a repository should notice the tag a promotion brought, without a
dialog or a sound; a tinted background that fades back to normal says "this is new"
and then gets out of the way.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtGui import QColor

#: How long a highlight lasts, and how often it steps towards the normal background.
FADE_MS = 4000
STEP_MS = 200
_TINT = QColor(255, 200, 40)  # amber: readable under dark and light text alike
_STRONGEST = 150  # alpha at the start


class Fade(QObject):
    """Keys (tag names) with a fading tint; ``stepped`` names those whose tint changed."""

    stepped = Signal(list)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._left: dict[str, int] = {}  # key -> steps left
        self._steps = max(1, FADE_MS // STEP_MS)
        self._timer = QTimer(self)
        self._timer.setInterval(STEP_MS)
        self._timer.timeout.connect(self._step)

    def start(self, keys: list[str]) -> None:
        for key in keys:
            self._left[key] = self._steps
        if self._left and not self._timer.isActive():
            self._timer.start()
        self.stepped.emit(list(keys))

    def highlighted(self) -> list[str]:
        """What is highlighted now."""
        return list(self._left)

    def colour(self, key: str) -> QColor | None:
        """The background of ``key`` now, or None for the normal one."""
        left = self._left.get(key)
        if left is None:
            return None
        colour = QColor(_TINT)
        colour.setAlpha(_STRONGEST * left // self._steps)
        return colour

    def forget(self) -> None:
        self._left.clear()
        self._timer.stop()

    @Slot()
    def _step(self) -> None:
        changed = list(self._left)
        for key in changed:
            self._left[key] -= 1
            if self._left[key] <= 0:
                del self._left[key]
        if not self._left:
            self._timer.stop()
        self.stepped.emit(changed)
