"""Rows of the Queue view: state, policy, source, target, tries, when, reason.

The rows are :class:`hoister.engine.waiting.WaitingRow`, the same ones ``hoister queue``
prints; the model is replaced whole on each read (a few hundred rows at most: what waits
is short-lived), and :func:`row_key` lets the view keep the selection across reads.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from hoister.engine.waiting import STATUSES, WaitingRow
from hoister.ui.shared.format import short_digest

RowRole = Qt.ItemDataRole.UserRole + 1
SortRole = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex

#: What the State column says, by status.
STATE_WORDS = {
    "waiting": "waiting for facts",
    "retrying": "retrying",
    "pending": "pending",
    "running": "running",
    "failed": "failed",
    "done": "done",
    "skipped": "skipped",
}


def row_key(row: WaitingRow) -> tuple[object, ...]:
    """Stays the same for one row across reads (a queue entry by id, an image by policy,
    digest and tag)."""
    if row.entry_id is not None:
        return ("entry", row.entry_id)
    return ("waiting", row.policy_id, row.digest, row.source)


class QueueModel(QAbstractTableModel):
    STATE, POLICY, SOURCE, TARGET, DIGEST, TRIES, WHEN, REASON = range(8)
    HEADERS = ("State", "Policy", "Source", "Target", "Digest", "Tries", "When", "Reason")

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[WaitingRow] = []

    def set_rows(self, rows: list[WaitingRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[WaitingRow]:
        return list(self._rows)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == RowRole:
            return row
        if role == SortRole:
            return self._sort_key(row, column)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == self.DIGEST:
                return row.digest
            return self._display(row, column) or None
        if role == Qt.ItemDataRole.TextAlignmentRole and column == self.TRIES:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, row: WaitingRow, column: int) -> str:
        if column == self.STATE:
            return STATE_WORDS.get(row.status, row.status)
        if column == self.POLICY:
            if row.policy_name:
                return row.policy_name
            return f"#{row.policy_id}" if row.policy_id is not None else "manual"
        if column == self.SOURCE:
            return row.source
        if column == self.TARGET:
            return row.target or "?"
        if column == self.DIGEST:
            return short_digest(row.digest)
        if column == self.TRIES:
            return str(row.attempts) if row.entry is not None else ""
        if column == self.WHEN:
            return _when(row)
        return row.reason

    def _sort_key(self, row: WaitingRow, column: int) -> Any:
        if column == self.STATE:
            return STATUSES.index(row.status) if row.status in STATUSES else len(STATUSES)
        if column == self.TRIES:
            return row.attempts
        if column == self.WHEN:
            return row.when.timestamp() if row.when is not None else 0.0
        return self._display(row, column).lower()


def _when(row: WaitingRow) -> str:
    if row.status == "running":
        return f"held by {row.holder}" if row.holder else "running"
    if row.when is None or row.status not in ("waiting", "retrying", "pending"):
        return ""
    stamp = row.when.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return f"since {stamp}" if row.status == "waiting" else f"next {stamp}"
