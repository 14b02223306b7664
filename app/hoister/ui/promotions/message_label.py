"""A message under a field that never moves the fields below it by coming and going.

The policy editor shows problems where they are, as one types. A label that appears and
disappears pushes everything under it down and up again, so a click aimed at the next
field lands in the one above (the issue's "stableqa/website"). This label keeps its
lines when it is empty or hidden, ``reserve`` lines at least, and asks for the height
its wrapped text needs at its width: a dialog whose layout sizes itself from minimum
sizes does not otherwise give a wrapping label its extra lines, and a long message
(a loop's whole chain) was clipped and painted over the next field.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class MessageLabel(QLabel):
    """Word-wrapped, ``reserve`` lines tall at least, shown or not without moving others."""

    def __init__(
        self,
        reserve: int = 1,
        text_format: Qt.TextFormat = Qt.TextFormat.PlainText,
        parent: QWidget | None = None,
        *,
        retain: bool = True,
    ) -> None:
        """``retain`` False: hidden, it gives its place up (for labels that take turns)."""
        super().__init__(parent)
        self._reserve = reserve
        self.setTextFormat(text_format)
        self.setWordWrap(True)
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(retain)
        policy.setVerticalPolicy(QSizePolicy.Policy.Minimum)
        self.setSizePolicy(policy)
        self._fit()

    def show_message(self, text: str, style: str | None = None) -> None:
        """Show ``text`` (hide when empty); the reserved lines stay either way."""
        if style is not None:
            self.setStyleSheet(style)
        self.setText(text)
        self.setVisible(bool(text))
        self._fit()

    def setText(self, text: str) -> None:
        super().setText(text)
        self._fit()

    def reserved_height(self) -> int:
        margins = self.contentsMargins()
        return self._reserve * self.fontMetrics().lineSpacing() + margins.top() + margins.bottom()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()  # narrower: more lines

    def _fit(self) -> None:
        needed = self.heightForWidth(self.width()) if self.text() and self.width() > 0 else 0
        height = max(self.reserved_height(), needed)
        if self.minimumHeight() != height:
            self.setMinimumHeight(height)
