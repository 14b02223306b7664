"""Table columns that fit the width they are given, so nothing hides behind a scrollbar.

A horizontal scrollbar on a table of tags hides whatever is on the right, and what is
on the right is chosen by the column order, not by what matters. Each column says how
wide it likes to be, how narrow it can get (its text elided, the tooltip keeps all of
it) and whether it may give way entirely on a narrow window; the least useful columns
go first and come back when there is room.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QTableView


@dataclass(frozen=True)
class Column:
    number: int
    preferred: int
    minimum: int  # the same as preferred for a column that never narrows
    drop: int = 0  # 0: always shown; else shown if the others fit, highest first
    grow: int = 0  # share of any room left over


def fit(columns: Sequence[Column], available: int) -> dict[int, int | None]:
    """Width of each column (None: hidden) so that together they fill ``available``."""
    # The columns that always show get their preferred width before another one joins.
    shown = [c for c in columns if not c.drop]
    for column in sorted((c for c in columns if c.drop), key=lambda c: -c.drop):
        if sum(c.preferred for c in shown) + column.minimum > available:
            break
        shown.append(column)
    shown.sort(key=columns.index)
    widths = {c.number: c.preferred for c in shown}
    excess = sum(widths.values()) - available
    slack = sum(c.preferred - c.minimum for c in shown)
    if excess > 0 and slack > 0:
        for c in shown:  # narrow each in proportion to how far it can go (rounded up)
            give = c.preferred - c.minimum
            widths[c.number] -= min(give, -(-excess * give // slack))
    room = available - sum(widths.values())
    growing = [c for c in shown if c.grow]
    if room > 0 and growing:
        weights = sum(c.grow for c in growing)
        for c in growing:
            widths[c.number] += room * c.grow // weights
        widths[growing[-1].number] += available - sum(widths.values())
    return {c.number: widths.get(c.number) for c in columns}


class ColumnFitter(QObject):
    """Re-fits a table's columns whenever its viewport changes width."""

    def __init__(self, table: QTableView, columns: Sequence[Column]) -> None:
        super().__init__(table)
        self.table, self.columns = table, list(columns)
        self._width = -1
        table.horizontalHeader().setStretchLastSection(False)
        self._viewport = table.viewport()  # compared by identity: safe while Qt tears down
        self._viewport.installEventFilter(self)

    def set_columns(self, columns: Sequence[Column]) -> None:
        self.columns, self._width = list(columns), -1
        self.apply()

    def apply(self) -> None:
        width = self._viewport.width()
        if width == self._width or width <= 0:
            return
        self._width = width
        header = self.table.horizontalHeader()
        for number, size in fit(self.columns, width).items():
            header.setSectionHidden(number, size is None)
            if size is not None:
                header.resizeSection(number, size)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._viewport and event.type() == QEvent.Type.Resize:
            self.apply()
        return super().eventFilter(watched, event)
